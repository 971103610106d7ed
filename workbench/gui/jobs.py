"""The one owner of the window's background jobs: named slots (load, data, train, calibrate, export, …).

Orange3's `ConcurrentMixin.start()`: a new job in a slot cancels the one before it and drops its result, so a
stale result can never land (a slow table read finishing after a newer one, a run of a model that was closed).
Jobs without a slot run side by side. Each job is a `worker.Worker` on its own QThread; results, errors and
the `always` hooks arrive on the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from . import worker as w


@dataclass
class Job:
    """One background job: its worker and thread, how to cancel it, and whether its result still counts."""

    slot: str | None
    worker: w.Worker
    thread: Any = None  # the QThread, set once started
    cancel: Callable[[], None] | None = None  # asks the job to stop early (a StopToken's stop)
    always: Callable[[bool], None] | None = None
    stale: bool = False  # replaced or cancelled: its result and error are dropped
    closed: bool = False  # its result, error or drop has been handled
    relays: list = field(default_factory=list)


class JobRunner(QObject):
    """Starts core functions on worker threads; at most one live job per named slot."""

    started = Signal(str)  # slot name ("" for none)
    ended = Signal(str)

    def __init__(self, show_error: Callable[[BaseException], None], parent: QObject | None = None):
        super().__init__(parent)
        self._show_error = show_error
        self._jobs: list[Job] = []

    def start(self, fn: Callable, *args: Any, slot: str | None = None, on_done: Callable | None = None,
              on_error: Callable | None = None, always: Callable | None = None, cancel: Callable | None = None,
              callbacks: bool = False, setup: Callable | None = None, **kwargs: Any) -> w.Worker:
        """Run `fn(*args, **kwargs)` off the GUI thread.

        `slot`: a job already in that slot is cancelled and its result dropped. `callbacks=True` passes the
        worker as `callbacks=(worker,)`, so core's training hooks arrive as the worker's signals. `always` runs
        when the job ends, even when its result is dropped (to clear a busy flag, say). `setup(worker)` may
        connect the worker's signals before it starts.
        """
        if slot is not None:
            self.cancel(slot)
        if callbacks:
            kwargs["callbacks"] = ()
        worker = w.Worker(fn, *args, **kwargs)
        if callbacks:
            worker.use_as_callbacks("callbacks")
        job = Job(slot, worker, cancel=cancel, always=always)
        if setup:
            setup(worker)
        done = w.Relay(lambda result: self._deliver(job, on_done, result), self)
        failed = w.Relay(lambda exc: self._deliver(job, on_error or self._show_error, exc), self)
        worker.finished.connect(done.call)
        worker.errored.connect(failed.call)
        job.thread = w.start(worker, self)
        finish = w.Relay(lambda _v: self._finish(job), self)
        job.thread.finished.connect(finish.fire)
        job.relays = [done, failed, finish]
        self._jobs.append(job)
        self.started.emit(slot or "")
        return worker

    def _deliver(self, job: Job, callback: Callable | None, value: Any) -> None:
        dropped = job.stale
        self._close(job)  # `always` first: a busy flag is clear when the result's handler runs
        if not dropped and callback is not None:
            callback(value)

    def _close(self, job: Job) -> None:
        if not job.closed:
            job.closed = True
            if job.always is not None:
                job.always(job.stale)

    def _finish(self, job: Job) -> None:
        """The thread has ended: release its worker and relays, here on the GUI thread."""
        if job in self._jobs:
            self._jobs.remove(job)
        job.thread.wait()
        job.thread.deleteLater()
        for relay in job.relays:
            relay.deleteLater()
        self._close(job)
        self.ended.emit(job.slot or "")

    def cancel(self, slot: str) -> None:
        """Stop the job in `slot` (if it can stop early) and drop whatever it returns."""
        for job in self._jobs:
            if job.slot == slot and not job.stale and not job.closed:
                job.stale = True
                if job.cancel is not None:
                    job.cancel()

    def running(self, slot: str | None = None) -> bool:
        """Whether a job (in `slot`, or any) is still working on a result that will be delivered."""
        return any(not j.stale and not j.closed and j.thread.isRunning() and (slot is None or j.slot == slot)
                   for j in self._jobs)

    def wait(self, timeout_ms: int = 30000) -> None:
        """Block until every job's thread has ended (closing the window; tests)."""
        for job in list(self._jobs):
            job.thread.quit()
            job.thread.wait(timeout_ms)
