"""Confusion matrix heatmap with counts in the cells and class names on the axes; clicking a cell selects it
(outlined) and emits its (true, predicted) class codes for the sample list."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget

from workbench.core.evaluate.verdicts import CONFUSION_MODES as MODES
from workbench.core.evaluate.verdicts import normalised_confusion


class ConfusionPlot(QWidget):
    """The confusion matrix as a heat map with the count (or rate) written in each cell."""
    cell_clicked = Signal(int, int)  # true class, predicted class

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(title="Confusion matrix")
        self.plot.setObjectName("confusionPlot")
        self.plot.setLabel("bottom", "predicted")
        self.plot.setLabel("left", "true")
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("CET-L12"))  # white -> blue, bundled with pyqtgraph
        self.plot.addItem(self.image)
        self.texts: list[pg.TextItem] = []
        self.matrix = np.zeros((0, 0))
        self.shown = np.zeros((0, 0))
        self.selected: tuple[int, int | None] | None = None
        self.outline = QGraphicsRectItem(0, 0, 1, 1)
        self.outline.setPen(pg.mkPen("#e8a200", width=3, cosmetic=True))
        self.outline.setZValue(10)
        self.outline.setVisible(False)
        self.plot.addItem(self.outline)
        self.plot.setToolTip("Click a cell to list its test samples below.")
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def _on_click(self, event):
        if event.button() != Qt.LeftButton:
            return
        point = self.plot.getViewBox().mapSceneToView(event.scenePos())
        i, j = math.floor(point.y()), math.floor(point.x())
        k = len(self.matrix)
        if 0 <= i < k and 0 <= j < k:
            self.select(i, j)
            self.cell_clicked.emit(i, j)

    def select(self, true: int | None, predicted: int | None = None) -> None:
        """Outline cell (true, predicted), or none."""
        self.selected = None if true is None else (true, predicted)
        self.outline.setVisible(self.selected is not None)
        if self.selected is not None:
            self.outline.setRect(predicted, true, 1, 1)

    def show_matrix(self, matrix, classes: list[str], mode: str = MODES[0]) -> None:
        """Draw `matrix` as counts, or normalised by true class (recall) or by prediction (precision)."""
        self.matrix = np.asarray(matrix, dtype=float)
        self.shown = shown = normalised_confusion(self.matrix, mode)
        top = shown.max() if shown.size and shown.max() > 0 else 1
        self.image.setImage(shown, levels=(0, top))
        for item in self.texts:
            self.plot.removeItem(item)
        self.texts = []
        k = len(classes)
        for i in range(k):
            for j in range(k):
                value = shown[i, j]
                text = f"{int(value)}" if mode == MODES[0] else f"{value:.2f}"
                item = pg.TextItem(text, color="w" if value > 0.6 * top else "k", anchor=(0.5, 0.5))
                item.setPos(j + 0.5, i + 0.5)
                self.plot.addItem(item)
                self.texts.append(item)
        ticks = [[(i + 0.5, name[:14]) for i, name in enumerate(classes)]]
        self.plot.getAxis("bottom").setTicks(ticks)
        self.plot.getAxis("left").setTicks(ticks)
        self.plot.setRange(xRange=(0, k), yRange=(0, k), padding=0.02)

    def plots(self):
        """The plot widget by file name, for saving it with an export or a report."""
        return {"confusion_matrix": self.plot}
