"""Screenshots of every tab as a screen shows it (under Xvfb), light or dark, at one window size:

    Xvfb :171 -screen 0 1024x700x24 &
    DISPLAY=:171 python packaging/window_screenshots.py docs/screenshots --size 1024x700 --theme dark

Builds the demo (diabetes, binary by the median), shoots Model, Data and Head & training, trains a few epochs
through the window and shoots Train, Evaluate (its top; scrolled to the curves when they are not all on the first
screen; then to the Checks and Decisions boxes), trains the baseline and shoots Compare with the two runs. Each
shot is the whole screen grabbed with ImageMagick's `import`, so it is what the window drew; shots wider than 1920
px are scaled down to 1920 and every PNG is reduced to 256 colours so the gallery stays small. Run it with HOME,
WORKBENCH_DATA_DIR and WORKBENCH_CONFIG_DIR pointing into a scratch folder: it opens the demo and keeps recent
files like any session.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from evaluate_screenshots import themed_app, wait_until

MAX_WIDTH = 1920


def shrink(path: Path) -> None:
    """Scale a wide shot down to MAX_WIDTH and reduce it to 256 colours (text stays sharp; files stay ~100 KB)."""
    subprocess.run(["convert", str(path), "-resize", f"{MAX_WIDTH}x>", "+dither", "-colors", "256",
                    f"PNG8:{path}"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", default="1024x700")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--full", type=Path, help="also keep each grab at full size here (to inspect 4K ones)")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    app = themed_app(args.theme)
    from workbench.core.workflow.commands import OpenDemo
    from workbench.gui.main_window import MainWindow

    def settle(seconds=1.0):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    def wait(condition, timeout=900.0):
        wait_until(app, condition, timeout)

    args.out.mkdir(parents=True, exist_ok=True)

    def shoot(tab: str) -> None:
        window.resize(width, height)
        settle()
        path = args.out / f"tab-{tab}-{args.size}-{args.theme}.png"
        subprocess.run(["import", "-window", "root", str(path)], check=True)
        if args.full:
            args.full.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, args.full / path.name)
        shrink(path)
        print(path, path.stat().st_size)

    window = MainWindow()
    window.ask_before_closing = False  # nothing of this scripted session is kept
    window.show()
    window.move(0, 0)
    window.resize(width, height)
    window.ensure_workspace()
    m = window.session.model
    window.command(lambda: OpenDemo(m, tempfile.mkdtemp(prefix="workbench-demo-")))
    wait(lambda: m.data is not None and m.inspection is not None and not m.busy)
    for index, tab in enumerate(("model", "data", "form")):
        window.show_workspace(index)
        shoot(tab)
    window.form.widgets["train.epochs"].setValue(args.epochs)
    window.start_training()
    wait(lambda: m.run is not None and not m.busy)
    window.show_workspace(3)
    shoot("train")
    window.show_workspace(4)
    panel = window.evaluate_panel
    panel.scroll.verticalScrollBar().setValue(0)
    shoot("evaluate")
    bar = panel.scroll.verticalScrollBar()

    def scroll_to(widget) -> None:
        bar.setValue(min(bar.maximum(), widget.mapTo(panel.content, widget.rect().topLeft()).y()))

    box = panel.binary_box  # the per-class table, the threshold slider, ROC and precision-recall
    if box.mapTo(panel.content, box.rect().bottomLeft()).y() > panel.scroll.viewport().height():  # not all shown
        scroll_to(box)
        shoot("evaluate-curves")
    scroll_to(panel.checks)  # the Checks box at the top, the Decisions box under it
    shoot("evaluate-checks")
    window.start_baseline()
    wait(lambda: len(m.runs) == 2 and not m.busy)
    window.show_workspace(5)
    shoot("compare")
    window.close()


if __name__ == "__main__":
    main()
