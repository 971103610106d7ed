"""The main window: menus, welcome view, the five workspace tabs, and the jobs they start on workers.

Only Qt is imported at module level so the window paints at once; torch, pyqtgraph and the panels are
imported when the workspace is first built (right after the first paint).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QStackedWidget, QTabWidget

from .file_actions import FileActions
from .session import Session
from .welcome import WelcomeView
from .worker import collect_garbage_on_gui_thread

class MainWindow(FileActions, QMainWindow):
    def __init__(self):
        super().__init__()
        collect_garbage_on_gui_thread()
        self.setWindowTitle("Conversion Workbench")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings = QSettings()
        self.session = Session(self)
        self.workspace: QTabWidget | None = None
        self._threads: dict = {}
        self._stop = None
        self._generation = 0
        self._data_generation = 0  # the latest data read; an older one finishing later is dropped
        self.welcome = WelcomeView()
        self.welcome.open_requested.connect(lambda: self.open_checkpoint())
        self.welcome.demo_requested.connect(self.open_demo)
        self.welcome.recent_requested.connect(self.open_checkpoint)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.setCentralWidget(self.stack)
        self._build_menus()
        self._refresh_recent()
        if not self.restoreGeometry(self.settings.value("window/geometry", b"")):
            self.resize(1280, 800)
        self.statusBar().showMessage("Open a regression checkpoint to begin.")

    # ----- construction
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
        self._action(help_menu, "About", lambda: QMessageBox.about(
            self, "Conversion Workbench", "Turns a trained PyTorch regression model into a calibrated classifier."))

    def ensure_workspace(self) -> QTabWidget:
        if self.workspace is not None:
            return self.workspace
        import pyqtgraph as pg

        from workbench.core.train import available_devices

        from .compare_panel import ComparePanel
        from .data_panel import DataPanel
        from .evaluate_panel import EvaluatePanel
        from .model_panel import ModelPanel
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
        s.run_changed.connect(lambda run: self.export_action.setEnabled(run is not None and not s.busy))
        s.run_changed.connect(lambda run: self.report_action.setEnabled(run is not None))
        self.workspace = tabs
        self.stack.addWidget(tabs)
        self._on_state()
        return tabs

    def show_workspace(self, tab: int | None = None):
        tabs = self.ensure_workspace()
        self.stack.setCurrentWidget(tabs)
        if tab is not None:
            tabs.setCurrentIndex(tab)

    # ----- jobs on the worker
    def run_job(self, fn, *args, on_done=None, on_error=None, setup=None, **kwargs):
        from . import worker as w

        job = w.Worker(fn, *args, **kwargs)
        if setup:
            setup(job)
        done = w.Relay(on_done or (lambda _r: None), self)
        failed = w.Relay(on_error or self.show_error, self)
        job.finished.connect(done.call)
        job.errored.connect(failed.call)
        thread = w.start(job, self)
        # The worker has no Qt parent (it moves to the thread), so Python must hold it until the thread ends.
        self._threads[thread] = job
        forget = w.Relay(lambda _v: self._forget(thread, done, failed, forget), self)
        thread.finished.connect(forget.fire)
        return job

    def _forget(self, thread, *relays):
        """The thread has finished: release its worker and the helpers, here on the GUI thread."""
        self._threads.pop(thread, None)
        thread.wait()
        thread.deleteLater()
        for relay in relays:
            relay.deleteLater()

    def show_error(self, exc):
        from .dialogs import show_error

        self.statusBar().showMessage(str(exc)[:200])
        show_error(self, exc)

    def wait_for_jobs(self, timeout_ms: int = 30000):
        for thread in list(self._threads):
            thread.quit()
            thread.wait(timeout_ms)

    # ----- opening
    def open_checkpoint(self, path: str | None = None, trusted: bool = False):
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open a regression checkpoint",
                                                  self.settings.value("paths/open", ""),
                                                  "Checkpoints (*.pt *.pth *.ckpt *.bin *.safetensors *.pt2 *.ts);;"
                                                  "All files (*)")
            if not path:
                return
        self.stop_training(wait=True)
        self._generation += 1
        self.show_workspace(0)
        try:
            source, args, shape = self.model_panel.model_settings()
        except ValueError as exc:
            QMessageBox.warning(self, "Model settings", f"{exc}")
            return
        self.session.update(model_source=source, model_args=args or {}, input_shape=tuple(shape or ()))
        self.statusBar().showMessage(f"Opening {path} …")
        self.settings.setValue("paths/open", str(Path(path).parent))
        self.run_job(_load_and_inspect, path, source, args, shape, trusted,
                     on_done=lambda result, p=path: self._on_loaded(p, result),
                     on_error=lambda exc, p=path: self._on_load_error(p, exc))

    def reload_model(self):
        if self.session.loaded is not None:
            self.open_checkpoint(str(self.session.loaded.path))

    def _on_loaded(self, path, result):
        loaded, inspection = result
        self.session.set_model(loaded, inspection)
        self._remember(path)
        self.setWindowTitle(f"Conversion Workbench — {Path(path).name}")
        self.statusBar().showMessage(f"Opened {path} ({loaded.format}).")
        if inspection is None and self.session.data is not None:
            self._on_data_changed(self.session.data)

    def _on_load_error(self, path, exc):
        self._ask_trust_or_show(exc, lambda: self.open_checkpoint(path, trusted=True))

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
        self._data_generation += 1
        generation = self._data_generation
        self.statusBar().showMessage(f"Reading {path} …")
        from workbench.core.tables import is_table_path

        if is_table_path(path):
            self.run_job(_read_table, path, d.sheet,
                         on_done=lambda result: self._on_raw_loaded(generation, result),
                         on_error=lambda exc: self._on_data_read_error(generation, exc))
            return
        from workbench.core.data import load_table

        shape = s.model_shape()
        self.run_job(load_table, d.path, d.label, d.features, shape if shape and len(shape) == 3 else None,
                     on_done=lambda table: self._on_table_loaded(generation, table),
                     on_error=lambda exc: self._on_data_read_error(generation, exc))

    def _on_raw_loaded(self, generation, result):
        if generation != self._data_generation:
            return  # another file was chosen meanwhile
        raw, columns = result
        s = self.session
        s.set_raw(None)
        label = columns.default_label(s.recipe.data.label)
        if label != s.recipe.data.label:
            s.update(**{"data.label": label})
        s.set_raw(raw, columns)
        from workbench.core.tables import describe_source

        self.statusBar().showMessage(f"Read {raw.source}: {describe_source(raw)}.")

    def _on_table_loaded(self, generation, table):
        if generation != self._data_generation:
            return
        self.session.set_raw(None)
        self.session.set_table(table)
        self.statusBar().showMessage(f"Read {table.source}: {len(table.X)} samples.")

    def _on_data_read_error(self, generation, exc):
        if generation != self._data_generation:
            return
        self.session.data_error.emit(str(exc))
        self.show_error(exc)

    def _on_data_changed(self, data):
        s = self.session
        if data is not None and s.loaded is not None and s.inspection is None:
            from workbench.core.layers import inspect_model

            self.run_job(inspect_model, s.loaded.model, data.input_shape, on_done=s.set_inspection)

    # ----- training
    def _on_state(self, *_):
        if self.workspace is None:
            return
        blockers = self.form.blockers()
        self.train_panel.set_can_train(not blockers, "Cannot train: " + blockers[0] if blockers else "")

    def start_training(self):
        from workbench.core.errors import WorkbenchError
        from workbench.core.recipe import validate
        from workbench.core.train import StopToken

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
        generation = self._generation

        def wire(job):
            job._kwargs["callbacks"] = (job,)
            job.begun.connect(self.train_panel.on_begin)
            job.batch.connect(self.train_panel.on_batches)
            job.epoch.connect(self.train_panel.on_epoch)

        s.set_busy(True)
        self.show_workspace(3)
        self.statusBar().showMessage("Training…")
        self.run_job(_train_leaving_a_core, recipe, s.loaded, s.data, stop=self._stop, setup=wire,
                     on_done=lambda run: self._on_trained(generation, run),
                     on_error=self._on_train_error)

    def start_baseline(self):
        from workbench.core.baseline import baseline_run

        s = self.session
        if s.loaded is None or s.data is None or s.busy:
            return
        s.set_busy(True)
        generation = self._generation
        self.statusBar().showMessage("Fitting the no-training baseline…")
        self.run_job(baseline_run, s.recipe, s.loaded, s.data,
                     on_done=lambda run: self._on_trained(generation, run, tab=4), on_error=self._on_train_error)

    def _on_trained(self, generation, run, tab=None):
        self.session.set_busy(False)
        if generation != self._generation:
            return  # a new checkpoint was opened meanwhile; this run belongs to the old one
        self.session.set_run(run)
        if tab is not None:
            self.show_workspace(tab)
        self.statusBar().showMessage(f"{'Baseline' if run.kind == 'baseline' else 'Trained'}: "
                                     f"test accuracy {run.metrics['test']['accuracy']:.3f}.")

    def _on_train_error(self, exc):
        self.session.set_busy(False)
        self.show_error(exc)

    def _on_pause(self, paused: bool):
        if self._stop is not None:
            (self._stop.pause if paused else self._stop.resume)()

    def stop_training(self, wait: bool = False):
        if self._stop is not None and self.session.busy:
            self._stop.stop()
            if wait:
                self.wait_for_jobs()

    def calibrate(self, method: str):
        from workbench.core.pipeline import calibrate_run

        if self.session.run is None:
            return
        self.session.set_busy(True)

        def done(run):
            self.session.set_busy(False)
            self.session.update(calibration=method)  # a saved recipe reproduces what is shown
            self.session.set_run(run)

        def failed(exc):
            self.session.set_busy(False)
            self.show_error(exc)

        self.run_job(calibrate_run, self.session.run, method, on_done=done, on_error=failed)

    # ----- Qt events
    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.open_checkpoint(paths[0]))

    def closeEvent(self, event):
        self.stop_training()
        self.wait_for_jobs()
        self.settings.setValue("window/geometry", self.saveGeometry())
        super().closeEvent(event)


def _train_leaving_a_core(*args, **kwargs):
    """Worker job: train with one core fewer than torch would take, so the window keeps one to draw with
    (on two cores, two intra-op threads and the GUI thread fight; small models lose nothing by it)."""
    import os

    import torch

    from workbench.core.pipeline import train_run

    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, min(threads, (os.cpu_count() or 2) - 1)))
    try:
        return train_run(*args, **kwargs)
    finally:
        torch.set_num_threads(threads)


def _read_table(path, sheet):
    """Worker job: read a table file and sort its columns."""
    from workbench.core.columns import summarize
    from workbench.core.tables import read_table

    raw = read_table(path, sheet)
    return raw, summarize(raw)


def _load_and_inspect(path, source, args, shape, trusted):
    """Worker job: open the checkpoint and, when its input shape is known, inspect it."""
    from workbench.core.layers import inspect_model
    from workbench.core.load import load_checkpoint

    loaded = load_checkpoint(path, source, args, trusted)
    shape = shape or loaded.input_shape
    return loaded, (inspect_model(loaded.model, shape) if shape else None)
