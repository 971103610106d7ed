"""The notebook API: `import workbench as wb` drives the same session commands as the window and the command line.

    s = wb.open("model.pt", model_source="models.py:Net", model_args={"hidden": 64})
    s.read_data("table.csv", label="price", threshold="median")
    run = s.train(task="binary", seed=1, epochs=5)      # options: the `convert` flags with underscores
    run.metrics["test"]["accuracy"]; run                   # a run shows its metrics and figures in a notebook
    clf = run.as_sklearn()                                 # a fitted scikit-learn classifier
    run.export("out/"); s.compare(*s.runs); s.save("session.json")

Every method runs the command synchronously and raises the typed error a user can fix (`WorkbenchError`
subclasses), never a window's message; its words name this API's arguments (`missing='drop'`, `trust=True`), not
the command line's flags.
"""

from __future__ import annotations

import functools
import html
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.errors import WorkbenchError, for_notebook
from workbench.core.workflow.options import recipe_changes
from workbench.core.workflow.session import SessionModel

if TYPE_CHECKING:
    from workbench.core.evaluate.errors_list import SplitSamples
    from workbench.core.evaluate.probe_sweep import ProbeSweep
    from workbench.core.export.export import ExportResult
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.pipeline import Run
    from workbench.core.workflow.runs import RunEntry
    from workbench.core.workflow.sklearn_model import RunClassifier


def _worded(fn: Any) -> Any:
    """`fn` raising its user errors in a notebook's words (core's messages name command-line flags)."""
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WorkbenchError as exc:
            exc.problem, exc.fix = for_notebook(exc.problem), for_notebook(exc.fix)
            exc.args = (for_notebook(str(exc.args[0])) if exc.args else "", *exc.args[1:])
            raise
    return call


def _in_notebook_words(cls: Any) -> Any:
    for name, value in list(vars(cls).items()):
        if callable(value) and not name.startswith("_"):
            setattr(cls, name, _worded(value))
    return cls


@_in_notebook_words
class Session:
    """A notebook's session: a `SessionModel` and methods that run its commands."""

    def __init__(self, model: SessionModel | None = None) -> None:
        if model is None:
            model = SessionModel()
            # as in the window: a class column of 3+ classes sets a multiclass task until the user names one, and a
            # continuous label column is cut at its median until the user names threshold= or bins=
            model.auto_task = model.auto_labels = True
        self.model = model

    @property
    def recipe(self) -> Recipe:
        return self.model.recipe

    def set(self, **options: Any) -> Session:
        """Change recipe fields by their option names (`lr=0.01`, `dropout=0.2`, `calibration="platt"`)."""
        changes = recipe_changes(options, self.model.recipe.head.task)
        self.model.set_recipe(self.model.recipe.replace(**changes))
        self._chosen(changes)
        return self

    def _chosen(self, changes: dict[str, Any]) -> None:
        """A task or labels named by the user are kept: no class count or median cut replaces them from now on."""
        if "head.task" in changes:
            self.model.auto_task, self.model.task_applied = False, ""
        if "data.label_mode" in changes:  # threshold= or bins= (or label_mode=): no median cut replaces them
            self.model.auto_labels, self.model.labels_applied = False, ""

    def open_model(self, path: str | Path, model_source: str | None = None, model_args: dict[str, Any] | None = None,
                   input_shape: tuple[int, ...] | None = None, mlp_activation: str | None = None,
                   trust: bool = False) -> Session:
        """Open (another) checkpoint: nothing of the last model's settings carries over."""
        from workbench.core.workflow.commands import OpenModel

        OpenModel(self.model, path, model_source, model_args, input_shape, mlp_activation, trust).run()
        return self

    def read_data(self, path: str | Path, label: str | None = None, features: list[str] | None = None,
                  threshold: float | str | None = None, bins: int | None = None, sheet: str | None = None,
                  missing: str | None = None, **options: Any) -> Session:
        """Read labelled data. `threshold` (a number or "median") makes binary labels of a continuous `label`,
        `bins` K quantile classes; `features` the columns to use (default: the numeric ones)."""
        from workbench.core.workflow.commands import ReadData

        given = {"label": label, "features": features, "sheet": sheet, "missing": missing, "bins": bins, **options}
        if threshold is not None:
            given["threshold"] = threshold
        changes = recipe_changes({k: v for k, v in given.items() if v is not None}, self.model.recipe.head.task)
        if label is not None and label != self.model.recipe.data.label and "data.label_mode" not in changes:
            # another label column without a cut: the last column's threshold or bins were that column's
            changes = {"data.label_mode": "column", "data.threshold": None, **changes}
        before = self.model.data_state()
        self._chosen(changes)
        try:
            if label is None and str(path) != self.model.recipe.data.path:
                ReadData(self.model, path, sheet).run()  # a new file: its label column is found as the window does
                self.model.update(**changes)
            else:  # the choices for this file first, so that reading it keeps them
                self.model.update(**{"data.path": str(path), "data.features": (), "data.classes": (),
                                     "data.sheet": sheet or "", **self.model.labels_anew(), **changes})
                ReadData(self.model, path, sheet).run()
            self.model.require_data()
        except WorkbenchError:
            self.model.restore_data_state(before)  # the data and choices read before, whatever file failed
            raise
        if self.model.labels_applied and "data.label_mode" not in changes:
            warnings.warn(f"Labels cut at the median (binary): {self.model.labels_applied}. Pass threshold= or bins= "
                          "to read_data to choose the labels.", stacklevel=2)
        found = self.model.task_proposal()
        if found is not None and found.applied:
            warnings.warn(f"Task set to {found.task}: {found.reason}. Pass task= to read_data or train to choose "
                          "another.", stacklevel=2)
        return self

    def train(self, **options: Any) -> RunView:
        """Train a new head (options as `set` takes them); the run becomes the session's current run."""
        from workbench.core.workflow.run_commands import Train

        return self._view(self._with_options(options, lambda: Train(self.model).run()))

    def baseline(self, **options: Any) -> RunView:
        """The no-training baseline (binary): the regression output, Platt-calibrated."""
        from workbench.core.workflow.run_commands import Baseline

        return self._view(self._with_options(options, lambda: Baseline(self.model).run()))

    def _with_options(self, options: dict[str, Any], run: Any) -> Any:
        """`run()` under the recipe `options` make; a refused run leaves the recipe as it was (a cut at a layer
        the model cannot take would otherwise refuse every later run)."""
        m = self.model
        before = m.recipe, m.auto_task, m.task_applied, m.auto_labels, m.labels_applied
        try:
            if options:
                self.set(**options)
            m.require_data()
            return run()
        except WorkbenchError:
            m.set_recipe(before[0])
            m.auto_task, m.task_applied, m.auto_labels, m.labels_applied = before[1:]
            raise

    def probe(self) -> ProbeSweep | None:
        """A linear probe at every layer the head can be attached at (see evaluate.probe_sweep); print it for the
        table, or set cut_at to a row's layer: `session.set(cut_at="layer3")`."""
        from workbench.core.workflow.probe_command import Probe

        result: ProbeSweep | None = Probe(self.model).run()
        return result

    @property
    def runs(self) -> list[RunView]:
        return [RunView(self.model, e.id) for e in self.model.entries]

    @property
    def run(self) -> RunView | None:
        """The current run."""
        return RunView(self.model, self.model.current) if self.model.current is not None else None

    def compare(self, *runs: RunView | str) -> Comparison:
        """Runs (default: all) side by side on the same test split, with paired intervals against the first."""
        from workbench.core.workflow.run_commands import compare

        ids = [r.id if isinstance(r, RunView) else self._id(r) for r in runs] or None
        return Comparison(compare(self.model, ids))

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Save the session: its recipe, model and data (paths and hashes) and each run with its weights. Never
        over an input; an existing file is replaced only with overwrite=True."""
        from workbench.core.workflow.session_commands import SaveSession

        _may_write(path, self.model, overwrite)
        saved: Path = SaveSession(self.model, path).run()
        return saved

    def _view(self, run: Run) -> RunView:
        entry = self.model.entry_of(run)
        assert entry is not None  # the command added it
        return RunView(self.model, entry.id)

    def _id(self, name_or_id: str) -> str:
        for entry in self.model.entries:
            if name_or_id in (entry.id, entry.name):
                return entry.id
        raise KeyError(f"no run is named {name_or_id!r}")

    def __repr__(self) -> str:
        loaded = self.model.loaded
        return (f"<workbench Session: {Path(loaded.path).name if loaded is not None else 'no model'}, "
                f"{self.recipe.data.path or 'no data'}, {len(self.model.entries)} run(s)>")


@_in_notebook_words
class RunView:
    """One run of a session, by id: its metrics, figures, calibration, threshold, export, scikit-learn view."""

    def __init__(self, model: SessionModel, run_id: str) -> None:
        self.model, self.id = model, run_id

    @property
    def entry(self) -> RunEntry:
        entry = self.model.entry(self.id)
        if entry is None:
            raise KeyError(f"run {self.id} is no longer in the session")
        return entry

    @property
    def run(self) -> Run:
        """The live `pipeline.Run` (a JobError names why a comparison-only run has none)."""
        from workbench.core.workflow.run_commands import live_entry

        found: Run = live_entry(self.model, self.id).run
        return found

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def metrics(self) -> dict[str, Any]:
        """The run's metrics (what metrics.json holds)."""
        found: dict[str, Any] = self.entry.summary["metrics"]
        return found

    def calibrate(self, method: str) -> RunView:
        from workbench.core.workflow.run_commands import Calibrate

        Calibrate(self.model, method, self.id).run()
        return self

    def set_threshold(self, threshold: float) -> RunView:
        from workbench.core.workflow.run_commands import SetThreshold

        SetThreshold(self.model, threshold, self.id).run()
        return self

    def decide(self, **fields: Any) -> RunView:
        """The run's decision fields, e.g. `decide(conformal_alpha=0.2, policy="cost", costs=(0, 1, 5, 0))`; its
        decisions recomputed (`metrics["test"]["conformal"]`, `["decision_policy"]`, `["abstention"]`)."""
        from workbench.core.workflow.decision_commands import SetDecisions

        SetDecisions(self.model, self.id, **fields).run()
        return self

    def rebin(self, binning: str) -> RunView:
        from workbench.core.workflow.run_commands import Rebin

        Rebin(self.model, binning, self.id).run()
        return self

    def export(self, folder: str | Path, overwrite: bool = False, onnx: bool = False) -> ExportResult:
        from workbench.core.safety.output_paths import OutputExistsError
        from workbench.core.workflow.run_commands import Export

        try:
            result: ExportResult = Export(self.model, folder, self.id, overwrite, onnx).run()
        except OutputExistsError as exc:  # the fix in a notebook's words, not a flag's or a dialog's
            raise OutputExistsError(exc.problem, "Choose another folder, or pass overwrite=True to replace it.",
                                    exc.path) from None
        return result

    def report(self, path: str | Path, overwrite: bool = False) -> Path:
        """A self-contained HTML report of the run. Never over an input (the data, the model source, the
        checkpoint); an existing file is replaced only with overwrite=True."""
        from workbench.core.evaluate.report import run_report

        _may_write(path, self.model, overwrite)
        return run_report(self.run, path, self.name)

    def test_samples(self) -> SplitSamples:
        """The test split's samples with labels, probabilities and decisions (what a confusion cell lists)."""
        return self.run.test_samples()

    def as_sklearn(self) -> RunClassifier:
        from workbench.core.workflow.sklearn_model import RunClassifier

        return RunClassifier(self.run)

    def _repr_html_(self) -> str:
        from workbench.core.evaluate.report import run_fragment

        return run_fragment(self.metrics, self.name, self.entry.note)

    def __repr__(self) -> str:
        test = self.metrics.get("test", {})
        acc = f", test accuracy {test['accuracy']:.3f}" if "accuracy" in test else ""
        return f"<workbench run {self.name!r}{acc}>"


class Comparison:
    """`compare.table`'s result, readable in a notebook (`.table` holds the dict)."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.table = table

    def __str__(self) -> str:
        from workbench.core.evaluate.compare import format_table

        return format_table(self.table)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def _may_write(path: str | Path, model: SessionModel, overwrite: bool) -> None:
    """Refuse a file that any run or the open model was made from; an existing other file needs overwrite=True
    (the same rule as the command line's --report and the window's dialogs, in a notebook's words)."""
    from workbench.core.safety.output_paths import OutputExistsError, check_output_file
    from workbench.core.workflow.protected import run_inputs, session_inputs

    protected = session_inputs(model)
    for entry in model.entries:
        if entry.run is not None:
            protected = {**run_inputs(entry.run), **protected}
    try:
        check_output_file(path, protected, overwrite)
    except OutputExistsError as exc:
        raise OutputExistsError(exc.problem, "Choose another file name, or pass overwrite=True to replace it.",
                                exc.path) from None


@_worded
def open(path: str | Path, model_source: str | None = None, model_args: dict[str, Any] | None = None,  # noqa: A001
         input_shape: tuple[int, ...] | None = None, mlp_activation: str | None = None, trust: bool = False
         ) -> Session:
    """Open a regression checkpoint in a new session (`trust=True` only for a file you know: see the README)."""
    return Session().open_model(path, model_source, model_args, input_shape, mlp_activation, trust)


@_worded
def open_session(path: str | Path, trust: bool = False, replacements: dict[str, str] | None = None) -> Session:
    """Continue a saved session: its model and data open again and its runs are live (`replacements`: new paths for
    inputs that moved, by the path they were saved with)."""
    from workbench.core.workflow.session_commands import OpenSession

    session = Session()
    opened = OpenSession(session.model, path, trust, replacements).run()
    for reset in opened.reset:
        warnings.warn(f"The session's next-run setting {reset}", stacklevel=2)
    return session
