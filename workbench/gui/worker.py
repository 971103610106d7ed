"""Run a core function off the GUI thread (superqt's pattern): a QObject worker moved onto a QThread.

The function reports through plain callbacks; the worker turns them into queued signals, so widgets are
only touched on the GUI thread. Errors come back through `errored`, never by killing the thread.
"""

from __future__ import annotations

import gc
import time
import traceback

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot


class Worker(QObject):
    """Runs one function off the GUI thread and sends its result, error and training progress as signals."""

    finished = Signal(object)
    errored = Signal(object)
    batch = Signal(object)  # list of batch infos since the last emit (throttled)
    epoch = Signal(object)
    begun = Signal(object)
    progress = Signal(object)  # a slow step's progress (core.progress info: step, title, done, total, ...)
    done = Signal()  # after finished or errored; the thread quits on it

    def __init__(self, fn, *args, batch_interval: float = 0.05, **kwargs):
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._interval = batch_interval
        self._pending: list[dict] = []
        self._last_emit = 0.0

    def use_as_callbacks(self, keyword: str = "callbacks") -> None:
        """Pass this worker to the function as `keyword=(worker,)`: core's hooks become its signals."""
        self._kwargs[keyword] = (self,)

    # core.train.Callback hooks, called on the worker thread
    def on_train_begin(self, info):
        """Training callback: forward the run's start (epochs, device, rate) to the GUI."""
        self.begun.emit(info)

    def on_batch_end(self, info):
        """Training callback: collect batches and send them at most every `batch_interval` seconds."""
        self._pending.append(info)
        now = time.perf_counter()
        if now - self._last_emit >= self._interval:
            self._flush(now)

    def on_epoch_end(self, info):
        """Training callback: send the pending batches, then the epoch's summary."""
        self._flush(time.perf_counter())
        self.epoch.emit(info)

    def on_train_end(self, info):
        """Training callback: send the batches still pending."""
        self._flush(time.perf_counter())

    def on_progress(self, info):
        """core.progress callback: a slow step's progress (already throttled by core)."""
        self.progress.emit(info)

    def _flush(self, now):
        if self._pending:
            self.batch.emit(self._pending)
            self._pending = []
        self._last_emit = now

    @Slot()
    def run(self):
        """Call the function; its result or exception comes back as a signal, never raised here."""
        from workbench.core import progress

        try:
            with progress.reporting(self._kwargs.get("callbacks", ())):  # slow steps report to on_progress
                result = self._fn(*self._args, **self._kwargs)
        except Exception as exc:  # noqa: BLE001 - every error goes back to the GUI thread as a signal
            exc.gui_traceback = traceback.format_exc()
            self.errored.emit(exc)
        else:
            self.finished.emit(result)
        finally:
            self.done.emit()


class Relay(QObject):
    """Calls a plain Python callable on the thread this object lives on (the GUI thread).

    A signal connected straight to a lambda runs it in the emitting thread; connecting to a slot of
    an object owned by the GUI thread makes the call queued, so widgets are only touched there.
    """

    def __init__(self, fn, parent: QObject):
        super().__init__(parent)
        self._fn = fn

    @Slot(object)
    def call(self, value):
        """Call the function with `value` on this object's (the GUI) thread."""
        self._fn(value)

    @Slot()
    def fire(self):
        """Call the function with None on this object's (the GUI) thread."""
        self._fn(None)


def start(worker: Worker, parent: QObject) -> QThread:
    """Start `worker` on a new thread owned by `parent`.

    The caller keeps the Python reference to `worker` and drops it (on the GUI thread) once the thread
    has finished. No deleteLater here: a worker deleted by Qt in its own thread while Python frees it
    in another is a double free that crashes at random.
    """
    thread = QThread(parent)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    worker.done.connect(thread.quit)
    thread.start()
    return thread


def collect_garbage_on_gui_thread(interval_ms: int = 1000) -> None:
    """Turn Python's automatic cyclic garbage collection off and collect on a GUI-thread timer instead.

    Automatic collection runs in whichever thread happens to allocate. When a worker (an export, say)
    triggers it, a dead window or dialog can be destroyed on the worker thread while the GUI thread
    destroys another Qt object: each holds a lock the other needs, and the app hangs (seen in the test
    suite: ~QObject on the worker waiting for the GIL, ~QAction on the GUI thread waiting for its mutex).
    pyqtgraph's `util.garbage_collector.GarbageCollector` does the same; it is not imported here so that
    pyqtgraph stays off the first-paint path. Idempotent: one timer per application, parented to it.
    """
    app = QCoreApplication.instance()
    if app is None or app.findChild(QTimer, "guiThreadGarbageCollector") is not None:
        return
    thresholds = gc.get_threshold()
    gc.disable()
    timer = QTimer(app)
    timer.setObjectName("guiThreadGarbageCollector")

    def collect() -> None:
        counts = gc.get_count()
        generation = -1
        for g in range(3):  # the same escalation automatic collection uses
            if counts[g] > thresholds[g]:
                generation = g
            else:
                break
        if generation >= 0:
            gc.collect(generation)

    timer.timeout.connect(collect)
    timer.start(interval_ms)
