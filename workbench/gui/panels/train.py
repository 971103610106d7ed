"""The training view: live curves, progress with ETA, and Train / Pause / Stop."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from workbench.core.errors import for_window

from ..plots.loss import LossPlot
from ..plots.lr_finder import LrFinderPlot
from .notes import notes_html

FINDER_CAPTION_WIDTH = 260  # pixels: the range test's caption alone, beside the loss curves


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class TrainPanel(QWidget):
    """The Train tab: Train, Pause and Stop, progress, the learning-rate test and the live curves."""

    train_requested = Signal()
    pause_requested = Signal(bool)  # True: pause, False: resume
    stop_requested = Signal()

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.curves = LossPlot()
        self.finder = LrFinderPlot()
        self.finder.rate_chosen.connect(self._on_rate_chosen)
        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setFormat("Not started")
        self.progress.setValue(0)
        self.status = QLabel("Configure the head and press Train.")
        self.status.setObjectName("trainStatus")
        self.status.setWordWrap(True)  # blocking reasons name files and counts; they must not widen the window
        self.notes = QLabel("")  # what the run's training says of itself (core's notes): a schedule, a budget, a head
        self.notes.setObjectName("trainNotes")
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.notes.setWordWrap(True)
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("trainButton")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.setCheckable(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.train_button.clicked.connect(self.train_requested)
        self.pause_button.toggled.connect(self._on_pause_toggled)
        self.stop_button.clicked.connect(self.stop_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.notes)
        self.plots = plots = QHBoxLayout()
        plots.addWidget(self.curves, 3)
        plots.addWidget(self.finder, 2)
        layout.addLayout(plots, 1)
        self._fit_finder()
        session.busy_changed.connect(self._on_busy_changed)
        session.run_changed.connect(self._on_run_changed)
        for signal in (session.recipe_changed, session.data_changed, session.model_changed, session.busy_changed):
            signal.connect(self._on_state)
        self._on_busy_changed(False)
        self._steps = 1
        self._epochs = 1
        self._live_run = None  # the run whose per-batch curves are drawn (the last one trained here)
        self._just_trained = False
        self._on_state()

    def _on_state(self, *_) -> None:
        """Enable Train only when nothing blocks it (core's blockers); the tooltip says what does."""
        m = self.session.model
        blockers = m.blockers_in_words()
        reason = "Cannot train: " + for_window(blockers[0]) if blockers else ""
        self.train_button.setEnabled(not blockers)
        self.train_button.setToolTip(reason)
        if not m.busy and m.run is None:
            self.status.setText(reason or "Ready to train.")

    def _on_pause_toggled(self, paused: bool):
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_requested.emit(paused)
        if paused:
            self.status.setText("Paused. Resume to continue, or Stop to keep the best epoch so far.")

    def _on_busy_changed(self, busy: bool):
        self.pause_button.setEnabled(busy)
        self.stop_button.setEnabled(busy)
        if not busy:
            self.curves.finish()
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")
            self.pause_button.blockSignals(False)

    @Slot(object)  # receives the worker's queued signals: PySide needs a real slot (PYSIDE-3124)
    def on_begin(self, info: dict):
        """A run started: reset the curves and progress, show the learning-rate test if one ran."""
        self.curves.clear(info["epochs"])
        self._live_run, self._just_trained = None, True
        self._steps, self._epochs = info["steps_per_epoch"], info["epochs"]
        self.progress.setRange(0, self._steps * self._epochs)
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")
        self.finder.show_result(info.get("lr_finder"), info.get("lr"))
        self._fit_finder()
        rate = f" at learning rate {info['lr']:.3g}" if info.get("lr") else ""
        self.notes.setText("")
        self.status.setText(f"Training on {info['device']}: {info['n_train']} samples, "
                            f"up to {info['epochs']} epochs{rate}.")

    @Slot(object)  # receives the worker's queued signals: PySide needs a real slot (PYSIDE-3124)
    def on_batches(self, infos: list[dict]):
        """Batches arrived (throttled): extend the curve and update progress and time left."""
        self.curves.add_batches(infos)
        last = infos[-1]
        done = (last["epoch"] - 1) * self._steps + last["step"]
        eta = last["elapsed"] / max(done, 1) * (self._steps * self._epochs - done)
        percent = done * 100 // max(self.progress.maximum(), 1)
        text = f"Epoch {last['epoch']}/{self._epochs} · {percent}% · ETA {_clock(eta)}"
        if text != self.progress.format():  # the text moves about once a second
            # QProgressBar.setValue repaints at once (~1 ms offscreen); with updates off it is only
            # scheduled, and painted together with the curves.
            self.progress.setUpdatesEnabled(False)
            self.progress.setValue(done)
            self.progress.setFormat(text)
            self.progress.setUpdatesEnabled(True)

    @Slot(object)  # receives the worker's queued signals: PySide needs a real slot (PYSIDE-3124)
    def on_epoch(self, info: dict):
        """An epoch ended: add its validation point and report the losses so far."""
        self.curves.add_epoch(info)
        if not self.pause_button.isChecked():
            self.status.setText(f"Epoch {info['epoch']}: train loss {info['train_loss']:.4f}, validation loss "
                                f"{info['val_loss']:.4f}, accuracy {info['val_accuracy']:.3f} "
                                f"(best epoch so far: {info['best_epoch']}).")

    def _show_nothing(self) -> None:
        self.curves.clear()
        self.finder.clear()
        self._fit_finder()
        self._live_run, self._just_trained = None, False
        self.progress.setValue(0)
        self.progress.setFormat("Not started")
        self.notes.setText("")
        self._on_state()

    def _on_rate_chosen(self, rate: float) -> None:
        self.session.model.update(**{"train.lr": rate})

    def _on_run_changed(self, run):
        """Show the picked run's training: its curves (the live ones when it was just trained here), or, for a
        baseline, what it is instead of an empty "0 epochs" over another run's curves."""
        if run is None:
            if not self.session.model.busy:  # no run picked (another model was opened): none of its curves
                self._show_nothing()
            return
        t = run.training
        if run.kind == "baseline":
            self.curves.clear()
            self._live_run = None
            self.progress.setValue(0)
            self.progress.setFormat("Baseline: no training")
            self.notes.setText("")
            self.status.setText("This run is the no-training baseline: the regression model's own output, turned "
                                "into a probability by a Platt fit on the calibration split. No epochs, so no "
                                "curves; see the Evaluate tab, or press Train to train a head.")
            return
        if self._live_run is None and self._just_trained:
            self._live_run, self._just_trained = run, False  # the live curves (with every batch) are this run's
        if run is not self._live_run:
            self.curves.show_history(t.history, t.epochs)
            self._live_run = None
        self.finder.show_result(t.lr_finder, t.lr)
        self._fit_finder()
        self.progress.setValue(self.progress.maximum())
        why = "stopped by you" if t.cancelled else "stopped early" if t.stopped_early else "finished"
        self.progress.setFormat(f"Done ({why})")
        took = f" in {duration(t.seconds)}" if t.seconds > 0 else ""  # a reopened run's wall time is not kept
        self.status.setText(f"Training {why} after {len(t.history)} epochs{took}; the weights of "
                            f"epoch {t.best_epoch} were kept. See the Evaluate tab.")
        self.notes.setText(notes_html(t.notes))

    def _fit_finder(self) -> None:
        """Without a range test's curve the finder is only its caption: a narrow column, the loss curves wide."""
        empty = not self.finder.plot.isVisibleTo(self.finder)
        self.plots.setStretchFactor(self.finder, 0 if empty else 2)
        self.finder.setMaximumWidth(FINDER_CAPTION_WIDTH if empty else 16777215)


def duration(seconds: float) -> str:
    """A training's wall time as read: milliseconds under a second (a small head trains in a few), else seconds."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s" if seconds < 120 else \
        f"{seconds / 60:.1f} min"
