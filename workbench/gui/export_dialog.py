"""Export dialog: choose a new folder, run the export on the worker, report where the files are."""

from __future__ import annotations

from pathlib import Path

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


class ExportDialog(QDialog):
    """Export the current run: choose a folder and options, then write the program, weights and plots."""

    def __init__(self, session, run_job, plots, start_folder: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export the converted model")
        self.setObjectName("exportDialog")
        self.session, self.run_job, self.plots = session, run_job, plots
        self.result = None  # type: ignore[assignment,method-assign]  # shadows QDialog.result(): the export's result
        from workbench.core.safety.folder_swap import recover

        recover(Path(start_folder).expanduser())  # put back or clean up what a killed export left there
        self.folder = QLineEdit(str(Path(start_folder) / f"{session.loaded.path.stem}-classifier"))
        self.folder.setObjectName("exportFolder")
        browse = QPushButton("Browse…")
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
            self.with_onnx.setToolTip("Needs the onnx packages: pip install -e '.[onnx]'")
        contents = QLabel("The folder will hold <b>model.pt2</b> (a torch.export program from inputs to calibrated "
                          "probabilities; TorchScript if the model cannot be exported that way), "
                          "<b>weights.safetensors</b>, <b>metadata.json</b> (classes, recipe, calibration, metrics, "
                          "source hash), <b>metrics.json</b> and <b>recipe.json</b>. It loads with PyTorch alone.")
        contents.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.status = QLabel("Choose a new or empty folder.")
        self.status.setObjectName("exportStatus")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self.reject)
        entry = session.entry_of(session.run)
        self.run_label = QLabel(f"Run: <b>{entry.name if entry else 'the current run'}</b> (pick another in the "
                                "Run list above the tabs)")
        self.run_label.setObjectName("exportRun")
        layout = QVBoxLayout(self)
        layout.addWidget(self.run_label)
        layout.addWidget(QLabel("Folder:"))
        layout.addLayout(row)
        layout.addWidget(self.with_plots)
        layout.addWidget(self.with_onnx)
        layout.addWidget(contents)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(680, 360)
        self.setMinimumWidth(640)

    def _browse(self):
        folder = QFileDialog.getExistingDirectory(self, "Parent folder for the export", self.folder.text())
        if folder:
            self.folder.setText(str(Path(folder) / Path(self.folder.text()).name))

    def start(self, overwrite: bool = False):
        """Check the folder and run the export on a worker; asks before replacing an earlier export."""
        from workbench.core.errors import ExportError
        from workbench.core.export.export import check_target
        from workbench.core.safety.output_paths import OutputExistsError, inputs
        from workbench.core.workflow.pipeline import export_run

        folder = Path(self.folder.text()).expanduser()
        recipe = self.session.run.recipe
        protected = inputs(source=self.session.loaded.path, data=recipe.data.path, model_source=recipe.model_source,
                           read=self.session.loaded.files)
        try:
            check_target(folder, self.session.loaded.path, overwrite, protected)
        except ExportError as exc:
            if isinstance(exc, OutputExistsError) and not overwrite:
                answer = QMessageBox.question(self, "Replace export?", f"{folder} already holds an export. "
                                              "Replace it with this one?")
                if answer == QMessageBox.StandardButton.Yes:
                    self.start(overwrite=True)
                return
            self.status.setText(f"<span style='color:#b00020'>{exc}</span>")
            return
        self.export_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.status.setText("Exporting and checking the round trip…")
        self.run_job(export_run, self.session.run, folder, overwrite, self.with_onnx.isChecked(),
                     on_done=self._on_done, on_error=self._on_error)

    def _on_done(self, result):
        self.result = result
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        extra = ""
        if self.with_plots.isChecked() and self.plots:
            from workbench.core.safety.folder_swap import record_files

            from .plot_export import save_plots

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
        self.adjustSize()  # the result is longer than the prompt it replaces

    def _on_error(self, exc):
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.export_button.setEnabled(True)
        self.status.setText(f"<span style='color:#b00020'>{exc}</span>")
