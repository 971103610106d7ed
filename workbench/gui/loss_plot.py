"""Live training curves: smoothed per-batch train loss, per-epoch validation loss and accuracy.

Curves are created once and updated with setData; updates arrive already batched by the worker.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget


class LossPlot(QWidget):
    def __init__(self, parent=None, smoothing: float = 0.9):
        super().__init__(parent)
        self.smoothing = smoothing
        self.loss_plot = pg.PlotWidget(title="Loss")
        self.loss_plot.setObjectName("lossPlot")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_plot.setLabel("bottom", "epoch")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.2)
        self.acc_plot = pg.PlotWidget(title="Validation accuracy")
        self.acc_plot.setLabel("bottom", "epoch")
        self.acc_plot.setYRange(0, 1)
        self.acc_plot.showGrid(x=True, y=True, alpha=0.2)
        self.train_curve = self.loss_plot.plot(pen=pg.mkPen("#1f77b4", width=1.5), name="train (per batch, smoothed)")
        self.val_curve = self.loss_plot.plot(pen=pg.mkPen("#d62728", width=2), symbol="o", symbolSize=6,
                                             symbolBrush="#d62728", name="validation (per epoch)")
        self.acc_curve = self.acc_plot.plot(pen=pg.mkPen("#2ca02c", width=2), symbol="o", symbolSize=6,
                                            symbolBrush="#2ca02c")
        for curve in (self.train_curve,):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 2)
        layout.addWidget(self.acc_plot, 1)
        self.clear()

    def clear(self):
        self._x: list[float] = []
        self._y: list[float] = []
        self._ema = None
        self.epochs: list[dict] = []
        for curve in (self.train_curve, self.val_curve, self.acc_curve):
            curve.setData([], [])

    def add_batches(self, infos: list[dict]) -> None:
        for info in infos:
            loss = info["loss"]
            self._ema = loss if self._ema is None else self.smoothing * self._ema + (1 - self.smoothing) * loss
            self._x.append(info["epoch"] - 1 + info["step"] / info["steps"])
            self._y.append(self._ema)
        self.train_curve.setData(np.asarray(self._x), np.asarray(self._y))

    def add_epoch(self, info: dict) -> None:
        self.epochs.append(info)
        x = np.array([e["epoch"] for e in self.epochs], dtype=float)
        self.val_curve.setData(x, np.array([e["val_loss"] for e in self.epochs]))
        self.acc_curve.setData(x, np.array([e["val_accuracy"] for e in self.epochs]))

    def show_history(self, history: list[dict]) -> None:
        self.clear()
        for info in history:
            self.add_epoch(info)
        if history:
            self.train_curve.setData([h["epoch"] for h in history], [h["train_loss"] for h in history])

    def plots(self):
        return {"loss": self.loss_plot, "accuracy": self.acc_plot}
