"""Save plots as PNG (pyqtgraph's ImageExporter) and SVG (Qt's QSvgGenerator), each written to a temporary file
beside the target and renamed over it, so a failed write never leaves half a file.

pyqtgraph 0.14's SVGExporter fails on the path syntax of current Qt releases (pyqtgraph issue #3485; still so with
PySide6 6.11), so the SVG is painted by Qt itself from the widget, which keeps it vector.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyqtgraph.exporters as exporters
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator


def _atomic(path: Path, write) -> None:
    """Write through `write(temporary path)`, then rename it to `path`."""
    temporary = path.with_name(f".{path.stem}.part{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def save_png(widget, path: Path) -> None:
    """The plot as a PNG at least 800 px wide (twice its on-screen width)."""
    png = exporters.ImageExporter(widget.getPlotItem())
    png.parameters()["width"] = max(widget.width() * 2, 800)
    _atomic(Path(path), lambda p: png.export(str(p)))


def save_svg(widget, path: Path) -> None:
    """Render `widget` into an SVG file of its on-screen size."""

    def write(target: Path) -> None:
        generator = QSvgGenerator()
        generator.setFileName(str(target))
        generator.setSize(QSize(widget.width(), widget.height()))
        generator.setViewBox(QRect(0, 0, widget.width(), widget.height()))
        generator.setTitle(Path(path).stem)
        painter = QPainter(generator)
        try:
            widget.render(painter)
        finally:
            painter.end()

    _atomic(Path(path), write)


def save_plots(plots: dict, folder: str | Path) -> list[Path]:
    """Write each plot as PNG (at least 800 px wide) and SVG into `folder`; returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, widget in plots.items():
        save_png(widget, folder / f"{name}.png")
        save_svg(widget, folder / f"{name}.svg")
        written += [folder / f"{name}.png", folder / f"{name}.svg"]
    return written
