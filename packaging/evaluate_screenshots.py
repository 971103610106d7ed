"""Screenshots of the Evaluate tab as a screen shows it (under Xvfb), light or dark, at any window size:

    Xvfb :187 -screen 0 3840x2160x24 &
    DISPLAY=:187 python packaging/evaluate_screenshots.py --size 3840x2160 --theme dark --classes 10 --cell out.png

Builds the demo (diabetes: 2 classes by threshold, or 3 quantile bins; digits: 10 classes), trains a few epochs
through the window, opens the Evaluate tab (with --cell, the samples of one confusion-matrix cell) and grabs the
whole screen with ImageMagick's `import`, so what is saved is what the window drew, title bars aside.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time

DARK = {"Window": "#2b2b2b", "WindowText": "#e8e8e8", "Base": "#1e1e1e", "AlternateBase": "#262626",
        "Text": "#e8e8e8", "Button": "#353535", "ButtonText": "#e8e8e8", "Highlight": "#2f65ca",
        "HighlightedText": "#ffffff", "ToolTipBase": "#353535", "ToolTipText": "#e8e8e8",
        "PlaceholderText": "#9a9a9a"}
DISABLED = {"WindowText": "#7f7f7f", "Text": "#7f7f7f", "ButtonText": "#7f7f7f", "Button": "#2f2f2f",
            "Base": "#262626"}  # as a desktop's dark theme greys disabled controls (else they look enabled)


def dark_palette():
    """A dark desktop theme's palette, its disabled controls greyed."""
    from PySide6.QtGui import QColor, QPalette

    palette = QPalette()
    for role, colour in DARK.items():
        palette.setColor(getattr(QPalette.ColorRole, role), QColor(colour))
    for role, colour in DISABLED.items():
        palette.setColor(QPalette.ColorGroup.Disabled, getattr(QPalette.ColorRole, role), QColor(colour))
    return palette


def wait_until(app, condition, timeout: float) -> None:
    """Process events until `condition()` holds; TimeoutError after `timeout` seconds."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.02)


def themed_app(theme: str):
    """The QApplication the shots are taken in: Fusion, with the dark palette for `theme` "dark"."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName("ConversionWorkbenchScreens")
    app = QApplication([])
    app.setStyle("Fusion")
    if theme == "dark":
        app.setPalette(dark_palette())
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--size", default="1024x700")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--classes", type=int, choices=(2, 3, 10), default=3)
    parser.add_argument("--cell", action="store_true", help="list the samples of one confusion-matrix cell")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    app = themed_app(args.theme)
    from workbench.core.workflow.commands import OpenDemo
    from workbench.gui.main_window import MainWindow

    def wait(condition, timeout=600.0):
        wait_until(app, condition, timeout)

    window = MainWindow()
    window.show()
    window.move(0, 0)
    window.resize(width, height)
    window.ensure_workspace()
    m = window.session.model
    folder = tempfile.mkdtemp(prefix="workbench-demo-")
    window.command(lambda: OpenDemo(m, folder, digits=args.classes == 10))
    wait(lambda: m.data is not None and m.inspection is not None and not m.busy)
    if args.classes == 10:
        m.update(**{"data.label_mode": "column", "head.task": "multiclass"})
    elif args.classes == 3:
        m.update(**{"data.label_mode": "bins", "data.bins": 3, "head.task": "multiclass"})
    wait(lambda: m.data is not None and len(m.data.classes) == args.classes and not m.busy)
    window.form.widgets["train.epochs"].setValue(4)
    window.start_training()
    wait(lambda: m.run is not None and not m.busy)
    window.resize(width, height)
    window.show_workspace(4)
    if args.cell:
        window.evaluate_panel.confusion.cell_clicked.emit(1, 0 if args.classes == 2 else 2)
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    subprocess.run(["import", "-window", "root", args.out], check=True)


if __name__ == "__main__":
    main()
