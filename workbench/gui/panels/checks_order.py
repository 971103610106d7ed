"""The Evaluate tab's box for ordered classes (an ordinal head, or a softmax head on classes cut from a number): the
ordinal head's ordered thresholds, the order metrics with their intervals, the confusion matrix shaded by distance
from the diagonal (how many classes off), and one reliability curve per threshold P(y > k). Everything shown is
core's (`run.metrics["ordinal"]`, the test split's order metrics); this box formats it."""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout

from .. import theme
from ..plots.base import Plot
from ..plots.roc import UNIT, UNIT_LIMITS

ORDER_NAMES = {"mae_classes": "mean class distance", "qwk": "quadratic weighted kappa",
               "within_one": "within one class"}



def thresholds_text(run) -> str:
    """An ordinal head's ordered thresholds between its classes, as rich text ("" for another head)."""
    found = (run.metrics or {}).get("ordinal") if run is not None else None
    if not found:
        return ""
    classes = [html.escape(str(c)) for c in found["classes"]]
    text = f" Ordinal head <b>{html.escape(str(found['head']))}</b>"
    thresholds = found.get("thresholds")
    if thresholds:
        cuts = "".join(f" &lt; <b>{t:.3f}</b> &lt; {c}" for t, c in zip(thresholds, classes[1:]))
        text += f", thresholds on its score: {classes[0]}{cuts}"
    fine = found.get("fine_bins")
    if fine:
        text += f", trained on {fine['bins']} finer bins ({html.escape(str(fine['from']))}) summed into the classes"
    if found.get("ordered_by"):
        text += f" (order from {html.escape(str(found['ordered_by']))})"
    return text + "."


def order_html(test: dict) -> str:
    parts = []
    for key, name in ORDER_NAMES.items():
        if test.get(key) is None:
            continue
        ci = test.get("ci", {}).get(key)
        parts.append(f"{name} <b>{test[key]:.3f}</b>" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""))
    counts = test.get("distance_counts") or []
    text = " · ".join(parts)
    if counts:
        text += "<br>Rows by distance from their class: " + ", ".join(
            f"{d} off: {n}" for d, n in enumerate(counts) if n or d == 0)
    if test.get("order_definition"):
        text += f"<br><span style='color:{theme.colour('muted')}'>{html.escape(test['order_definition'])}.</span>"
    return text


class OrderBox(QGroupBox):
    """Ordered classes of the current run: thresholds, order metrics, distance-shaded matrix, per-threshold
    reliability."""

    def __init__(self, session, parent=None):
        super().__init__("Ordered classes", parent)
        self.setObjectName("orderBox")
        self.summary = QLabel()
        self.summary.setObjectName("orderSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.matrix = QTableWidget(0, 0)
        self.matrix.setObjectName("distanceMatrix")
        self.matrix.setTabKeyNavigation(False)  # Tab moves on; the arrow keys walk the cells
        self.matrix.setToolTip("Test rows by true class (rows) and decided class (columns); the darker a cell, the "
                               "more classes it is off the diagonal.")
        self.matrix.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.matrix.setMinimumSize(240, 150)
        self.matrix.setMaximumHeight(300)
        self.reliability = Plot("Reliability per threshold P(y > k)", "thresholdReliability", UNIT, UNIT_LIMITS)
        self.reliability.setLabel("bottom", "predicted P(y > k)")
        self.reliability.setLabel("left", "observed share above")
        self.reliability.setMouseEnabled(x=False, y=False)
        self.reliability.setMinimumSize(300, 220)
        self.reliability.setMaximumHeight(300)
        self.reliability.addLegend(offset=(10, 10))
        row = QHBoxLayout()
        row.addWidget(self.matrix, 1)
        row.addWidget(self.reliability, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(row)
        session.run_changed.connect(self._on_run_changed)
        self._on_run_changed(session.model.run)

    def _on_run_changed(self, run) -> None:
        test = run.metrics["test"] if run is not None else {}
        ordered = "reliability_thresholds" in test
        self.setVisible(ordered)
        if not ordered:
            return
        self.summary.setText(thresholds_text(run).strip() + ("<br>" if run.metrics.get("ordinal") else "")
                             + order_html(test))
        self._show_matrix(test["confusion_matrix"], [str(c) for c in run.data.classes])
        self._show_curves(test["reliability_thresholds"])

    def _show_matrix(self, matrix: list[list[int]], classes: list[str]) -> None:
        k = len(classes)
        self.matrix.setRowCount(k)
        self.matrix.setColumnCount(k)
        self.matrix.setHorizontalHeaderLabels(classes)
        self.matrix.setVerticalHeaderLabels(classes)
        for i in range(k):
            for j in range(k):
                item = QTableWidgetItem(str(matrix[i][j]))
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setData(Qt.ItemDataRole.UserRole, abs(i - j))  # the distance, for tests and screen readers
                shade = QColor(theme.colour("red"))
                shade.setAlphaF(min(abs(i - j) / max(k - 1, 1), 1.0) * 0.6)
                item.setBackground(QBrush(shade))
                item.setToolTip(f"{matrix[i][j]} rows of {classes[i]} decided {classes[j]}: {abs(i - j)} classes off")
                self.matrix.setItem(i, j, item)

    def _show_curves(self, tables: list[dict]) -> None:
        plot = self.reliability
        plot.clear()
        plot.plot([0, 1], [0, 1], pen=pg.mkPen(theme.colour("grid"), style=Qt.PenStyle.DashLine))
        for t, table in enumerate(tables):
            used = [i for i, c in enumerate(table["count"]) if c]
            plot.plot([table["confidence"][i] for i in used], [table["accuracy"][i] for i in used],
                      pen=pg.mkPen(theme.series(t), width=2), symbol="o", symbolSize=5,
                      symbolBrush=theme.series(t),
                      name=f"{table['label']} (ECE {table['ece']:.3f})")
        plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
