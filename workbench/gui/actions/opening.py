"""Opening a checkpoint, its data and the demo: each read on a worker (the `load`, `data`, `inspect` and `demo`
job slots: a newer request drops an older one's result), then handed to the session model.

The reactions still written here (inspect again when a recurrent model's sequence length changes, read an image
folder again when the resize policy changes) are the model's to own; they are here, once, until core's commands
take them (see /work/briefs/window-needs.md, W4)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from .host import Host

CHECKPOINTS = "Checkpoints (*.pt *.pth *.ckpt *.bin *.safetensors *.pt2 *.ts);;All files (*)"


class Opening:
    """Open a checkpoint (with the Model tab's settings), read data, build the demo."""

    def __init__(self, host: Host):
        self.host = host
        self.opened = None  # called with the path of each checkpoint opened (the recent-files list)

    @property
    def model(self):
        return self.host.session.model

    def bind(self) -> None:
        """Listen to the session once the workspace exists (its reactions that are still the window's)."""
        session = self.host.session
        session.data_changed.connect(self._inspect_for_data)
        session.recipe_changed.connect(self._reread_images_on_resize)

    # ----- the checkpoint
    def open_checkpoint(self, path: str | None = None, trusted: bool = False) -> None:
        """Open a checkpoint on a worker with the Model tab's settings; without `path`, ask which file."""
        host = self.host
        if path is None:
            path, _ = QFileDialog.getOpenFileName(host.parent_widget(), "Open a regression checkpoint",
                                                  str(host.settings.value("paths/open", "")), CHECKPOINTS)
            if not path:
                return
        host.jobs.cancel("train")  # a run of the model being replaced must not land on the new one
        workspace = host.show_workspace(0)
        try:
            source, args, shape = workspace.model_panel.model_settings()
        except ValueError as exc:
            QMessageBox.warning(host.parent_widget(), "Model settings", f"{exc}")
            return
        self.model.update(model_source=source, model_args=args or {}, input_shape=tuple(shape or ()))
        host.statusBar().showMessage(f"Opening {path} …")
        self.model.set_activity(f"Opening {Path(path).name} …")
        host.settings.setValue("paths/open", str(Path(path).parent))
        host.jobs.start(_load_and_inspect, path, source, args, shape, trusted, self.model.recipe.mlp_activation,
                        slot="load", on_done=lambda result, p=path: self._on_loaded(p, result),
                        on_error=lambda exc, p=path: self._on_load_error(p, exc))

    def reload_model(self) -> None:
        """Open the current checkpoint again, so a changed model source or its arguments apply."""
        if self.model.loaded is not None:
            self.open_checkpoint(str(self.model.loaded.path))

    def _on_loaded(self, path: str, result) -> None:
        loaded, inspection = result
        self.model.set_activity("")
        self.model.set_model(loaded, inspection)
        if self.opened is not None:
            self.opened(path)
        self.host.statusBar().showMessage(f"Opened {path} ({loaded.format}).")
        if inspection is None and self.model.data is not None:
            self._inspect_for_data(self.model.data)

    def _on_load_error(self, path: str, exc: BaseException) -> None:
        self.model.set_activity("")
        self.host.ask_trust_or_show(exc, lambda: self.open_checkpoint(path, trusted=True))

    def _inspect_for_data(self, data) -> None:
        m = self.model
        if data is None or m.loaded is None:
            return
        from workbench.core.workflow.pipeline import step_features

        # A recurrent model's sequence length follows the data, so a new length is inspected again.
        if m.inspection is None or (step_features(m.loaded) and tuple(m.inspection.input_shape) != data.input_shape):
            from workbench.core.open.layer_tree import inspect_model

            self.host.jobs.start(inspect_model, m.loaded.model, data.input_shape, slot="inspect",
                                 on_done=m.set_inspection)

    # ----- the data
    def load_data(self, path: str) -> None:
        """Read the data on a worker. A table file is read once, with every column; choosing the label,
        features and missing-value policy afterwards re-uses it (see SessionModel.rebuild_table)."""
        if not path:
            return
        self.host.show_workspace()
        m = self.model
        if path != m.recipe.data.path:
            m.update(**{"data.path": path, "data.features": (), "data.classes": (), "data.sheet": ""})
        d = m.recipe.data
        self.host.statusBar().showMessage(f"Reading {path} …")
        from workbench.core.data.tables import is_table_path

        if is_table_path(path):
            self.host.jobs.start(_read_table, path, d.sheet, slot="data", on_done=self._on_raw_loaded,
                                 on_error=self._on_data_read_error)
            return
        from workbench.core.data.data import load_table

        shape = m.model_shape()
        self.host.jobs.start(load_table, d.path, d.label, d.features, shape if shape and len(shape) == 3 else None,
                             d.missing, d.sheet, None, d.resize, slot="data", on_done=self._on_table_loaded,
                             on_error=self._on_data_read_error)

    def _reread_images_on_resize(self, recipe) -> None:
        """Images are fitted to the model as they are read: another resize policy reads the folder again."""
        from workbench.core.data.images import ImageSamples

        table = self.model.table
        if table is not None and isinstance(table.X, ImageSamples) and table.X.resize != recipe.data.resize:
            self.load_data(recipe.data.path)

    def _on_raw_loaded(self, result) -> None:
        raw, columns = result
        m = self.model
        m.set_raw(None)
        label = columns.default_label(m.recipe.data.label)
        if label != m.recipe.data.label:
            m.update(**{"data.label": label})
        m.set_raw(raw, columns)
        from workbench.core.data.tables import describe_source

        self.host.statusBar().showMessage(f"Read {raw.source}: {describe_source(raw)}.")

    def _on_table_loaded(self, table) -> None:
        self.model.set_raw(None)
        self.model.set_table(table)
        self.host.statusBar().showMessage(f"Read {table.source}: {len(table.X)} samples.")

    def _on_data_read_error(self, exc: BaseException) -> None:
        self.model.events.data_error.emit(str(exc))
        self.host.show_error(exc)

    # ----- the demo
    def open_demo(self) -> None:
        """Build (or reuse) the diabetes demo on a worker, then open its model and data."""
        from workbench.core.workflow.demo import build_diabetes

        folder = Path(str(self.host.settings.value("paths/demo", str(Path.home() / "workbench-demo"))))
        self.host.statusBar().showMessage(f"Building the demo in {folder} (a few seconds)…")
        self.host.show_workspace(0)
        self.model.set_activity("Building the demo: training a small regression model on scikit-learn's diabetes "
                                f"data, in {folder} (a few seconds)…")
        self.host.jobs.start(build_diabetes, folder, slot="demo", on_done=self._on_demo_built,
                             on_error=self._on_demo_error)

    def _on_demo_error(self, exc: BaseException) -> None:
        self.model.set_activity("")
        self.host.show_error(exc)

    def _on_demo_built(self, result) -> None:
        ckpt, recipe = result
        self.model.set_recipe(recipe)
        self.host.show_workspace().model_panel.source.setText(recipe.model_source)
        self.open_checkpoint(str(ckpt))
        self.load_data(recipe.data.path)


def _read_table(path, sheet):
    """Worker job: read a table file and sort its columns."""
    from workbench.core.data.columns import summarize
    from workbench.core.data.tables import read_table

    raw = read_table(path, sheet)
    return raw, summarize(raw)


def _load_and_inspect(path, source, args, shape, trusted, mlp_activation="relu"):
    """Worker job: open the checkpoint and, when its input shape is known, inspect it."""
    from workbench.core.open.layer_tree import inspect_model
    from workbench.core.open.load import load_checkpoint

    loaded = load_checkpoint(path, source, args, trusted, mlp_activation)
    shape = shape or loaded.input_shape
    return loaded, (inspect_model(loaded.model, shape) if shape else None)
