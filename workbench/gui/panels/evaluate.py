"""The evaluation view: confusion matrix, per-class scores, reliability before/after calibration, the
calibration chooser (a choice applies at once), for binary heads ROC/PR curves with a live decision threshold,
the run's data warnings, and the test samples of the confusion-matrix cell the user clicks."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core.evaluate.reliability_drawing import reliability_curves
from workbench.core.recipe import CALIBRATIONS

from .. import theme
from ..plots.confusion import MODES, ConfusionPlot
from ..plots.reliability import ReliabilityPlot
from ..plots.roc import RocPlot
from .checks import ChecksBox
from .checks_order import OrderBox
from .choices import refuse_choices
from .confusion_table import ConfusionTable
from .decisions import DecisionsBox
from .evaluate_summary import summary_html
from .samples import ErrorsView

EMPTY = "Train a head to see its confusion matrix, per-class scores and reliability here."
MIN_CONFUSION = (320, 340)  # width, height in pixels
MIN_TABLE = (320, 90)  # the height follows the rows (see _show_classification), never under a header and 2 rows
MIN_RELIABILITY = (420, 460)  # the diagram itself >= 240 under the binning row, the histogram >= 170
MIN_CURVES = (420, 290)  # the slider row, then ROC and PR with their whole axes
MIN_ERRORS = (420, 260)
ROW_LIMIT = 12  # the per-class table grows to show this many classes, then scrolls


class _AtFloor:
    """A page section that asks for no more than its floor: the scroll area sizes the page to its parts' hints, and
    a plot's own hint (the reliability diagram asks ~1000 px) would spread one matrix or one ROC over several screens
    at 1024 x 700. Where the window is taller the grid's stretch still shares the extra height out."""

    def sizeHint(self):  # noqa: N802 (Qt's name)
        return self.minimumSize().expandedTo(self.minimumSizeHint())  # type: ignore[attr-defined]


class _Tabs(_AtFloor, QTabWidget):
    pass


class _Box(_AtFloor, QWidget):
    pass


class _Reliability(_AtFloor, ReliabilityPlot):
    pass


class EvaluatePanel(QWidget):
    """The Evaluate tab: the current run's metrics with intervals, its plots, and recalibration."""

    calibrate_requested = Signal(str)
    threshold_chosen = Signal(float)  # the slider was let go (or moved by keys): the run's new threshold
    binning_chosen = Signal(str)  # width or mass, for the run's reliability diagram and ECE

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.empty = QLabel(EMPTY)
        self.empty.setObjectName("evaluateEmpty")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignCenter)
        bar = self._bar()
        self.summary = QLabel()
        self.summary.setObjectName("metricsSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        self.warnings = QLabel()
        self.warnings.setObjectName("dataWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setTextFormat(Qt.RichText)
        self.warnings.setVisible(False)
        self.content = self._plots()
        self.checks, self.order, self.decisions = ChecksBox(session), OrderBox(session), DecisionsBox(session)
        for box in (self.checks, self.order, self.decisions):  # issues 23-25's boxes, under the plots
            self.add_section(box)
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
        self._shown = None  # the run whose plots are drawn (zoom is reset when another is shown)
        session.run_changed.connect(self._on_run_changed)
        session.jobs_changed.connect(self._on_jobs)
        theme.theme().changed.connect(self._on_theme)
        self._on_run_changed(None)

    def _bar(self) -> QHBoxLayout:
        """The calibration chooser, the matrix mode and Save plots."""
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
        theme.style(hint, "color: {muted}")
        bar.addWidget(hint)
        bar.addStretch(1)
        bar.addWidget(self.save)
        return bar

    def _plots(self) -> QWidget:
        """The matrix, reliability, per-class table, ROC/PR with the threshold slider, added sections, and the
        samples list, one under the other in a page that scrolls."""
        self.confusion = ConfusionPlot()
        self.confusion_table = ConfusionTable()
        self.matrix_tabs = _Tabs()
        self.matrix_tabs.setObjectName("confusionViews")
        self.matrix_tabs.setDocumentMode(True)
        self.matrix_tabs.addTab(self.confusion, "Heat map")
        self.matrix_tabs.addTab(self.confusion_table, "Table")
        self.table = QTableWidget(0, 5)
        self.table.setObjectName("perClassTable")
        self.table.setAccessibleName("Per-class precision, recall, F1 and support")
        self.table.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1", "Support"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setTabKeyNavigation(False)  # Tab moves on to the next control instead of through the cells
        self.reliability = _Reliability()
        self.reliability.binning_chosen.connect(self._on_binning)
        self.roc = RocPlot()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("thresholdSlider")
        self.slider.setAccessibleName("Decision threshold")
        self.slider.setRange(1, 999)
        self.slider.setValue(500)
        self.slider.valueChanged.connect(self._on_threshold)
        self.slider.sliderReleased.connect(lambda: self._on_threshold(self.slider.value()))
        self.threshold_label = QLabel()
        self.binary_box = _Box()
        blayout = QVBoxLayout(self.binary_box)
        blayout.setContentsMargins(0, 0, 0, 0)
        srow = QHBoxLayout()
        srow.addWidget(QLabel("Decision threshold:"))
        srow.addWidget(self.slider, 1)
        srow.addWidget(self.threshold_label)
        blayout.addLayout(srow)
        blayout.addWidget(self.roc, 1)
        plots = QWidget()
        self.grid = grid = QGridLayout(plots)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.matrix_tabs, 0, 0)
        grid.addWidget(self.reliability, 0, 1)
        grid.addWidget(self.binary_box, 1, 1)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 3)
        self.errors = ErrorsView()
        self.errors.setVisible(False)
        self.confusion.cell_clicked.connect(self._on_cell)
        self.confusion_table.cell_chosen.connect(self._on_table_cell)
        # Below these sizes the plots clip their labels and the table its numbers: a small screen scrolls instead.
        for widget, (w, h) in ((self.matrix_tabs, MIN_CONFUSION), (self.table, MIN_TABLE),
                               (self.reliability, MIN_RELIABILITY), (self.binary_box, MIN_CURVES),
                               (self.errors, MIN_ERRORS)):
            widget.setMinimumSize(w, h)
        content = QWidget()
        self.page = QVBoxLayout(content)
        self.page.setContentsMargins(0, 0, 0, 0)
        self.page.addWidget(plots, 5)
        self.page.addWidget(self.errors, 0)
        return content

    def add_section(self, widget: QWidget, title: str = "") -> QWidget:
        """Add a box to the page, under the plots and above the samples list (in the order added); with `title`,
        inside a group box of that title. Give it a minimum height: the page scrolls rather than squeezing it.
        Returns what was added (the group box, or `widget`)."""
        if title:
            box = QGroupBox(title)
            QVBoxLayout(box).addWidget(widget)
            widget = box
        self.page.insertWidget(self.page.indexOf(self.errors), widget)
        return widget

    def _locked(self) -> bool:
        """A command that locks the session is working on a copy of the picked run (a calibration): until it
        commits, nothing here asks for another change of that run. (A threshold or binning in flight does not lock:
        the next one replaces it.)"""
        m = self.session.model
        job = m.job_on(m.current)
        return job is not None and job.locks

    def _on_jobs(self, *_):
        run, locked = self.session.model.run, self._locked()
        for control in (self.method, self.slider, self.reliability.binning):
            control.setEnabled(run is not None and not locked)
        if run is not None and not locked:  # a calibration that failed leaves the run's own method and threshold
            self.method.setCurrentText(run.recipe.calibration)
            self._show_threshold(run)

    def _on_method(self, method: str):
        run = self.session.model.run
        if run is None or method == run.recipe.calibration or self._locked():
            return
        if method in refuse_choices(self.method, run.recipe, "calibration"):  # picked by keyboard or a script
            self.method.setCurrentText(run.recipe.calibration)
            return
        self.calibrate_requested.emit(method)

    def _on_table_cell(self, true: int, predicted: int):
        """A cell chosen in the table (keyboard or click): its samples are listed; the focus stays in the table."""
        if self.session.model.run is not None:
            self.confusion.select(true, predicted)
            self._list_cell(self.session.model.run, true, predicted)

    def _on_cell(self, true: int, predicted: int):
        if self.session.model.run is not None:
            self.confusion_table.select(true, predicted)
            self._list_cell(self.session.model.run, true, predicted)
            # Once the scroll area has re-laid out the list (shown for the first time), its title at the top.
            # self.scroll shadows QWidget.scroll(), which is all the stubs know of it
            QTimer.singleShot(0, lambda: self.scroll.verticalScrollBar().setValue(self.errors.y()))  # type: ignore[attr-defined]

    def _on_run_changed(self, run):
        has = run is not None
        self.empty.setVisible(not has)
        self.scroll.setVisible(has)
        for w in (self.mode, self.save):
            w.setEnabled(has)
        self._on_jobs()
        cell = self.errors.cell if has and self.errors.run is run else None
        self.errors.clear()
        self.page.setStretchFactor(self.errors, 0)  # a hidden list takes no share of the height
        self.confusion.select(None)
        self.confusion_table.select(None)
        if run is not self._shown:  # another run: no zoom carries over from the one shown before
            self._shown = run
            self.reset_views()
        if not has:
            self.summary.setText("")
            self.warnings.setVisible(False)
            entry = self.session.model.current_entry
            self.empty.setText(EMPTY if entry is None else f"Run <b>{html.escape(entry.name)}</b>: "
                               f"{html.escape(entry.note)}. Its metrics are on the Compare tab.")
            return
        self.method.setCurrentText(run.recipe.calibration)
        refuse_choices(self.method, run.recipe, "calibration")  # matrix for a binary head, for an ordinal one
        warnings = run.metrics.get("warnings") or []
        self.warnings.setText("<br>".join(f"<span style='color:{theme.colour('warning')}'>Data: {html.escape(w)}"
                                          "</span>" for w in warnings))
        self.warnings.setVisible(bool(warnings))
        self.binary_box.setVisible(run.binary)
        # Without ROC/PR (more than two classes) the per-class table takes the whole second row: the reliability
        # diagram stretched over both rows would no longer fit one screen at 1024 x 700.
        self.grid.removeWidget(self.table)
        self.grid.addWidget(self.table, 1, 0, 1, 1 if run.binary else 2, Qt.AlignmentFlag.AlignTop)
        self.grid.setRowStretch(1, 2 if run.binary else 0)  # a taller window grows the plots, not empty room
        if run.binary:
            from workbench.core.evaluate.metrics import binary_curves

            probs = run.probabilities("test")
            self.roc.show_curves(binary_curves(probs, run.data.labels("test")))
            self._show_threshold(run)
        test = run.metrics["test"]
        curves = reliability_curves(run.metrics)
        self.reliability.show_bins(test["reliability"], curves.get("before calibration"), next(reversed(curves)))
        self._show_classification()
        if cell is not None:  # the same run again (recalibrated): keep its cell listed
            self.confusion.select(*cell)
            self.confusion_table.select(*cell)
            self._list_cell(run, *cell)

    def _list_cell(self, run, true: int, predicted: int):
        self.errors.show_cell(run, true, predicted)
        self.page.setStretchFactor(self.errors, 3)

    def _show_classification(self, live: dict | None = None):
        """Show the decision-dependent scores: the run's metrics, or `live` ones while the slider moves."""
        run = self.session.model.run
        if run is None:
            return
        test = {**run.metrics["test"], **(live or {})}
        self.confusion.show_matrix(test["confusion_matrix"], run.data.classes, self.mode.currentText())
        self.confusion_table.show_matrix(test["confusion_matrix"], run.data.classes, self.mode.currentText())
        self.table.setRowCount(len(run.data.classes))
        for row, (cls, scores) in enumerate(test["per_class"].items()):
            values = [cls, f"{scores['precision']:.3f}", f"{scores['recall']:.3f}", f"{scores['f1']:.3f}",
                      str(scores["support"])]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, col, item)
        shown_rows = min(len(run.data.classes), ROW_LIMIT)  # the table shows its classes without scrolling
        rows = shown_rows * self.table.verticalHeader().defaultSectionSize()
        frame = self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth()
        self.table.setFixedHeight(max(MIN_TABLE[1], frame + rows))
        self.summary.setText(summary_html(run.metrics, test, run.recipe.calibration, live is not None))
        if self.errors.cell is not None and self.errors.run is run:
            if live is None:  # the threshold moved the cells: list the cell again (once the slider is let go)
                self.errors.show_cell(run, *self.errors.cell)
            self.errors.view.setEnabled(live is None)

    def _on_binning(self, binning: str):
        run = self.session.model.run
        if run is not None and run.recipe.binning != binning and not self._locked():
            self.binning_chosen.emit(binning)

    def _on_threshold(self, value: int):
        run = self.session.model.run
        if run is None or not run.binary or self._locked():
            return
        threshold = value / 1000.0
        self._mark_threshold(threshold)
        if self.slider.isSliderDown():
            # While dragging, only a preview of what the threshold moves; the run changes when the slider is let go.
            from workbench.core.evaluate.metrics import classification

            self._show_classification(classification(run.probabilities("test"), run.data.labels("test"),
                                                     run.data.classes, threshold))
        else:
            self.threshold_chosen.emit(threshold)

    def _show_threshold(self, run):
        """Put the slider where the run decides: its decision threshold (the policy's), which its metrics use
        (`test.threshold`); showing a run is not a request to move it."""
        if run.binary:
            threshold = run.metrics.get("test", {}).get("threshold")
            threshold = 0.5 if threshold is None else threshold  # a threshold of 0.0 is one, not "unset"
            self.slider.blockSignals(True)
            self.slider.setValue(int(round(threshold * 1000)))
            self.slider.blockSignals(False)
            self._mark_threshold(threshold)

    def _mark_threshold(self, threshold: float):
        run = self.session.model.run
        self.threshold_label.setText(f"{threshold:.3f}")
        self.roc.mark(run.probabilities("test")[:, 1], run.data.labels("test"), threshold)
        self.roc.mark_policy(run.metrics.get("test", {}).get("decision_policy"), run.metrics.get("prior_shift"))

    def reset_views(self) -> None:
        """Every plot back to its home view (a new run; zooming never carries over)."""
        for plot in (self.confusion, self.reliability, self.roc):
            plot.reset_view()

    def _on_theme(self) -> None:
        """Texts coloured from the theme are written again in the new colours."""
        self._on_run_changed(self.session.model.run)

    def plots(self) -> dict:
        """The tab's plot widgets by file name (ROC and precision-recall for binary runs only)."""
        found = {**self.confusion.plots(), **self.reliability.plots()}
        if self.session.model.run is not None and self.session.model.run.binary:
            found |= self.roc.plots()
        return found

    def _save_plots(self):
        from PySide6.QtCore import QSettings

        from ..plots.base import FOLDER_KEY
        from ..plots.save import save_plots

        settings = QSettings()
        folder = QFileDialog.getExistingDirectory(self, "Save plots as PNG and SVG into",
                                                  str(settings.value(FOLDER_KEY, "") or ""))
        if folder:
            settings.setValue(FOLDER_KEY, folder)
            written = save_plots(self.plots(), folder)
            self.summary.setText(self.summary.text() + f"<br>Saved {len(written)} files to {folder}.")
