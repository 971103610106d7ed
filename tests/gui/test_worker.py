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


def test_the_runner_owns_busy_and_the_stop_token(qtbot):
    busy: list[bool] = []
    runner = JobRunner(lambda exc: None, busy.append)
    release = threading.Event()
    seen = {}

    def work(stop):
        seen["stop"] = stop
        release.wait(10)
        return "stopped" if stop.stopped else "ran"

    results, idle = [], []
    runner.start(work, slot="train", locks=True, stoppable=True, on_done=results.append)
    runner.start(lambda: "read", slot="data")  # a job that does not change the runs does not make the window busy
    assert busy == [True] and runner.busy
    runner.when_idle(lambda: idle.append(results[:]))
    token = runner.token("train")
    runner.pause("train", True)
    assert token.paused
    runner.pause("train", False)
    assert runner.stop("train") and token.stopped and not token.paused
    release.set()
    qtbot.waitUntil(lambda: bool(idle), timeout=10000)
    assert busy == [True, False] and not runner.busy
    assert results == ["stopped"], "a stopped job's result still lands (unlike a cancelled one)"
    assert idle == [["stopped"]], "when_idle runs after the result of the job that ended has landed"
    assert seen["stop"] is token and runner.token("train") is None
    runner.wait()
