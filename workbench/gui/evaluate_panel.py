"""The evaluation view: confusion matrix, per-class scores, reliability before/after calibration, the
calibration chooser, and for binary heads ROC/PR curves with a live decision threshold."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QSlider, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from workbench.core.recipe import CALIBRATIONS

from .confusion_plot import MODES, ConfusionPlot
from .reliability_plot import ReliabilityPlot
from .roc_plot import RocPlot


class EvaluatePanel(QWidget):
    calibrate_requested = Signal(str)

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.empty = QLabel("Train a head to see its confusion matrix, per-class scores and reliability here.")
        self.empty.setAlignment(Qt.AlignCenter)
        self.method = QComboBox()
        self.method.setObjectName("calibrationMethod")
        self.method.addItems(list(CALIBRATIONS))
        self.apply = QPushButton("Calibrate")
        self.apply.setObjectName("calibrateButton")
        self.apply.clicked.connect(lambda: self.calibrate_requested.emit(self.method.currentText()))
        self.mode = QComboBox()
        self.mode.addItems(list(MODES))
        self.mode.currentTextChanged.connect(lambda _t: self._show_classification())
        self.save = QPushButton("Save plots…")
        self.save.clicked.connect(self._save_plots)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Calibration:"))
        bar.addWidget(self.method)
        bar.addWidget(self.apply)
        bar.addSpacing(20)
        bar.addWidget(QLabel("Matrix:"))
        bar.addWidget(self.mode)
        bar.addStretch(1)
        bar.addWidget(self.save)
        self.summary = QLabel()
        self.summary.setObjectName("metricsSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        self.confusion = ConfusionPlot()
        self.table = QTableWidget(0, 5)
        self.table.setObjectName("perClassTable")
        self.table.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1", "Support"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.reliability = ReliabilityPlot()
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
        grid = QGridLayout(self.content)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.confusion, 0, 0)
        grid.addWidget(self.reliability, 0, 1)
        grid.addWidget(self.table, 1, 0)
        grid.addWidget(self.binary_box, 1, 1)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.content, 1)
        session.run_changed.connect(self._on_run_changed)
        session.busy_changed.connect(lambda busy: self.apply.setEnabled(not busy and self.session.run is not None))
        self._on_run_changed(None)

    def _on_run_changed(self, run):
        has = run is not None
        self.empty.setVisible(not has)
        self.content.setVisible(has)
        for w in (self.apply, self.method, self.mode, self.save):
            w.setEnabled(has)
        if not has:
            self.summary.setText("")
            return
        self.method.setCurrentText(run.recipe.calibration)
        self.binary_box.setVisible(run.binary)
        if run.binary:
            from workbench.core.metrics import binary_curves

            probs = run.probabilities("test")
            self.roc.show_curves(binary_curves(probs, run.data.labels("test")))
            self.slider.blockSignals(True)
            self.slider.setValue(int(round((run.threshold or 0.5) * 1000)))
            self.slider.blockSignals(False)
            self._mark_threshold()
        test = run.metrics["test"]
        self.reliability.show_bins(test["reliability"], test.get("reliability_before"))
        self._show_classification()

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
                item.setFlags(item.flags() & ~Qt.ItemIsEditable)
                self.table.setItem(row, col, item)
        auc = f" · ROC AUC <b>{test['roc_auc']:.3f}</b>" if "roc_auc" in test else ""
        self.summary.setText(
            f"Test set ({test['n']} samples): accuracy <b>{test['accuracy']:.3f}</b> · macro F1 "
            f"<b>{test['macro_f1']:.3f}</b>{auc}<br>Calibration <b>{run.recipe.calibration}</b>: "
            f"ECE {test['ece_before']:.3f} → <b>{test['ece']:.3f}</b> · MCE {test['mce_before']:.3f} → "
            f"<b>{test['mce']:.3f}</b> · Brier {test['brier_before']:.3f} → <b>{test['brier']:.3f}</b>")

    def _on_threshold(self, value: int):
        run = self.session.run
        if run is None or not run.binary:
            return
        from workbench.core.metrics import classification
        from workbench.core.pipeline import evaluate_run

        run.threshold = value / 1000.0
        self._mark_threshold()
        if self.slider.isSliderDown():
            # While dragging, only what the threshold moves; every metric is recomputed on release.
            self._show_classification(classification(run.probabilities("test"), run.data.labels("test"),
                                                     run.data.classes, run.threshold))
        else:
            evaluate_run(run)
            self._show_classification()

    def _mark_threshold(self):
        run = self.session.run
        t = run.threshold or 0.5
        self.threshold_label.setText(f"{t:.3f}")
        self.roc.mark(run.probabilities("test")[:, 1], run.data.labels("test"), t)

    def plots(self) -> dict:
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
