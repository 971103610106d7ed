"""Start the desktop app: paint the window first, import the heavy libraries after, off the GUI thread."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import cast

_STARTED = time.perf_counter()
SMOKE_TEST_SECONDS = 300  # WORKBENCH_SMOKE_TEST: a packaged build proves it opens the demo, then quits


def _prewarm() -> None:
    """Import torch and the core on a helper thread; the GUI thread keeps painting. (scikit-learn is
    imported later, by the first evaluation on the worker.)"""
    import workbench.core.open.load  # noqa: F401
    import workbench.core.workflow.pipeline  # noqa: F401


def main(checkpoint: str | None = None, demo: bool = False) -> int:
    """Start the desktop app (optionally opening `checkpoint` or the demo); returns the exit status."""
    from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from workbench.core import desktop

    QCoreApplication.setOrganizationName("ConversionWorkbench")
    QCoreApplication.setApplicationName("Conversion Workbench")
    app = cast(QApplication, QApplication.instance() or QApplication(sys.argv[:1]))
    from workbench import logs

    from .settings_file import use_platform_folder

    logs.ensure()  # errors shown in dialogs are logged with their traceback
    use_platform_folder()
    app.setDesktopFileName(desktop.APP_ID)  # Wayland and the task bar match the window to its .desktop entry
    from .dialogs.about import app_icon
    from .main_window import MainWindow

    app.setWindowIcon(app_icon())
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
        if os.environ.get("WORKBENCH_SMOKE_TEST"):
            _quit_when_demo_open(app, window)
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

    if demo or checkpoint:  # the first seconds go to importing torch: say so instead of a bare welcome view
        from pathlib import Path

        from .panels.welcome import STARTING_DEMO, STARTING_FILE

        window.welcome.show_progress(STARTING_DEMO if demo else STARTING_FILE.format(name=Path(str(checkpoint)).name))
    first_paint = FirstPaint(window)
    window.installEventFilter(first_paint)
    window.show()
    return app.exec()


def _quit_when_demo_open(app, window) -> None:
    """Exit 0 once the demo's model and data are both loaded, 1 if that takes longer than SMOKE_TEST_SECONDS
    (an error dialog, a missing module in a packaged build). Used by packaging/build_linux_bundle.sh."""
    from PySide6.QtCore import QTimer

    session = window.session

    def check(_value=None):
        m = session.model
        if m.loaded is not None and m.data is not None:
            print(f"smoke test: demo opened ({m.loaded.path.name}, {len(m.table.X)} rows) "
                  f"{time.perf_counter() - _STARTED:.1f} s after start", flush=True)
            QTimer.singleShot(0, lambda: app.exit(0))

    def too_late():
        print(f"smoke test: the demo did not open within {SMOKE_TEST_SECONDS} s", file=sys.stderr, flush=True)
        app.exit(1)

    session.model_changed.connect(check)
    session.data_changed.connect(check)
    QTimer.singleShot(SMOKE_TEST_SECONDS * 1000, too_late)
