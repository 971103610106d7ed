"""Live training curves: smoothed per-batch train loss, per-epoch validation loss and accuracy.

Curves are created once and updated with setData. Batches arrive already batched by the worker; they are
buffered and drawn by a 10 Hz timer. While training, the axes stay still: x spans the planned epochs and y
runs from 0 to a ceiling that only grows (to 1.25 times the new top) when a loss rises above it. A changing axis
re-lays out and repaints the whole plot, several times the cost of the curve alone, and while the GUI thread
paints, the training thread waits for the GIL. Losses are never negative, so a falling curve stays in view.
When training ends the plot zooms to the data.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .. import theme
from .base import Plot

REDRAW_MS = 100


class LossPlot(QWidget):
    """Live training curves: smoothed per-batch loss, validation loss and accuracy per epoch."""

    def __init__(self, parent=None, smoothing: float = 0.9):
        super().__init__(parent)
        self.smoothing = smoothing
        self.loss_plot = Plot("Loss", "loss")
        self.legend = self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_plot.setLabel("bottom", "epoch")
        self.acc_plot = Plot("Validation accuracy", "accuracy", limits={"yMin": -0.05, "yMax": 1.05})
        self.acc_plot.setLabel("bottom", "epoch")
        self.acc_plot.setYRange(0, 1)
        self.acc_plot.setXLink(self.loss_plot)
        self.train_curve = self.loss_plot.plot(name="train (per batch, smoothed)")
        self.val_curve = self.loss_plot.plot(symbol="o", symbolSize=6, name="validation (per epoch)")
        self.acc_curve = self.acc_plot.plot(symbol="o", symbolSize=6)
        theme.theme().changed.connect(self._colour)
        self._colour()
        self.train_curve.setDownsampling(auto=True, method="peak")
        self.train_curve.setClipToView(True)
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 2)
        layout.addWidget(self.acc_plot, 1)
        self.clear()

    def _colour(self) -> None:
        blue, red, green = (theme.colour(n) for n in ("blue", "red", "green"))
        self.train_curve.setPen(pg.mkPen(blue, width=1.5))
        self.val_curve.setPen(pg.mkPen(red, width=2))
        self.val_curve.setSymbolBrush(red)
        self.acc_curve.setPen(pg.mkPen(green, width=2))
        self.acc_curve.setSymbolBrush(green)

    def clear(self, epochs: int | None = None):
        """Empty the curves for a new run; with `epochs`, the x axis spans the whole budget from the start."""
        self._x: list[float] = []
        self._y: list[float] = []
        self._ema = None
        self._dirty = False
        self._epochs_dirty = False
        self._ceiling = 0.0
        self.epochs: list[dict] = []
        for curve in (self.train_curve, self.val_curve, self.acc_curve):
            curve.setData([], [])
        if epochs:
            self.loss_plot.setXRange(0, epochs, padding=0.02)
            self.loss_plot.enableAutoRange(x=False, y=False)
            self._timer.start()

    def add_batches(self, infos: list[dict]) -> None:
        """Add the batches the worker sent since its last update (drawn on the next timer tick)."""
        for info in infos:
            loss = info["loss"]
            ema = loss if self._ema is None else self.smoothing * self._ema + (1 - self.smoothing) * loss
            self._ema = ema
            self._x.append(info["epoch"] - 1 + info["step"] / info["steps"])
            self._y.append(ema)
        self._dirty = True
        if len(self.epochs) == 0 and len(self._x) == len(infos):
            self._redraw()  # the first points at once, so a new run shows life immediately

    def _redraw(self) -> None:
        if self._dirty:
            self._dirty = False
            y = np.asarray(self._y)
            self.train_curve.setData(np.asarray(self._x), y)
            self._raise_ceiling(float(np.nanmax(y)))
        if self._epochs_dirty:
            self._epochs_dirty = False
            x = np.array([e["epoch"] for e in self.epochs], dtype=float)
            val = np.array([e["val_loss"] for e in self.epochs], dtype=float)
            self.val_curve.setData(x, val)
            self.acc_curve.setData(x, np.array([e["val_accuracy"] for e in self.epochs], dtype=float))
            self._raise_ceiling(float(np.nanmax(val)))

    def _raise_ceiling(self, top: float) -> None:
        if np.isfinite(top) and top > self._ceiling:
            self._ceiling = top * 1.25
            self.loss_plot.setYRange(0, self._ceiling, padding=0)

    def add_epoch(self, info: dict) -> None:
        """Kept at once, drawn by the timer: tiny epochs can end a thousand times a second, and redrawing the
        per-epoch curves for each (a cost that grows with the epochs) starved the event loop."""
        self.epochs.append(info)
        self._epochs_dirty = True
        if len(self.epochs) == 1 or not self._timer.isActive():
            self._redraw()

    def finish(self) -> None:
        """Draw what is left once training ends and let both axes fit the whole run."""
        self._timer.stop()
        self._redraw()
        self.loss_plot.enableAutoRange(x=True, y=False)
        self._fit_under_legend()

    def _fit_under_legend(self) -> None:
        """The y axis fits the curves with room above them for the legend (top right), which covered the train
        curve where it ran along the top of a view fitted to the data alone."""
        ys = [np.asarray(c.getData()[1] if c.getData()[1] is not None else [], dtype=float)
              for c in (self.train_curve, self.val_curve)]
        values = np.concatenate(ys) if ys else np.zeros(0)
        values = values[np.isfinite(values)]
        if not values.size:
            self.loss_plot.enableAutoRange(y=True)
            return
        low, high = float(values.min()), float(values.max())
        span = (high - low) or max(abs(high), 1.0) * 0.1
        view = self.loss_plot.getPlotItem().getViewBox().height()
        share = min(0.5, (self.legend.boundingRect().height() + 16) / view) if view > 0 else 0.3
        self.loss_plot.setYRange(low - 0.05 * span, high + span * (share / (1 - share) + 0.05), padding=0)

    def show_history(self, history: list[dict], epochs: int | None = None) -> None:
        """A finished run's curves from its per-epoch history (another run was drawn live since): the train
        loss is then each epoch's mean, not the per-batch curve."""
        self.clear()
        if history:
            self.train_curve.setData([e["epoch"] for e in history], [e["train_loss"] for e in history])
        self.epochs = list(history)
        self._epochs_dirty = True
        self.finish()

    def plots(self):
        """The plot widgets by file name, for saving them with an export or a report."""
        return {"loss": self.loss_plot, "accuracy": self.acc_plot}
