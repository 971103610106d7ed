"""The plot every tab draws on: coloured from the Qt palette (and following it), the mouse wheel left to the page
(zoom with Ctrl + wheel), a home view the plot returns to ("Reset view", and on every new run), limits the view
cannot leave, and "Save as PNG…"/"Save as SVG…" in its right-click menu, the file dialog remembering its folder."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QSettings, Qt
from PySide6.QtGui import QAction, QContextMenuEvent, QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QFileDialog

from .. import theme
from .save import save_png, save_svg

FOLDER_KEY = "paths/plots"  # QSettings: the folder plots were last saved to
FORMATS = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)"}
CORNERS = {"top right": (-10, 10), "top left": (10, 10), "bottom right": (-10, -10), "bottom left": (10, -10)}


def quiet_corner(series: list[tuple[list[float], list[float]]], share: float = 0.4) -> str:
    """The corner of the curves' bounding box that the fewest points fall in (a box `share` of each side), top
    right on a tie: where a legend hides least of them. A validation loss that rises at the end fills the top
    right, where a falling one leaves it empty."""
    points = []
    for xs, ys in series:
        vertices = list(zip(xs, ys))
        for (a, b), (c, d) in zip(vertices, vertices[1:] or vertices):  # 9 points along each segment: a line covers
            points += [(a + (c - a) * t / 8, b + (d - b) * t / 8) for t in range(9)]  # a corner between its points
    points = [(x, y) for x, y in points if x == x and y == y]  # NaN != NaN: an epoch without validation rows
    if not points:
        return "top right"
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    w, h = (x1 - x0) or 1.0, (y1 - y0) or 1.0

    def inside(corner: str) -> int:
        top, right = corner.startswith("top"), corner.endswith("right")
        return sum(((x - x0) / w >= 1 - share if right else (x - x0) / w <= share)
                   and ((y - y0) / h >= 1 - share if top else (y - y0) / h <= share) for x, y in points)

    return min(CORNERS, key=inside)  # dicts keep their order, so a tie keeps the first: top right


class Plot(pg.PlotWidget):
    """A PlotWidget that scrolls the page under the wheel, has a home view, and saves itself as PNG or SVG.

    `home` is (x range, y range), or None for "fit the data"; `limits` keeps the view inside what can mean
    anything (ROC, PR and reliability: 0..1)."""

    def __init__(self, title: str = "", name: str = "plot", home=None, limits: dict | None = None, parent=None):
        self._styling = True  # not before the plot exists (Qt sends a PaletteChange while it is built)
        super().__init__(parent, title=title)
        self.file_name = name  # the default file name when saved
        self.setObjectName(name)
        self.home = home
        self.setAccessibleName(title or name)
        self.setAccessibleDescription("Right-click for Reset view and Save as PNG or SVG; Ctrl + wheel zooms.")
        vb = self.getPlotItem().getViewBox()
        if limits:
            vb.setLimits(**limits)
        self.scene().contextMenu = []  # pyqtgraph's own Export… writes broken SVGs (see save.py); ours replace it
        menu = vb.menu
        if menu is not None:
            first = menu.actions()[0] if menu.actions() else None
            for text, slot in (("Reset view", self.reset_view), ("Save as PNG…", lambda: self.save_as("png")),
                               ("Save as SVG…", lambda: self.save_as("svg"))):
                action = QAction(text, menu)
                action.triggered.connect(slot)
                menu.insertAction(first, action)
            menu.insertSeparator(first)
        self.reset_view()
        theme.theme().changed.connect(self.restyle)
        self._styling = False
        self.restyle()

    def restyle(self) -> None:
        """Take the palette's colours again (the theme changed)."""
        if self._styling:
            return
        self._styling = True
        try:
            theme.style_plot(self)
        finally:
            self._styling = False

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.restyle()

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """The wheel scrolls the page the plot sits in; Ctrl + wheel zooms the plot. The event is handed to the
        page's scroll area explicitly: Qt propagates only wheel events that came from the window system."""
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(event)
            return
        area = self._page()
        if area is None:
            event.ignore()
            return
        viewport = area.viewport()
        at = QPointF(viewport.mapFromGlobal(event.globalPosition().toPoint()))
        QApplication.sendEvent(viewport, QWheelEvent(at, event.globalPosition(), event.pixelDelta(),
                                                     event.angleDelta(), event.buttons(), event.modifiers(),
                                                     event.phase(), event.inverted(), event.source()))
        event.accept()

    def _page(self) -> QAbstractScrollArea | None:
        """The nearest scroll area the plot sits in (the tab's page), if any."""
        widget = self.parentWidget()
        while widget is not None and not isinstance(widget, QAbstractScrollArea):
            widget = widget.parentWidget()
        return widget

    def contextMenuEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """The menu key (or Shift+F10) opens the plot's menu too: Reset view and Save as … without a mouse."""
        menu = self.getPlotItem().getViewBox().menu
        if event.reason() == QContextMenuEvent.Reason.Keyboard and menu is not None:
            menu.popup(self.mapToGlobal(self.rect().center()))
            event.accept()
        else:
            super().contextMenuEvent(event)

    def reset_view(self) -> None:
        """Back to the home view (what a new run shows; zooming never carries over)."""
        vb = self.getPlotItem().getViewBox()
        if self.home is None:
            vb.enableAutoRange(x=True, y=True)
        else:
            (x0, x1), (y0, y1) = self.home
            vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)

    def save_as(self, kind: str, path: str | Path | None = None) -> Path | None:
        """Write the plot as PNG (pyqtgraph's ImageExporter) or SVG; without `path`, ask for one in the folder
        plots were last saved to. Returns the file written, or None if the user cancelled."""
        settings = QSettings()
        if path is None:
            folder = str(settings.value(FOLDER_KEY, "") or Path.home())
            path, _ = QFileDialog.getSaveFileName(self, f"Save the plot as {kind.upper()}",
                                                  str(Path(folder) / f"{self.file_name}.{kind}"), FORMATS[kind])
            if not path:
                return None
        target = Path(path)
        if target.suffix.lower() != f".{kind}":
            target = target.with_name(target.name + f".{kind}")
        (save_png if kind == "png" else save_svg)(self, target)
        settings.setValue(FOLDER_KEY, str(target.parent))
        return target
