"""Confusion matrix heat map with counts in the cells and class names on the axes; clicking a cell selects it
(outlined) and emits its (true, predicted) class codes for the sample list. Class names are elided to the width of
their column (10 long names never run together); when even that leaves too little, the axes show class numbers and
hovering a cell (or the Table view beside it) gives the names."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QApplication, QGraphicsRectItem, QToolTip, QVBoxLayout, QWidget

from workbench.core.evaluate.verdicts import CONFUSION_MODES as MODES
from workbench.core.evaluate.verdicts import normalised_confusion

from .. import theme
from .base import Plot

MIN_CHARS = 3  # an elided name shorter than this (plus "…") says nothing: show class numbers instead
LEFT_SHARE = 0.3  # the true classes' names take at most this share of the plot's width
GAP = 6  # pixels between two neighbouring names


def cell_text(value: float, mode: str) -> str:
    return f"{int(value)}" if mode == MODES[0] else f"{value:.2f}"


class ConfusionPlot(QWidget):
    """The confusion matrix as a heat map with the count (or rate) written in each cell."""
    cell_clicked = Signal(int, int)  # true class, predicted class

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = Plot("Confusion matrix", "confusion_matrix", ((0, 1), (0, 1)))
        self.plot.setLabel("bottom", "predicted")
        self.plot.setLabel("left", "true")
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.tick_font = QApplication.font()
        for name in ("bottom", "left"):
            self.plot.getAxis(name).setStyle(tickFont=self.tick_font)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.texts: list[pg.TextItem] = []
        self.matrix = np.zeros((0, 0))
        self.shown = np.zeros((0, 0))
        self.classes: list[str] = []
        self.mode = MODES[0]
        self.numbered = False  # the axes show class numbers (the names did not fit)
        self.selected: tuple[int, int | None] | None = None
        self.outline = QGraphicsRectItem(0, 0, 1, 1)
        self.outline.setZValue(10)
        self.outline.setVisible(False)
        self.plot.addItem(self.outline)
        self.plot.setToolTip("Click a cell to list its test samples below.")
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.plot.scene().sigMouseMoved.connect(self._on_hover)
        vb = self.plot.getViewBox()
        vb.sigResized.connect(self._relabel)
        vb.sigRangeChanged.connect(self._relabel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        theme.theme().changed.connect(self._colour)

    def _cell_at(self, scene_pos) -> tuple[int, int] | None:
        point = self.plot.getViewBox().mapSceneToView(scene_pos)
        i, j = math.floor(point.y()), math.floor(point.x())
        k = len(self.matrix)
        return (i, j) if 0 <= i < k and 0 <= j < k else None

    def _on_click(self, event):
        if event.button() != Qt.LeftButton:
            return
        found = self._cell_at(event.scenePos())
        if found is not None:
            self.select(*found)
            self.cell_clicked.emit(*found)

    def _on_hover(self, scene_pos):
        found = self._cell_at(scene_pos)
        if found is None:
            return
        i, j = found
        text = f"true {self.classes[i]}, predicted {self.classes[j]}: {cell_text(self.shown[i, j], self.mode)}"
        QToolTip.showText(self.plot.mapToGlobal(self.plot.mapFromScene(scene_pos)),
                          text + "\nClick to list these test samples.", self.plot)

    def select(self, true: int | None, predicted: int | None = None) -> None:
        """Outline cell (true, predicted), or none."""
        self.selected = None if true is None else (true, predicted)
        self.outline.setVisible(self.selected is not None)
        if self.selected is not None:
            self.outline.setRect(predicted, true, 1, 1)

    def show_matrix(self, matrix, classes: list[str], mode: str = MODES[0]) -> None:
        """Draw `matrix` as counts, or normalised by true class (recall) or by prediction (precision)."""
        new_size = len(classes) != len(self.matrix)
        self.matrix = np.asarray(matrix, dtype=float)
        self.shown = normalised_confusion(self.matrix, mode)
        self.classes, self.mode = list(classes), mode
        for item in self.texts:
            self.plot.removeItem(item)
        self.texts = []
        k = len(classes)
        for i in range(k):
            for j in range(k):
                item = pg.TextItem(cell_text(self.shown[i, j], mode), anchor=(0.5, 0.5))
                item.setPos(j + 0.5, i + 0.5)
                self.plot.addItem(item)
                self.texts.append(item)
        self._colour()
        self.plot.home = ((0, k), (0, k))
        if new_size:  # another number of classes: the old view would show part of the matrix
            self.plot.reset_view()
        self._relabel()

    def _colour(self) -> None:
        """Cells from the base colour to the highlight; each count black or white, whichever reads better."""
        self.outline.setPen(pg.mkPen(theme.colour("outline"), width=3, cosmetic=True))
        if not self.matrix.size:
            return
        low, high = QColor(theme.colour("base")), QColor(theme.colour("highlight"))
        cmap = pg.ColorMap([0.0, 1.0], [low, high])
        shown = self.shown
        top = shown.max() if shown.size and shown.max() > 0 else 1
        self.image.setColorMap(cmap)
        self.image.setImage(shown, levels=(0, top))
        k = len(shown)
        for n, item in enumerate(self.texts):
            cell = cmap.map(shown[n // k, n % k] / top, mode="qcolor")
            item.setColor(theme.readable_on(cell))

    def _relabel(self, *_args) -> None:
        """Class names on both axes, each elided to the room its row or column has on screen."""
        k = len(self.classes)
        if not k:
            return
        vb = self.plot.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        column = vb.width() / max(x1 - x0, 1e-9) - GAP
        metrics = QFontMetrics(self.tick_font)
        names = [metrics.elidedText(c, Qt.TextElideMode.ElideRight, max(int(column), 1)) for c in self.classes]
        self.numbered = any(n != c and len(n) <= MIN_CHARS for n, c in zip(names, self.classes))
        if self.numbered:
            names = [str(i + 1) for i in range(k)]
        self.plot.getAxis("bottom").setTicks([[(i + 0.5, n) for i, n in enumerate(names)]])
        title = "predicted (class numbers: hover a cell for its names)" if self.numbered else "predicted"
        if self.plot.getAxis("bottom").labelText != title:  # setting it re-lays out the plot, which calls this again
            self.plot.setLabel("bottom", title)
        room = max(int(self.plot.width() * LEFT_SHARE), 30)
        left = [metrics.elidedText(c, Qt.TextElideMode.ElideRight, room) for c in self.classes]
        row = vb.height() / max(y1 - y0, 1e-9)
        if self.numbered or row < metrics.height():
            left = [str(i + 1) for i in range(k)]
        axis = self.plot.getAxis("left")
        axis.setTicks([[(i + 0.5, n) for i, n in enumerate(left)]])
        width = min(max(metrics.horizontalAdvance(n) for n in left), room) + 32  # ticks, and the axis's title
        if axis.width() != width:
            axis.setWidth(width)

    def label_rects(self, name: str = "bottom") -> list:
        """The rectangles (in the axis's coordinates) where the axis draws its tick labels, for checking that
        none overlap."""
        from PySide6.QtGui import QImage, QPainter

        axis = self.plot.getAxis(name)
        image = QImage(10, 10, QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        try:
            specs = axis.generateDrawSpecs(painter)
        finally:
            painter.end()
        return [] if specs is None else [rect for rect, _flags, _text in specs[2]]

    def cell_centre(self, true: int, predicted: int) -> QPointF:
        """Where cell (true, predicted) is in the plot widget's coordinates (for tests and the keyboard)."""
        scene = self.plot.getViewBox().mapViewToScene(QPointF(predicted + 0.5, true + 0.5))
        return QPointF(self.plot.mapFromScene(scene))

    def reset_view(self) -> None:
        self.plot.reset_view()

    def plots(self):
        """The plot widget by file name, for saving it with an export or a report."""
        return {"confusion_matrix": self.plot}
