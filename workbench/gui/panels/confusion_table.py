"""The confusion matrix as a table (Orange's confusion matrix widget): a QTableView over core's matrix, rows the true
classes and columns the predicted ones, counts or rates (`verdicts.normalised_confusion`), shaded like the heat map.
A keyboard and a screen reader walk it cell by cell (each cell says its true and predicted class); choosing a cell
(click, arrow keys, Enter) asks for its samples like a click on the heat map."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from workbench.core.evaluate.verdicts import CONFUSION_MODES as MODES
from workbench.core.evaluate.verdicts import normalised_confusion

from .. import theme
from ..plots.confusion import cell_text


class ConfusionModel(QAbstractTableModel):
    """Core's confusion matrix under a normalisation mode, one cell per (true, predicted) pair."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.matrix = np.zeros((0, 0))
        self.shown = np.zeros((0, 0))
        self.top = 1.0  # the shading's full colour: the largest shown value, found once per matrix
        self.classes: list[str] = []
        self.mode = MODES[0]

    def set_matrix(self, matrix, classes: list[str], mode: str = MODES[0]) -> None:
        self.beginResetModel()
        self.matrix = np.asarray(matrix, dtype=float)
        self.shown = normalised_confusion(self.matrix, mode)
        self.top = float(self.shown.max()) if self.shown.size and self.shown.max() > 0 else 1.0
        self.classes, self.mode = list(classes), mode
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt's names)
        return 0 if parent.isValid() else len(self.classes)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.classes)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        i, j = index.row(), index.column()
        value = self.shown[i, j]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(value, self.mode)
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return (f"true {self.classes[i]}, predicted {self.classes[j]}: {cell_text(value, self.mode)}"
                    f" ({int(self.matrix[i, j])} samples)")
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            cell = theme.mix(QColor(theme.colour("base")), QColor(theme.colour("highlight")), float(value / self.top))
            return cell if role == Qt.ItemDataRole.BackgroundRole else QColor(theme.readable_on(cell))
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole) and section < len(self.classes):
            name = self.classes[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{'true' if orientation == Qt.Orientation.Vertical else 'predicted'} class {name}"
            return name
        return None

    def restyle(self) -> None:
        """The theme changed: the cells' colours are read again."""
        if self.classes:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.classes) - 1, len(self.classes) - 1))


class ConfusionTable(QTableView):
    """The matrix as a table: rows true, columns predicted; the current cell's samples are listed below."""

    cell_chosen = Signal(int, int)  # true class, predicted class

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("confusionTable")
        self.setAccessibleName("Confusion matrix table: rows are true classes, columns predicted classes")
        self.matrix_model = ConfusionModel(self)
        self.setModel(self.matrix_model)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setTabKeyNavigation(False)  # Tab moves on; the arrow keys walk the cells
        self.setWordWrap(False)
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setTextElideMode(Qt.TextElideMode.ElideRight)
            header.setMaximumSectionSize(220)  # a long class name is elided; its tooltip has it whole
        self.horizontalHeader().setToolTip("Predicted class")
        self.verticalHeader().setToolTip("True class")
        self.selectionModel().currentChanged.connect(self._on_current)
        theme.theme().changed.connect(self.matrix_model.restyle)

    def show_matrix(self, matrix, classes: list[str], mode: str = MODES[0]) -> None:
        self.matrix_model.set_matrix(matrix, classes, mode)

    def select(self, true: int | None, predicted: int | None = None) -> None:
        """Make (true, predicted) the current cell without asking for its samples (the heat map was clicked)."""
        self.selectionModel().blockSignals(True)
        if true is None or predicted is None:
            self.selectionModel().clear()
        else:
            self.setCurrentIndex(self.matrix_model.index(true, predicted))
        self.selectionModel().blockSignals(False)
        self.viewport().update()

    def _on_current(self, current, _previous) -> None:
        if current.isValid():
            self.cell_chosen.emit(current.row(), current.column())
