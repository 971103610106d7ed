"""Opening a checkpoint, its data and the demo: each is core's command (`OpenModel`, `ReadData`, `OpenDemo`), run
by the window on a worker; the session model reacts to what they commit (a new model clears what belonged to the
old one, a new file resets the choices that named its columns, images are read again at the model's size)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from workbench.core import folders
from workbench.core.open.formats import CHECKPOINT_SUFFIXES

from .host import Host

CHECKPOINTS = f"Checkpoints ({' '.join('*' + s for s in CHECKPOINT_SUFFIXES)});;All files (*)"


class Opening:
    """Open a checkpoint (with what the Model tab says for it), read data or another sheet, build the demo."""

    def __init__(self, host: Host):
        self.host = host
        # (model source, recipe file) of the last recipe opened: that source runs only under the trust asked for
        # the recipe naming it (OpenModel's source_named_by), not as if the user had typed it
        self.named_by: tuple[str, str] | None = None
        self.recipe_pending = False  # a recipe was opened and no checkpoint since: its source goes with the next

    def _named_by(self, typed: dict) -> str | None:
        source = typed.get("model_source")
        return self.named_by[1] if self.named_by and source and source == self.named_by[0] else None

    @property
    def model(self):
        return self.host.session.model

    def open_checkpoint(self, path: str | None = None, trusted: bool = False) -> None:
        """Open a checkpoint on a worker; without `path`, ask which file. Only what the user typed in the Model tab
        since the last model opened goes with it: nothing of the previous model's settings reaches this one."""
        from workbench.core.workflow.commands import OpenModel

        host = self.host
        if path is None:
            path, _ = QFileDialog.getOpenFileName(host.parent_widget(), "Open a regression checkpoint",
                                                  str(host.settings.value("paths/open", "")), CHECKPOINTS)
            if not path:
                return
        same = self.model.loaded is not None and Path(path) == Path(self.model.loaded.path)
        typed = self._typed(changed_only=not same)  # the same file again: a reload with the fields as they are
        if typed is None:
            return
        if not same:
            host.show_workspace(0).model_panel.new_file()
        host.settings.setValue("paths/open", str(Path(path).parent))
        if self.recipe_pending and self.named_by and "model_source" not in typed:
            typed = {**typed, "model_source": self.named_by[0]}  # the recipe just opened names this model's source
        self.recipe_pending = False
        named_by = self._named_by(typed)
        host.command(lambda: OpenModel(self.model, path, trusted=trusted, source_named_by=named_by, **typed))

    def reload_model(self) -> None:
        """Open the current checkpoint again with the Model tab's source, arguments and input shape as they are."""
        from workbench.core.workflow.commands import OpenModel

        m = self.model
        typed = self._typed(changed_only=False)
        if m.refused_model is not None and typed is not None:  # the file the last Open could not open (core's)
            path = m.refused_model
            self.host.command(lambda: OpenModel(m, path, source_named_by=self._named_by(typed), **typed))
            return
        if m.loaded is None and typed is not None:
            self.host.statusBar().showMessage("No model is open to reload: open a checkpoint with File ▸ Open.")
        if m.loaded is not None and typed is not None:
            path, given = m.loaded.path, {**m.model_settings(), **typed}
            self.host.command(lambda: OpenModel(m, path, source_named_by=self._named_by(given), **given))

    def _typed(self, changed_only: bool) -> dict | None:
        """The Model tab's settings (None, after saying why, when one cannot be read)."""
        panel = self.host.show_workspace(0).model_panel
        try:
            return panel.settings(changed_only)
        except ValueError as exc:
            QMessageBox.warning(self.host.parent_widget(), "Model settings", f"{exc}")
            return None

    def load_data(self, path: str) -> None:
        """Read labelled data on a worker: a table file once, with every column (the label and features are chosen
        afterwards from what was read), an .npz, an image folder or a bundled set."""
        from workbench.core.workflow.commands import ReadData

        if path:
            self.host.show_workspace()
            self.host.statusBar().showMessage(f"Reading {path} …")
            self.host.command(lambda: ReadData(self.model, path), on_done=self._on_read)

    def read_sheet(self, sheet: str) -> None:
        """Read another sheet of the open workbook."""
        from workbench.core.workflow.commands import ReadData

        self.host.command(lambda: ReadData(self.model, self.model.recipe.data.path, sheet), on_done=self._on_read)

    def _on_read(self, table) -> None:
        m = self.model
        if m.raw is not None:
            from workbench.core.data.tables import describe_source

            self.host.statusBar().showMessage(f"Read {m.raw.source}: {describe_source(m.raw)}.")
        elif table is not None:
            self.host.statusBar().showMessage(f"Read {table.source}: {len(table.X)} samples.")

    def open_demo(self) -> None:
        """Build (or reuse) the diabetes demo on a worker, then open its model and data."""
        from workbench.core.workflow.commands import OpenDemo

        folder = Path(str(self.host.settings.value("paths/demo", str(folders.demo_dir()))))
        self.host.statusBar().showMessage(f"Building the demo in {folder} (a few seconds)…")
        self.host.show_workspace(0)
        self.host.command(lambda: OpenDemo(self.model, folder))
