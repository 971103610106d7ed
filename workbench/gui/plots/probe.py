"""The probe sweep's plot: validation accuracy of a linear probe at each layer against depth, with its interval,
the best layer and the smallest layer within noise of it marked; clicking a point picks that layer."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .. import theme
from .base import CORNERS, quiet_corner


class ProbePlot(QWidget):
    """Accuracy vs depth (core's ProbeSweep); `layer_clicked` carries the clicked layer's name."""

    layer_clicked = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(title="Linear probe accuracy by layer (validation split)")
        self.plot.setObjectName("probePlot")
        self.plot.setLabel("bottom", "depth (layer)")
        self.plot.setLabel("left", "accuracy")
        self.plot.setMinimumHeight(180)
        self.curve = self.plot.plot(pen=pg.mkPen(theme.colour("blue"), width=1.5))
        self.bars = pg.ErrorBarItem(x=np.empty(0), y=np.empty(0), pen=pg.mkPen(theme.colour("blue")))
        self.plot.addItem(self.bars)
        self.points = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(theme.colour("blue")), hoverable=True, tip=None)
        self.points.sigClicked.connect(self._on_clicked)
        self.plot.addItem(self.points)
        # Unnamed, so that adding them to the plot does not list them in the legend a second time
        self.best = pg.ScatterPlotItem(size=16, symbol="star", brush=pg.mkBrush(theme.colour("red")))
        self.smallest = pg.ScatterPlotItem(size=14, symbol="d", brush=pg.mkBrush(theme.colour("green")))
        self.legend = self.plot.addLegend(offset=CORNERS["top right"])
        for item in (self.best, self.smallest):
            self.plot.addItem(item)
        self.legend.addItem(self.best, "best")
        self.legend.addItem(self.smallest, "smallest within noise of the best")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.layers: list[str] = []

    def show_sweep(self, sweep) -> None:
        """Draw a sweep, or clear the plot for None."""
        rows = sweep.rows if sweep is not None else []
        self.layers = [r.layer for r in rows]
        x = np.array([r.depth for r in rows], dtype=float)
        y = np.array([r.accuracy for r in rows], dtype=float)
        self.curve.setData(x, y)
        self.points.setData(x, y, data=self.layers)
        self.bars.setData(x=x, y=y, top=np.array([r.high - r.accuracy for r in rows]),
                          bottom=np.array([r.accuracy - r.low for r in rows]), beam=0.2)
        for item, flag in ((self.best, "best"), (self.smallest, "smallest_within_noise")):
            marked = [r for r in rows if getattr(r, flag)]
            item.setData([r.depth for r in marked], [r.accuracy for r in marked])
        self.plot.getAxis("bottom").setTicks([[(r.depth, r.layer) for r in rows]] if rows else None)
        bars = [(list(x), [r.low for r in rows]), (list(x), [r.high for r in rows])]  # the intervals' ends too
        self.legend.setOffset(CORNERS[quiet_corner([(list(x), list(y)), *bars])])

    def _on_clicked(self, _item, points, *_args) -> None:
        if len(points):
            self.layer_clicked.emit(str(points[0].data()))
