#!/usr/bin/env python3
"""Render the application icon's PNG sizes from its one SVG, with Qt's SVG renderer (no other tool needed).

    python packaging/render_icons.py [--check]

The SVG in workbench/resources/icons/ is the only hand-edited copy; run this after changing it and commit
the PNGs beside it. `--check` renders to memory and exits 1 if a committed PNG is missing or differs in
size, so a forgotten re-render shows up.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "workbench" / "resources" / "icons"
SVG = ICONS / "conversion-workbench.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def png_path(size: int) -> Path:
    return ICONS / f"conversion-workbench-{size}.png"


def render(size: int):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"{SVG}: Qt cannot read this SVG")
    image = QImage(size, size, QImage.Format_ARGB32_Premultiplied)
    image.fill(Qt.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every size is there")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication, QImage

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    stale = []
    for size in SIZES:
        target = png_path(size)
        if args.check:
            if QImage(str(target)).size().width() != size:
                stale.append(target.name)
            continue
        if not render(size).save(str(target), "PNG"):
            raise SystemExit(f"{target}: could not write the PNG")
        print(f"wrote {target}")
    if stale:
        print(f"missing or wrong size: {', '.join(stale)}; run python packaging/render_icons.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
