"""Export dialog: choose a new folder, run the export on the worker, report where the files are."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from .. import theme
from ..session import window_text


class ExportDialog(QDialog):
    """Export one run of the session (core's `Export` command): choose a folder and options, then write the
    program, weights and plots. `run_command(job, on_done, on_error)` runs the command on a worker (the window's
    `JobRunner.run_command`)."""

    def __init__(self, model, run_id: str, run_command, plots, start_folder: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export the converted model")
        self.setObjectName("exportDialog")
        self.model, self.run_id, self.run_command, self.plots = model, run_id, run_command, plots
        entry = model.entry(run_id)
        run, name = entry.run, entry.name
        self.result = None  # type: ignore[assignment,method-assign]  # shadows QDialog.result(): the export's result
        from workbench.core.safety.folder_swap import recover

        recover(Path(start_folder).expanduser())  # put back or clean up what a killed export left there
        self.folder = QLineEdit(str(Path(start_folder) / f"{run.loaded.path.stem}-classifier"))
        self.folder.setObjectName("exportFolder")
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.with_plots = QCheckBox("Also save the evaluation plots (PNG and SVG) in plots/")
        self.with_plots.setChecked(True)
        import importlib.util

        self.with_onnx = QCheckBox("Also an ONNX model (model.onnx), checked against these probabilities")
        self.with_onnx.setObjectName("exportOnnx")
        if importlib.util.find_spec("onnx") is None:
            self.with_onnx.setEnabled(False)
            self.with_onnx.setToolTip("Needs the onnx packages (the project's onnx extra), which are not installed.")
        contents = QLabel("The folder will hold <b>model.pt2</b> (a torch.export program from inputs to calibrated "
                          "probabilities; TorchScript if the model cannot be exported that way), "
                          "<b>weights.safetensors</b>, <b>metadata.json</b> (classes, recipe, calibration, metrics, "
                          "source hash), <b>metrics.json</b> and <b>recipe.json</b>. It loads with PyTorch alone.")
        contents.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.progress.hide()  # shown while the export runs: idle, it is an empty box
        self.status = QLabel("Choose a new or empty folder.")
        self.status.setObjectName("exportStatus")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self.reject)
        self.run_label = QLabel(f"Run: <b>{name or 'the current run'}</b> (pick another in the "
                                "Run list above the tabs)")
        self.run_label.setObjectName("exportRun")
        self.run_label.setWordWrap(True)  # run names say what differs between runs: they can be long
        self.summary = QLabel()  # what will be written, from core (export_summary), before anything is
        self.summary.setObjectName("exportSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder.textChanged.connect(self._show_summary)
        self.with_onnx.toggled.connect(self._show_summary)
        folder_label = QLabel("&Folder:")
        folder_label.setBuddy(self.folder)
        layout = QVBoxLayout(self)
        layout.addWidget(self.run_label)
        layout.addWidget(folder_label)
        layout.addLayout(row)
        layout.addWidget(self.with_plots)
        layout.addWidget(self.with_onnx)
        layout.addWidget(self.summary)
        layout.addWidget(contents)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(680, 360)
        self.setMinimumWidth(640)
        self._show_summary()
        self._fit_height()
        from ..accessibility import name_widgets

        name_widgets(self)

    def summary_lines(self) -> list[str]:
        """What this export will write (core's `export_summary`), with the folder and ONNX choice as they are now."""
        from workbench.core.workflow.export_summary import export_summary

        return export_summary(self.model, self.run_id, Path(self.folder.text()).expanduser(),
                              self.with_onnx.isChecked())

    def _show_summary(self, *_):
        rows = []
        for line in self.summary_lines():
            head, sep, rest = line.partition(": ")
            rows.append(f"<b>{html.escape(head)}</b>{sep}{html.escape(rest)}" if sep else html.escape(line))
        self.summary.setText("<b>This export writes:</b><br>" + "<br>".join(rows))

    def _browse(self):
        folder = QFileDialog.getExistingDirectory(self, "Parent folder for the export", self.folder.text())
        if folder:
            self.folder.setText(str(Path(folder) / Path(self.folder.text()).name))

    def start(self, overwrite: bool = False):
        """Check the folder and run the export on a worker; asks before replacing an earlier export."""
        from workbench.core.errors import WorkbenchError
        from workbench.core.safety.output_paths import OutputExistsError
        from workbench.core.workflow.run_commands import Export

        folder = Path(self.folder.text()).expanduser()
        try:  # the command checks the folder before any work
            job = Export(self.model, folder, self.run_id, overwrite, self.with_onnx.isChecked())
        except WorkbenchError as exc:
            if isinstance(exc, OutputExistsError) and not overwrite:
                answer = QMessageBox.question(self, "Replace export?", f"{folder} already holds an export. "
                                              "Replace it with this one?")
                if answer == QMessageBox.StandardButton.Yes:
                    self.start(overwrite=True)
                return
            self.status.setText(f"<span style='color:{theme.colour('error')}'>{html.escape(window_text(exc))}</span>")
            return
        self.export_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText("Exporting and checking the round trip…")
        self.run_command(job, self._on_done, lambda _job, exc: self._on_error(exc))

    def _on_done(self, result):
        self.result = result
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.hide()  # the status line says it is done
        extra = ""
        if self.with_plots.isChecked() and self.plots:
            from workbench.core.safety.folder_swap import record_files

            from ..plots.save import save_plots

            written = save_plots(self.plots, result.folder / "plots")
            record_files(result.folder, written)  # the tool wrote them, so a later export may replace them
            extra = f" and {len(written)} plot files in plots/"
        onnx = ""
        if result.onnx:
            info = result.onnx
            diff = info["round_trip_max_abs_diff"]
            onnx = (f"<br>model.onnx checked with {info.get('checked_with')}"
                    + (f", within {max(diff, 1e-12):.1e}." if diff is not None else "."))
        self.status.setText(f"Exported to <b>{result.folder}</b>: {', '.join(result.files)}{extra}.<br>"
                            f"Round-trip check passed: the saved {result.program_format.split(' (')[0]} program "
                            f"reproduces the workbench's probabilities within "
                            f"{max(result.round_trip_max_abs_diff, 1e-12):.1e}.{onnx}")
        self.export_button.setEnabled(True)
        self._fit_height()  # the result is longer than the prompt it replaces

    def _fit_height(self) -> None:
        """Grow to the height the wrapped texts need at the dialog's width (adjustSize measures them unwrapped)."""
        layout = self.layout()
        if layout is None:
            return
        needed = layout.heightForWidth(self.width()) if layout.hasHeightForWidth() else layout.sizeHint().height()
        if needed > self.height():
            self.resize(self.width(), needed)

    def _on_error(self, exc):
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.hide()
        self.export_button.setEnabled(True)
        self.status.setText(f"<span style='color:{theme.colour('error')}'>{html.escape(window_text(exc))}</span>")
