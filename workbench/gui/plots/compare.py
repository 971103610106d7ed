"""The Compare tab's plots: each ticked run's validation loss per epoch, and its reliability diagram (after
calibration), overlaid in one colour per run."""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from workbench.core.workflow.run_names import telling_parts

from .. import theme
from .base import CORNERS, Plot, quiet_corner
from .roc import UNIT, UNIT_LIMITS

LEGEND_CHARS = 30  # a run's name in a legend: longer ones end in "…" (the table above names them in full)


def _short(name: str) -> str:
    """A run's name cut for a legend, as text (a legend reads HTML): the plot's width is shared by two plots at
    1024 x 700, and a legend wider than its plot hides its line samples behind the axis."""
    return html.escape(name if len(name) <= LEGEND_CHARS else name[:LEGEND_CHARS - 1].rstrip(" ·") + "…")


def _number(value) -> float:
    """A validation loss as a number: an epoch without validation rows records null."""
    return float("nan") if value is None else float(value)


class ComparePlots(QWidget):
    """Validation loss curves and reliability diagrams of several runs (their summaries), side by side."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.losses = Plot("Validation loss per epoch", "compare_loss")
        self.losses.setLabel("bottom", "epoch")
        self.losses.addLegend(offset=CORNERS["top right"])  # a filled box: a curve under it does not garble it
        self.reliability = Plot("Reliability (after calibration)", "compare_reliability", UNIT, UNIT_LIMITS)
        self.reliability.setLabel("bottom", "confidence")
        self.reliability.setLabel("left", "accuracy")
        self.reliability.addLegend(offset=(-10, -10))  # bottom right: a calibrated model's points keep off it
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.losses)
        layout.addWidget(self.reliability)
        self.runs: list[dict] = []
        theme.theme().changed.connect(self._redraw)  # a bound slot: disconnected when this widget is deleted

    def _redraw(self) -> None:
        self.show_runs(self.runs)

    def show_runs(self, runs: list[dict]) -> None:
        """Draw the run summaries' curves (a baseline has no training curve)."""
        self.runs = runs
        for plot in (self.losses, self.reliability):
            legend = plot.getPlotItem().legend
            legend.setBrush(pg.mkBrush(theme.colour("base")))
            legend.setPen(pg.mkPen(theme.colour("grid")))
            legend.setLabelTextColor(theme.colour("text"))
        self.losses.reset_view()
        self.reliability.reset_view()
        self.losses.clear()
        self.reliability.clear()
        self.reliability.plot([0, 1], [0, 1], pen=pg.mkPen(theme.colour("grid"), style=Qt.PenStyle.DashLine))
        curves = []
        names = telling_parts([run["name"] for run in runs])  # what they share would fill the legend
        for i, (run, name) in enumerate(zip(runs, names)):
            pen = pg.mkPen(theme.series(i), width=2)
            history = run["metrics"].get("training", {}).get("history", [])
            if history:
                curve = ([h["epoch"] for h in history], [_number(h["val_loss"]) for h in history])
                curves.append(curve)
                self.losses.plot(*curve, pen=pen, name=_short(name))
            rel = run["metrics"]["test"]["reliability"]
            used = [k for k, n in enumerate(rel["count"]) if n]
            self.reliability.plot([rel["confidence"][k] for k in used], [rel["accuracy"][k] for k in used], pen=pen,
                                  symbol="o", symbolSize=6, symbolBrush=theme.series(i), name=_short(name))
        self.losses.getPlotItem().legend.setOffset(CORNERS[quiet_corner(curves)])

    def plots(self):
        """The plot widgets by file name, for saving them with a report."""
        return {"compare_loss": self.losses, "compare_reliability": self.reliability}
