"""What the Decisions box shows of core's results: rich text for the conformal sets, the decision policy's operating
point, the refer band and the deployment prior, and the two small plots (the set-size histogram, the refer band's
coverage-vs-error curve). Formatting only: every number comes from the run's metrics (`decide.decisions`)."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem

from .. import theme
from ..plots.base import Plot
from ..plots.roc import UNIT, UNIT_LIMITS

PLOT_MIN = (260, 150)  # width, height: below it the axes' labels overlap the bars



def _ci(pair) -> str:
    return f" [{pair[0]:.3f}, {pair[1]:.3f}]" if pair else ""


def conformal_html(sets: dict | None) -> str:
    if not sets:
        return "No conformal sets (the run has no calibration split)."
    if sets.get("coverage") is None:
        return "No labelled test rows to measure coverage on."
    text = (f"Test coverage <b>{sets['coverage']:.3f}</b>{_ci(sets.get('coverage_ci'))} (target "
            f"{1 - sets['alpha']:.2f}) · mean set size <b>{sets['mean_set_size']:.2f}</b>"
            f"{_ci(sets.get('mean_set_size_ci'))}")
    if sets.get("singletons") is not None:
        text += f" · one class {sets['singletons']:.0%}, empty {sets['empty_sets']:.0%}"
    if sets.get("contiguous"):
        text += (f"<br><span style='color:{theme.colour('muted')}'>Ordered classes: every set is a range of "
                 "classes.</span>")
    if sets.get("coverage_at_deployment_prior") is not None:
        text += f"<br>Coverage expected at the deployment prior: {sets['coverage_at_deployment_prior']:.3f}"
    return text


def policy_html(policy: dict | None, classes: list[str]) -> str:
    """The policy's operating point on the test split (its ROC point for a binary head)."""
    if not policy:
        return ""
    scored = policy.get("test", {})
    text = html.escape(policy["chosen"][:1].upper() + policy["chosen"][1:])
    if policy.get("calibration_value") is not None:
        text += f" ({policy['calibration_value']:.3f} on the calibration split)"
    text += f".<br>Rule: {html.escape(policy['rule'])}."
    if scored.get("accuracy") is None:
        return text
    point = (f"<br>Test: accuracy <b>{scored['accuracy']:.3f}</b> · balanced accuracy "
             f"{scored['balanced_accuracy']:.3f} · macro F1 {scored['macro_f1']:.3f}")
    if "recall" in scored:
        point += (f"<br>Operating point: threshold <b>{policy['threshold']:.3f}</b> · recall (TPR) "
                  f"<b>{scored['recall']:.3f}</b> · false positive rate <b>{scored['false_positive_rate']:.3f}</b>"
                  f" · precision {scored['precision']:.3f}")
    if "mean_cost" in scored:
        point += f" · mean cost <b>{scored['mean_cost']:.3f}</b> a row"
    return text + point


def band_html(band: dict | None) -> str:
    if not band:
        return "Off: every case is decided."
    scored = band["test"]
    if not band["certified"]:
        where = "No band is certified, so every case is referred."
    elif band["lower"] >= band["upper"]:
        where = "The band is empty: every case is decided."
    else:
        where = (f"Refer cases with p(positive) in <b>[{band['lower']:.3f}, {band['upper']:.3f})</b>; decide the "
                 "rest.")
    error = ("none decided" if scored["error"] is None else
             f"error among decided <b>{scored['error']:.3f}</b>{_ci(scored.get('error_ci'))}")
    return (f"{where}<br>Test: decided <b>{scored['coverage']:.3f}</b>{_ci(scored.get('coverage_ci'))} · {error} "
            f"(target at most {band['epsilon']:g} with {1 - band['delta']:.0%} confidence)<br>"
            f"<span style='color:{theme.colour('muted')}'>{html.escape(band['procedure'])}.</span>")


def prior_html(shift: dict | None, estimate: dict | None, classes: list[str]) -> str:
    if not shift:
        return "None: the probabilities assume the calibration split's class shares."
    named = ", ".join(f"{html.escape(c)} {v:.3f}" for c, v in zip(classes, shift["prior"]))
    text = (f"Deployment prior <b>{named}</b> (calibration split: "
            + ", ".join(f"{v:.3f}" for v in shift["source_prior"]) + "); probabilities and thresholds corrected.")
    if estimate:
        text += (f"<br>Estimated by {html.escape(str(estimate.get('method', '')).upper())} from "
                 f"{html.escape(str(estimate.get('from', '')))}"
                 + (f" ({estimate['iterations']} iterations)" if "iterations" in estimate else "")
                 + "".join(f"; {html.escape(text)}" for text in estimate.get("notes", [])))
    if shift.get("threshold_before_correction") is not None:
        text += f"<br>Same decisions as a threshold of {shift['threshold_before_correction']:.3f} before correction."
    return text


def histogram_plot() -> tuple[pg.PlotWidget, pg.BarGraphItem]:
    plot = Plot("Set sizes (test)", "setSizeHistogram")
    plot.setLabel("bottom", "classes in the set")
    plot.setLabel("left", "test rows")
    plot.setMouseEnabled(x=False, y=False)
    plot.setMinimumSize(*PLOT_MIN)
    plot.setMaximumHeight(260)
    bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=theme.colour("blue"))
    plot.addItem(bars)
    return plot, bars


def show_histogram(plot: pg.PlotWidget, bars: pg.BarGraphItem, counts: list[int]) -> None:
    x = np.arange(len(counts))
    bars.setOpts(x=x, height=np.asarray(counts, dtype=float), width=0.7)
    plot.getAxis("bottom").setTicks([[(int(i), str(int(i))) for i in x]])
    plot.setXRange(-0.6, max(len(counts) - 0.4, 1), padding=0)
    plot.setYRange(0, max(max(counts, default=0), 1) * 1.1, padding=0)


def band_plot() -> pg.PlotWidget:
    plot = Plot("Refer band: decided vs error (test)", "referCurve", UNIT, UNIT_LIMITS)
    plot.setLabel("bottom", "share decided")
    plot.setLabel("left", "error among decided")
    plot.setMouseEnabled(x=False, y=False)
    plot.setMinimumSize(*PLOT_MIN)
    plot.setMaximumHeight(280)
    plot.curve = plot.plot(pen=pg.mkPen(theme.colour("blue"), width=2))
    plot.target = pg.InfiniteLine(angle=0, pen=pg.mkPen(theme.colour("error"), style=pg.QtCore.Qt.DashLine))
    plot.addItem(plot.target)
    plot.point = plot.plot(pen=None, symbol="o", symbolSize=9, symbolBrush=theme.colour("red"))
    return plot


def show_band(plot: pg.PlotWidget, band: dict | None) -> None:
    if not band:
        plot.curve.setData([], [])
        plot.point.setData([], [])
        return
    curve = band["test"]["curve"]
    plot.curve.setData(curve["coverage"], curve["error"])
    plot.target.setValue(band["epsilon"])
    scored = band["test"]
    if scored["coverage"] is not None and scored["error"] is not None:
        plot.point.setData([scored["coverage"]], [scored["error"]])
    else:
        plot.point.setData([], [])
    plot.setXRange(0, 1, padding=0.02)
    plot.setYRange(0, max(max(curve["error"], default=0), band["epsilon"]) * 1.15 + 1e-3, padding=0)


def per_class_table() -> QTableWidget:
    table = QTableWidget(0, 4)
    table.setObjectName("perClassCoverage")
    table.setHorizontalHeaderLabels(["Class", "Coverage", "95% interval", "Rows"])
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.setMaximumHeight(260)
    table.verticalHeader().setVisible(False)
    table.setTabKeyNavigation(False)
    table.setMinimumSize(200, 110)
    return table


def show_per_class(table: QTableWidget, per_class: dict) -> None:
    table.setRowCount(len(per_class))
    for row, (name, found) in enumerate(per_class.items()):
        cov = "—" if found["coverage"] is None else f"{found['coverage']:.3f}"
        for col, text in enumerate((name, cov, _ci(found.get("ci")).strip(), str(found["n"]))):
            item = QTableWidgetItem(text)
            item.setFlags(item.flags() & ~pg.QtCore.Qt.ItemFlag.ItemIsEditable)
            table.setItem(row, col, item)



def policy_matrix_table() -> QTableWidget:
    """The decision policy's test decisions as a confusion matrix (rows: true class, columns: decided class)."""
    table = QTableWidget(0, 0)
    table.setObjectName("policyMatrix")
    table.setAccessibleName("Decision policy's test decisions: true class by decided class")
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.setMaximumHeight(260)
    table.setTabKeyNavigation(False)
    table.setMinimumSize(200, 90)
    return table


def show_policy_matrix(table: QTableWidget, policy: dict | None, classes: list[str]) -> None:
    """Fill it from core's `decision_policy.test.confusion_matrix`; hidden when the run has none."""
    matrix = ((policy or {}).get("test") or {}).get("confusion_matrix")
    table.setVisible(bool(matrix))
    if not matrix:
        return
    table.setRowCount(len(matrix))
    table.setColumnCount(len(matrix))
    table.setVerticalHeaderLabels([f"true {c}" for c in classes])
    table.setHorizontalHeaderLabels([f"decided {c}" for c in classes])
    for r, row in enumerate(matrix):
        for c, count in enumerate(row):
            item = QTableWidgetItem(str(count))
            item.setFlags(item.flags() & ~pg.QtCore.Qt.ItemFlag.ItemIsEditable)
            table.setItem(r, c, item)
