"""The one owner of the window's background jobs: core's session commands, run off the GUI thread.

Core's commands (`workbench.core.workflow.jobs.Job`: open a model, read data, train, calibrate, export, …) are
run by `run_command`: the runner begins the command on its session (the session cancels an older job of the same
kind, and is busy while a job that `locks` is in flight: the runner's begin and delivery are the only things that
change it, Orange3's `ConcurrentWidgetMixin`), does its work on a `worker.Worker` on its own QThread with the
worker as its callbacks (training progress arrives as Qt signals), and delivers the result or the error back on
the GUI thread, where the command commits through the model. Pause, resume and stop act on the command's
StopToken, found by its kind.

`start` is the primitive underneath (Orange3's `ConcurrentMixin.start()`): a plain function in an optional named
slot, where a new job cancels the one before it and drops its result.
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
    token: Any = None  # its StopToken, when it can be paused and stopped
    command: Any = None  # the core command (workflow.jobs.Job) whose work this is, if any
    thread_ended: Callable[[], None] | None = None  # after its thread ended and any result was delivered
    stale: bool = False  # replaced or cancelled: its result and error are dropped
    closed: bool = False  # its result, error or drop has been handled
    relays: list = field(default_factory=list)


class JobRunner(QObject):
    """Runs core commands (and plain functions) on worker threads; pause and stop go through it."""

    started = Signal(str)  # slot name ("" for none)
    ended = Signal(str)
    command_started = Signal(object, object)  # a core command (workflow.jobs.Job) and the worker doing its work

    def __init__(self, show_error: Callable[[BaseException], None], parent: QObject | None = None):
        super().__init__(parent)
        self._show_error = show_error
        self._jobs: list[Job] = []

    def start(self, fn: Callable, *args: Any, slot: str | None = None, on_done: Callable | None = None,
              on_error: Callable | None = None, always: Callable | None = None, cancel: Callable | None = None,
              callbacks: bool = False, setup: Callable | None = None, token: Any = None, command: Any = None,
              thread_ended: Callable | None = None, **kwargs: Any) -> w.Worker:
        """Run `fn(*args, **kwargs)` off the GUI thread.

        `slot`: a job already in that slot is cancelled and its result dropped. `callbacks=True` passes the
        worker as `callbacks=(worker,)`, so core's training hooks arrive as the worker's signals. `always` runs
        when the job ends, even when its result is dropped. `setup(worker)` may connect the worker's signals
        before it starts. `token`: the StopToken that `pause` and `stop` act on.
        """
        if slot is not None:
            self.cancel(slot)
        if callbacks:
            kwargs["callbacks"] = ()
        worker = w.Worker(fn, *args, **kwargs)
        if callbacks:
            worker.use_as_callbacks("callbacks")
        job = Job(slot, worker, cancel=cancel, always=always, token=token, command=command,
                  thread_ended=thread_ended)
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
        self._close(job)  # `always` first, then the result's handler
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
        if job.thread_ended is not None:
            job.thread_ended()
        self.ended.emit(job.slot or "")

    # ----- core commands
    def run_command(self, job, on_done: Callable | None = None, on_error: Callable | None = None) -> w.Worker:
        """Run a core command (`workbench.core.workflow.jobs.Job`): begin it on its session (which cancels an older
        job of its kind and is busy while a locking job runs), do its work on a worker with the worker as its
        callbacks, and deliver the result or the error back here, on the GUI thread, where the command commits.

        `on_done(value)` gets what the commit returned (not called for a job that went stale); `on_error(job, exc)`
        gets an error the user should see (default: the error dialog)."""
        job.session.begin_job(job)
        delivered = []

        def done(result):
            delivered.append(True)
            value = job.deliver(result)
            if not job.stale and on_done is not None:
                on_done(value)

        def failed(exc):
            delivered.append(True)
            if job.deliver_error(exc):
                (on_error or (lambda _job, e: self._show_error(e)))(job, exc)

        def ended():  # a dropped result (or none at all) still ends the command on its session
            if not delivered:
                job.session.end_job(job)

        # No slot: the session cancels an older job of the kind (it goes stale), and its delivery must still run,
        # since that is what ends it on the session.
        return self.start(job.work, cancel=job.cancel, token=job.stop, command=job, on_done=done, on_error=failed,
                          thread_ended=ended, callbacks=True, setup=lambda wk: self.command_started.emit(job, wk))

    # ----- stopping
    def cancel(self, slot: str) -> None:
        """Stop the job in `slot` (if it can stop early) and drop whatever it returns."""
        for job in self._live(slot):
            job.stale = True
            if job.cancel is not None:
                job.cancel()

    def stop(self, slot: str) -> bool:
        """Ask the job in `slot` (or the command of that kind) to stop early; unlike `cancel`, what it returns
        still lands (a training keeps its best epoch so far). True when there was one to stop."""
        tokens = [j.token for j in self._live(slot) if j.token is not None]
        for token in tokens:
            token.stop()
        return bool(tokens)

    def pause(self, slot: str, paused: bool) -> None:
        """Pause (or resume) the job in `slot` (or the command of that kind) between its steps."""
        for job in self._live(slot):
            if job.token is not None:
                (job.token.pause if paused else job.token.resume)()

    def token(self, slot: str):
        """The StopToken of the live job in `slot`, or None."""
        return next((j.token for j in self._live(slot) if j.token is not None), None)

    def _live(self, slot: str) -> list[Job]:
        """The open jobs in `slot`, or doing the work of a core command of that kind that has not gone stale."""
        return [j for j in self._jobs if not j.stale and not j.closed and (
            j.slot == slot or (j.command is not None and j.command.kind == slot and not j.command.stale))]

    def running(self, slot: str | None = None) -> bool:
        """Whether a job (in `slot`, or any) is still working on a result that will be delivered."""
        return any(not j.stale and not j.closed and j.thread.isRunning() and (slot is None or j.slot == slot)
                   for j in self._jobs)

    def wait(self, timeout_ms: int = 30000) -> None:
        """Block until every job's thread has ended (closing the window; tests)."""
        for job in list(self._jobs):
            job.thread.quit()
            job.thread.wait(timeout_ms)
