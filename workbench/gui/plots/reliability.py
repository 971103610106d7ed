"""Reliability diagram: per-bin accuracy against confidence with the diagonal and the gaps, before and
after calibration, and the confidence histogram underneath with each bin's count written on it. Bins with
fewer rows than core.metrics.SPARSE_BIN are drawn hollow and faint: their accuracy is a guess. The bins (equal
width or equal mass, as many as the test size supports) come from core.metrics; the combo above the plot asks
for the other binning, which the evaluate panel has core recompute."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from workbench.core.recipe import BINNINGS, FIELDS

from .. import theme
from .base import Plot
from .roc import UNIT, UNIT_LIMITS

BINNING_LABELS = {"width": "equal width", "mass": "equal mass"}  # the words beside core's choices
MIN_PLOT, MIN_HIST = 240, 170  # pixels: the diagram stays readable under its legend, the counts above their bars
LEFT_AXIS = 52  # pixels: the left axes of the diagram and the histogram (room for "1000" and the axis title)
LABEL_ROOM = 26  # pixels above the histogram's tallest bar, for its count


def _alpha(colour: QColor, alpha: int):
    c = QColor(colour)
    c.setAlpha(alpha)
    return pg.mkBrush(c)


class ReliabilityPlot(QWidget):
    """Reliability diagram before and after calibration, gaps shaded, with a confidence histogram."""
    binning_chosen = Signal(str)  # one of core's BINNINGS, when the user picks another in the combo

    def __init__(self, parent=None):
        super().__init__(parent)
        self.binning = QComboBox()
        self.binning.setObjectName("reliabilityBinning")
        for choice in BINNINGS:
            self.binning.addItem(BINNING_LABELS.get(choice, choice), choice)
        self.binning.setToolTip(FIELDS["binning"][1].help + "; the count follows the test size")
        self.binning.currentIndexChanged.connect(lambda i: self.binning_chosen.emit(self.binning.itemData(i)))
        self.plot = Plot("Reliability", "reliability", UNIT, UNIT_LIMITS)
        self.plot.setLabel("bottom", "confidence")
        self.plot.setLabel("left", "accuracy")
        self.plot.setMinimumHeight(MIN_PLOT)
        self.legend = legend = self.plot.addLegend(offset=(10, 10))
        legend.setColumnCount(2)  # two short rows instead of four tall ones over the top-left of the diagram
        legend.setZValue(100)  # over the curves, on its own background
        self.diagonal = self.plot.plot([0, 1], [0, 1], name="perfect")
        self.gaps = pg.BarGraphItem(x=[], height=[], width=0.05, y0=[], pen=pg.mkPen(None))
        self.plot.addItem(self.gaps)
        self.before = self.plot.plot(symbol="t", symbolSize=7, name="before calibration")
        self.after = self.plot.plot(symbol="o", symbolSize=7, name="after calibration")
        self.sparse = pg.ScatterPlotItem(size=9, symbol="o")
        self.plot.addItem(self.sparse)
        self._legend_rows("after calibration", True)
        self.hist = Plot("Confidence histogram", "confidence_histogram", limits={"xMin": -0.05, "xMax": 1.05})
        self.hist.setXLink(self.plot)
        self.hist.setLabel("bottom", "confidence")
        self.hist.setMinimumHeight(MIN_HIST)
        self.hist.getAxis("left").setTickSpacing(levels=None)
        self.hist_bars = pg.BarGraphItem(x=[], height=[], width=0.05)
        self.hist.addItem(self.hist_bars)
        self.hist.setLabel("left", "rows")
        for plot in (self.plot, self.hist):  # the same left margin, so the linked x axes line up bin for bin
            plot.getAxis("left").setWidth(LEFT_AXIS)
        self.count_labels: list[pg.TextItem] = []  # one per bin, reused between runs
        self._tallest = 1.0
        self.hist.getViewBox().sigResized.connect(self._fit_counts)
        row = QHBoxLayout()
        row.addWidget(QLabel("Reliability bins:"))
        row.addWidget(self.binning)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.plot, 5)
        layout.addWidget(self.hist, 2)
        self._sparse_mask = np.zeros(0, dtype=bool)
        self._used = np.zeros(0, dtype=bool)
        theme.theme().changed.connect(self._colour)
        self._colour()

    def _colour(self) -> None:
        """Pens and brushes from the theme (again when it changes)."""
        blue, orange, red = (QColor(theme.colour(n)) for n in ("blue", "orange", "red"))
        self.diagonal.setPen(pg.mkPen(theme.colour("grid"), style=Qt.PenStyle.DashLine))
        self.before.setPen(pg.mkPen(orange, width=1.5, style=Qt.PenStyle.DotLine))
        self.before.setSymbolBrush(orange)
        self.after.setPen(pg.mkPen(blue, width=2))
        self.after.setSymbolBrush(blue)
        self.sparse.setBrush(pg.mkBrush(theme.colour("base")))
        self.sparse.setPen(pg.mkPen(blue))
        sparse = self._sparse_mask
        self.gaps.setOpts(brush=_alpha(red, 70), brushes=[_alpha(red, 25 if s else 70) for s in sparse[self._used]])
        self.hist_bars.setOpts(brush=_alpha(blue, 150), brushes=[_alpha(blue, 60 if s else 150) for s in sparse])
        for label in self.count_labels:
            label.setColor(theme.colour("text"))

    def _legend_rows(self, after: str, before: bool) -> None:
        """The legend's rows for what is drawn: no "before calibration" row for a run left uncalibrated."""
        self.legend.clear()
        for item, name in ((self.diagonal, "perfect"), (self.before, "before calibration"), (self.after, after),
                           (self.sparse, "sparse bin (few rows)")):
            if item is not self.before or before:
                self.legend.addItem(item, name)

    def show_bins(self, after: dict, before: dict | None = None, after_name: str = "after calibration") -> None:
        """Draw the bins of the calibrated probabilities (`after`, named `after_name` in the legend) and, if given,
        the raw ones."""
        self._legend_rows(after_name, before is not None)
        edges = np.asarray(after["edges"])
        centers, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        count = np.asarray(after["count"])
        used = count > 0
        sparse = used & (count < after.get("sparse_below", 10))
        conf, acc = np.asarray(after["confidence"]), np.asarray(after["accuracy"])
        # The line joins every used bin; a sparse bin's filled marker is covered by a hollow one.
        self.after.setData(conf[used], acc[used])
        self.sparse.setData(conf[sparse], acc[sparse])
        self._sparse_mask, self._used = sparse, used
        self.gaps.setOpts(x=centers[used], y0=np.minimum(conf, acc)[used], height=np.abs(conf - acc)[used],
                          width=widths[used] * 0.8)
        if before is not None:
            b_used = np.asarray(before["count"]) > 0
            self.before.setData(np.asarray(before["confidence"])[b_used], np.asarray(before["accuracy"])[b_used])
        else:
            self.before.setData([], [])
        self.hist_bars.setOpts(x=centers, height=count, width=widths * 0.9)
        while len(self.count_labels) < len(count):
            label = pg.TextItem(anchor=(0.5, 1.0))
            self.hist.addItem(label)
            self.count_labels.append(label)
        for i, label in enumerate(self.count_labels):
            label.setVisible(i < len(count))
            if i < len(count):
                label.setText(str(int(count[i])))
                label.setPos(float(centers[i]), float(count[i]))
        self.binning.blockSignals(True)  # showing a run's bins is not a request for new ones
        self.binning.setCurrentIndex(max(0, self.binning.findData(after.get("binning", "width"))))
        self.binning.blockSignals(False)
        self._colour()
        self.plot.setTitle(f"Reliability ({len(count)} {BINNING_LABELS.get(after.get('binning', 'width'), '')} bins)")
        self.sparse.setToolTip(f"A bin of fewer than {after.get('sparse_below', 10)} rows: its accuracy is a guess")
        self._tallest = max(float(count.max(initial=0)), 1.0)
        self._fit_counts()

    def _fit_counts(self) -> None:
        """The histogram's y axis runs high enough that the tallest bar's count, drawn above it, stays inside:
        LABEL_ROOM pixels of the plot's height are left above the bar (the counts change with each calibration, so
        this is no zoom of the user's)."""
        height = max(self.hist.getViewBox().height(), 2.0 * LABEL_ROOM)
        top = self._tallest * height / (height - LABEL_ROOM)
        self.hist.home = ((0.0, 1.0), (0.0, top))
        self.hist.getViewBox().setYRange(0.0, top, padding=0)

    def reset_view(self) -> None:
        """Both plots back to their home view: the unit square, and every bar of the histogram with its count."""
        self.hist.reset_view()
        self.plot.reset_view()  # last: the histogram follows the diagram's x range

    def plots(self):
        """The plot widgets by file name, for saving them with an export or a report."""
        return {"reliability": self.plot, "confidence_histogram": self.hist}
