"""The evaluation view: confusion matrix, per-class scores, reliability before/after calibration, the
calibration chooser (a choice applies at once), for binary heads ROC/PR curves with a live decision threshold,
the run's data warnings, and the test samples of the confusion-matrix cell the user clicks."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.recipe import CALIBRATIONS

from .confusion_plot import MODES, ConfusionPlot
from .errors_view import ErrorsView
from .reliability_plot import ReliabilityPlot
from .roc_plot import RocPlot


def _ci(test: dict, key: str, live: bool) -> str:
    """The value in bold and its 95% interval; while the threshold slider moves the interval is stale."""
    ci = None if live else test.get("ci", {}).get(key)
    return f"<b>{test[key]:.3f}</b>" + (f" <span style='color:#666'>[{ci[0]:.3f}, {ci[1]:.3f}]</span>" if ci else "")


def _change(test: dict, key: str) -> str:
    change = test.get("calibration_change", {}).get(key)
    text = f"{test[key + '_before']:.3f} → <b>{test[key]:.3f}</b>"
    if not change:
        return text
    delta = test[key] - test[key + "_before"]
    if change["within_noise"]:
        verdict = "<span style='color:#666'>within noise</span>"
    else:
        verdict = "<span style='color:#b00020'>worse</span>" if change["low"] > 0 else \
            "<span style='color:#1a7f37'>better</span>"
    return text + f" ({delta:+.3f}, 95% CI [{change['low']:+.3f}, {change['high']:+.3f}], {verdict})"


def summary_html(metrics: dict, test: dict, method: str, live: bool = False) -> str:
    """The Evaluate tab's summary: each metric with its bootstrap interval, each calibration change with its
    paired interval and verdict, the definitions, and the calibration check's notes."""
    auc = ""
    if "roc_auc" in test:
        name = "ROC AUC" if test.get("roc_auc_definition", "ROC AUC") == "ROC AUC" else "one-vs-rest macro AUC"
        auc = f" · {name} {_ci(test, 'roc_auc', live)}"
    lines = [f"Test set ({test['n']} samples; 95% bootstrap intervals in grey): accuracy "
             f"{_ci(test, 'accuracy', live)} · macro F1 {_ci(test, 'macro_f1', live)}{auc}"]
    if "ece_before" in test:
        lines.append(f"Calibration <b>{method}</b>: ECE ({test.get('ece_bins', 15)} bins) {_change(test, 'ece')} · "
                     f"Brier {_change(test, 'brier')} · MCE {test['mce_before']:.3f} → <b>{test['mce']:.3f}</b>")
    if "brier_definition" in test:
        lines.append(f"<span style='color:#666'>{test['brier_definition']}. Decision: {test['decision_rule']}."
                     "</span>")
    for note in metrics.get("calibration_check", {}).get("notes", []):
        lines.append(f"<span style='color:#8a5a00'>Note: {note[:1].upper() + note[1:]}</span>")
    return "<br>".join(lines)


MIN_CONFUSION = (300, 260)  # width, height in pixels
MIN_TABLE = (300, 140)
MIN_RELIABILITY = (420, 300)
MIN_CURVES = (420, 220)
MIN_ERRORS = (420, 220)

class EvaluatePanel(QWidget):
    """The Evaluate tab: the current run's metrics with intervals, its plots, and recalibration."""

    calibrate_requested = Signal(str)
    metrics_changed = Signal()  # the run's metrics were recomputed in place (the threshold was let go)

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.empty = QLabel("Train a head to see its confusion matrix, per-class scores and reliability here.")
        self.empty.setAlignment(Qt.AlignCenter)
        self.method = QComboBox()
        self.method.setObjectName("calibrationMethod")
        self.method.addItems(list(CALIBRATIONS))
        self.method.setToolTip("Fitted on the calibration split as soon as it is chosen.")
        self.method.currentTextChanged.connect(self._on_method)
        self.mode = QComboBox()
        self.mode.addItems(list(MODES))
        self.mode.currentTextChanged.connect(lambda _t: self._show_classification())
        self.save = QPushButton("Save plots…")
        self.save.clicked.connect(self._save_plots)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Calibration:"))
        bar.addWidget(self.method)
        bar.addSpacing(20)
        bar.addWidget(QLabel("Matrix:"))
        bar.addWidget(self.mode)
        hint = QLabel("Click a cell of the matrix to list its test samples.")
        hint.setStyleSheet("color: #666")
        bar.addWidget(hint)
        bar.addStretch(1)
        bar.addWidget(self.save)
        self.summary = QLabel()
        self.summary.setObjectName("metricsSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        self.warnings = QLabel()
        self.warnings.setObjectName("dataWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setTextFormat(Qt.RichText)
        self.warnings.setVisible(False)
        self.confusion = ConfusionPlot()
        self.table = QTableWidget(0, 5)
        self.table.setObjectName("perClassTable")
        self.table.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1", "Support"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setTabKeyNavigation(False)  # Tab moves on to the next control instead of through the cells
        self.reliability = ReliabilityPlot()
        self.reliability.binning_chosen.connect(self._on_binning)
        self.roc = RocPlot()
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setObjectName("thresholdSlider")
        self.slider.setRange(1, 999)
        self.slider.setValue(500)
        self.slider.valueChanged.connect(self._on_threshold)
        self.slider.sliderReleased.connect(lambda: self._on_threshold(self.slider.value()))
        self.threshold_label = QLabel()
        self.binary_box = QWidget()
        blayout = QVBoxLayout(self.binary_box)
        blayout.setContentsMargins(0, 0, 0, 0)
        srow = QHBoxLayout()
        srow.addWidget(QLabel("Decision threshold:"))
        srow.addWidget(self.slider, 1)
        srow.addWidget(self.threshold_label)
        blayout.addLayout(srow)
        blayout.addWidget(self.roc, 1)
        self.content = QWidget()
        self.grid = grid = QGridLayout(self.content)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.confusion, 0, 0)
        grid.addWidget(self.reliability, 0, 1)
        grid.addWidget(self.table, 1, 0)
        grid.addWidget(self.binary_box, 1, 1)
        self.errors = ErrorsView()
        self.errors.setVisible(False)
        grid.addWidget(self.errors, 2, 0, 1, 2)
        self.confusion.cell_clicked.connect(self._on_cell)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 3)
        # Below these sizes the plots clip their labels and the table its numbers: a small screen scrolls instead.
        for widget, (w, h) in ((self.confusion, MIN_CONFUSION), (self.table, MIN_TABLE),
                               (self.reliability, MIN_RELIABILITY), (self.binary_box, MIN_CURVES),
                               (self.errors, MIN_ERRORS)):
            widget.setMinimumSize(w, h)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("evaluateScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.NoFrame)
        self.scroll.setWidget(self.content)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.warnings)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.scroll, 1)
        session.run_changed.connect(self._on_run_changed)
        session.busy_changed.connect(self._on_busy)
        self._on_run_changed(None)

    def _on_busy(self, busy: bool):
        self.method.setEnabled(not busy and self.session.run is not None)
        if not busy and self.session.run is not None:  # a calibration that failed leaves the run's own method
            self.method.setCurrentText(self.session.run.recipe.calibration)

    def _on_method(self, method: str):
        run = self.session.run
        if run is not None and method != run.recipe.calibration and not self.session.busy:
            self.calibrate_requested.emit(method)

    def _on_cell(self, true: int, predicted: int):
        if self.session.run is not None:
            self._list_cell(self.session.run, true, predicted)
            # Once the scroll area has re-laid out the list (shown for the first time), its title at the top.
            # self.scroll shadows QWidget.scroll(), which is all the stubs know of it
            QTimer.singleShot(0, lambda: self.scroll.verticalScrollBar().setValue(self.errors.y()))  # type: ignore[attr-defined]

    def _on_run_changed(self, run):
        has = run is not None
        self.empty.setVisible(not has)
        self.scroll.setVisible(has)
        for w in (self.method, self.mode, self.save):
            w.setEnabled(has)
        cell = self.errors.cell if has and self.errors.run is run else None
        self.errors.clear()
        self.grid.setRowStretch(2, 0)  # a hidden list takes no share of the height
        self.confusion.select(None)
        if not has:
            self.summary.setText("")
            self.warnings.setVisible(False)
            return
        self.method.setCurrentText(run.recipe.calibration)
        warnings = run.metrics.get("warnings") or []
        self.warnings.setText("<br>".join(f"<span style='color:#8a5a00'>Data: {w}</span>" for w in warnings))
        self.warnings.setVisible(bool(warnings))
        self.binary_box.setVisible(run.binary)
        if run.binary:
            from workbench.core.evaluate.metrics import binary_curves

            probs = run.probabilities("test")
            self.roc.show_curves(binary_curves(probs, run.data.labels("test")))
            self.slider.blockSignals(True)
            self.slider.setValue(int(round((run.threshold or 0.5) * 1000)))
            self.slider.blockSignals(False)
            self._mark_threshold()
        test = run.metrics["test"]
        self.reliability.show_bins(test["reliability"], test.get("reliability_before"))
        self._show_classification()
        if cell is not None:  # the same run again (recalibrated): keep its cell listed
            self.confusion.select(*cell)
            self._list_cell(run, *cell)

    def _list_cell(self, run, true: int, predicted: int):
        self.errors.show_cell(run, true, predicted)
        self.grid.setRowStretch(2, 3)

    def _show_classification(self, live: dict | None = None):
        """Show the decision-dependent scores: the run's metrics, or `live` ones while the slider moves."""
        run = self.session.run
        if run is None:
            return
        test = {**run.metrics["test"], **(live or {})}
        self.confusion.show_matrix(test["confusion_matrix"], run.data.classes, self.mode.currentText())
        self.table.setRowCount(len(run.data.classes))
        for row, (cls, scores) in enumerate(test["per_class"].items()):
            values = [cls, f"{scores['precision']:.3f}", f"{scores['recall']:.3f}", f"{scores['f1']:.3f}",
                      str(scores["support"])]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, col, item)
        self.summary.setText(summary_html(run.metrics, test, run.recipe.calibration, live is not None))
        if self.errors.cell is not None and self.errors.run is run:
            if live is None:  # the threshold moved the cells: list the cell again (once the slider is let go)
                self.errors.show_cell(run, *self.errors.cell)
            self.errors.view.setEnabled(live is None)

    def _on_binning(self, binning: str):
        run = self.session.run
        if run is None or run.recipe.binning == binning:
            return
        from workbench.core.workflow.pipeline import rebin_run

        test = rebin_run(run, binning)["test"]
        self.reliability.show_bins(test["reliability"], test.get("reliability_before"))
        self._show_classification()

    def _on_threshold(self, value: int):
        run = self.session.run
        if run is None or not run.binary:
            return
        from workbench.core.evaluate.metrics import classification
        from workbench.core.workflow.pipeline import evaluate_run

        run.threshold = value / 1000.0
        self._mark_threshold()
        if self.slider.isSliderDown():
            # While dragging, only what the threshold moves; every metric is recomputed on release.
            self._show_classification(classification(run.probabilities("test"), run.data.labels("test"),
                                                     run.data.classes, run.threshold))
        else:
            evaluate_run(run)
            self._show_classification()
            self.metrics_changed.emit()

    def _mark_threshold(self):
        run = self.session.run
        t = run.threshold or 0.5
        self.threshold_label.setText(f"{t:.3f}")
        self.roc.mark(run.probabilities("test")[:, 1], run.data.labels("test"), t)

    def plots(self) -> dict:
        """The tab's plot widgets by file name (ROC and precision-recall for binary runs only)."""
        found = {**self.confusion.plots(), **self.reliability.plots()}
        if self.session.run is not None and self.session.run.binary:
            found |= self.roc.plots()
        return found

    def _save_plots(self):
        from .plot_export import save_plots

        folder = QFileDialog.getExistingDirectory(self, "Save plots as PNG and SVG into")
        if folder:
            written = save_plots(self.plots(), folder)
            self.summary.setText(self.summary.text() + f"<br>Saved {len(written)} files to {folder}.")
