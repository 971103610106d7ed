"""The samples of the confusion-matrix cell the user clicked: file row or image file (with a thumbnail), true and
predicted class, probabilities, most confident first; saved as CSV. Which samples and in which order is
`core.evaluate.errors_list`'s; this view only draws them."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workbench.core.errors import WorkbenchError

from . import dialogs

THUMB = 48  # pixels
THUMBS_DRAWN = 500  # the first (most confident) samples get a thumbnail; drawing thousands would stall the window
ROWS_SHOWN = 5000  # the table shows the most confident ones; the CSV has them all
HEADERS = {"row": "Row in file", "file": "Image file", "index": "Index"}


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
    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("Click a cell of the confusion matrix to list its test samples.")
        self.title.setObjectName("errorsTitle")
        self.title.setWordWrap(True)
        self.save = QPushButton("Save list as CSV…")
        self.save.setObjectName("saveErrorsButton")
        self.save.setEnabled(False)
        self.save.clicked.connect(lambda: self.save_csv())
        self.model = QStandardItemModel(0, 5, self)
        self.view = QTableView()
        self.view.setObjectName("errorsTable")
        self.view.setModel(self.model)
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
        self.model.clear()
        self.model.setHorizontalHeaderLabels([HEADERS[self.id_name], "True", "Predicted", "p(predicted)",
                                              "p(true)"])
        for k, (record, i) in enumerate(zip(self.records[:ROWS_SHOWN], which)):
            first = QStandardItem(record[self.id_name])
            first.setToolTip(record[self.id_name])
            if images and k < THUMBS_DRAWN:
                first.setData(thumbnail(run.data.table.X[samples.positions[i]]), Qt.ItemDataRole.DecorationRole)
            cells = [first, QStandardItem(record["true"]), QStandardItem(record["predicted"]),
                     QStandardItem(f"{record['p_predicted']:.3f}"), QStandardItem(f"{record['p_true']:.3f}")]
            for item in cells[3:]:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.model.appendRow(cells)
        if len(self.records) > ROWS_SHOWN:
            self.title.setText(self.title.text() + f" The first {ROWS_SHOWN:,} are shown; the CSV has all.")
        self.view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the row or the file path
        if images:
            self.view.verticalHeader().setDefaultSectionSize(THUMB + 4)
        self.save.setEnabled(True)
        self.setVisible(True)

    def save_csv(self, path: str | None = None) -> str | None:
        """Ask where (unless given), refuse the run's inputs, ask before replacing another file; the path written."""
        from workbench.core.evaluate.errors_list import save_csv
        from workbench.core.safety.output_paths import OutputExistsError, inputs

        if self.run is None:
            return None
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Save the listed samples as CSV", "samples.csv",
                                                  "CSV (*.csv)", options=QFileDialog.Option.DontConfirmOverwrite)
            if not path:
                return None
        recipe = self.run.recipe
        protected = inputs(source=self.run.loaded.path, data=recipe.data.path, model_source=recipe.model_source,
                           read=self.run.loaded.files)
        try:
            try:
                save_csv(path, self.records, self.id_name, protected)
            except OutputExistsError:
                answer = QMessageBox.question(self, "Replace file?", f"{path} already exists. Replace it?",
                                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                              QMessageBox.StandardButton.No)
                if answer != QMessageBox.StandardButton.Yes:
                    return None
                save_csv(path, self.records, self.id_name, protected, overwrite=True)
        except WorkbenchError as exc:
            dialogs.show_error(self, exc, "Could not save the list")
            return None
        return path
