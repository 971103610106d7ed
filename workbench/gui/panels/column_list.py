"""The Data tab's column list: every column of the table with a tick box, its kind, missing cells and why it is
left out. A model/view table, so a file with a million columns scrolls without a million widgets."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from .. import theme

HEADERS = ("Column", "Kind", "Missing", "Note")
def _grey() -> QBrush:
    return QBrush(QColor(theme.colour("muted")))


def _warn() -> QBrush:
    return QBrush(QColor(theme.colour("error")))


class ColumnsModel(QAbstractTableModel):
    """The Data tab's column list: each column's kind, missing cells and note, with a tick for features."""

    ticks_changed = Signal(list)  # the ticked column names, in table order

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = None
        self.names: list[str] = []
        self.label = ""
        self.ticked: set[str] = set()
        self.leaks: dict[str, float] = {}
        self.fixed = False  # arrays and image folders: the features are listed, not chosen
        self.fixed_kind = "numeric"  # what the Kind column says of them

    def set_summary(self, summary, label: str, ticked, leaks=None) -> None:
        """Show the columns of a newly read table; `ticked` are the features, `leaks` the suspects."""
        self.beginResetModel()
        self.summary, self.fixed = summary, False
        self.names = list(summary.names) if summary else []
        self.label, self.ticked, self.leaks = label, set(ticked), dict(leaks or {})
        self.endResetModel()

    def set_fixed(self, names: list[str], kind: str = "numeric") -> None:
        """Features of data that is not a table file (an .npz, images, a bundled set): shown, all used."""
        self.beginResetModel()
        self.summary, self.fixed, self.fixed_kind = None, True, kind
        self.names, self.label, self.ticked, self.leaks = list(names), "", set(names), {}
        self.endResetModel()

    def set_ticked(self, ticked, label: str) -> None:
        """Tick the recipe's features again after the recipe changed elsewhere (no new table)."""
        self.ticked, self.label = set(ticked), label
        self._refresh()

    def set_leaks(self, leaks: dict[str, float]) -> None:
        """Mark the columns that predict the label suspiciously well (a likely leak)."""
        self.leaks = dict(leaks)
        self._refresh()

    def _refresh(self):
        if self.names:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.names) - 1, len(HEADERS) - 1))

    def rowCount(self, parent=QModelIndex()):  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.names)

    def columnCount(self, parent=QModelIndex()):  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return HEADERS[section]
        return None

    def _checkable(self, name: str) -> bool:
        return not self.fixed and self.summary is not None and name != self.label and self.summary.usable(name)

    def flags(self, index):
        base = Qt.ItemIsEnabled | Qt.ItemIsSelectable
        if index.column() == 0 and self._checkable(self.names[index.row()]):
            base |= Qt.ItemIsUserCheckable
        return base

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        name, col = self.names[index.row()], index.column()
        s = self.summary
        if role == Qt.CheckStateRole and col == 0:
            if self.fixed:
                return None
            if name == self.label or not self._checkable(name):
                return Qt.Unchecked
            return Qt.Checked if name in self.ticked else Qt.Unchecked
        if role == Qt.ForegroundRole:
            if col == 3 and name in self.leaks and name in self.ticked:
                return _warn()
            if s is not None and name != self.label and not self._checkable(name):
                return _grey()
            return None
        if role == Qt.ToolTipRole and col == 3:
            return self._note(name) or None
        if role != Qt.DisplayRole:
            return None
        if col == 0:
            return name
        if s is None:
            return {1: self.fixed_kind, 2: "", 3: "used"}[col]
        if col == 1:
            return "label" if name == self.label else s.kind(name)
        if col == 2:
            missing = s.missing_of(name)
            return f"{missing:,}" if missing else ""
        return self._note(name)

    def _note(self, name: str) -> str:
        if self.summary is None:
            return ""
        if name == self.label:
            return "the label: never a feature"
        if name in self.leaks and name in self.ticked:
            return (f"likely leak: alone separates the classes on the train split ({self.leaks[name]:.1%}); "
                    "untick it unless it is known at prediction time")
        return self.summary.notes.get(name, "")

    def setData(self, index, value, role=Qt.EditRole):
        """A tick box clicked: the column becomes (or stops being) a feature, announced by ticks_changed."""
        if role != Qt.CheckStateRole or index.column() != 0:
            return False
        name = self.names[index.row()]
        if not self._checkable(name):
            return False
        checked = Qt.CheckState(value) == Qt.Checked if not isinstance(value, bool) else value
        (self.ticked.add if checked else self.ticked.discard)(name)
        self.dataChanged.emit(index, index.siblingAtColumn(len(HEADERS) - 1))
        self.ticks_changed.emit([n for n in self.names if n in self.ticked])
        return True


class ColumnsView(QTableView):
    """The table that shows a ColumnsModel; rows keep a fixed height so wide files stay fast."""

    def __init__(self, model: ColumnsModel, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.setObjectName("columnList")
        self.setTabKeyNavigation(False)  # Tab moves on; arrows walk the columns, Space ticks
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        # Fixed row heights and no resize-to-contents: the view never measures every row of a wide table.
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.setColumnWidth(0, 170)
        self.setColumnWidth(1, 90)
        self.setColumnWidth(2, 60)
        self.setWordWrap(False)
