"""The main window: menus, welcome view, the five workspace tabs, and the jobs they start on workers.

Only Qt is imported at module level so the window paints at once; torch, pyqtgraph and the panels are
imported when the workspace is first built (right after the first paint).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .about_dialog import AboutDialog
from .file_actions import FileActions
from .jobs import JobRunner
from .session import Session
from .welcome import WelcomeView
from .worker import collect_garbage_on_gui_thread


class MainWindow(FileActions, QMainWindow):
    """The application window: the welcome view, then the Model, Data, Train, Evaluate and Compare tabs."""

    def __init__(self):
        super().__init__()
        collect_garbage_on_gui_thread()
        self.setWindowTitle("Conversion Workbench")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings = QSettings()
        self.session = Session(parent=self)
        self.workspace: QTabWidget | None = None
        self.jobs = JobRunner(self.show_error, self)
        self._stop = None
        self._save_then_close = False
        self.ask_before_closing = True  # scripts that drive the window (benchmarks, screenshots) turn it off
        self.welcome = WelcomeView()
        self.welcome.open_requested.connect(lambda: self.open_checkpoint())
        self.welcome.demo_requested.connect(self.open_demo)
        self.welcome.recent_requested.connect(self.open_checkpoint)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.setCentralWidget(self.stack)
        self._build_menus()
        self._shortcuts_beat_fields = _MenuShortcutsFirst(self)
        QApplication.instance().installEventFilter(self._shortcuts_beat_fields)
        self._refresh_recent()
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
        self._action(file, "Open recipe…", self.open_recipe, name="openRecipeAction")
        self._action(file, "&Save recipe…", self.save_recipe, QKeySequence.Save, "saveRecipeAction")
        file.addSeparator()
        self._action(file, "Open session…", self.open_session, name="openSessionAction")
        self._action(file, "Save session…", self.save_session, name="saveSessionAction")
        file.addSeparator()
        self.export_action = self._action(file, "&Export…", self.export, "Ctrl+E", "exportAction")
        self.export_action.setEnabled(False)
        self.report_action = self._action(file, "Save HTML &report…", self.save_report, name="reportAction")
        self.report_action.setEnabled(False)
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.Quit, "quitAction")
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&About Conversion Workbench", lambda: AboutDialog(self).exec(), name="aboutAction")

    def ensure_workspace(self) -> QTabWidget:
        """Build the tabs on first use (they import pyqtgraph and torch), and return them."""
        if self.workspace is not None:
            return self.workspace
        import pyqtgraph as pg

        from workbench.core.train.train import available_devices

        from .compare_panel import ComparePanel
        from .data_panel import DataPanel
        from .evaluate_panel import EvaluatePanel
        from .model_panel import ModelPanel
        from .runs_bar import RunsBar
        from .train_panel import TrainPanel
        from .training_form import TrainingForm

        pg.setConfigOptions(background="w", foreground="k", antialias=False)  # antialiased redraws starve training
        s = self.session
        self.model_panel = ModelPanel(s)
        self.data_panel = DataPanel(s)
        self.form = TrainingForm(s, available_devices())
        self.train_panel = TrainPanel(s)
        self.evaluate_panel = EvaluatePanel(s)
        self.compare_panel = ComparePanel(s)
        tabs = QTabWidget()
        tabs.setObjectName("workspaceTabs")
        for widget, title in ((self.model_panel, "1 Model"), (self.data_panel, "2 Data"),
                              (self.form, "3 Head && training"), (self.train_panel, "4 Train"),
                              (self.evaluate_panel, "5 Evaluate && calibrate"), (self.compare_panel, "6 Compare")):
            tabs.addTab(widget, title)
        self.model_panel.reload_requested.connect(self.reload_model)
        self.data_panel.load_requested.connect(self.load_data)
        self.form.train_requested.connect(self.start_training)
        self.form.baseline_requested.connect(self.start_baseline)
        self.train_panel.train_requested.connect(self.start_training)
        self.train_panel.pause_requested.connect(self._on_pause)
        self.train_panel.stop_requested.connect(self.stop_training)
        self.evaluate_panel.calibrate_requested.connect(self.calibrate)
        for signal in (s.recipe_changed, s.data_changed, s.model_changed, s.busy_changed):
            signal.connect(self._on_state)
        s.data_changed.connect(self._on_data_changed)
        s.recipe_changed.connect(self._reread_images_on_resize)
        s.run_changed.connect(lambda run: self.export_action.setEnabled(run is not None and not s.busy))
        s.run_changed.connect(lambda run: self.report_action.setEnabled(run is not None))
        s.run_changed.connect(self._show_run_status)
        self.evaluate_panel.metrics_changed.connect(lambda: self._show_run_status(s.run))
        self.workspace = tabs
        self.runs_bar = RunsBar(s)
        page = QWidget()
        page.setObjectName("workspacePage")
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.runs_bar)
        self.activity = QLabel()
        self.activity.setObjectName("activityBanner")
        self.activity.setStyleSheet("background: #fff4d6; padding: 4px 8px;")
        self.activity.setVisible(bool(s.activity))
        self.activity.setText(s.activity)
        s.activity_changed.connect(lambda text: (self.activity.setText(text), self.activity.setVisible(bool(text))))  # type: ignore[func-returns-value]
        column.addWidget(self.activity)
        column.addWidget(tabs, 1)
        self.stack.addWidget(page)
        for index in range(tabs.count()):  # Ctrl+1..6, also while a text field has focus
            shortcut = QShortcut(QKeySequence(f"Ctrl+{index + 1}"), self)
            shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
            shortcut.activated.connect(lambda i=index: self.show_workspace(i))
        self._on_state()
        return tabs

    def show_workspace(self, tab: int | None = None):
        """Switch from the welcome view to the tabs, optionally to tab number `tab`."""
        tabs = self.ensure_workspace()
        self.stack.setCurrentWidget(tabs.parentWidget())
        if tab is not None:
            tabs.setCurrentIndex(tab)

    # ----- jobs on the worker
    def run_job(self, fn, *args, **kwargs):
        """Start `fn` on a worker; see `JobRunner.start` (slots, callbacks, always)."""
        return self.jobs.start(fn, *args, **kwargs)

    def show_error(self, exc):
        """Report an error in the status bar and in a dialog that names the window's controls."""
        from .dialogs import show_error

        self.statusBar().showMessage(str(exc)[:200])
        show_error(self, exc)

    def wait_for_jobs(self, timeout_ms: int = 30000):
        """Block until the background jobs have finished (quitting never leaves one running)."""
        self.jobs.wait(timeout_ms)

    # ----- opening
    def open_checkpoint(self, path: str | None = None, trusted: bool = False):
        """Open a checkpoint on a worker with the Model tab's settings; without `path`, ask which file."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open a regression checkpoint",
                                                  str(self.settings.value("paths/open", "")),
                                                  "Checkpoints (*.pt *.pth *.ckpt *.bin *.safetensors *.pt2 *.ts);;"
                                                  "All files (*)")
            if not path:
                return
        self.jobs.cancel("train")  # a run of the model being replaced must not land on the new one
        self.show_workspace(0)
        try:
            source, args, shape = self.model_panel.model_settings()
        except ValueError as exc:
            QMessageBox.warning(self, "Model settings", f"{exc}")
            return
        self.session.update(model_source=source, model_args=args or {}, input_shape=tuple(shape or ()))
        self.statusBar().showMessage(f"Opening {path} …")
        self.session.set_activity(f"Opening {Path(path).name} …")
        self.settings.setValue("paths/open", str(Path(path).parent))
        self.run_job(_load_and_inspect, path, source, args, shape, trusted, self.session.recipe.mlp_activation,
                     slot="load",
                     on_done=lambda result, p=path: self._on_loaded(p, result),
                     on_error=lambda exc, p=path: self._on_load_error(p, exc))

    def reload_model(self):
        """Open the current checkpoint again, so a changed model source or its arguments apply."""
        if self.session.loaded is not None:
            self.open_checkpoint(str(self.session.loaded.path))

    def _on_loaded(self, path, result):
        loaded, inspection = result
        self.session.set_activity("")
        self.session.set_model(loaded, inspection)
        self._remember(path)
        self.setWindowTitle(f"Conversion Workbench — {Path(path).name}")
        self.statusBar().showMessage(f"Opened {path} ({loaded.format}).")
        if inspection is None and self.session.data is not None:
            self._on_data_changed(self.session.data)

    def _on_load_error(self, path, exc):
        self.session.set_activity("")
        self._ask_trust_or_show(exc, lambda: self.open_checkpoint(path, trusted=True))

    def _reread_images_on_resize(self, recipe):
        """Images are fitted to the model as they are read: another resize policy reads the folder again."""
        from workbench.core.data.images import ImageSamples

        table = self.session.table
        if table is not None and isinstance(table.X, ImageSamples) and table.X.resize != recipe.data.resize:
            self.load_data(recipe.data.path)

    def load_data(self, path: str):
        """Read the data on a worker. A table file is read once, with every column; choosing the label,
        features and missing-value policy afterwards re-uses it (see Session.rebuild_table)."""
        if not path:
            return
        self.show_workspace()
        s = self.session
        if path != s.recipe.data.path:
            s.update(**{"data.path": path, "data.features": (), "data.classes": (), "data.sheet": ""})
        d = s.recipe.data
        self.statusBar().showMessage(f"Reading {path} …")
        from workbench.core.data.tables import is_table_path

        if is_table_path(path):
            self.run_job(_read_table, path, d.sheet, slot="data", on_done=self._on_raw_loaded,
                         on_error=self._on_data_read_error)
            return
        from workbench.core.data.data import load_table

        shape = s.model_shape()
        self.run_job(load_table, d.path, d.label, d.features, shape if shape and len(shape) == 3 else None,
                     d.missing, d.sheet, None, d.resize, slot="data", on_done=self._on_table_loaded,
                     on_error=self._on_data_read_error)

    def _on_raw_loaded(self, result):
        raw, columns = result
        s = self.session
        s.set_raw(None)
        label = columns.default_label(s.recipe.data.label)
        if label != s.recipe.data.label:
            s.update(**{"data.label": label})
        s.set_raw(raw, columns)
        from workbench.core.data.tables import describe_source

        self.statusBar().showMessage(f"Read {raw.source}: {describe_source(raw)}.")

    def _on_table_loaded(self, table):
        self.session.set_raw(None)
        self.session.set_table(table)
        self.statusBar().showMessage(f"Read {table.source}: {len(table.X)} samples.")

    def _on_data_read_error(self, exc):
        self.session.data_error.emit(str(exc))
        self.show_error(exc)

    def _on_data_changed(self, data):
        s = self.session
        if data is None or s.loaded is None:
            return
        from workbench.core.workflow.pipeline import step_features

        # A recurrent model's sequence length follows the data, so a new length is inspected again.
        if s.inspection is None or (step_features(s.loaded) and tuple(s.inspection.input_shape) != data.input_shape):
            from workbench.core.open.layer_tree import inspect_model

            self.run_job(inspect_model, s.loaded.model, data.input_shape, slot="inspect", on_done=s.set_inspection)

    # ----- training
    def _on_state(self, *_):
        if self.workspace is None:
            return
        blockers = self.form.blockers()
        self.train_panel.set_can_train(not blockers, "Cannot train: " + blockers[0] if blockers else "")

    def start_training(self):
        """Train a new head with the form's recipe on a worker, streaming progress to the Train tab."""
        from workbench.core.errors import WorkbenchError
        from workbench.core.recipe import validate
        from workbench.core.train.threads import call_leaving_a_core
        from workbench.core.train.train import StopToken
        from workbench.core.workflow.pipeline import train_run

        s = self.session
        blockers = self.form.blockers()
        if blockers:
            self.statusBar().showMessage("Cannot train: " + blockers[0])
            return
        try:
            recipe = validate(s.recipe)
        except WorkbenchError as exc:
            self.show_error(exc)
            return
        self._stop = StopToken()

        def wire(job):
            job.begun.connect(self.train_panel.on_begin)
            job.batch.connect(self.train_panel.on_batches)
            job.epoch.connect(self.train_panel.on_epoch)

        s.set_busy(True)
        self.show_workspace(3)
        self.statusBar().showMessage("Training…")
        self.run_job(call_leaving_a_core, train_run, recipe, s.loaded, s.data, stop=self._stop, slot="train",
                     callbacks=True, setup=wire, cancel=self._stop.stop, always=self._on_train_ended,
                     on_done=self._on_trained, on_error=self.show_error)

    def start_baseline(self):
        """Fit the no-training baseline (the regression output, Platt-calibrated) as a run."""
        from workbench.core.workflow.baseline import baseline_run

        s = self.session
        if s.loaded is None or s.data is None or s.busy:
            return
        s.set_busy(True)
        self.statusBar().showMessage("Fitting the no-training baseline…")
        self.run_job(baseline_run, s.recipe, s.loaded, s.data, slot="train", always=self._on_train_ended,
                     on_done=lambda run: self._on_trained(run, tab=4), on_error=self.show_error)

    def _on_train_ended(self, _dropped: bool):
        self.session.set_busy(False)
        if self._save_then_close:
            self._save_then_close = False
            QTimer.singleShot(0, self._save_and_close)  # after the run itself has landed

    def _on_trained(self, run, tab=None):
        self.session.set_run(run)  # the status bar follows the run (_show_run_status)
        if tab is not None:
            self.show_workspace(tab)

    def _show_run_status(self, run):
        """The status bar names the run Evaluate shows and its current test accuracy (picking another run,
        recalibrating or moving the threshold rewrites it), so it never shows another run's number."""
        if run is None:
            self.statusBar().clearMessage()
            return
        entry = self.session.entry_of(run)
        test = run.metrics["test"]
        what = "no-training baseline" if run.kind == "baseline" else "trained head"
        self.statusBar().showMessage(f"Run {entry.name if entry else ''} ({what}): test accuracy "
                                     f"{test['accuracy']:.3f}, calibration {run.recipe.calibration}.")

    def _on_pause(self, paused: bool):
        if self._stop is not None:
            (self._stop.pause if paused else self._stop.resume)()

    def stop_training(self, wait: bool = False):
        """Ask the running training to stop after its current batch, keeping its best epoch."""
        if self._stop is not None and self.session.busy:
            self._stop.stop()
            if wait:
                self.wait_for_jobs()

    def calibrate(self, method: str):
        """Refit the current run's calibration with `method` and show the new metrics."""
        from workbench.core.workflow.pipeline import calibrate_run

        if self.session.run is None:
            return
        self.session.set_busy(True)

        def done(run):
            self.session.update(calibration=method)  # a saved recipe reproduces what is shown
            self.session.set_run(run)

        self.run_job(calibrate_run, self.session.run, method, slot="calibrate", on_done=done,
                     always=lambda _dropped: self.session.set_busy(False))

    # ----- Qt events
    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        """A file dropped on the window is opened as a checkpoint."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.open_checkpoint(paths[0]))

    def closeEvent(self, event):
        """Offer to save unsaved runs, stop training and wait for jobs before the window closes."""
        if not self._may_close():
            event.ignore()
            return
        self.stop_training()
        self.wait_for_jobs()
        self.settings.setValue("window/geometry", self.saveGeometry())
        super().closeEvent(event)

    def _may_close(self) -> bool:
        """Ask before losing work: a run in training, or runs not saved in a session file."""
        s = self.session
        if not self.ask_before_closing or not (s.busy or s.unsaved_runs()):
            return True
        from . import dialogs

        what = "Training is running" if s.busy else f"{len(s.unsaved_runs())} run(s) of this session are not saved"
        answer = dialogs.ask_close(self, what)
        if answer == "discard":
            return True
        if answer != "save":
            return False
        if s.busy:  # stop; the stopped run (best epoch so far) arrives, is saved, then the window closes
            self._save_then_close = True
            self.stop_training()
            return False
        return bool(self.save_session())

    def _save_and_close(self):
        if self.save_session():
            self.close()


class _MenuShortcutsFirst(QObject):
    """Menu shortcuts (Ctrl+E, Ctrl+S, …) work while a text field has focus: a line edit claims keys such as
    Ctrl+E (end of line) through a ShortcutOverride event, which this filter withholds for the window's
    own shortcuts."""

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self._window = window

    def eventFilter(self, obj, event):
        if event.type() == QEvent.ShortcutOverride and self._window.isActiveWindow():
            pressed = QKeySequence(event.keyCombination())
            for action in self._window.findChildren(QAction):
                if action.isEnabled() and any(pressed.matches(k) == QKeySequence.ExactMatch
                                              for k in action.shortcuts()):
                    return True  # not accepted by the field: the shortcut map runs the action
        return False


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
