"""The learning-rate range test's curve: smoothed loss against the rate (log axis), the pick marked; clicking
another point of the curve chooses that rate for the next training."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from .. import theme
from .base import Plot

NOT_RUN = "The range test runs at the start of a training with learning rate auto."


class LrFinderPlot(QWidget):
    """The learning-rate range test's curve, with the picked rate; clicking a point chooses that rate."""

    rate_chosen = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = Plot("Learning-rate range test", "lr_finder")
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("bottom", "learning rate")
        self.plot.setLabel("left", "smoothed training loss")
        for side in ("bottom", "left"):  # the log axis's ticks are the rates themselves: no "(x0.001)" scaling
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.curve = self.plot.plot()
        # The points are what the user clicks; small and faint so the curve reads as a line.
        self.points = pg.ScatterPlotItem(size=6, pen=pg.mkPen(None), hoverable=True, hoverSize=10, tip=None)
        self.points.sigClicked.connect(self._on_points_clicked)
        self.plot.addItem(self.points)
        self.pick = pg.ScatterPlotItem(size=13, symbol="o")
        self.plot.addItem(self.pick)
        self.chosen = pg.ScatterPlotItem(size=13, symbol="d")
        self.plot.addItem(self.chosen)
        theme.theme().changed.connect(self._colour)
        self._colour()
        self.caption = QLabel(NOT_RUN)
        self.caption.setObjectName("lrFinderCaption")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.caption, 0, Qt.AlignmentFlag.AlignTop)  # alone (no curve), it sits at the top
        self.plot.setVisible(False)  # no curve, no empty axes: the caption says why
        self.lrs = np.empty(0)
        self.losses = np.empty(0)

    def _colour(self) -> None:
        faint = QColor(theme.colour("blue"))
        faint.setAlpha(60)
        self.curve.setPen(pg.mkPen(theme.colour("blue"), width=1.5))
        self.points.setBrush(pg.mkBrush(faint))
        for item, name in ((self.pick, "red"), (self.chosen, "green")):
            item.setBrush(pg.mkBrush(theme.colour(name)))
            item.setPen(pg.mkPen(theme.colour("base")))

    def clear(self, caption: str = NOT_RUN) -> None:
        """No curve (no run shown, or one trained without the test), and `caption` saying why."""
        self.chosen.setData([], [])
        self.lrs = self.losses = np.empty(0)
        self.curve.setData([], [])
        self.points.setData([], [])
        self.pick.setData([], [])
        self.plot.setVisible(False)
        self.caption.setText(caption)

    def show_result(self, finder: dict | None, used_lr: float | None = None) -> None:
        """Draw a range test (core's FinderResult.to_dict()), or clear the plot for None."""
        if not finder:
            self.clear("No range test: the learning rate was set by hand.")
            return
        if not finder["lrs"]:  # stopped, or its first loss was not finite: no point to draw
            self.clear(f"No range-test curve: {finder.get('note') or 'the test measured no rate'}.")
            return
        self.chosen.setData([], [])
        self.lrs, self.losses = np.asarray(finder["lrs"]), np.asarray(finder["losses"])
        x = np.log10(self.lrs)  # log mode: items take log10 coordinates
        self.curve.setData(self.lrs, self.losses)
        self.plot.setVisible(True)
        # Labels at the powers of ten the test swept (pyqtgraph's own log ticks can show only 2..9 of a decade).
        decades = range(int(np.floor(x.min())), int(np.ceil(x.max())) + 1)
        self.plot.getAxis("bottom").setTicks([[(k, f"{10.0 ** k:g}") for k in decades], []])
        self.points.setData(x, self.losses, data=list(range(len(x))))
        if finder["pick_index"] >= 0:
            self.pick.setData([np.log10(finder["pick"])], [float(np.interp(np.log10(finder["pick"]), x, self.losses))])
        else:
            self.pick.setData([], [])
        low = np.nanmin(self.losses)
        self.plot.setYRange(low, min(np.nanmax(self.losses), low + 3 * (self.losses[0] - low + 1e-9)))
        text = f"Picked {finder['pick']:.3g} (red)" + (f": {finder['note']}" if finder.get("note") else "")
        if finder.get("valley"):
            text += f", one-cycle's peak at {finder['pick'] / finder['valley']:.1f}x the valley {finder['valley']:.3g}"
        if used_lr is not None and not np.isclose(used_lr, finder["pick"]):
            text += f"; trained with {used_lr:.3g}"
        self.caption.setText(text + ". Click a point of the curve to train with that rate next time.")

    def choose_index(self, index: int) -> None:
        """Choose the curve's `index`-th rate: mark it and emit `rate_chosen`."""
        rate = float(self.lrs[index])
        self.chosen.setData([np.log10(rate)], [float(self.losses[index])])
        self.caption.setText(f"Next training uses learning rate {rate:.3g} (green). Tick 'auto' beside the "
                             "learning rate to let the range test pick again.")
        self.rate_chosen.emit(rate)

    def _on_points_clicked(self, _item, points, _event=None) -> None:
        if len(points):
            self.choose_index(int(points[0].data()))

    def plots(self):
        """The plot widget by file name, for saving it with an export or a report."""
        return {"lr_finder": self.plot}
