"""File actions of the main window: export, HTML reports, sessions, recipes, the demo and recent files.

A mixin of `MainWindow` (it uses the window's session, settings, status bar and job runner), kept apart
so each file stays small.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtWidgets import QFileDialog, QMessageBox

from workbench.core.errors import WorkbenchError

MAX_RECENT = 10
# The window asks itself (and refuses the run's inputs) before replacing a file, so the file dialog does not.
NO_CONFIRM = QFileDialog.Option.DontConfirmOverwrite


if TYPE_CHECKING:  # type-checked as what it is mixed into
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMainWindow as _Window
    from PySide6.QtWidgets import QTabWidget

    from .compare_panel import ComparePanel
    from .session import Session
else:
    _Window = object


class FileActions(_Window):
    """The File menu's actions, mixed into MainWindow: export, reports, sessions, recipes, the demo."""

    if TYPE_CHECKING:  # what MainWindow provides
        session: Session
        settings: QSettings
        workspace: QTabWidget | None
        compare_panel: ComparePanel

        def show_error(self, exc: BaseException) -> None: ...
        def show_workspace(self, tab: int | None = None) -> QTabWidget: ...
        def load_data(self, path: str) -> None: ...

    def export(self):
        """Open the export dialog for the current run and remember the folder it wrote."""
        if self.session.run is None:
            return
        from .export_dialog import ExportDialog

        start = self.settings.value("paths/export", str(Path.home()))
        dialog = ExportDialog(self.session, self.run_job, self.evaluate_panel.plots(), start, self)
        dialog.exec()
        if dialog.result is not None:
            self.settings.setValue("paths/export", str(dialog.result.folder.parent))
            self.session.note_export(self.session.run, str(dialog.result.folder))
        return dialog

    def _inputs(self, runs=()) -> dict:
        """The files a save must never replace: the open checkpoint and every file opening it read (config.json,
        the model source and its siblings), the data, and the sources and data of the runs in a comparison."""
        from workbench.core.evaluate.compare import inputs_of_run
        from workbench.core.safety.output_paths import inputs

        recipe = self.session.recipe
        loaded = self.session.loaded
        protected = inputs(source=loaded.path if loaded is not None else None, data=recipe.data.path,
                           model_source=recipe.model_source, read=loaded.files if loaded is not None else ())
        for run in runs:
            protected = {**inputs_of_run((run.get("metrics") or {}).get("source"), run.get("recipe")), **protected}
        return protected

    def _may_write(self, path: str, runs=()) -> bool:
        """Refuse an input with a dialog; ask before replacing any other existing file."""
        from workbench.core.safety.output_paths import OutputExistsError, check_output_file

        try:
            check_output_file(path, self._inputs(runs), overwrite=False)
        except OutputExistsError:
            answer = QMessageBox.question(self, "Replace file?", f"{path} already exists. Replace it?",
                                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                          QMessageBox.StandardButton.No)
            return answer == QMessageBox.StandardButton.Yes
        except WorkbenchError as exc:
            self.show_error(exc)
            return False
        return True

    def save_report(self, path: str | None = None):
        """Write the HTML report of the current run, or of the ticked runs on the Compare tab."""
        from workbench.core.evaluate.report import comparison_report, run_report

        comparing = self.workspace is not None and self.workspace.currentWidget() is self.compare_panel
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Save HTML report",
                                                  "comparison.html" if comparing else "report.html", "HTML (*.html)",
                                                  options=NO_CONFIRM)
            if not path:
                return
        if not self._may_write(path, self.compare_panel.selected() if comparing else ()):
            return
        try:
            if comparing:
                comparison_report(self.compare_panel.selected(), path)
            elif self.session.run is not None:
                entry = self.session.entry_of(self.session.run)
                run_report(self.session.run, path, entry.name if entry else "")
        except WorkbenchError as exc:
            self.show_error(exc)
            return
        self.statusBar().showMessage(f"Saved the report to {path}; it opens in any browser.")

    def save_session(self, path: str | None = None):
        """Save every run of the session to a file; True when it was saved."""
        from workbench.core.workflow.session_files import save_session

        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Save session", "session.json", "Session (*.json)",
                                                  options=NO_CONFIRM)
            if not path:
                return False
        if not self._may_write(path):
            return False
        try:
            save_session(path, self.session.runs, self.session.recipe.to_dict())
        except WorkbenchError as exc:
            self.show_error(exc)
            return False
        self.session.mark_saved()
        self.statusBar().showMessage(f"Saved {len(self.session.runs)} runs to {path}.")
        return True

    def open_session(self, path: str | None = None, trusted: bool = False):
        """Read a session file's runs back for comparison (asking to trust one written elsewhere)."""
        from workbench.core.workflow.session_files import load_session

        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Open session", "", "Session (*.json)")
            if not path:
                return
        try:
            data = load_session(path, trusted)
        except WorkbenchError as exc:
            self._ask_trust_or_show(exc, lambda: self.open_session(path, trusted=True))
            return
        recipe = data["recipe"]
        self.show_workspace(5)
        if recipe is not None:
            self.session.set_recipe(recipe)
        self.session.set_runs(data["runs"])
        self.session.mark_saved()
        self.statusBar().showMessage(f"Opened {len(data['runs'])} runs from {path}.")

    def save_recipe(self):
        """Save the form's settings as a recipe file that the CLI and the window can reuse."""
        path, _ = QFileDialog.getSaveFileName(self, "Save recipe", self.settings.value("paths/recipe", "recipe.json"),
                                              "Recipe (*.json)", options=NO_CONFIRM)
        if path and self._may_write(path):
            try:
                self.session.recipe.save(path)
            except WorkbenchError as exc:
                self.show_error(exc)
                return
            self.settings.setValue("paths/recipe", path)
            self.statusBar().showMessage(f"Saved the recipe to {path}.")

    def _ask_trust_or_show(self, exc, retry) -> None:
        """A file that names code asks the trust prompt (and `retry`s once trusted); other problems are shown."""
        from workbench.core.errors import UntrustedFileError

        from .dialogs import ask_trust

        if not isinstance(exc, UntrustedFileError):
            self.show_error(exc)
        elif ask_trust(self, exc):
            retry()
        else:
            self.statusBar().showMessage(f"Not opened: {exc.path} was not trusted.")

    def open_recipe(self, path: str | None = None, trusted: bool = False):
        """Fill the form from a recipe file and read the data it names (a recipe naming code is trusted first)."""
        from workbench.core import recipe as rc

        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Open recipe", str(self.settings.value("paths/recipe", "")),
                                                  "Recipe (*.json *.toml)")
            if not path:
                return
        try:
            recipe = rc.load(path, trusted)
        except WorkbenchError as exc:
            self._ask_trust_or_show(exc, lambda: self.open_recipe(path, trusted=True))
            return
        self.show_workspace()
        self.session.set_recipe(recipe)
        if recipe.data.path:
            self.load_data(recipe.data.path)
        self.statusBar().showMessage(f"Opened the recipe {path}.")

    def open_demo(self):
        """Build (or reuse) the diabetes demo on a worker, then open its model and data."""
        from workbench.core.workflow.demo import build_diabetes

        folder = Path(self.settings.value("paths/demo", str(Path.home() / "workbench-demo")))
        self.statusBar().showMessage(f"Building the demo in {folder} (a few seconds)…")
        self.show_workspace(0)
        self.session.set_activity("Building the demo: training a small regression model on scikit-learn's diabetes "
                                  f"data, in {folder} (a few seconds)…")
        self.run_job(build_diabetes, folder, slot="demo", on_done=self._on_demo_built,
                     on_error=lambda exc: (self.session.set_activity(""), self.show_error(exc)))

    def _on_demo_built(self, result):
        ckpt, recipe = result
        self.session.set_recipe(recipe)
        self.model_panel.source.setText(recipe.model_source)
        self.open_checkpoint(str(ckpt))
        self.load_data(recipe.data.path)

    def _remember(self, path: str):
        recent = [p for p in cast("list[str]", self.settings.value("recent", [], list) or []) if p != path]
        self.settings.setValue("recent", [path, *recent][:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self):
        recent = [p for p in (self.settings.value("recent", [], list) or []) if p]
        self.recent_menu.clear()
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_checkpoint(p))
        self.recent_menu.setEnabled(bool(recent))
        self.welcome.set_recent(recent)
