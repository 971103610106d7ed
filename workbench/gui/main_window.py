"""The main window: the welcome view, then the workspace (the run picker and six tabs), the menus, and the small
objects it composes to do what the menus and panels ask (`actions/`: opening, training, files, recent files).

Only Qt is imported at module level so the window paints at once; torch, pyqtgraph and the panels are
imported when the workspace is first built (right after the first paint).
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QMainWindow, QStackedWidget, QWidget

from .actions.files import Files
from .actions.opening import Opening
from .actions.recent import RecentFiles
from .actions.training import Training
from .dialogs.about import AboutDialog
from .jobs import JobRunner
from .panels.welcome import WelcomeView
from .session import Session
from .shortcuts import MenuShortcutsFirst
from .worker import collect_garbage_on_gui_thread


class MainWindow(QMainWindow):
    """The application window: the welcome view, then the Model, Data, Train, Evaluate and Compare tabs."""

    def __init__(self):
        super().__init__()
        collect_garbage_on_gui_thread()
        self.setWindowTitle("Conversion Workbench")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings = QSettings()
        self.session = Session(parent=self)
        self.jobs = JobRunner(self.show_error, self)
        self.session.model.start = self.run_command  # the model's own reactions (re-read, inspect) run here too
        # The window's defaults: the proposed loss weights follow the data, a class column's count sets the task
        # until the user chooses one, and a continuous label column is cut at its median until the user chooses
        # how labels are made (the command line only proposes)
        self.session.model.auto_balance = self.session.model.auto_task = self.session.model.auto_labels = True
        self.workspace = None  # the Workspace, built on first use
        self.ask_before_closing = True  # scripts that drive the window (benchmarks, screenshots) turn it off
        self.opening = Opening(self)
        self.training = Training(self)
        self.files = Files(self, self.opening)
        self.welcome = WelcomeView()
        self.welcome.open_requested.connect(lambda: self.open_checkpoint())
        self.welcome.demo_requested.connect(self.open_demo)
        self.welcome.recent_requested.connect(self.open_checkpoint)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.setCentralWidget(self.stack)
        self._build_menus()
        from .accessibility import name_widgets

        name_widgets(self.welcome)
        self.recent = RecentFiles(self.settings, self.recent_menu, self.welcome, self.open_checkpoint)
        self.session.model_changed.connect(self._on_model_changed)
        self._shortcuts_beat_fields = MenuShortcutsFirst(self)
        QApplication.instance().installEventFilter(self._shortcuts_beat_fields)
        from .tooltips import WrapToolTips

        self._wrap_tips = WrapToolTips(self)
        QApplication.instance().installEventFilter(self._wrap_tips)
        if not self.restoreGeometry(self.settings.value("window/geometry", b"")):
            self._fit_to_screen(1280, 800)
        self.statusBar().showMessage("Open a regression checkpoint to begin.")

    # ----- construction
    def _fit_to_screen(self, width: int, height: int) -> None:
        """The preferred size, shrunk to the screen's free area on small screens (a 1024 x 700 laptop)."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is not None:
            free = screen.availableGeometry()
            width, height = min(width, free.width()), min(height, free.height())
        self.resize(width, height)

    def _action(self, menu, text, slot, shortcut=None, name=None) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        action.setObjectName(name or text)
        menu.addAction(action)
        return action

    def _build_menus(self):
        file = self.menuBar().addMenu("&File")
        self._action(file, "&Open checkpoint…", lambda: self.open_checkpoint(), QKeySequence.Open, "openAction")
        self.recent_menu = file.addMenu("Open &recent")
        self._action(file, "Open &demo", self.open_demo, name="demoAction")
        file.addSeparator()
        self._action(file, "Open sess&ion…", lambda: self.open_session(), "Ctrl+Shift+O", "openSessionAction")
        self._action(file, "&Save session", lambda: self.save_session(), QKeySequence.Save, "saveSessionAction")
        self._action(file, "Save session &as…", lambda: self.save_session(save_as=True), QKeySequence.SaveAs,
                     "saveSessionAsAction")
        file.addSeparator()
        self._action(file, "Open re&cipe…", lambda: self.open_recipe(), name="openRecipeAction")
        self._action(file, "Save reci&pe…", self.save_recipe, name="saveRecipeAction")
        file.addSeparator()
        self.export_action = self._action(file, "&Export…", self.export, "Ctrl+E", "exportAction")
        self.export_action.setEnabled(False)
        self.report_action = self._action(file, "Save HTML repor&t…", lambda: self.save_report(), name="reportAction")
        self.report_action.setEnabled(False)
        self.mlflow_action = self._action(file, "Log exports to &MLflow", self.files.set_tracking,
                                          name="mlflowAction")
        self.mlflow_action.setCheckable(True)
        self.mlflow_action.setChecked(self.settings.value("tracking/mlflow", False, type=bool))
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.Quit, "quitAction")
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&About Conversion Workbench", lambda: AboutDialog(self).exec(), name="aboutAction")

    def ensure_workspace(self):
        """Build the tabs on first use (they import pyqtgraph and torch), and return the Workspace."""
        if self.workspace is not None:
            return self.workspace
        from .workspace import Workspace

        ws = self.workspace = Workspace(self.session)
        self.model_panel, self.data_panel, self.form = ws.model_panel, ws.data_panel, ws.form
        self.train_panel, self.evaluate_panel, self.compare_panel = ws.train_panel, ws.evaluate_panel, ws.compare_panel
        self.runs_bar = ws.runs_bar
        self._bind(ws)
        self.stack.addWidget(ws)
        self.welcome.show_progress("")
        from .accessibility import name_widgets

        name_widgets(self)  # accessible names and descriptions from the labels beside each control
        ws.tabs.currentChanged.connect(lambda _i: name_widgets(ws.tabs.currentWidget()))  # widgets made later
        for index in range(ws.tabs.count()):  # Ctrl+1..6, also while a text field has focus
            shortcut = QShortcut(QKeySequence(f"Ctrl+{index + 1}"), self)
            shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
            shortcut.activated.connect(lambda i=index: self.show_workspace(i))
        return ws

    def _bind(self, ws) -> None:
        """Each panel's requests to the action that does it; the menus and the status bar to the session."""
        ws.model_panel.reload_requested.connect(self.opening.reload_model)
        ws.data_panel.load_requested.connect(self.opening.load_data)
        ws.data_panel.sheet_requested.connect(self.opening.read_sheet)
        ws.form.train_requested.connect(self.training.start_training)
        ws.form.baseline_requested.connect(self.training.start_baseline)
        ws.train_panel.train_requested.connect(self.training.start_training)
        ws.train_panel.pause_requested.connect(self.training.pause)
        ws.train_panel.stop_requested.connect(self.training.stop)
        ws.evaluate_panel.calibrate_requested.connect(self.training.calibrate)
        ws.evaluate_panel.threshold_chosen.connect(self.training.set_threshold)
        ws.evaluate_panel.binning_chosen.connect(self.training.rebin)
        ws.evaluate_panel.errors.save_requested.connect(self.files.save_samples)
        self.jobs.command_started.connect(self.training.wire_progress)
        self.jobs.command_started.connect(self._show_step_progress)
        s = self.session
        s.run_changed.connect(self._on_run_or_busy)
        s.busy_changed.connect(self._on_run_or_busy)
        s.run_changed.connect(self._show_run_status)

    def show_workspace(self, tab: int | None = None):
        """Switch from the welcome view to the tabs, optionally to tab number `tab`; returns the Workspace."""
        ws = self.ensure_workspace()
        self.stack.setCurrentWidget(ws)
        if tab is not None:
            ws.tabs.setCurrentIndex(tab)
        return ws

    def parent_widget(self) -> QWidget:
        """The parent of the dialogs the actions open."""
        return self

    # ----- core commands
    def command(self, make, on_done=None):
        """Build a core command with `make()` (it checks the session's state now: a problem is shown and nothing
        runs) and run it on a worker; `on_done` gets what its commit returned. The command, or None."""
        from workbench.core.errors import WorkbenchError
        from workbench.core.workflow.jobs import JobError

        try:
            job = make()
        except JobError as exc:  # what the session's state does not allow now: said where the user looks
            from .session import window_text

            self.statusBar().showMessage(window_text(exc))
            return None
        except WorkbenchError as exc:
            self.show_error(exc)
            return None
        self.run_command(job, on_done)
        return job

    def run_command(self, job, on_done=None):
        """Run a core command that is already made (the session's own reactions come here, see model.start)."""
        return self.jobs.run_command(job, on_done, self._on_command_error)

    def _on_command_error(self, job, exc) -> None:
        """A file that names code asks the trust prompt, then the same command runs again trusted; a session's input
        that moved or changed asks where it is now, then the session opens again with it located."""
        from workbench.core.workflow.session_store import SessionInputError

        if isinstance(exc, SessionInputError) and hasattr(job, "located"):
            from .dialogs import messages

            found = messages.ask_locate(self, exc)
            if found:
                self.run_command(job.located(exc.original, found))
            else:
                why = "has changed since the session was saved" if exc.reason == "changed" else "was not located"
                self.statusBar().showMessage(f"Not opened: {exc.original} {why}.")
            return

        def again() -> None:
            retry = job.retry_trusted()
            if retry is not None:
                self.run_command(retry)

        self.ask_trust_or_show(exc, again)

    # ----- what the menus, the panels and scripts call; each is done by one of the composed actions
    def open_checkpoint(self, path: str | None = None, trusted: bool = False) -> None:
        """Open a checkpoint with the Model tab's settings (asks which file without `path`)."""
        self.opening.open_checkpoint(path, trusted)

    def load_data(self, path: str) -> None:
        """Read labelled data (a table, an .npz, an image folder or a bundled set) on a worker."""
        self.opening.load_data(path)

    def open_demo(self) -> None:
        """Build (or reuse) the diabetes demo, then open its model and data. Before the tabs exist (they import
        torch and pyqtgraph, seconds on a cold start) the welcome view says so first, painted before the wait."""
        if self.workspace is None:
            from .panels.welcome import STARTING_DEMO

            self.welcome.show_progress(STARTING_DEMO)
            QTimer.singleShot(50, self.opening.open_demo)
            return
        self.opening.open_demo()

    def start_training(self) -> None:
        """Train a new head with the form's recipe."""
        self.training.start_training()

    def start_baseline(self) -> None:
        """Fit the no-training baseline as a run."""
        self.training.start_baseline()

    def stop_training(self, wait: bool = False) -> None:
        """Stop the training after its current batch, keeping its best epoch."""
        self.training.stop(wait)

    def export(self):
        """The export dialog for the picked run."""
        return self.files.export()

    def save_report(self, path: str | None = None) -> None:
        """The HTML report of the picked run, or of the ticked runs on the Compare tab."""
        self.files.save_report(path)

    def save_session(self, path: str | None = None, then=None, save_as: bool = False) -> bool:
        """Save the session (model, data and runs) on a worker, to its own file when it has one (unless `save_as`);
        `then()` once written. True when started."""
        return self.files.save_session(path, then, save_as)

    def open_session(self, path: str | None = None, trusted: bool = False) -> None:
        """Open a saved session: its model, data and live runs."""
        self.files.open_session(path, trusted)

    def save_recipe(self) -> None:
        """Save the form's settings as a recipe file."""
        self.files.save_recipe()

    def open_recipe(self, path: str | None = None, trusted: bool = False) -> None:
        """Fill the form from a recipe file and read the data it names."""
        self.files.open_recipe(path, trusted)

    # ----- messages
    def show_error(self, exc):
        """Report an error in the status bar and in a dialog that names the window's controls."""
        from .dialogs import messages
        from .session import window_text

        self.statusBar().showMessage(window_text(exc)[:200])
        messages.show_error(self, exc)

    def ask_trust_or_show(self, exc, retry) -> None:
        """A file that names code asks the trust prompt (and `retry`s once trusted); other problems are shown."""
        from workbench.core.errors import UntrustedFileError

        from .dialogs import messages

        if not isinstance(exc, UntrustedFileError):
            self.show_error(exc)
        elif messages.ask_trust(self, exc):
            retry()
        else:
            self.statusBar().showMessage(f"Not opened: {exc.path} was not trusted.")

    def wait_for_jobs(self, timeout_ms: int = 30000):
        """Block until the background jobs have finished (quitting never leaves one running)."""
        self.jobs.wait(timeout_ms)

    def _on_model_changed(self, loaded) -> None:
        if loaded is None:
            self.setWindowTitle("Conversion Workbench")
            return
        self.setWindowTitle(f"Conversion Workbench — {loaded.path.name}")
        self.recent.remember(str(loaded.path))
        self.statusBar().showMessage(f"Opened {loaded.path} ({loaded.format}).")

    def _on_run_or_busy(self, *_):
        m = self.session.model
        run = m.run
        job = m.job_on(m.current)
        self.export_action.setEnabled(run is not None and (job is None or not job.locks))
        self.report_action.setEnabled(run is not None)

    def _show_step_progress(self, _job, worker):
        """A slow step of the command (feature cache, image decoding, range test, export) in the status line."""
        from workbench.core.progress import describe

        from .worker import Relay

        relay = Relay(lambda info: self.statusBar().showMessage(describe(info), 0 if not info["finished"] else 5000),
                      self)
        worker.progress.connect(relay.call)
        worker.done.connect(relay.deleteLater)

    def _show_run_status(self, run):
        """The status bar names the run Evaluate shows and its current test accuracy (picking another run,
        recalibrating or moving the threshold rewrites it), so it never shows another run's number."""
        if run is None:
            self.statusBar().clearMessage()
            return
        entry = self.session.model.entry_of(run)
        test = run.metrics["test"]
        what = "no-training baseline" if run.kind == "baseline" else "trained head"
        self.statusBar().showMessage(f"Run {entry.name if entry else ''} ({what}): test accuracy "
                                     f"{test['accuracy']:.3f}, calibration {run.recipe.calibration}.")

    # ----- Qt events
    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        """Files dropped on the window are opened by what they hold (core's `dropped.kind_of`): a checkpoint as
        the model, a table or image folder as the data, a session or a recipe as such."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.open_dropped(paths))

    def open_dropped(self, paths) -> None:
        """Open each path by its content; a model before data, so the data is read for the model dropped with it."""
        from workbench.core.errors import WorkbenchError
        from workbench.core.workflow import dropped

        kinds = []
        for path in paths:
            try:
                kinds.append((dropped.kind_of(path), path))
            except WorkbenchError as exc:
                self.show_error(exc)
        order = (dropped.SESSION, dropped.RECIPE, dropped.MODEL, dropped.DATA)
        for kind, path in sorted(kinds, key=lambda k: order.index(k[0])):
            if kind == dropped.MODEL:
                self.open_checkpoint(path)
            elif kind == dropped.DATA:
                self.show_workspace(1)
                self.load_data(path)
            elif kind == dropped.SESSION:
                self.open_session(path)
            else:
                self.open_recipe(path)

    def closeEvent(self, event):
        """Offer to save unsaved runs, stop training and wait for jobs before the window closes."""
        if not self._may_close():
            event.ignore()
            return
        self.training.stop()
        self.wait_for_jobs()
        self.settings.setValue("window/geometry", self.saveGeometry())
        super().closeEvent(event)

    def _may_close(self) -> bool:
        """Ask before losing work: a run in training, or runs not saved in a session file."""
        m = self.session.model
        busy = m.busy
        if not self.ask_before_closing or not (busy or m.unsaved_runs()):
            return True
        from .dialogs import messages

        what = "Training is running" if busy else f"{len(m.unsaved_runs())} run(s) of this session are not saved"
        answer = messages.ask_close(self, what)
        if answer == "discard":
            return True
        if answer != "save":
            return False
        if busy:  # stop; the stopped run (best epoch so far) lands, is saved, then the window closes
            self._when_idle(self._save_and_close)
            self.training.stop()
            return False
        self._save_then_close()
        return False

    def _when_idle(self, callback) -> None:
        """Call `callback` once no job locks the session, after the result of the one that ended has landed."""
        def on_busy(busy: bool) -> None:
            if not busy:
                self.session.busy_changed.disconnect(on_busy)
                QTimer.singleShot(0, callback)

        self.session.busy_changed.connect(on_busy)

    def _save_and_close(self):
        self._save_then_close()

    def _save_then_close(self) -> None:
        """Save the session, showing that it is being written, and close the window once it is."""
        from PySide6.QtWidgets import QProgressDialog

        progress = QProgressDialog("Saving the session (each run's weights too); the window closes when it is "
                                   "written…", "", 0, 0, self)
        progress.setObjectName("savingDialog")
        progress.setWindowTitle("Saving the session")
        progress.setCancelButton(None)
        progress.setMinimumDuration(0)

        def saved() -> None:
            progress.close()
            self.close()

        if self.save_session(then=saved):
            progress.show()
        else:
            progress.deleteLater()
