"""Start the desktop app: paint the window first, import the heavy libraries after, off the GUI thread."""

from __future__ import annotations

import os
import sys
import threading
import time

_STARTED = time.perf_counter()


def _prewarm() -> None:
    """Import torch and the core on a helper thread; the GUI thread keeps painting. (scikit-learn is
    imported later, by the first evaluation on the worker.)"""
    import workbench.core.load  # noqa: F401
    import workbench.core.pipeline  # noqa: F401


def main(checkpoint: str | None = None, demo: bool = False) -> int:
    from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName("ConversionWorkbench")
    QCoreApplication.setApplicationName("Conversion Workbench")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from .main_window import MainWindow

    window = MainWindow()
    app.aboutToQuit.connect(window.wait_for_jobs)  # quitting never leaves a worker running
    warm = threading.Thread(target=_prewarm, name="prewarm", daemon=True)

    def when_warm():
        if warm.is_alive():
            QTimer.singleShot(30, when_warm)
            return
        window.ensure_workspace()
        if os.environ.get("WORKBENCH_REPORT_STARTUP") == "open":  # benchmarks/startup.py
            def opened(loaded):
                if loaded is not None:
                    print(f"checkpoint open {time.perf_counter() - _STARTED:.3f} s after start", flush=True)
                    QTimer.singleShot(0, app.quit)
            window.session.model_changed.connect(opened)
        if demo:
            window.open_demo()
        elif checkpoint:
            window.open_checkpoint(checkpoint)

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Paint and warm.ident is None:  # the first paint; the thread never started
                window.removeEventFilter(self)
                if os.environ.get("WORKBENCH_REPORT_STARTUP"):
                    print(f"first paint {time.perf_counter() - _STARTED:.3f} s after start", flush=True)
                    if os.environ["WORKBENCH_REPORT_STARTUP"] == "paint":
                        QTimer.singleShot(0, app.quit)
                        return False
                warm.start()
                QTimer.singleShot(30, when_warm)
            return False

    first_paint = FirstPaint(window)
    window.installEventFilter(first_paint)
    window.show()
    return app.exec()
