"""The Compare tab's plots: each ticked run's validation loss per epoch, and its reliability diagram (after
calibration), overlaid in one colour per run."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


class ComparePlots(QWidget):
    """Validation loss curves and reliability diagrams of several runs (their summaries), side by side."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.losses = pg.PlotWidget(title="Validation loss per epoch")
        self.losses.setLabel("bottom", "epoch")
        self.losses.addLegend(offset=(-10, 10))
        self.reliability = pg.PlotWidget(title="Reliability (after calibration)")
        self.reliability.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
        self.reliability.setLabel("bottom", "confidence")
        self.reliability.setLabel("left", "accuracy")
        self.reliability.addLegend(offset=(10, 10))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.losses)
        layout.addWidget(self.reliability)

    def show_runs(self, runs: list[dict]) -> None:
        """Draw the run summaries' curves (a baseline has no training curve)."""
        self.losses.clear()
        self.reliability.clear()
        self.reliability.plot([0, 1], [0, 1], pen=pg.mkPen("#888", style=Qt.PenStyle.DashLine))
        for i, run in enumerate(runs):
            pen = pg.mkPen(COLORS[i % len(COLORS)], width=2)
            history = run["metrics"].get("training", {}).get("history", [])
            if history:
                self.losses.plot([h["epoch"] for h in history], [h["val_loss"] for h in history], pen=pen,
                                 name=run["name"])
            rel = run["metrics"]["test"]["reliability"]
            used = [k for k, n in enumerate(rel["count"]) if n]
            self.reliability.plot([rel["confidence"][k] for k in used], [rel["accuracy"][k] for k in used], pen=pen,
                                  symbol="o", symbolSize=6, symbolBrush=COLORS[i % len(COLORS)], name=run["name"])

    def plots(self):
        """The plot widgets by file name, for saving them with a report."""
        return {"compare_loss": self.losses, "compare_reliability": self.reliability}
