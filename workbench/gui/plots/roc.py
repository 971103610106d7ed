"""ROC and precision-recall curves for a binary head, with the current decision threshold marked."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from .. import theme
from .base import Plot

UNIT = ((0.0, 1.0), (0.0, 1.0))  # rates and probabilities: the whole square, never beyond
UNIT_LIMITS = {"xMin": -0.05, "xMax": 1.05, "yMin": -0.05, "yMax": 1.05}
MIN_HEIGHT = 240  # pixels: below it the x axis's label is cut off


class RocPlot(QWidget):
    """ROC and precision-recall curves of a binary run, with the decision threshold marked."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.roc = Plot("ROC", "roc", UNIT, UNIT_LIMITS)
        self.roc.setLabel("bottom", "false positive rate")
        self.roc.setLabel("left", "true positive rate")
        self.diagonal = self.roc.plot([0, 1], [0, 1])
        self.roc_curve = self.roc.plot()
        self.roc_point = self.roc.plot(pen=None, symbol="o", symbolSize=10)
        # the decision policy's operating point (what the export decides), beside the slider's exploring point
        self.roc_policy = self.roc.plot(pen=None, symbol="d", symbolSize=13)
        self.pr = Plot("Precision–recall", "precision_recall", UNIT, UNIT_LIMITS)
        self.pr.setLabel("bottom", "recall")
        self.pr.setLabel("left", "precision")
        self.pr_curve = self.pr.plot()
        self.pr_point = self.pr.plot(pen=None, symbol="o", symbolSize=10)
        self.pr_policy = self.pr.plot(pen=None, symbol="d", symbolSize=13)
        for plot in (self.roc, self.pr):
            plot.setMinimumHeight(MIN_HEIGHT)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.roc)
        layout.addWidget(self.pr)
        theme.theme().changed.connect(self._colour)
        self._colour()

    def _colour(self) -> None:
        self.diagonal.setPen(pg.mkPen(theme.colour("grid"), style=Qt.PenStyle.DashLine))
        self.roc_curve.setPen(pg.mkPen(theme.colour("blue"), width=2))
        self.pr_curve.setPen(pg.mkPen(theme.colour("green"), width=2))
        for point in (self.roc_point, self.pr_point):
            point.setSymbolBrush(theme.colour("red"))
            point.setSymbolPen(theme.colour("base"))
        for point in (self.roc_policy, self.pr_policy):
            point.setSymbolBrush(theme.colour("green"))
            point.setSymbolPen(theme.colour("text"))

    def show_curves(self, curves: dict) -> None:
        """Draw the curves computed by core (fpr/tpr and recall/precision)."""
        self.curves = curves
        self.roc_curve.setData(curves["fpr"], curves["tpr"])
        self.pr_curve.setData(curves["recall"], curves["precision"])

    def reset_view(self) -> None:
        for plot in (self.roc, self.pr):
            plot.reset_view()

    def mark(self, p1: np.ndarray, y: np.ndarray, threshold: float) -> None:
        """Mark where the decision `threshold` puts the run on both curves."""
        (fpr, tpr), precision = _rates(p1, y, threshold)
        self.roc_point.setData([fpr], [tpr])
        self.pr_point.setData([tpr], [precision])

    def mark_policy(self, policy: dict | None, shift: dict | None = None) -> None:
        """Mark the decision policy's operating point on the test split (core's `test.decision_policy`), or clear
        it when the run has none or it is not a binary threshold. Under a deployment prior (`shift`, the metrics'
        prior_shift) the policy's threshold is on the corrected probabilities, so the tooltip says both scales."""
        policy = policy or {}
        scored = policy.get("test", {})
        if "recall" not in scored or "false_positive_rate" not in scored:
            self.roc_policy.setData([], [])
            self.pr_policy.setData([], [])
            self.roc.setToolTip("")
            return
        self.roc_policy.setData([scored["false_positive_rate"]], [scored["recall"]])
        self.pr_policy.setData([scored["recall"]], [scored["precision"]])
        before = (shift or {}).get("threshold_before_correction")
        scale = "" if before is None else \
            (f" on the probabilities corrected to the deployment prior, {before:.3f} before the correction as on the "
             "slider")
        self.roc.setToolTip(f"Diamond: the decision policy ({policy['policy']}, threshold "
                            f"{policy['threshold']:.3f}{scale}) that the export decides by; dot: the slider's "
                            "threshold.")

    def plots(self):
        """The plot widgets by file name, for saving them with an export or a report."""
        return {"roc": self.roc, "precision_recall": self.pr}


def _rates(p1: np.ndarray, y: np.ndarray, threshold: float) -> tuple[tuple[float, float], float]:
    """((false positive rate, true positive rate), precision) of deciding p1 >= threshold."""
    pred = p1 >= threshold
    tp, fp = float((pred & (y == 1)).sum()), float((pred & (y == 0)).sum())
    pos, neg = max(float((y == 1).sum()), 1), max(float((y == 0).sum()), 1)
    return (fp / neg, tp / pos), tp / max(tp + fp, 1)
