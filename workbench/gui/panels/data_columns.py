"""The data view: choose the file, the label and the feature columns (each shown with its kind, missing cells
and why it is left out), how missing values are treated, the class order and the splits; preview class counts
per split. Every problem with a table is shown here, beside the column list, and fixed here."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.data.data import SKLEARN_SETS

from .columns_view import ColumnsModel, ColumnsView

SPLITS = ("train", "val", "cal", "test")
MISSING_CHOICES = (("error", "Stop and show the counts"), ("drop", "Drop rows with a missing value"),
                   ("impute", "Impute train-split medians (also in the export)"))
FILE_FILTER = ("Tables and arrays (*.csv *.tsv *.txt *.tab *.parquet *.pq *.feather *.arrow *.xlsx *.xlsm *.npz);;"
               "All files (*)")


class DataPanel(QWidget):
    """The Data tab: choose the data file, the label column and the features, and see the class counts."""

    load_requested = Signal(str)  # a data path: the window reads it on a worker

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self._updating = False
        self.path = QLineEdit()
        self.path.setObjectName("dataPath")
        self.path.setPlaceholderText("a table (.csv, .tsv, .parquet, .feather, .xlsx), an .npz with X and y, or an "
                                     "image folder root/<class>/*.png")
        self.path.returnPressed.connect(lambda: self.load_requested.emit(self.path.text().strip()))
        browse_file = QPushButton("File…")
        browse_file.clicked.connect(self._browse_file)
        browse_dir = QPushButton("Image folder…")
        browse_dir.clicked.connect(self._browse_dir)
        self.bundled = QComboBox()
        self.bundled.addItem("Bundled data…")
        self.bundled.addItems([f"sklearn:{name}" for name in SKLEARN_SETS])
        self.bundled.activated.connect(self._pick_bundled)
        top = QHBoxLayout()
        top.addWidget(QLabel("Data:"))
        top.addWidget(self.path, 1)
        top.addWidget(browse_file)
        top.addWidget(browse_dir)
        top.addWidget(self.bundled)

        self.label = QComboBox()
        self.label.setObjectName("labelColumn")
        self.label.setMaxVisibleItems(20)
        # A wide table has a label choice per column: never measure every item to size the box or its popup.
        self.label.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.label.setMinimumContentsLength(24)
        self.label.view().setUniformItemSizes(True)
        self.label.currentTextChanged.connect(self._on_label_column)
        self.sheet = QComboBox()
        self.sheet.setObjectName("sheet")
        self.sheet.activated.connect(self._on_sheet)
        self.sheet_label = QLabel("Sheet:")
        self.columns_model = ColumnsModel(self)
        self.columns_model.ticks_changed.connect(self._on_ticks)
        self.columns = ColumnsView(self.columns_model)
        self.width_note = QLabel("")
        self.width_note.setObjectName("widthNote")
        self.width_note.setWordWrap(True)
        self.defaults = QPushButton("Default ticks")
        self.defaults.setToolTip("Tick the numeric columns except the label and ID-like ones")
        self.defaults.clicked.connect(lambda: self.session.update(**{"data.features": ()}))
        self.problem = QLabel("")
        self.problem.setObjectName("dataProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b00020")
        self.missing = QComboBox()
        self.missing.setObjectName("missingPolicy")
        for key, text in MISSING_CHOICES:
            self.missing.addItem(text, key)
        self.missing.activated.connect(
            lambda i: self._set(**{"data.missing": self.missing.itemData(i)}))
        columns = QGroupBox("Columns")
        cbox = QVBoxLayout(columns)
        lrow = QHBoxLayout()
        lrow.addWidget(QLabel("Label column:"))
        lrow.addWidget(self.label, 1)
        lrow.addWidget(self.sheet_label)
        lrow.addWidget(self.sheet)
        cbox.addLayout(lrow)
        cbox.addWidget(self.columns, 1)
        wrow = QHBoxLayout()
        wrow.addWidget(self.width_note, 1)
        wrow.addWidget(self.defaults)
        cbox.addLayout(wrow)
        cbox.addWidget(self.problem)
        mrow = QHBoxLayout()
        mrow.addWidget(QLabel("Missing values:"))
        mrow.addWidget(self.missing, 1)
        cbox.addLayout(mrow)

        labels = QGroupBox("Labels")
        self.mode_column = QRadioButton("Class column (each distinct value is a class)")
        self.mode_threshold = QRadioButton("Threshold (binary): label > T")
        self.mode_bins = QRadioButton("Quantile bins (multiclass)")
        self.modes = QButtonGroup(self)
        for i, button in enumerate((self.mode_column, self.mode_threshold, self.mode_bins)):
            self.modes.addButton(button, i)
        self.modes.idClicked.connect(self._on_mode)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(-1e12, 1e12)
        self.threshold.setDecimals(4)
        self.threshold.valueChanged.connect(self._on_threshold)
        self.median = QCheckBox("median")
        self.median.setChecked(True)
        self.median.toggled.connect(self._on_threshold)
        self.bins = QSpinBox()
        self.bins.setRange(2, 50)
        self.bins.valueChanged.connect(lambda v: self._set(**{"data.bins": v}))
        lform = QFormLayout(labels)
        lform.addRow(self.mode_column)
        trow = QHBoxLayout()
        trow.addWidget(self.mode_threshold)
        trow.addWidget(self.threshold)
        trow.addWidget(self.median)
        lform.addRow(trow)
        brow = QHBoxLayout()
        brow.addWidget(self.mode_bins)
        brow.addWidget(self.bins)
        brow.addStretch(1)
        lform.addRow(brow)

        from .field_problems import FieldProblems

        self.label_problems = FieldProblems(self.session, {
            "data.label": "Label column", "data.label_mode": "Labels", "data.threshold": "Threshold",
            "data.bins": "Quantile bins", "data.classes": "Class order"})
        lform.addRow(self.label_problems)
        self.column_problems = FieldProblems(self.session, {
            "data.path": "Data", "data.features": "Columns", "data.missing": "Missing values", "data.sheet": "Sheet"})
        cbox.addWidget(self.column_problems)
        splits = QGroupBox("Splits (stratified, seeded; every class in every split)")
        srow = QHBoxLayout()
        self.split_boxes = {}
        for name in SPLITS:
            box = QDoubleSpinBox()
            box.setRange(0.0, 1.0)
            box.setSingleStep(0.05)
            box.setDecimals(2)
            box.valueChanged.connect(self._on_splits)
            self.split_boxes[name] = box
            srow.addWidget(QLabel({"val": "validation", "cal": "calibration"}.get(name, name)))
            srow.addWidget(box)
        self.standardize = QCheckBox("Standardise features (fitted on the train split)")
        self.standardize.toggled.connect(lambda v: self._set(**{"data.standardize": v}))
        srow.addStretch(1)
        sbox = QVBoxLayout(splits)  # the tick box on its own line: in one row the tab was wider than 1024 pixels
        sbox.addLayout(srow)
        sbox.addWidget(self.standardize)
        self.split_problems = FieldProblems(self.session, {"data.splits": "Splits",
                                                           "data.standardize": "Standardise features"})
        sbox.addWidget(self.split_problems)

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
        order_label = QLabel("Class counts (the order is the confusion matrix's and the export's):")
        order_label.setWordWrap(True)
        order.addWidget(order_label, 1)
        order.addWidget(self.up)
        order.addWidget(self.down)
        self.status = QLabel("Choose labelled data whose inputs match the model.")
        self.status.setObjectName("dataStatus")
        self.status.setWordWrap(True)
        self.split_source = QLabel("")  # where the splits come from: an image folder's train/ val/ test/
        self.split_source.setObjectName("splitSource")
        self.split_source.setWordWrap(True)
        self.notes = QLabel("")
        self.notes.setObjectName("dataNotes")
        self.notes.setWordWrap(True)

        middle = QHBoxLayout()
        middle.addWidget(columns, 3)
        right = QVBoxLayout()
        right.addWidget(labels)
        right.addLayout(order)
        right.addWidget(self.preview, 1)
        right.addWidget(self.split_source)
        right.addWidget(self.notes)
        middle.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(middle, 1)
        layout.addWidget(splits)
        layout.addWidget(self.status)
        session.recipe_changed.connect(self._on_recipe_changed)
        session.raw_changed.connect(self._on_raw_changed)
        session.table_changed.connect(self._on_table_changed)
        session.data_changed.connect(self._on_data_changed)
        session.data_error.connect(self._on_data_error)
        session.model_changed.connect(self._on_model_changed)
        session.inspection_changed.connect(self._on_model_changed)
        self._show_sheet([])
        self._on_recipe_changed(session.recipe)

    # ----- editing the recipe
    def _set(self, **changes):
        if not self._updating:
            self.session.update(**changes)

    def _browse_file(self):
        path, _ = QFileDialog.getOpenFileName(self, "Labelled data", "", FILE_FILTER)
        if path:
            self.load_requested.emit(path)

    def _browse_dir(self):
        path = QFileDialog.getExistingDirectory(self, "Image folder (one sub-folder per class)")
        if path:
            self.load_requested.emit(path)

    def _pick_bundled(self, index):
        if index > 0:
            self.load_requested.emit(self.bundled.itemText(index))
        self.bundled.setCurrentIndex(0)

    def _ticked(self, label: str | None = None) -> list[str]:
        """The ticked features: the recipe's, or the defaults for `label` when it names none."""
        s = self.session
        label = s.recipe.data.label if label is None else label
        if s.recipe.data.features:
            return [f for f in s.recipe.data.features if f != label]
        return s.columns.default_features(label, self._width()) if s.columns is not None else []

    def _width(self) -> int | None:
        shape = self.session.model_shape()
        return int(shape[0]) if shape and len(shape) == 1 else None

    def _on_label_column(self, name):
        s = self.session
        if not name or self._updating or s.columns is None or name == s.recipe.data.label:
            return
        # The user's ticks stay; the new label leaves them, and the old label is not ticked in its place.
        keep = tuple(f for f in self._ticked() if f != name)
        s.update(**{"data.label": name, "data.features": keep, "data.classes": ()})

    def _on_ticks(self, ticked):
        s = self.session
        if self._updating or s.columns is None:
            return
        defaults = s.columns.default_features(s.recipe.data.label, self._width())
        s.update(**{"data.features": () if ticked == defaults else tuple(ticked)})

    def _on_sheet(self, index):
        name = self.sheet.itemText(index)
        if name and name != self.session.recipe.data.sheet:
            self.session.update(**{"data.sheet": name, "data.features": ()})
            self.load_requested.emit(self.session.recipe.data.path)

    def _on_mode(self, index):
        changes = {"data.label_mode": ("column", "threshold", "bins")[index]}
        if index:
            changes["data.classes"] = ()
        self._set(**changes)

    def _on_threshold(self, *_):
        self.threshold.setEnabled(not self.median.isChecked())
        self._set(**{"data.threshold": None if self.median.isChecked() else self.threshold.value()})

    def _on_splits(self, *_):
        self._set(**{"data.splits": tuple(round(self.split_boxes[n].value(), 4) for n in SPLITS)})

    def _move_class(self, step: int):
        data = self.session.data
        row = self.preview.currentRow()
        if data is None or row < 0 or not 0 <= row + step < len(data.classes):
            return
        order = list(data.classes)
        order[row], order[row + step] = order[row + step], order[row]
        self.session.update(**{"data.classes": tuple(order)})
        self.preview.selectRow(row + step)

    # ----- showing the session
    def _on_recipe_changed(self, recipe):
        d = recipe.data
        self._updating = True
        if self.path.text() != d.path:
            self.path.setText(d.path)
        self.modes.button(("column", "threshold", "bins").index(d.label_mode)).setChecked(True)
        self.median.setChecked(d.threshold is None)
        self.threshold.setEnabled(d.threshold is not None)
        if d.threshold is not None:
            self.threshold.setValue(d.threshold)
        self.bins.setValue(d.bins)
        for name, value in zip(SPLITS, d.splits):
            self.split_boxes[name].setValue(value)
        self.standardize.setChecked(d.standardize)
        self.missing.setCurrentIndex(max(0, self.missing.findData(d.missing)))
        if self.session.columns is not None:
            if self.label.currentText() != d.label:
                self.label.setCurrentText(d.label)
            self.columns_model.set_ticked(self._ticked(), d.label)
        self.up.setEnabled(d.label_mode == "column")
        self.down.setEnabled(d.label_mode == "column")
        self._updating = False
        self._show_width()

    def _show_sheet(self, sheets):
        self.sheet.clear()
        self.sheet.addItems(sheets)
        if sheets:
            self.sheet.setCurrentText(self.session.recipe.data.sheet or sheets[0])
        self.sheet.setVisible(bool(sheets))
        self.sheet_label.setVisible(bool(sheets))

    def _on_raw_changed(self, raw):
        s = self.session
        self._updating = True
        self.label.clear()
        self.problem.setText("")
        if raw is None:
            self.columns_model.set_summary(None, "", ())
            self._show_sheet([])
        else:
            d = s.recipe.data
            self._show_sheet(raw.sheets)
            self.label.addItems(s.columns.names)
            self.label.setCurrentText(d.label)
            self.columns_model.set_summary(s.columns, d.label, self._ticked())
        self.label.setEnabled(raw is not None)
        self.defaults.setEnabled(raw is not None)
        self._updating = False
        self._show_width()

    def _on_table_changed(self, table):
        if table is None:
            return
        self.problem.setText("")
        if self.session.raw is None:  # arrays, images, bundled sets: their features are fixed
            self._updating = True
            self.label.clear()
            d = self.session.recipe.data
            self.label.addItem(d.label if d.path.startswith("sklearn:") else "(folder / y array)")
            self.columns_model.set_fixed(table.feature_names[:5000])
            self._updating = False
        if table.target.dtype.kind == "f" and self.median.isChecked():
            import numpy as np

            self._updating = True
            self.threshold.setValue(float(np.median(table.target)))
            self._updating = False
        self._show_width()

    def _on_model_changed(self, *_):
        """The default ticks and the width note follow the model's input width."""
        if self.session.columns is not None:
            self.columns_model.set_ticked(self._ticked(), self.session.recipe.data.label)
        self._show_width()

    def _show_width(self):
        """How many features are ticked against what the model takes, before anything runs."""
        s = self.session
        shape = s.model_shape()
        if s.columns is None:
            self.width_note.setText("")
            return
        count = len(self._ticked())
        text = f"{count} feature(s) ticked"
        if shape and len(shape) == 1:
            match = shape[0] == count
            text += f" · the model takes {shape[0]} inputs"
            self.width_note.setStyleSheet("" if match else "color: #b00020")
        else:
            self.width_note.setStyleSheet("")
        self.width_note.setText(text)

    def _on_data_changed(self, data):
        self.preview.setRowCount(0)
        self.notes.setText("")
        self.split_source.setText("")
        if data is None:
            return
        self._show_split_source(data)
        self.columns_model.set_leaks(data.leaks)
        counts = self.session.split_counts()
        self.preview.setRowCount(len(data.classes))
        for row, cls in enumerate(data.classes):
            values = [cls, counts["all"][row], *(counts[n][row] for n in SPLITS)]
            for col, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                item.setFlags(item.flags() & ~Qt.ItemIsEditable)
                self.preview.setItem(row, col, item)
        shape = "×".join(map(str, data.input_shape))
        self.status.setStyleSheet("")
        self.status.setText(f"{len(data.y):,} samples of shape {shape}, {len(data.classes)} classes "
                            f"({data.label_info['mode']}).")
        notes = [*data.table.notes, *(w[0].upper() + w[1:] for w in data.warnings)]
        self.notes.setText("\n".join(f"• {n}" for n in notes[:8]))
        self.notes.setStyleSheet("color: #8a5a00" if data.warnings else "")

    def _show_split_source(self, data):
        given, folders = data.table.given_splits, data.table.split_folders
        if not given:
            return
        named = " ".join(f"{folders[s]}/" for s in ("train", "val", "test") if s in given)
        carved = "calibration from " + (f"{folders['val']}/" if "val" in given else f"{folders['train']}/")
        if "val" not in given:
            carved = f"validation and {carved}"
        if "test" not in given:
            carved += f", test from {folders['train']}/"
        self.split_source.setText(f"Splits from the folder's {named} ({carved}, stratified, in the proportions "
                                  "of the split fractions below).")

    def _on_data_error(self, message):
        if self.session.raw is not None and self.session.table is None:
            self.problem.setText(message)  # beside the column list, where it is fixed
            self.status.setStyleSheet("")
            self.status.setText("Fix the problem shown under the column list.")
            return
        self.status.setStyleSheet("color: #b00020")
        self.status.setText(message)
