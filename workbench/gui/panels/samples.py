"""The samples of the confusion-matrix cell the user clicked: file row or image file (with a thumbnail), a table's
ID-like columns, true and predicted class, probabilities, then a table's feature values (Orange's data table),
most confident first; sortable by any column, Ctrl+C copies the selected rows as tab-separated text, and the window
saves the list as CSV. Which samples, in which order, and their columns are `core.evaluate.errors_list`'s; this
view only draws them."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence, QPixmap, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

THUMB = 48  # pixels
THUMBS_DRAWN = 500  # the first (most confident) samples get a thumbnail; drawing thousands would stall the window
ROWS_SHOWN = 5000  # the table shows the most confident ones; the CSV has them all
FEATURES_SHOWN = 40  # feature columns shown (5,000 rows x 200 columns would take seconds to build); the CSV has all
HEADERS = {"row": "Row in file", "file": "Image file", "index": "Index"}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # numbers sort as numbers, not as text


def _item(text: str, key=None, number: bool = False) -> QStandardItem:
    """A read-only cell showing `text`, sorted by `key` (the text itself when None)."""
    item = QStandardItem(text)
    item.setData(text if key is None else key, SORT_ROLE)
    if number:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _number_key(text: str):
    """A row number or an index sorts as a number; a file path as text."""
    try:
        return float(text)
    except ValueError:
        return text


def thumbnail(sample: np.ndarray) -> QPixmap:
    """An input image (C, H, W) in [0, 1]-ish as a pixmap, stretched to its own range (grey or RGB)."""
    arr = np.asarray(sample, dtype=np.float32)
    low, high = float(arr.min()), float(arr.max())
    arr = ((arr - low) / (high - low if high > low else 1.0) * 255).astype(np.uint8)
    if arr.shape[0] == 1:
        img = QImage(np.ascontiguousarray(arr[0]).data, arr.shape[2], arr.shape[1], arr.shape[2],
                     QImage.Format.Format_Grayscale8)
    else:
        rgb = np.ascontiguousarray(arr[:3].transpose(1, 2, 0))
        img = QImage(rgb.data, rgb.shape[1], rgb.shape[0], 3 * rgb.shape[1], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(img.copy()).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                                Qt.TransformationMode.FastTransformation)


class ErrorsView(QWidget):
    """The clicked cell's test samples; *Save list as CSV…* asks the window to write them (File actions)."""

    save_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("Click a cell of the confusion matrix to list its test samples.")
        self.title.setObjectName("errorsTitle")
        self.title.setWordWrap(True)
        self.save = QPushButton("Save list as CSV…")
        self.save.setObjectName("saveErrorsButton")
        self.save.setEnabled(False)
        self.save.clicked.connect(self.save_requested)
        self.model = QStandardItemModel(0, 5, self)
        self.model.setSortRole(SORT_ROLE)
        self.view = QTableView()
        self.view.setObjectName("errorsTable")
        self.view.setAccessibleName("Samples of the chosen confusion-matrix cell")
        self.view.setModel(self.model)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # listed most confident first
        self.view.setSortingEnabled(True)
        copy = QAction("Copy rows", self.view)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(self.copy_rows)
        self.view.addAction(copy)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.view.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setTabKeyNavigation(False)  # Tab leaves the table instead of walking its cells
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.view.setIconSize(QSize(THUMB, THUMB))
        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        bar.addWidget(self.save)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.run = None
        self.records: list[dict] = []
        self.id_name = "row"
        self.cell: tuple[int, int] | None = None

    def clear(self) -> None:
        self.run, self.cell, self.records = None, None, []
        self.model.removeRows(0, self.model.rowCount())
        self.save.setEnabled(False)
        self.title.setText("Click a cell of the confusion matrix to list its test samples.")
        self.setVisible(False)  # shown once a cell is clicked, so the plots keep the screen until then

    def show_cell(self, run, true: int, predicted: int) -> None:
        """List the test samples of `run` in cell (true, predicted) under its current calibration and threshold."""
        from workbench.core.evaluate.errors_list import cell, rows

        samples = run.test_samples()
        which = cell(samples, true, predicted)
        self.run, self.cell, self.id_name = run, (true, predicted), samples.id_name
        self.records = rows(samples, which)
        classes = [html.escape(c) for c in samples.classes]  # "<= 140.5" is a class name, not a tag
        verdict = "correct" if true == predicted else "errors"
        self.title.setText(f"<b>{len(which)}</b> test sample(s) of true class <b>{classes[true]}</b> predicted as "
                           f"<b>{classes[predicted]}</b> ({verdict}), most confident first.")
        images = run.data.table.X.ndim == 4
        extra = list(samples.columns)
        ids, features = extra[:len(samples.id_columns)], extra[len(samples.id_columns):][:FEATURES_SHOWN]
        self.model.clear()
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.model.setHorizontalHeaderLabels([HEADERS[self.id_name], *ids, "True", "Predicted", "p(predicted)",
                                              "p(true)", *features])
        for k, (record, i) in enumerate(zip(self.records[:ROWS_SHOWN], which)):
            first = _item(record[self.id_name], _number_key(record[self.id_name]))
            first.setToolTip(record[self.id_name])
            if images and k < THUMBS_DRAWN:
                first.setData(thumbnail(run.data.table.X[samples.positions[i]]), Qt.ItemDataRole.DecorationRole)
            values = record.get("columns", {})
            cells = [first, *(_item(values[n]) for n in ids), _item(record["true"]), _item(record["predicted"]),
                     _item(f"{record['p_predicted']:.3f}", record["p_predicted"], True),
                     _item(f"{record['p_true']:.3f}", record["p_true"], True),
                     *(_item("" if values[n] is None else f"{values[n]:.6g}",
                             float("-inf") if values[n] is None else values[n], True) for n in features)]
            self.model.appendRow(cells)
        if len(self.records) > ROWS_SHOWN:
            self.title.setText(self.title.text() + f" The first {ROWS_SHOWN:,} are shown; the CSV has all.")
        if len(extra) - len(ids) > len(features):
            self.title.setText(self.title.text() + f" The first {FEATURES_SHOWN} of {len(extra) - len(ids)} feature "
                               "columns are shown; the CSV has all.")
        # An image's file path takes the room left; a table's many columns keep their width and scroll sideways.
        self.view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch if images else
                                                          QHeaderView.ResizeMode.ResizeToContents)
        if images:
            self.view.verticalHeader().setDefaultSectionSize(THUMB + 4)
        self.save.setEnabled(True)
        self.setVisible(True)

    def copy_rows(self) -> str:
        """Copy the selected rows (all listed rows when none is selected) with the header, as tab-separated text
        for a spreadsheet; returns the text."""
        rows = sorted({index.row() for index in self.view.selectionModel().selectedIndexes()}) or \
            list(range(self.model.rowCount()))
        columns = range(self.model.columnCount())
        header = [self.model.headerData(c, Qt.Orientation.Horizontal) for c in columns]
        lines = ["\t".join(str(h) for h in header)]
        lines += ["\t".join(self.model.item(r, c).text().replace("\t", " ") for c in columns) for r in rows]
        text = "\n".join(lines) + "\n"
        QApplication.clipboard().setText(text)
        return text
