"""ROC and precision-recall curves for a binary head, with the current decision threshold marked."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QWidget


class RocPlot(QWidget):
    """ROC and precision-recall curves of a binary run, with the decision threshold marked."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.roc = pg.PlotWidget(title="ROC")
        self.roc.setObjectName("rocPlot")
        self.roc.setLabel("bottom", "false positive rate")
        self.roc.setLabel("left", "true positive rate")
        self.roc.plot([0, 1], [0, 1], pen=pg.mkPen("#888", style=pg.QtCore.Qt.DashLine))
        self.roc_curve = self.roc.plot(pen=pg.mkPen("#1f77b4", width=2))
        self.roc_point = self.roc.plot(pen=None, symbol="o", symbolSize=10, symbolBrush="#d62728")
        self.pr = pg.PlotWidget(title="Precision–recall")
        self.pr.setLabel("bottom", "recall")
        self.pr.setLabel("left", "precision")
        self.pr_curve = self.pr.plot(pen=pg.mkPen("#2ca02c", width=2))
        self.pr_point = self.pr.plot(pen=None, symbol="o", symbolSize=10, symbolBrush="#d62728")
        for plot in (self.roc, self.pr):
            plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.roc)
        layout.addWidget(self.pr)

    def show_curves(self, curves: dict) -> None:
        """Draw the curves computed by core (fpr/tpr and recall/precision)."""
        self.curves = curves
        self.roc_curve.setData(curves["fpr"], curves["tpr"])
        self.pr_curve.setData(curves["recall"], curves["precision"])

    def mark(self, p1: np.ndarray, y: np.ndarray, threshold: float) -> None:
        """Mark where the decision `threshold` puts the run on both curves."""
        pred = p1 >= threshold
        tp, fp = float((pred & (y == 1)).sum()), float((pred & (y == 0)).sum())
        pos, neg = max(float((y == 1).sum()), 1), max(float((y == 0).sum()), 1)
        self.roc_point.setData([fp / neg], [tp / pos])
        self.pr_point.setData([tp / pos], [tp / max(tp + fp, 1)])

    def plots(self):
        """The plot widgets by file name, for saving them with an export or a report."""
        return {"roc": self.roc, "precision_recall": self.pr}
