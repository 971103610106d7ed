"""The data view: choose the file and columns, derive labels, preview class counts per split."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QPushButton, QRadioButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from workbench.core.data import SKLEARN_SETS

SPLITS = ("train", "val", "cal", "test")


class DataPanel(QWidget):
    load_requested = Signal(str)  # a data path: the window loads it on a worker

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self._updating = False
        self.path = QLineEdit()
        self.path.setObjectName("dataPath")
        self.path.setPlaceholderText("a .csv table, an .npz with X and y, or an image folder root/<class>/*.png")
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
        self.label.currentTextChanged.connect(self._on_label_column)
        self.features = QListWidget()
        self.features.setObjectName("featureList")
        self.features.itemChanged.connect(self._on_features)
        columns = QGroupBox("Columns")
        cform = QFormLayout(columns)
        cform.addRow("Label column:", self.label)
        cform.addRow("Features:", self.features)

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

        splits = QGroupBox("Splits (stratified, seeded)")
        srow = QHBoxLayout(splits)
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
        srow.addWidget(self.standardize)

        self.preview = QTableWidget(0, 6)
        self.preview.setObjectName("classPreview")
        self.preview.setHorizontalHeaderLabels(["Class", "All", "Train", "Validation", "Calibration", "Test"])
        self.preview.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.preview.verticalHeader().setVisible(False)
        self.status = QLabel("Choose labelled data whose inputs match the model.")
        self.status.setObjectName("dataStatus")
        self.status.setWordWrap(True)

        middle = QHBoxLayout()
        middle.addWidget(columns, 1)
        right = QVBoxLayout()
        right.addWidget(labels)
        right.addWidget(QLabel("Class counts:"))
        right.addWidget(self.preview, 1)
        middle.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(middle, 1)
        layout.addWidget(splits)
        layout.addWidget(self.status)
        session.recipe_changed.connect(self._on_recipe_changed)
        session.table_changed.connect(self._on_table_changed)
        session.data_changed.connect(self._on_data_changed)
        session.data_error.connect(self._on_data_error)
        self._on_recipe_changed(session.recipe)

    def _set(self, **changes):
        if not self._updating:
            self.session.update(**changes)

    def _browse_file(self):
        path, _ = QFileDialog.getOpenFileName(self, "Labelled data", "", "Data (*.csv *.tsv *.npz);;All files (*)")
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

    def _on_label_column(self, name):
        if name and not self._updating and name != self.session.recipe.data.label:
            self.session.update(**{"data.label": name, "data.features": ()})
            self.load_requested.emit(self.session.recipe.data.path)

    def _on_features(self, _item):
        if self._updating:
            return
        chosen = [self.features.item(i).text() for i in range(self.features.count())
                  if self.features.item(i).checkState() == Qt.Checked]
        everything = len(chosen) == self.features.count()
        self.session.update(**{"data.features": () if everything else tuple(chosen)})
        self.load_requested.emit(self.session.recipe.data.path)

    def _on_mode(self, index):
        self._set(**{"data.label_mode": ("column", "threshold", "bins")[index]})

    def _on_threshold(self, *_):
        self.threshold.setEnabled(not self.median.isChecked())
        self._set(**{"data.threshold": None if self.median.isChecked() else self.threshold.value()})

    def _on_splits(self, *_):
        self._set(**{"data.splits": tuple(round(self.split_boxes[n].value(), 4) for n in SPLITS)})

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
        self._updating = False

    def _on_table_changed(self, table):
        self._updating = True
        self.features.clear()
        self.label.clear()
        if table is not None:
            recipe = self.session.recipe.data
            if Path(recipe.path).suffix.lower() in (".csv", ".tsv", ".txt"):
                from workbench.core.data import table_columns

                columns = table_columns(recipe.path)
                self.label.addItems(columns)
                self.label.setCurrentText(recipe.label)
                names = [c for c in columns if c != recipe.label]
                chosen = set(recipe.features or names)
            else:
                self.label.addItem(recipe.label if recipe.path.startswith("sklearn:") else "(folder / y array)")
                names, chosen = table.feature_names[:200], set(table.feature_names)
            for name in names:
                item = QListWidgetItem(name)
                item.setCheckState(Qt.Checked if name in chosen else Qt.Unchecked)
                self.features.addItem(item)
            self.features.setEnabled(Path(recipe.path).suffix.lower() in (".csv", ".tsv", ".txt"))
            if table.target.dtype.kind == "f" and self.median.isChecked():
                import numpy as np

                self.threshold.setValue(float(np.median(table.target)))
        self._updating = False

    def _on_data_changed(self, data):
        self.preview.setRowCount(0)
        if data is None:
            return
        import numpy as np

        counts = {name: np.bincount(data.y[idx], minlength=len(data.classes)) for name, idx in data.splits.items()}
        total = np.bincount(data.y, minlength=len(data.classes))
        self.preview.setRowCount(len(data.classes))
        for row, cls in enumerate(data.classes):
            values = [cls, total[row], *(counts[n][row] for n in SPLITS)]
            for col, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                item.setFlags(item.flags() & ~Qt.ItemIsEditable)
                self.preview.setItem(row, col, item)
        shape = "×".join(map(str, data.input_shape))
        self.status.setStyleSheet("")
        self.status.setText(f"{len(data.y)} samples of shape {shape}, {len(data.classes)} classes "
                            f"({data.label_info['mode']}).")

    def _on_data_error(self, message):
        self.status.setStyleSheet("color: #b00020")
        self.status.setText(message)
