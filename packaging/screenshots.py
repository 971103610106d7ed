"""Render each main view of the workbench to PNG: welcome, model, data, form, training, evaluation, the samples
of a confusion-matrix cell, export, comparison.

    python packaging/screenshots.py [--out resources/screenshots] [--size 1280x800]

Drives the real window through the demo journey (build the demo, open it, load data, train, evaluate)
and grabs each tab. Runs offscreen unless DISPLAY is set.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def _wait(app, condition, timeout=120.0):
    import time

    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="resources/screenshots")
    parser.add_argument("--size", default="1280x800")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName("ConversionWorkbenchScreens")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tempfile.mkdtemp())
    app = QApplication(sys.argv[:1])
    from workbench.gui.main_window import MainWindow

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    width, height = (int(v) for v in args.size.split("x"))
    window = MainWindow()
    window.settings.setValue("paths/demo", tempfile.mkdtemp())
    window.resize(width, height)
    window.show()
    shots = []

    def grab(name):
        app.processEvents()
        path = out / f"{name}.png"
        window.grab().save(str(path))
        shots.append(path)

    grab("welcome")
    window.open_demo()
    _wait(app, lambda: window.session.model.inspection is not None and window.session.model.data is not None)
    window.show_workspace(0)
    grab("model")
    window.show_workspace(1)
    grab("data")
    window.show_workspace(2)
    grab("form")
    window.session.model.update(**{"train.epochs": 40, "train.patience": 0})
    window.start_training()
    _wait(app, lambda: window.session.model.run is not None and not window.session.model.busy)
    grab("train")
    window.show_workspace(4)
    grab("evaluate")
    panel = window.evaluate_panel  # the samples behind a cell: true "> median" predicted "<= median"
    panel.confusion.select(1, 0)
    panel.confusion.cell_clicked.emit(1, 0)
    _wait(app, lambda: panel.scroll.verticalScrollBar().value() > 0)  # scrolled to the list
    grab("errors")
    dialog_shot = {}

    from PySide6.QtCore import QTimer

    def shoot_dialog():
        dialog = app.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(50, shoot_dialog)
            return
        dialog.folder.setText(str(Path(tempfile.mkdtemp()) / "demo-classifier"))
        dialog.with_onnx.setChecked(dialog.with_onnx.isEnabled())
        dialog.start()
        _wait(app, lambda: dialog.result is not None)
        dialog.grab().save(str(out / "export.png"))
        dialog_shot["done"] = True
        dialog.accept()

    QTimer.singleShot(0, shoot_dialog)
    window.export()
    shots.append(out / "export.png")
    window.start_baseline()
    _wait(app, lambda: len(window.session.model.runs) == 2 and not window.session.model.busy)
    window.show_workspace(5)
    grab("compare")
    window.ask_before_closing = False  # nothing of this scripted session is kept
    window.close()
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
