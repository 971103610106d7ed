"""The data view: choose the file, the label and the feature columns (each shown with its kind, missing cells
and why it is left out), how missing values are treated, the class order and the splits; preview class counts
per split. Every problem with a table is shown here, beside the column list, and fixed here. The groups are
`data_columns.ColumnsBox` and `data_labels`' LabelsBox, ClassCounts and SplitsBox; this module lays them out
under the file row and says what was read."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from workbench.core.data.data import SKLEARN_SETS
from workbench.core.notes import as_note

from .. import theme
from .data_columns import ColumnsBox
from .data_inputs import ModelInputsBox
from .data_labels import ClassCounts, LabelsBox, SplitsBox
from .notes import notes_html

FILE_FILTER = ("Tables and arrays (*.csv *.tsv *.txt *.tab *.parquet *.pq *.feather *.arrow *.xlsx *.xlsm *.npz);;"
               "All files (*)")


class DataPanel(QWidget):
    """The Data tab: choose the data file, the label column and the features, and see the class counts."""

    load_requested = Signal(str)  # a data path: the window reads it on a worker
    sheet_requested = Signal(str)  # another sheet of the open workbook

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.columns = ColumnsBox(session)
        self.columns.sheet_requested.connect(self.sheet_requested)
        self.labels = LabelsBox(session)
        self.inputs = ModelInputsBox(session)  # shown for a model whose forward takes several tensors
        self.counts = ClassCounts(session)
        self.splits = SplitsBox(session)
        self.status = QLabel("Choose labelled data whose inputs match the model.")
        self.status.setObjectName("dataStatus")
        self.status.setWordWrap(True)
        self.split_source = QLabel("")  # where the splits come from: an image folder's train/ val/ test/
        self.split_source.setObjectName("splitSource")
        self.split_source.setWordWrap(True)
        self.notes = QLabel("")
        self.notes.setObjectName("dataNotes")
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.notes.setWordWrap(True)
        middle = QHBoxLayout()
        middle.addWidget(self.columns, 3)
        right = QVBoxLayout()
        right.addWidget(self.labels)
        right.addWidget(self.inputs)
        right.addWidget(self.counts, 1)
        right.addWidget(self.split_source)
        right.addWidget(self.notes)
        middle.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(self._file_row())
        layout.addLayout(middle, 1)
        layout.addWidget(self.splits)
        layout.addWidget(self.status)
        session.recipe_changed.connect(self._on_recipe_changed)
        session.data_changed.connect(self._on_data_changed)
        session.data_error.connect(self._on_data_error)
        self._on_recipe_changed(session.model.recipe)

    def _file_row(self) -> QHBoxLayout:
        self.path = QLineEdit()
        self.path.setObjectName("dataPath")
        self.path.setPlaceholderText("a table (.csv, .tsv, .parquet, .feather, .xlsx), an .npz with X and y, or an "
                                     "image folder root/<class>/*.png")
        self.path.returnPressed.connect(lambda: self.load_requested.emit(self.path.text().strip()))
        browse_file = QPushButton("&File…")
        browse_file.clicked.connect(self._browse_file)
        browse_dir = QPushButton("Image folder…")
        browse_dir.clicked.connect(self._browse_dir)
        self.bundled = QComboBox()
        self.bundled.setObjectName("bundledData")
        self.bundled.setAccessibleName("Bundled data set")
        self.bundled.addItem("Bundled data…")
        self.bundled.addItems([f"sklearn:{name}" for name in SKLEARN_SETS])
        self.bundled.activated.connect(self._pick_bundled)
        row = QHBoxLayout()
        data_label = QLabel("&Data:")
        data_label.setBuddy(self.path)
        row.addWidget(data_label)
        row.addWidget(self.path, 1)
        row.addWidget(browse_file)
        row.addWidget(browse_dir)
        row.addWidget(self.bundled)
        return row

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

    def _on_recipe_changed(self, recipe):
        if self.path.text() != recipe.data.path:
            self.path.setText(recipe.data.path)

    def _on_data_changed(self, data):
        self.notes.setText("")
        self.split_source.setText("")
        if data is None:
            return
        self._show_split_source(data)
        shape = "×".join(map(str, data.input_shape))
        theme.style(self.status, "")
        self.status.setText(f"{len(data.y):,} samples of shape {shape}, {len(data.classes)} classes "
                            f"({data.label_info['mode']}).")
        self.notes.setText(notes_html([*data.table.notes, *(as_note(w, "warning") for w in data.warnings)]))

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
        m = self.session.model
        if m.raw is not None and m.table is None:  # the column list shows it, where it is fixed
            theme.style(self.status, "")
            self.status.setText("Fix the problem shown under the column list.")
            return
        theme.style(self.status, "color: {error}")
        self.status.setText(message)
