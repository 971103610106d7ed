"""Start the desktop app: paint the window first, import the heavy libraries after."""

from __future__ import annotations

import sys


def main(checkpoint: str | None = None, demo: bool = False) -> int:
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName("ConversionWorkbench")
    QCoreApplication.setApplicationName("Conversion Workbench")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from .main_window import MainWindow

    window = MainWindow()
    window.show()
    app.aboutToQuit.connect(window.wait_for_jobs)  # quitting never leaves a worker running

    def after_first_paint():
        window.ensure_workspace()
        if demo:
            window.open_demo()
        elif checkpoint:
            window.open_checkpoint(checkpoint)

    QTimer.singleShot(0, after_first_paint)
    return app.exec()
