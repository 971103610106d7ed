"""The job runner and its worker: results in order, errors as signals, a replaced job's result dropped."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QObject, Signal, Slot

from workbench.core.errors import DataError
from workbench.gui.jobs import JobRunner


@pytest.fixture
def runner(qtbot):
    errors = []
    runner = JobRunner(errors.append)
    runner.errors = errors
    yield runner
    runner.wait()


class _Hooks:
    """What core's trainer does with its callbacks, on the worker thread."""

    def __call__(self, callbacks=()):
        for cb in callbacks:
            cb.on_train_begin({"n": 3})
            for i in range(3):
                cb.on_batch_end({"batch": i})
            cb.on_epoch_end({"epoch": 1})
            cb.on_train_end({})
        return "trained"


class _Recorder(QObject):
    """Lives on the GUI thread, so the worker's signals reach its slots queued, in emission order."""

    begun, batch, epoch = Signal(), Signal(), Signal()

    def __init__(self):
        super().__init__()
        self.batches: list[int] = []

    @Slot(object)
    def on_begun(self, _info):
        self.begun.emit()

    @Slot(object)
    def on_batch(self, infos):
        if not self.batches:  # batches come throttled, in one or more groups: signal the first group
            self.batch.emit()
        self.batches += [i["batch"] for i in infos]

    @Slot(object)
    def on_epoch(self, _info):
        self.epoch.emit()


def test_worker_signals_arrive_in_order(runner, qtbot):
    recorder = _Recorder()
    results = []

    def wire(worker):
        worker.begun.connect(recorder.on_begun)
        worker.batch.connect(recorder.on_batch)
        worker.epoch.connect(recorder.on_epoch)

    with qtbot.waitSignals([recorder.begun, recorder.batch, recorder.epoch, runner.ended], order="strict",
                           timeout=10000):
        runner.start(_Hooks(), callbacks=True, on_done=results.append, setup=wire)
    assert recorder.batches == [0, 1, 2] and results == ["trained"]


def test_an_error_comes_back_as_a_signal_and_is_shown(runner, qtbot):
    def fails():
        raise DataError("the table is empty.", "Add rows.", "t.csv")

    got = []
    with qtbot.waitSignals([runner.started, runner.ended], order="strict", timeout=10000):
        runner.start(fails, on_error=got.append)
    assert isinstance(got[0], DataError) and not runner.errors
    with qtbot.waitSignal(runner.ended, timeout=10000):
        runner.start(fails)  # no handler: the window's error dialog gets it
    assert isinstance(runner.errors[0], DataError)


def test_a_new_job_in_a_slot_cancels_and_drops_the_old_one(runner, qtbot):
    release = threading.Event()
    cancelled = []
    results, ended = [], []

    def slow():
        release.wait(10)
        return "old"

    runner.start(slow, slot="data", on_done=results.append, cancel=lambda: cancelled.append(True),
                 always=ended.append)
    with qtbot.waitSignal(runner.ended, timeout=10000):
        runner.start(lambda: "new", slot="data", on_done=results.append, always=ended.append)
    assert cancelled == [True] and results == ["new"] and runner.running("data") is False
    with qtbot.waitSignal(runner.ended, timeout=10000):
        release.set()
    assert results == ["new"], "the replaced job's result never lands"
    assert ended == [False, True]  # `always` runs for both; the old one is marked dropped
    assert not runner.running()


def test_jobs_without_a_slot_run_side_by_side(runner, qtbot):
    results = []
    for i in range(3):
        runner.start(lambda i=i: i, on_done=results.append)
    qtbot.waitUntil(lambda: len(results) == 3 and not runner.running(), timeout=10000)
    assert sorted(results) == [0, 1, 2]


class _Session:
    """What a core session does for its runner: begin (cancelling an older job of the kind), end, busy."""

    def __init__(self):
        self.jobs, self.log = [], []

    def begin_job(self, job):
        for other in self.jobs:
            if other.kind == job.kind:
                other.cancel()
        self.jobs.append(job)
        self.log.append(("begin", job.name, threading.current_thread() is threading.main_thread()))

    def end_job(self, job):
        self.jobs.remove(job)
        self.log.append(("end", job.name, threading.current_thread() is threading.main_thread()))


class _Command:
    """A core command's shape (workflow.jobs.Job): work on any thread, deliver (end, then commit) on the session's."""

    kind = "train"

    def __init__(self, session, name, release=None, fails=False):
        from workbench.core.train.train import StopToken

        self.session, self.name, self.release, self.fails = session, name, release, fails
        self.stop, self.stale, self.callbacks = StopToken(), False, None

    def work(self, callbacks=()):
        self.callbacks = callbacks
        if self.release is not None:
            self.release.wait(10)
        if self.fails:
            raise DataError("the table is empty.", "Add rows.", "t.csv")
        return self.name

    def cancel(self):
        self.stale = True
        self.stop.stop()

    def deliver(self, result):
        self.session.end_job(self)
        if self.stale:
            return None
        self.session.log.append(("commit", result, threading.current_thread() is threading.main_thread()))
        return result

    def deliver_error(self, exc):
        self.session.end_job(self)
        return not self.stale


def test_core_commands_begin_work_off_thread_and_commit_here(runner, qtbot):
    session, done, failed, wired = _Session(), [], [], []
    runner.command_started.connect(lambda job, worker: wired.append((job.name, worker)))
    release = threading.Event()
    first = _Command(session, "first", release)
    runner.run_command(first, on_done=done.append)
    assert runner.token("train") is first.stop and wired[0][0] == "first"
    second = _Command(session, "second")
    with qtbot.waitSignal(runner.ended, timeout=10000):
        runner.run_command(second, on_done=done.append)
    assert first.stale and first.stop.stopped and done == ["second"]
    with qtbot.waitSignal(runner.ended, timeout=10000):
        release.set()
    assert done == ["second"], "the replaced command's result never lands"
    assert ("end", "first", True) in session.log and not session.jobs, "a dropped command still ends on the session"
    assert ("commit", "second", True) in session.log and not any(e[0] == "commit" and e[1] == "first"
                                                                 for e in session.log)
    assert second.callbacks == (wired[1][1],), "the worker is the command's callbacks (progress as signals)"
    with qtbot.waitSignal(runner.ended, timeout=10000):
        runner.run_command(_Command(session, "bad", fails=True), on_error=lambda job, exc: failed.append(exc))
    assert isinstance(failed[0], DataError) and not session.jobs and not runner.errors
