"""Reliability diagram: per-bin accuracy against confidence with the diagonal and the gaps, before and
after calibration, and the confidence histogram underneath with each bin's count written on it. Bins with
fewer rows than core.metrics.SPARSE_BIN are drawn hollow and faint: their accuracy is a guess. The bins (equal
width or equal mass, as many as the test size supports) come from core.metrics; the combo above the plot asks
for the other binning, which the evaluate panel has core recompute."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from workbench.core.recipe import BINNINGS, FIELDS

BINNING_LABELS = {"width": "equal width", "mass": "equal mass"}  # the words beside core's choices


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
        self.plot = pg.PlotWidget(title="Reliability")
        self.plot.setObjectName("reliabilityPlot")
        self.plot.setLabel("bottom", "confidence")
        self.plot.setLabel("left", "accuracy")
        self.plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
        self.plot.addLegend(offset=(10, 10))
        self.plot.plot([0, 1], [0, 1], pen=pg.mkPen("#888", style=pg.QtCore.Qt.DashLine), name="perfect")
        self.gaps = pg.BarGraphItem(x=[], height=[], width=0.05, y0=[], brush=pg.mkBrush(214, 39, 40, 70),
                                    pen=pg.mkPen(None))
        self.plot.addItem(self.gaps)
        self.before = self.plot.plot(pen=pg.mkPen("#ff7f0e", width=1.5, style=pg.QtCore.Qt.DotLine), symbol="t",
                                     symbolSize=7, symbolBrush="#ff7f0e", name="before calibration")
        self.after = self.plot.plot(pen=pg.mkPen("#1f77b4", width=2), symbol="o", symbolSize=7,
                                    symbolBrush="#1f77b4", name="after calibration")
        self.sparse = pg.ScatterPlotItem(size=9, symbol="o", brush=pg.mkBrush("w"), pen=pg.mkPen("#1f77b4"))
        self.plot.addItem(self.sparse)
        self.plot.plotItem.legend.addItem(self.sparse, "sparse bin (few rows)")
        self.hist = pg.PlotWidget(title="Confidence histogram")
        self.hist.setXLink(self.plot)
        self.hist.setLabel("bottom", "confidence")
        self.hist.setMinimumHeight(130)
        self.hist.getAxis("left").setTickSpacing(levels=None)
        self.hist_bars = pg.BarGraphItem(x=[], height=[], width=0.05, brush=pg.mkBrush(31, 119, 180, 150))
        self.hist.addItem(self.hist_bars)
        self.hist.setLabel("left", "rows")
        self.count_labels: list[pg.TextItem] = []  # one per bin, reused between runs
        row = QHBoxLayout()
        row.addWidget(QLabel("Reliability bins:"))
        row.addWidget(self.binning)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.plot, 5)
        layout.addWidget(self.hist, 2)

    def show_bins(self, after: dict, before: dict | None = None) -> None:
        """Draw the bins of the calibrated probabilities (`after`) and, if given, the raw ones."""
        edges = np.asarray(after["edges"])
        centers, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        count = np.asarray(after["count"])
        used = count > 0
        sparse = used & (count < after.get("sparse_below", 10))
        conf, acc = np.asarray(after["confidence"]), np.asarray(after["accuracy"])
        # The line joins every used bin; a sparse bin's filled marker is covered by a hollow one.
        self.after.setData(conf[used], acc[used])
        self.sparse.setData(conf[sparse], acc[sparse])
        self.gaps.setOpts(x=centers[used], y0=np.minimum(conf, acc)[used], height=np.abs(conf - acc)[used],
                          width=widths[used] * 0.8,
                          brushes=[pg.mkBrush(214, 39, 40, 25 if s else 70) for s in sparse[used]])
        if before is not None:
            b_used = np.asarray(before["count"]) > 0
            self.before.setData(np.asarray(before["confidence"])[b_used], np.asarray(before["accuracy"])[b_used])
        else:
            self.before.setData([], [])
        self.hist_bars.setOpts(x=centers, height=count, width=widths * 0.9,
                               brushes=[pg.mkBrush(31, 119, 180, 60 if s else 150) for s in sparse])
        while len(self.count_labels) < len(count):
            label = pg.TextItem(anchor=(0.5, 1.0), color="#333")
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
        self.plot.setTitle(f"Reliability ({len(count)} {after.get('binning', 'width')} bins; hollow: fewer than "
                           f"{after.get('sparse_below', 10)} rows)")

    def plots(self):
        """The plot widgets by file name, for saving them with an export or a report."""
        return {"reliability": self.plot, "confidence_histogram": self.hist}
