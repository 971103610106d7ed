"""The Data tab's Columns group: the label column (and the sheet of a workbook), every column of the table with a
tick for the features, its kind, missing cells and why it is left out, the ticked width against the model's, the
missing-value policy, and every problem with the table, shown beside the list where it is fixed."""

from __future__ import annotations

from typing import cast

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QListView, QPushButton, QVBoxLayout

from .. import theme
from .column_list import ColumnsModel, ColumnsView
from .field_problems import FieldProblems

MISSING_CHOICES = (("error", "Stop and show the counts"), ("drop", "Drop rows with a missing value"),
                   ("impute", "Impute train-split medians (also in the export)"))


class ColumnsBox(QGroupBox):
    """Label column, sheet, the column list with feature ticks, the width note and the missing-value policy."""

    sheet_requested = Signal(str)  # another sheet was chosen: the window reads it

    def __init__(self, session, parent=None):
        super().__init__("Columns", parent)
        self.session = session
        self._updating = False
        self._build()
        session.recipe_changed.connect(self._on_recipe_changed)
        session.raw_changed.connect(self._on_raw_changed)
        session.table_changed.connect(self._on_table_changed)
        session.data_changed.connect(self._on_data_changed)
        session.data_error.connect(self._on_data_error)
        session.model_changed.connect(self._on_model_changed)
        session.inspection_changed.connect(self._on_model_changed)
        self._show_sheet([])
        self._on_recipe_changed(session.model.recipe)

    def _build(self) -> None:
        self.label = QComboBox()
        self.label.setObjectName("labelColumn")
        self.label.setMaxVisibleItems(20)
        # A wide table has a label choice per column: never measure every item to size the box or its popup.
        self.label.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.label.setMinimumContentsLength(24)
        cast(QListView, self.label.view()).setUniformItemSizes(True)
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
        self.defaults.clicked.connect(lambda: self.session.model.update(**{"data.features": ()}))
        self.problem = QLabel("")
        self.problem.setObjectName("dataProblem")
        self.problem.setWordWrap(True)
        theme.style(self.problem, "color: {error}")
        self.missing = QComboBox()
        self.missing.setObjectName("missingPolicy")
        for key, text in MISSING_CHOICES:
            self.missing.addItem(text, key)
        self.missing.activated.connect(lambda i: self._set(**{"data.missing": self.missing.itemData(i)}))
        self.column_problems = FieldProblems(self.session, {
            "data.path": "Data", "data.features": "Columns", "data.missing": "Missing values", "data.sheet": "Sheet"})
        box = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Label column:"))
        row.addWidget(self.label, 1)
        row.addWidget(self.sheet_label)
        row.addWidget(self.sheet)
        box.addLayout(row)
        box.addWidget(self.columns, 1)
        row = QHBoxLayout()
        row.addWidget(self.width_note, 1)
        row.addWidget(self.defaults)
        box.addLayout(row)
        box.addWidget(self.problem)
        row = QHBoxLayout()
        row.addWidget(QLabel("Missing values:"))
        row.addWidget(self.missing, 1)
        box.addLayout(row)
        box.addWidget(self.column_problems)

    # ----- editing the recipe
    def _set(self, **changes):
        if not self._updating:
            self.session.model.update(**changes)

    def _ticked(self) -> list[str]:
        """The ticked features: core's answer (the recipe's, or the defaults for the label and the model's width)."""
        return self.session.model.ticked_features()

    def _width(self) -> int | None:
        shape = self.session.model.model_shape()
        return int(shape[0]) if shape and len(shape) == 1 else None

    def _on_label_column(self, name):
        if name and not self._updating and self.session.model.columns is not None:
            self.session.model.set_label(name)

    def _on_ticks(self, ticked):
        if not self._updating and self.session.model.columns is not None:
            self.session.model.set_features(ticked)

    def _on_sheet(self, index):
        name = self.sheet.itemText(index)
        if name and name != self.session.model.recipe.data.sheet:
            self.sheet_requested.emit(name)

    # ----- showing the session
    def _on_recipe_changed(self, recipe):
        d = recipe.data
        self._updating = True
        self.missing.setCurrentIndex(max(0, self.missing.findData(d.missing)))
        if self.session.model.columns is not None:
            if self.label.currentText() != d.label:
                self.label.setCurrentText(d.label)
            self.columns_model.set_ticked(self._ticked(), d.label)
        self._updating = False
        self._show_width()

    def _show_sheet(self, sheets):
        self.sheet.clear()
        self.sheet.addItems(sheets)
        if sheets:
            self.sheet.setCurrentText(self.session.model.recipe.data.sheet or sheets[0])
        self.sheet.setVisible(bool(sheets))
        self.sheet_label.setVisible(bool(sheets))

    def _on_raw_changed(self, raw):
        m = self.session.model
        self._updating = True
        self.label.clear()
        self.problem.setText("")
        if raw is None:
            self.columns_model.set_summary(None, "", ())
            self._show_sheet([])
        else:
            d = m.recipe.data
            self._show_sheet(raw.sheets)
            self.label.addItems(m.columns.names)
            self.label.setCurrentText(d.label)
            self.columns_model.set_summary(m.columns, d.label, self._ticked())
        self.label.setEnabled(raw is not None)
        self.defaults.setEnabled(raw is not None)
        if raw is not None:  # a table file: its missing cells are chosen about here, before it has a table
            self._missing_applies(True)
        self._updating = False
        self._show_width()

    def _on_table_changed(self, table):
        if table is None:
            return
        self.problem.setText("")
        m = self.session.model
        if m.raw is None:  # arrays, images, bundled sets: their features are fixed
            self._updating = True
            self.label.clear()
            d = m.recipe.data
            self.label.addItem(d.label if d.path.startswith("sklearn:") else "(folder / y array)")
            if table.pixels:  # one row for the pixels: a list of 1,728 'px' columns said nothing
                shape = "×".join(map(str, table.X.shape[1:]))
                self.columns_model.set_fixed([f"each image's pixels ({shape})"], "image")
            else:
                self.columns_model.set_fixed(table.feature_names[:5000])
            self._updating = False
        self._missing_applies(not table.pixels)  # an image has no missing cells: a folder's bad file is named
        self._show_width()

    def _missing_applies(self, on: bool) -> None:
        self.missing.setEnabled(on)
        self.missing.setToolTip("" if on else "Images have no missing cells.")

    def _on_model_changed(self, *_):
        """The default ticks and the width note follow the model's input width."""
        m = self.session.model
        if m.columns is not None:
            self.columns_model.set_ticked(self._ticked(), m.recipe.data.label)
        self._show_width()

    def _show_width(self):
        """How many features are ticked against what the model takes, before anything runs."""
        m = self.session.model
        shape = m.model_shape()
        if m.columns is None:
            self.width_note.setText("")
            return
        count = len(self._ticked())
        text = f"{count} feature(s) ticked"
        if shape and len(shape) == 1:
            match = shape[0] == count
            text += f" · the model takes {shape[0]} inputs"
            theme.style(self.width_note, "" if match else "color: {error}")
        else:
            theme.style(self.width_note, "")
        self.width_note.setText(text)

    def _on_data_changed(self, data):
        if data is not None:
            self.columns_model.set_leaks(data.leaks)

    def _on_data_error(self, message):
        m = self.session.model
        if m.raw is not None and m.table is None:
            self.problem.setText(message)  # beside the column list, where it is fixed
