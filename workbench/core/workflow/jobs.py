"""Jobs: the work of a session command, done on copies and committed through the session model.

A command is a `Job` subclass (see `commands`, `run_commands`, `session_commands`). Its constructor validates the
command against the session's current state and raises a typed error when it cannot run; it takes what the work
needs as copies, never the session's own mutable objects. Then:

- `work(callbacks)` does the slow part. It runs on the caller's thread (`job.run()`: the command line, a
  notebook) or on a worker thread (the window's JobRunner), touches nothing but the job's own copies, and checks
  `job.stop` between steps (pause and stop come from there).
- `commit(result)` runs on the thread that owns the session (the GUI thread) and applies the result through the
  model, which emits events.

The runner owns busy state and cancellation: it calls `session.begin_job(job)` before the work and
`deliver(result)` or `deliver_error(exc)` after it, which end the job whatever happened. Beginning a job cancels
an earlier one of the same `kind` (and the kinds it `replaces`): a cancelled job is `stale` and its result is
dropped, so a stale result can never land (Orange's ConcurrentMixin). Nothing else makes the session busy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from workbench.core import progress
from workbench.core.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.core.train.train import StopToken
    from workbench.core.workflow.pipeline import Run

R = TypeVar("R")


class JobError(WorkbenchError):
    """A command that cannot run in the session's current state (nothing open, a job in the way)."""


class Job(Generic[R]):
    """One command's work and commit. Subclasses set `kind` and implement `work` and `commit`."""

    kind: ClassVar[str] = ""  # its slot: beginning a job cancels one of the same kind still in flight
    replaces: ClassVar[tuple[str, ...]] = ()  # other kinds it cancels when it begins
    locks: ClassVar[bool] = False  # the session is busy (forms locked, Train disabled) while it runs
    announces: ClassVar[bool] = False  # its title is the session's activity while it runs (the banner)

    # The session model (`session.SessionModel`, which sits above this module); commands declare it typed.
    session: Any

    def __init__(self, session: Any, title: str = "") -> None:
        from workbench.core.train.train import StopToken  # torch is imported when a job is made, not before

        self.session = session
        self.title = title  # what it is doing, in words ("Opening model.pt …")
        self.stop: StopToken = StopToken()  # the Stop button and pause act on it; `cancel` sets it too
        self.stale = False  # cancelled or replaced: whatever it returns is dropped
        self.run_id: str | None = None  # the run it works on a copy of, if any

    def work(self, callbacks: Iterable[object] = ()) -> R:
        raise NotImplementedError

    def commit(self, result: R) -> Any:
        raise NotImplementedError

    def failed(self, exc: BaseException) -> None:
        """What the model keeps of a failure (a data problem shown beside the columns); the runner still reports
        the error itself."""

    def retry_trusted(self) -> Job[Any] | None:
        """The same command with the file trusted, for a job whose work raised UntrustedFileError (None when
        trust does not apply)."""
        return None

    def cancel(self) -> None:
        """Stop the work at its next check and drop its result."""
        self.stale = True
        self.stop.stop("cancelled")

    # ----- what a runner calls
    def deliver(self, result: R) -> Any:
        """After `work` returned, on the session's thread: end the job, then commit unless it went stale."""
        self.session.end_job(self)
        return None if self.stale else self.commit(result)

    def deliver_error(self, exc: BaseException) -> bool:
        """After `work` raised, on the session's thread: end the job and let the model keep what it needs; True
        when the user should be told (False for a stale job)."""
        self.session.end_job(self)
        if self.stale:
            return False
        self.failed(exc)
        return True

    def run(self, callbacks: Iterable[object] = ()) -> Any:
        """The whole command on this thread: begin, work, commit; returns what `commit` returns."""
        self.session.begin_job(self)
        try:
            with progress.reporting(callbacks):  # slow steps deep in core report to the callbacks' on_progress
                result = self.work(callbacks)
        except BaseException as exc:
            self.deliver_error(exc)
            raise
        return self.deliver(result)


def copy_run(run: Run) -> Run:
    """A copy of a run that a job may change (recipe, calibration, threshold, metrics) while the session's run
    stays as it was. The model, logits and data are shared: no command changes them in place."""
    return dataclasses.replace(run, metrics=dict(run.metrics), calibration_check=dict(run.calibration_check))


def run_now(job: Job[Any]) -> Any:
    """The session's default way to start a job: synchronously (the command line, a notebook, tests)."""
    return job.run()
