"""Save plots as PNG (pyqtgraph's ImageExporter) and SVG (Qt's QSvgGenerator).

pyqtgraph 0.14's SVGExporter fails on the path syntax of current Qt releases (pyqtgraph issue #3485),
so the SVG is painted by Qt itself from the widget, which keeps it vector.
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph.exporters as exporters
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator


def save_svg(widget, path: Path) -> None:
    """Render `widget` into an SVG file of its on-screen size."""
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(widget.width(), widget.height()))
    generator.setViewBox(QRect(0, 0, widget.width(), widget.height()))
    generator.setTitle(path.stem)
    painter = QPainter(generator)
    try:
        widget.render(painter)
    finally:
        painter.end()


def save_plots(plots: dict, folder: str | Path) -> list[Path]:
    """Write each plot as PNG (at least 800 px wide) and SVG into `folder`; returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, widget in plots.items():
        png = exporters.ImageExporter(widget.getPlotItem())
        png.parameters()["width"] = max(widget.width() * 2, 800)
        png.export(str(folder / f"{name}.png"))
        save_svg(widget, folder / f"{name}.svg")
        written += [folder / f"{name}.png", folder / f"{name}.svg"]
    return written
