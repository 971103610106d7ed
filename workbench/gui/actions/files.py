"""What the File menu writes and reads: the export, HTML reports, sessions, recipes, and the drill-down's sample
list. Every save refuses the session's inputs (the checkpoint, the data, the model source) and asks before
replacing any other file; a file that names code asks the trust prompt first."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from workbench.core.errors import WorkbenchError

from .host import Host

# The window asks itself (and refuses the run's inputs) before replacing a file, so the file dialog does not.
NO_CONFIRM = QFileDialog.Option.DontConfirmOverwrite


class Files:
    """The File menu's reads and writes (composed by the window)."""

    def __init__(self, host: Host, opening):
        self.host = host
        self.opening = opening  # reads the data a recipe names; opens models with the source it names
        self.session_path: str | None = None  # the session file saved or opened last: Save session writes it

    @property
    def model(self):
        return self.host.session.model

    def export(self):
        """Open the export dialog for the current run and remember the folder it wrote."""
        m, host = self.model, self.host
        if m.run is None:
            return None
        from ..dialogs.export import ExportDialog

        start = str(host.settings.value("paths/export", str(Path.home())))
        dialog = ExportDialog(m, m.current, host.jobs.run_command, host.show_workspace().evaluate_panel.plots(),
                              start, host.parent_widget())
        dialog.exec()
        if dialog.result is not None:
            host.settings.setValue("paths/export", str(dialog.result.folder.parent))
            self.track(dialog.result.folder)
        return dialog

    def set_tracking(self, on: bool) -> None:
        """File ▸ Log exports to MLflow: kept in the settings; refused (and unticked) when MLflow is missing."""
        from workbench.core.workflow.tracking import require_mlflow

        if on:
            try:
                require_mlflow()
            except WorkbenchError as exc:
                self.host.mlflow_action.setChecked(False)
                self.host.show_error(exc)
                return
        self.host.settings.setValue("tracking/mlflow", bool(on))

    def track(self, folder) -> None:
        """Log an export to MLflow's default store (in the data folder) on a worker, when the user asked for it."""
        if not self.host.settings.value("tracking/mlflow", False, type=bool):
            return
        from workbench.core.workflow.tracking import log_export

        self.host.statusBar().showMessage(f"Logging {folder.name} to MLflow…")
        self.host.jobs.start(log_export, folder, on_done=lambda logged: self.host.statusBar().showMessage(
            f"Logged {folder.name} to MLflow: run {logged['run_id']} in {logged['uri']}."))

    def _inputs(self, runs=()) -> dict:
        """The files a save must never replace (core's answer: `workflow.protected.session_inputs`)."""
        from workbench.core.workflow.protected import session_inputs

        return session_inputs(self.model, runs)

    def _may_write(self, path: str, runs=()) -> bool:
        """Refuse an input with a dialog; ask before replacing any other existing file."""
        from workbench.core.safety.output_paths import OutputExistsError, check_output_file

        try:
            check_output_file(path, self._inputs(runs), overwrite=False)
        except OutputExistsError:
            return _replace(self.host.parent_widget(), path)
        except WorkbenchError as exc:
            self.host.show_error(exc)
            return False
        return True

    def _folder(self, kind: str) -> str:
        """The folder a file of `kind` ("session", "report", "recipe", "samples") was last saved in or opened
        from (window state, kept per kind), else the home folder."""
        return str(self.host.settings.value(f"paths/{kind}-folder", str(Path.home())))

    def _remember(self, kind: str, path: str) -> None:
        self.host.settings.setValue(f"paths/{kind}-folder", str(Path(path).parent))

    def _save_name(self, title: str, name: str, kind: str, filters: str) -> str:
        """Ask where to save a file of `kind`, starting in the folder last used for that kind."""
        path, _ = QFileDialog.getSaveFileName(self.host.parent_widget(), title, str(Path(self._folder(kind)) / name),
                                              filters, options=NO_CONFIRM)
        if path:
            self._remember(kind, path)
        return path

    def _open_name(self, title: str, kind: str, filters: str) -> str:
        path, _ = QFileDialog.getOpenFileName(self.host.parent_widget(), title, self._folder(kind), filters)
        if path:
            self._remember(kind, path)
        return path

    def save_report(self, path: str | None = None):
        """Write the HTML report of the current run, or of the ticked runs on the Compare tab."""
        from workbench.core.evaluate.report import comparison_report, run_report

        workspace = self.host.show_workspace()
        compare = workspace.compare_panel
        comparing = workspace.tabs.currentWidget() is compare
        path = path or self._save_name("Save HTML report", "comparison.html" if comparing else "report.html",
                                       "report", "HTML (*.html)")
        if not path or not self._may_write(path, compare.selected() if comparing else ()):
            return
        m = self.model
        try:
            if comparing:
                comparison_report(compare.selected(), path)
            elif m.run is not None:
                entry = m.entry_of(m.run)
                run_report(m.run, path, entry.name if entry else "")
        except WorkbenchError as exc:
            self.host.show_error(exc)
            return
        self.host.statusBar().showMessage(f"Saved the report to {path}; it opens in any browser.")

    def save_samples(self, path: str | None = None) -> str | None:
        """Save the drill-down's listed samples (the clicked confusion-matrix cell) as CSV; the path written."""
        from workbench.core.evaluate.errors_list import save_csv

        listed = self.host.show_workspace().evaluate_panel.errors
        if listed.run is None:
            return None
        path = path or self._save_name("Save the listed samples as CSV", "samples.csv", "samples", "CSV (*.csv)")
        if not path or not self._may_write(path):
            return None
        try:
            save_csv(path, listed.records, listed.id_name, self._inputs(), overwrite=True)
        except WorkbenchError as exc:
            self.host.show_error(exc)
            return None
        self.host.statusBar().showMessage(f"Saved {len(listed.records)} samples to {path}.")
        return path

    def save_session(self, path: str | None = None, then=None, save_as: bool = False) -> bool:
        """Save the session (its recipe, inputs by path and hash, every run with its weights beside the file) on a
        worker; `then()` runs once it is written. Without `path`, a session saved or opened before is saved to its
        own file again (unless `save_as`); else the user is asked where. True when the save was started."""
        from workbench.core.workflow.session_commands import SaveSession

        if not path and not save_as and self.session_path is not None:
            path = self.session_path  # its own file: no question, no "Replace?"
        else:
            path = path or self._save_name("Save session as", Path(self.session_path or "session.json").name,
                                           "session", "Session (*.json)")
            if path and not Path(path).suffix:  # Open session lists *.json: "mysession" would not be found there
                path = f"{path}.json"
            if not path or not self._may_write(path):
                return False
        m, target = self.model, str(path)
        done = then or (lambda: None)

        def saved(written) -> None:
            self.session_path = str(written)
            self.host.statusBar().showMessage(f"Saved {_runs(len(m.runs))} to {written}.")
            done()

        started = self.host.command(lambda: SaveSession(m, target), on_done=saved) is not None
        if started:
            self.host.statusBar().showMessage(f"Saving the session to {path} …")
        return started

    def open_session(self, path: str | None = None, trusted: bool = False) -> None:
        """Open a saved session on a worker: its model, data and runs, live again (a file naming code asks the
        trust prompt; a moved or changed input asks where it is now)."""
        from workbench.core.workflow.session_commands import OpenSession

        if not path:
            path = self._open_name("Open session", "session", "Session (*.json)")
            if not path:
                return
        self.host.show_workspace(4)

        def opened(result) -> None:
            m = self.model
            self.session_path = str(path)  # Save session (Ctrl+S) writes back to it
            self.host.statusBar().showMessage(f"Opened {_runs(len(m.runs))} from {path}.")
            if result is not None and result.reset:  # a field saved while it was being edited: said, not lost
                from workbench.core.errors import for_window

                QMessageBox.information(self.host.parent_widget(), "Session opened with a field reset",
                                        "These settings of the next run were not valid in the file and are back to "
                                        "their defaults (every saved run is as it was):\n\n"
                                        + "\n".join(for_window(r) for r in result.reset))

        self.host.command(lambda: OpenSession(self.model, path, trusted), on_done=opened)

    def save_recipe(self) -> None:
        """Save the form's settings as a recipe file that the CLI and the window can reuse."""
        host = self.host
        path = self._save_name("Save recipe", "recipe.json", "recipe", "Recipe (*.json)")
        if path and self._may_write(path):
            try:
                self.model.recipe.save(path)
            except WorkbenchError as exc:
                host.show_error(exc)
                return
            host.statusBar().showMessage(f"Saved the recipe to {path}.")

    def open_recipe(self, path: str | None = None, trusted: bool = False) -> None:
        """Fill the form from a recipe file and read the data it names (a recipe naming code is trusted first)."""
        from workbench.core import recipe as rc

        host = self.host
        if not path:
            path = self._open_name("Open recipe", "recipe", "Recipe (*.json *.toml)")
            if not path:
                return
        try:
            recipe = rc.load(path, trusted)
        except WorkbenchError as exc:
            host.ask_trust_or_show(exc, lambda: self.open_recipe(path, trusted=True))
            return
        host.show_workspace()
        self.opening.named_by = (recipe.model_source, path) if recipe.model_source else None
        self.opening.recipe_pending = bool(recipe.model_source)
        self.model.set_recipe(recipe)
        if recipe.data.path:
            self.opening.load_data(recipe.data.path)
        host.statusBar().showMessage(f"Opened the recipe {path}.")


def _replace(parent, path: str) -> bool:
    """Ask before replacing an existing file that is not one of the inputs."""
    answer = QMessageBox.question(parent, "Replace file?", f"{path} already exists. Replace it?",
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"
