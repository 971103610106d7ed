"""The Data tab's label choices and what they make: how labels come from the label column (its classes, a
threshold, quantile bins), the class order with each class's count per split, and the split fractions."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .field_problems import FieldProblems
from .number_box import NumberBox, WholeBox

SPLITS = ("train", "val", "cal", "test")
def _field_label(name: str) -> str:
    """A recipe field's label as core describes it (the one spelling the form, the CLI and Compare use)."""
    from workbench.core.fields import walk
    from workbench.core.recipe import Recipe

    return next(spec.label for field, _f, _kind, spec in walk(Recipe) if field == name)


_STANDARDIZE_VALUES = {Qt.CheckState.Unchecked: False, Qt.CheckState.PartiallyChecked: "auto",
                       Qt.CheckState.Checked: True}  # data.standardize
MODES = ("column", "threshold", "bins")


class LabelsBox(QGroupBox):
    """Class column, threshold (binary) or quantile bins (multiclass), with the problems of those fields."""

    def __init__(self, session, parent=None):
        super().__init__("Labels", parent)
        self.session = session
        self._updating = False
        self.mode_column = QRadioButton("Class column (each distinct value is a class)")
        self.mode_threshold = QRadioButton("Threshold (binary): label > T")
        self.mode_bins = QRadioButton("Quantile bins (K ordered classes: multiclass or ordinal)")
        self.modes = QButtonGroup(self)
        for i, button in enumerate((self.mode_column, self.mode_threshold, self.mode_bins)):
            self.modes.addButton(button, i)
        self.modes.idClicked.connect(self._on_mode)
        self.threshold = NumberBox()
        self.threshold.setRange(-1e12, 1e12)
        self.threshold.setDecimals(4)
        self.threshold.valueChanged.connect(self._on_threshold)
        self.median = QCheckBox("median")
        self.median.setChecked(True)
        self.median.toggled.connect(self._on_threshold)
        self.bins = WholeBox()
        self.bins.setRange(2, 50)
        self.bins.valueChanged.connect(lambda v: self._set(**{"data.bins": v}))
        self.label_problems = FieldProblems(session, {
            "data.label": "Label column", "data.label_mode": "Labels", "data.threshold": "Threshold",
            "data.bins": "Quantile bins", "data.classes": "Class order",
            # sized by the classes these controls make; set on the Head & training tab
            "decide.prior": "Deployment prior (Head & training tab)", "decide.costs": "Cost matrix (Head & training "
            "tab)"})
        form = QFormLayout(self)
        form.addRow(self.mode_column)
        row = QHBoxLayout()
        row.addWidget(self.mode_threshold)
        row.addWidget(self.threshold)
        row.addWidget(self.median)
        form.addRow(row)
        row = QHBoxLayout()
        row.addWidget(self.mode_bins)
        row.addWidget(self.bins)
        row.addStretch(1)
        form.addRow(row)
        form.addRow(self.label_problems)
        self.task_note = QLabel("")
        self.task_note.setObjectName("taskProposal")
        self.task_note.setWordWrap(True)
        self.use_task = QPushButton("Use multiclass")
        self.use_task.setObjectName("useProposedTask")
        self.use_task.clicked.connect(self._use_task)
        self.use_task.hide()
        row = QHBoxLayout()
        row.addWidget(self.task_note, 1)
        row.addWidget(self.use_task)
        form.addRow(row)
        session.recipe_changed.connect(self._on_recipe_changed)
        session.table_changed.connect(self._on_table_changed)
        for signal in (session.recipe_changed, session.table_changed, session.data_changed):
            signal.connect(self._show_task)
        self._on_recipe_changed(session.model.recipe)

    def _set(self, **changes):
        if not self._updating:
            self.session.model.update(**changes)

    def _on_mode(self, index):
        if not self._updating:
            self.session.model.set_label_mode(MODES[index])  # core drops a class order with a cut

    def _show_task(self, *_):
        """Core's task proposal for a class column: applied (said so) or offered with one click."""
        model = self.session.model
        found = model.task_proposal()
        self.use_task.setVisible(found is not None and not found.applied)
        labels = "" if not model.labels_applied else (
            f"Labels set to a threshold (binary, at the median unless you change it): {model.labels_applied}. "
            "Choose Class column or Quantile bins above to make them yourself.")
        if found is None:
            self.task_note.setText(labels)
        elif found.applied:
            self.task_note.setText(f"Task set to {found.task}: {found.reason}. Choose another task on the Head & "
                                   "training tab to keep your own.")
        else:
            self.use_task.setText(f"Use {found.task}")
            self.task_note.setText(f"Proposed task: {found.task} ({found.reason}).")

    def _use_task(self):
        found = self.session.model.task_proposal()
        if found is not None:
            self.session.model.choose_task(found.task)

    def _on_threshold(self, *_):
        self.threshold.setEnabled(not self.median.isChecked())
        if not self._updating:
            self.session.model.set_label_threshold(None if self.median.isChecked() else self.threshold.value())

    def _on_recipe_changed(self, recipe):
        d = recipe.data
        self._updating = True
        self.modes.button(MODES.index(d.label_mode)).setChecked(True)
        self.median.setChecked(d.threshold is None)
        self.threshold.setEnabled(d.threshold is not None)
        if d.threshold is not None:
            self.threshold.setValue(d.threshold)
        self.bins.setValue(d.bins)
        self._updating = False

    def _on_table_changed(self, table):
        """While the threshold is the median, the spin box shows the median's value (a start for typing one)."""
        if table is not None and table.target.dtype.kind == "f" and self.median.isChecked():
            import numpy as np

            self._updating = True
            self.threshold.setValue(float(np.median(table.target)))
            self._updating = False


class ClassCounts(QWidget):
    """Each class's count per split, in the class order (the confusion matrix's and the export's); the order can be
    changed for a class column."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.preview = QTableWidget(0, 6)
        self.preview.setObjectName("classPreview")
        self.preview.setTabKeyNavigation(False)  # Tab moves on instead of through the cells
        self.preview.setHorizontalHeaderLabels(["Class", "All", "Train", "Validation", "Calibration", "Test"])
        self.preview.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.preview.verticalHeader().setVisible(False)
        self.preview.setSelectionBehavior(QTableWidget.SelectRows)
        self.preview.setSelectionMode(QTableWidget.SingleSelection)
        self.up = QPushButton("Move up")
        self.down = QPushButton("Move down")
        self.up.setObjectName("classUp")
        self.down.setObjectName("classDown")
        self.up.clicked.connect(lambda: self._move_class(-1))
        self.down.clicked.connect(lambda: self._move_class(1))
        order = QHBoxLayout()
        title = QLabel("Class counts (the order is the confusion matrix's and the export's):")
        title.setWordWrap(True)
        order.addWidget(title, 1)
        order.addWidget(self.up)
        order.addWidget(self.down)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.empty = QLabel()  # why there are no classes to count yet
        self.empty.setObjectName("noClassesYet")
        self.empty.setWordWrap(True)
        layout.addLayout(order)
        layout.addWidget(self.empty)
        layout.addWidget(self.preview, 1)
        session.recipe_changed.connect(self._on_recipe_changed)
        session.data_changed.connect(self._on_data_changed)
        self._on_recipe_changed(session.model.recipe)
        self._on_data_changed(session.model.data)

    def _move_class(self, step: int):
        data = self.session.model.data
        row = self.preview.currentRow()
        if data is None or row < 0 or not 0 <= row + step < len(data.classes):
            return
        order = list(data.classes)
        order[row], order[row + step] = order[row + step], order[row]
        self.session.model.set_classes(order)
        self.preview.selectRow(row + step)

    def _on_recipe_changed(self, recipe):
        self.up.setEnabled(recipe.data.label_mode == "column")
        self.down.setEnabled(recipe.data.label_mode == "column")

    def _on_data_changed(self, data):
        self.preview.setRowCount(0)
        m = self.session.model
        self.empty.setVisible(data is None)
        self.empty.setText("" if data is not None else
                           "No classes yet: they are counted once the problem shown on this tab is fixed."
                           if m.data_problem else "No classes yet: choose a data file above.")
        if data is None:
            return
        counts = self.session.model.split_counts()
        self.preview.setRowCount(len(data.classes))
        for row, cls in enumerate(data.classes):
            values = [cls, counts["all"][row], *(counts[n][row] for n in SPLITS)]
            for col, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                item.setFlags(item.flags() & ~Qt.ItemIsEditable)
                self.preview.setItem(row, col, item)


class SplitsBox(QGroupBox):
    """The train / validation / calibration / test fractions and the standardisation choice."""

    def __init__(self, session, parent=None):
        super().__init__("Splits (stratified, seeded; every class in every split)", parent)
        self.session = session
        self._updating = False
        row = QHBoxLayout()
        self.split_boxes = {}
        for name in SPLITS:
            box = NumberBox()
            box.setRange(0.0, 1.0)
            box.setSingleStep(0.05)
            box.setDecimals(2)
            box.valueChanged.connect(self._on_splits)
            self.split_boxes[name] = box
            row.addWidget(QLabel({"val": "validation", "cal": "calibration"}.get(name, name)))
            row.addWidget(box)
        row.addStretch(1)
        label = _field_label("data.standardize")  # the Compare tab's "What differs" names the field the same way
        self.standardize = QCheckBox(f"{label} features (fitted on the train split; partly ticked: auto, "
                                     "when the model says it was trained on standardized inputs)")
        self.standardize.setTristate(True)  # the recipe's three values: false, auto, true
        self.standardize.stateChanged.connect(
            lambda v: self._set(**{"data.standardize": _STANDARDIZE_VALUES[Qt.CheckState(v)]}))
        self.split_problems = FieldProblems(session, {"data.splits": "Splits",
                                                      "data.standardize": f"{label} features"})
        box = QVBoxLayout(self)  # the tick box on its own line: in one row the tab was wider than 1024 pixels
        box.addLayout(row)
        box.addWidget(self.standardize)
        box.addWidget(self.split_problems)
        session.recipe_changed.connect(self._on_recipe_changed)
        self._on_recipe_changed(session.model.recipe)

    def _set(self, **changes):
        if not self._updating:
            self.session.model.update(**changes)

    def _on_splits(self, *_):
        self._set(**{"data.splits": tuple(round(self.split_boxes[n].value(), 4) for n in SPLITS)})

    def _on_recipe_changed(self, recipe):
        self._updating = True
        for name, value in zip(SPLITS, recipe.data.splits):
            self.split_boxes[name].setValue(value)
        value = recipe.data.standardize
        self.standardize.setCheckState(Qt.CheckState.PartiallyChecked if isinstance(value, str) else
                                       Qt.CheckState.Checked if value else Qt.CheckState.Unchecked)
        self._updating = False
