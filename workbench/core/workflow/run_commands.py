"""Session commands that make runs and act on them: train, baseline, calibrate, set the threshold, rebin,
export, compare.

A command on a run (`RunJob`) works on a copy of it and commits onto the live run through the session. If
another command committed onto that run meanwhile (the threshold moved while a calibration was fitted), the
commit redoes its change on the newer state, so neither change is lost and the worker never writes the run
the window shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.errors import RecipeError, WorkbenchError
from workbench.core.workflow.jobs import Job, JobError, copy_run

if TYPE_CHECKING:
    from workbench.core.export.export import ExportResult
    from workbench.core.train.distributed import Distributed
    from workbench.core.workflow.pipeline import Run
    from workbench.core.workflow.runs import RunEntry
    from workbench.core.workflow.session import SessionModel


def live_entry(session: SessionModel, run_id: str | None = None) -> RunEntry:
    """The entry of run `run_id` (default: the current run), which must have a live run."""
    entry = session.entry(run_id if run_id is not None else session.current)
    if entry is None:
        raise JobError("no run is picked.", "Train a head, fit the baseline, or pick a run first.")
    if entry.run is None:
        raise JobError(f"run '{entry.name}' is listed for comparison only ({entry.comparison_only}).",
                       "Pick a run made or reopened in this session.")
    return entry


class Train(Job["Run"]):
    """Train a new head with the session's recipe on its data; the run joins the session as the current one.
    `leave_a_core`: train with one CPU thread fewer (the window keeps one to draw with). `dist`: train as one
    process of a torchrun job (train.distributed); a rank other than 0 gets a run without metrics."""

    kind = "train"
    replaces = ("baseline",)
    locks = True

    def __init__(self, session: SessionModel, leave_a_core: bool = False, dist: Distributed | None = None) -> None:
        from workbench.core.recipe import validate

        if session.data is not None and session.loaded is not None and not session.busy:
            from workbench.core.decide.decisions import check_classes

            check_classes(session.recipe, len(session.data.classes))  # typed, so each front end names the field
        blockers = session.blockers()
        if blockers:
            raise JobError(f"cannot train: {blockers[0].rstrip('.')}.", "Fix that first.")
        super().__init__(session, "Training …")
        self.recipe = validate(session.recipe)
        from workbench.core.decide.unlabelled import check_prior_from

        check_prior_from(self.recipe.decide.prior_from, session.data, self.recipe)  # before training, not after it
        self.loaded, self.leave_a_core, self.dist = session.loaded, leave_a_core, dist
        # A copy: training records its images' normalisation and augmentation on it.
        self.data = dataclasses.replace(session.data)

    def work(self, callbacks: Iterable[object] = ()) -> Run:
        from workbench.core.workflow.repeats import train_repeats  # train.repeats = 1: one train_run

        if self.leave_a_core:
            from workbench.core.train.threads import call_leaving_a_core

            run: Run = call_leaving_a_core(train_repeats, self.recipe, self.loaded, self.data, callbacks, self.stop,
                                           self.dist)
            return run
        return train_repeats(self.recipe, self.loaded, self.data, callbacks, self.stop, self.dist)

    def commit(self, result: Run) -> Run:
        self.session.add_run(result, asked=self.recipe)
        return result


class Baseline(Job["Run"]):
    """The no-training baseline: the regression output itself, Platt-calibrated (binary) or cut into ordered
    classes at its quantiles (ordinal, or multiclass with ordered classes), as a run."""

    kind = "baseline"
    replaces = ("train",)
    locks = True

    def __init__(self, session: SessionModel) -> None:
        blockers = [b for b in session.blockers() if not b.startswith("train.")]
        if blockers:
            raise JobError(f"cannot fit the baseline: {blockers[0].rstrip('.')}.", "Fix that first.")
        from workbench.core.decide.unlabelled import check_prior_from
        from workbench.core.workflow.baseline import check_baseline

        r = session.recipe
        check_baseline(r, session.data)
        check_prior_from(r.decide.prior_from, session.data, r)
        super().__init__(session, "Fitting the no-training baseline …")
        self.recipe, self.loaded, self.data = r, session.loaded, dataclasses.replace(session.data)

    def work(self, callbacks: Iterable[object] = ()) -> Run:
        from workbench.core.workflow.baseline import baseline_run

        return baseline_run(self.recipe, self.loaded, self.data)

    def commit(self, result: Run) -> Run:
        # named by what the session asked, as a trained run is (the baseline records what auto chose)
        self.session.add_run(result, asked=self.recipe)
        return result


def baseline_problem(session: SessionModel) -> WorkbenchError | None:
    """Why the baseline cannot be fitted now (None when it can): making its command checks the session, and
    making one starts nothing. The window's Baseline button and its offer on the Checks box both ask this."""
    try:
        Baseline(session)
    except WorkbenchError as exc:
        return exc
    return None


class RunJob(Job["Run"]):
    """A command on one run (default: the current one): `change` edits a copy; the commit lands on the live run."""

    def __init__(self, session: SessionModel, run_id: str | None = None, title: str = "") -> None:
        entry = live_entry(session, run_id)
        super().__init__(session, title)
        self.run_id, self.base = entry.id, entry.version
        self.copy = copy_run(entry.run)

    def change(self, run: Run) -> None:
        raise NotImplementedError

    def redo(self, fresh: Run, done: Run) -> None:
        """Apply this command to `fresh` (the live run as it is now), given `done` (the copy the work changed)."""
        self.change(fresh)

    def work(self, callbacks: Iterable[object] = ()) -> Run:
        self.change(self.copy)
        return self.copy

    def commit(self, result: Run) -> Run | None:
        entry = self.session.entry(self.run_id)
        if entry is None or entry.run is None:
            return None  # removed meanwhile
        if entry.version != self.base:
            fresh = copy_run(entry.run)
            self.redo(fresh, result)
            result = fresh
        self.session.commit_run(entry, result)
        live: Run = entry.run
        return live


class Calibrate(RunJob):
    """Fit calibration `method` on the run's calibration split and evaluate again; the session's recipe takes the
    method too, so a saved recipe reproduces what is shown."""

    kind = "calibrate"
    locks = True

    def __init__(self, session: SessionModel, method: str, run_id: str | None = None) -> None:
        from workbench.core.recipe import CALIBRATIONS

        if method not in CALIBRATIONS:
            raise RecipeError(f"calibration must be one of {', '.join(CALIBRATIONS)}, not {method!r}.",
                              "Choose another method.", field="calibration")
        super().__init__(session, run_id, f"Calibrating ({method}) …")
        self.method = method
        self.copy.recipe.replace(calibration=method)  # a method that does not fit the task: RecipeError now

    def change(self, run: Run) -> None:
        from workbench.core.workflow.pipeline import calibrate_run

        calibrate_run(run, self.method)

    def redo(self, fresh: Run, done: Run) -> None:
        from workbench.core.workflow.pipeline import evaluate_run

        fresh.recipe = fresh.recipe.replace(calibration=self.method)
        fresh.calibration, fresh.calibration_check = done.calibration, done.calibration_check
        evaluate_run(fresh)

    def commit(self, result: Run) -> Run | None:
        run = super().commit(result)
        if run is not None:
            self.session.update(calibration=self.method)
        return run


class SetThreshold(RunJob):
    """The binary decision threshold of a run (p(positive) >= t says positive); its metrics follow. A threshold
    the user sets replaces a decision policy's pick (the run's and the session's policy become `threshold`), so
    the metrics, `as_sklearn().predict` and the export all decide at it. It is read on the scale `test.threshold`
    reports (the calibrated probabilities before any prior correction, the slider's) and stored as its corrected
    equivalent, which the `threshold` policy applies to the probabilities handed on."""

    kind = "threshold"

    def __init__(self, session: SessionModel, threshold: float, run_id: str | None = None) -> None:
        super().__init__(session, run_id, "Scoring at the new threshold …")
        if not self.copy.binary:
            raise JobError("a decision threshold is for binary runs.", "Pick a binary run.")
        if not 0.0 < float(threshold) < 1.0:
            raise JobError(f"the threshold {threshold} is not between 0 and 1.", "Give a probability.")
        self.threshold = float(threshold)

    def change(self, run: Run) -> None:
        from workbench.core.decide.decisions import corrected_threshold
        from workbench.core.workflow.pipeline import evaluate_run

        run.threshold = corrected_threshold(run, self.threshold)
        if run.recipe.decide.policy != "threshold":
            run.recipe = run.recipe.replace(**{"decide.policy": "threshold"})
        evaluate_run(run)

    def commit(self, result: Run) -> Run | None:
        run = super().commit(result)
        if run is not None and self.session.recipe.decide.policy != "threshold":
            self.session.update(**{"decide.policy": "threshold"})  # the next run decides as this one now does
        return run


class Rebin(RunJob):
    """The run's reliability diagram and ECE with equal-width or equal-mass bins."""

    kind = "rebin"

    def __init__(self, session: SessionModel, binning: str, run_id: str | None = None) -> None:
        from workbench.core.recipe import BINNINGS

        if binning not in BINNINGS:
            raise RecipeError(f"binning must be one of {', '.join(BINNINGS)}, not {binning!r}.",
                              "Choose width or mass.", field="binning")
        super().__init__(session, run_id, "Binning again …")
        self.binning = binning

    def change(self, run: Run) -> None:
        from workbench.core.workflow.pipeline import rebin_run

        rebin_run(run, self.binning)


class Export(Job["ExportResult"]):
    """Write a run (default: the current one) as a folder that loads in plain PyTorch. The folder is checked
    before any work: never the checkpoint, the data or the model source, never over another export unasked."""

    kind = "export"

    def __init__(self, session: SessionModel, folder: str | Path, run_id: str | None = None,
                 overwrite: bool = False, onnx: bool = False) -> None:
        from workbench.core.export.export import check_target
        from workbench.core.workflow.protected import run_inputs

        entry = live_entry(session, run_id)
        run = entry.run
        check_target(Path(folder), run.loaded.path, overwrite, run_inputs(run))
        super().__init__(session, f"Exporting to {Path(folder).name} …")
        self.run_id, self.copy = entry.id, copy_run(run)
        self.folder, self.overwrite, self.onnx = Path(folder), overwrite, onnx

    def work(self, callbacks: Iterable[object] = ()) -> ExportResult:
        from workbench.core.workflow.pipeline import export_run

        return export_run(self.copy, self.folder, self.overwrite, self.onnx)

    def commit(self, result: ExportResult) -> ExportResult:
        entry = self.session.entry(self.run_id)
        if entry is not None:
            entry.summary["export"] = str(result.folder)
        return result


def compare(session: SessionModel, run_ids: list[str] | None = None) -> dict[str, Any]:
    """The comparison table of runs (default: all), live or comparison-only: values with intervals, the best in
    each column, paired intervals of each run against the first, whether they share one test split."""
    from workbench.core.evaluate.compare import table

    if run_ids is not None and len(set(run_ids)) < len(run_ids):
        twice = next(i for i in run_ids if run_ids.count(i) > 1)
        raise JobError(f"the run {twice} is named twice: a run compared with itself shows no difference.",
                       "Name each run once.")
    entries = session.entries if run_ids is None else [e for i in run_ids if (e := session.entry(i)) is not None]
    if not entries:
        raise JobError("there are no runs to compare.", "Train a head or fit the baseline first.")
    return table([e.summary for e in entries])
