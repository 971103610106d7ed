"""The working session, Qt-free: the recipe, the opened model, the data, and the session's runs.

napari's split: this is the model; the window observes its events and draws it, a script can drive it the same
way. Runs have stable, unique ids (random, saved in session files) that survive saving and reopening; never
`id(obj)`, which Python reuses once an object is freed.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from workbench.core.errors import WorkbenchError
from workbench.core.recipe import Recipe, problems

if TYPE_CHECKING:
    from workbench.core.data.columns import ColumnSummary
    from workbench.core.data.samples import Table
    from workbench.core.data.tables import RawTable
    from workbench.core.open.layer_tree import Inspection
    from workbench.core.open.load import LoadedModel
    from workbench.core.workflow.pipeline import Run


class Event:
    """A list of callbacks called in order with one value (psygnal/napari's EventEmitter, reduced)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[Any], None]] = []

    def connect(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.remove(callback)

    def emit(self, value: Any = None) -> None:
        for callback in list(self._callbacks):
            callback(value)


class Events:
    """The session's events; each carries the new value."""

    def __init__(self) -> None:
        self.recipe, self.model, self.inspection, self.raw = Event(), Event(), Event(), Event()
        self.table, self.data, self.data_error = Event(), Event(), Event()
        self.run, self.runs, self.busy, self.activity = Event(), Event(), Event(), Event()


@dataclass
class RunEntry:
    """One run of the session: its summary (what Compare, reports and session files read) and, while this
    session made it, the live `Run` that Evaluate and Export use."""

    id: str
    summary: dict[str, Any]
    run: Any = None  # pipeline.Run, or None for a run read back from a session file

    @property
    def name(self) -> str:
        return str(self.summary["name"])


@dataclass
class SessionModel:
    recipe: Recipe = field(default_factory=Recipe)
    loaded: Any = None  # load.LoadedModel
    inspection: Any = None  # layers.Inspection
    raw: Any = None  # tables.RawTable: a table file as read, every column (None for arrays, images, bundled sets)
    columns: Any = None  # columns.ColumnSummary of `raw`
    table: Any = None  # data.Table
    data: Any = None  # pipeline.PreparedData
    data_problem: str = ""
    busy: bool = False
    activity: str = ""  # what is being prepared right now ("Building the demo…"), for empty views to say
    describe_problem: Callable[[BaseException], str] = str  # the window names its own controls instead
    entries: list[RunEntry] = field(default_factory=list)
    current: str | None = None  # id of the run Evaluate, Export and the report show
    events: Events = field(default_factory=Events, repr=False, compare=False)
    # live runs a file may name again
    _detached: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _was_current: str | None = field(default=None, repr=False, compare=False)
    _saved: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # id -> name when last saved
    _numbers: Any = field(default_factory=lambda: itertools.count(1), repr=False, compare=False)

    # ----- the recipe
    def set_recipe(self, recipe: Recipe) -> None:
        if recipe != self.recipe:
            old, self.recipe = self.recipe, recipe
            self.events.recipe.emit(recipe)
            if self.raw is not None and _table_fields(old) != _table_fields(recipe):
                self.rebuild_table()
            elif self.table is not None and _data_fields(old) != _data_fields(recipe):
                self.relabel()

    def update(self, **changes: Any) -> None:
        self.set_recipe(self.recipe.with_changes(**changes))

    # ----- the model and the data
    def set_model(self, loaded: LoadedModel, inspection: Inspection) -> None:
        self.loaded, self.inspection = loaded, inspection
        self.select(None)
        self.events.model.emit(loaded)
        self.events.inspection.emit(inspection)
        if self.raw is not None:
            self.rebuild_table()  # the ticked features are checked against the new model's width
        elif self.table is not None and self.table.X.ndim == 2:
            self.set_table(self.table)  # flat rows of an .npz, read as sequences for a recurrent model

    def set_inspection(self, inspection: Inspection) -> None:
        self.inspection = inspection
        self.events.inspection.emit(inspection)

    def model_shape(self) -> tuple[int, ...] | None:
        """The opened model's input shape per sample, when it is known."""
        if self.recipe.input_shape:
            return tuple(self.recipe.input_shape)
        from workbench.core.workflow.pipeline import step_features

        if step_features(self.loaded):
            return None  # a recurrent model takes sequences of any length: the data's (see fit_sequences)
        if self.inspection is not None and getattr(self.inspection, "input_shape", None):
            return tuple(self.inspection.input_shape)
        if self.loaded is not None and self.loaded.input_shape:
            return tuple(self.loaded.input_shape)
        return None

    def set_raw(self, raw: RawTable | None, columns: ColumnSummary | None = None) -> None:
        """A table file as read (or None for arrays, images and bundled sets); its table is then built."""
        self.raw, self.columns = raw, columns
        self.events.raw.emit(raw)
        if raw is not None:
            self.rebuild_table()

    def rebuild_table(self) -> None:
        """The chosen columns of `raw` as a Table (fast: no file access). A problem (missing values, a width
        that does not match the model) is kept with the column list in view, never a dead end."""
        from workbench.core.data.data import table_from_raw

        d = self.recipe.data
        try:
            table = table_from_raw(self.raw, d.label, d.features, d.missing, self.model_shape(), self.columns)
        except WorkbenchError as exc:
            self._table_problem(exc)
            return
        self.set_table(table)

    def _table_problem(self, exc: BaseException) -> None:
        self.table, self.data = None, None
        self.data_problem = self.describe_problem(exc)
        self.events.table.emit(None)
        self.events.data_error.emit(self.data_problem)
        self.events.data.emit(None)

    def set_table(self, table: Table) -> None:
        """The data's table; flat rows are read as sequences when the model is recurrent (see fit_sequences)."""
        from workbench.core.workflow.pipeline import fit_sequences, step_features

        try:
            table = fit_sequences(table, self.model_shape(), step_features(self.loaded))
        except WorkbenchError as exc:
            self._table_problem(exc)
            return
        self.table = table
        self.data_problem = ""
        self.events.table.emit(table)
        self.relabel()

    def relabel(self) -> None:
        """Derive labels and splits for the current table and recipe (fast enough for the GUI thread)."""
        from workbench.core.workflow.pipeline import label_and_split

        if self.table is None:
            self.data = None
        else:
            bad = [p for p in problems(self.recipe) if p[0].startswith("data.") or p[0] == "head.task"]
            try:
                if bad:
                    raise WorkbenchError(f"{bad[0][0]} {bad[0][1]}.")
                self.data = label_and_split(self.table, self.recipe)
            except WorkbenchError as exc:
                self.data = None
                self.data_problem = self.describe_problem(exc)
                self.events.data_error.emit(self.data_problem)
        self.events.data.emit(self.data)

    def split_counts(self) -> dict[str, list[int]]:
        """Per split ("train", "val", "cal", "test") and over them all ("all"), how many samples of each class
        (empty without data): the Data tab's counts table and the form's imbalance proposal read these."""
        import numpy as np

        if self.data is None:
            return {}
        k = len(self.data.classes)
        counts = {name: np.bincount(self.data.labels(name), minlength=k).tolist() for name in self.data.splits}
        return {**counts, "all": np.bincount(self.data.y, minlength=k).tolist()}

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.events.busy.emit(busy)

    def set_activity(self, text: str) -> None:
        if text != self.activity:
            self.activity = text
            self.events.activity.emit(text)

    def blockers(self) -> list[str]:
        """Why training cannot start now (empty when it can), in the order a user would fix them."""
        found = ["training is running"] if self.busy else []
        if self.loaded is None:
            found.append("open a regression checkpoint first")
        found += [f"{name}: {reason}" for name, reason in problems(self.recipe)]
        if self.table is None:
            problem = self.data_problem if self.raw is not None else ""
            found.append(f"the data needs a choice on the Data tab: {problem}" if problem else
                         "choose labelled data first (Data tab)")
        elif self.data is None:
            found.append(f"the labels cannot be made: {self.data_problem}")
        return found

    # ----- runs
    @property
    def run(self) -> Run | None:
        """The live run Evaluate, Export and the report show (None when none is picked or it is not live)."""
        entry = self.entry(self.current)
        return entry.run if entry is not None else None

    @property
    def runs(self) -> list[dict[str, Any]]:
        """The summaries of every run, oldest first."""
        return [e.summary for e in self.entries]

    def entry(self, run_id: str | None) -> RunEntry | None:
        return next((e for e in self.entries if e.id == run_id), None)

    def entry_of(self, run: Run | None) -> RunEntry | None:
        return next((e for e in self.entries if e.run is run), None) if run is not None else None

    def set_run(self, run: Run | None) -> None:
        """Add `run` (or refresh it, after recalibration) and make it the current one; None picks none."""
        if run is None:
            self.select(None)
            return
        from workbench.core.workflow.session_files import summary

        entry = self.entry_of(run)
        if entry is None:
            run_id = self._new_id()
            name = f"{next(self._numbers)}: {run.kind} · {run.recipe.head.task} · {run.recipe.data.label}"
            entry = RunEntry(run_id, summary(run, name), run)
            self.entries.append(entry)
        else:
            entry.summary = summary(run, entry.name, entry.summary.get("export"))
        entry.summary["id"] = entry.id
        self.events.runs.emit(self.runs)
        self.select(entry.id)

    def select(self, run_id: str | None) -> None:
        self.current = run_id if self.entry(run_id) is not None else None
        self.events.run.emit(self.run)

    def rename(self, run_id: str, name: str) -> None:
        entry = self.entry(run_id)
        if entry is not None and name.strip():
            entry.summary["name"] = name.strip()
            self.events.runs.emit(self.runs)

    def remove(self, run_id: str) -> None:
        entry = self.entry(run_id)
        if entry is None:
            return
        self.entries.remove(entry)
        self._detached.pop(run_id, None)
        self.events.runs.emit(self.runs)
        if self.current == run_id:
            self.select(None)

    def note_export(self, run: Run | None, folder: str) -> None:
        entry = self.entry_of(run)
        if entry is not None:
            entry.summary["export"] = folder

    def set_runs(self, summaries: list[dict[str, Any]]) -> None:
        """Runs read back from a session file, for comparison; ids are kept. A run made in this window that the
        file also holds (saved, then reopened) is live again, and stays current if it was."""
        self._detached.update({e.id: e.run for e in self.entries if e.run is not None})
        current = self._was_current = self.current or self._was_current
        self.entries = []
        for summary in summaries:
            run_id = summary.get("id")
            if not isinstance(run_id, str) or self.entry(run_id) is not None:
                run_id = self._new_id()
            self.entries.append(RunEntry(run_id, {**summary, "id": run_id}, self._detached.get(run_id)))
        self._numbers = itertools.count(len(self.entries) + 1)
        self.events.runs.emit(self.runs)
        self.select(current)

    def mark_saved(self) -> None:
        """The runs as they are now are in a session file."""
        self._saved = {e.id: e.name for e in self.entries}

    def unsaved_runs(self) -> list[str]:
        """Ids of runs added or renamed since the session was last saved or opened."""
        return [e.id for e in self.entries if self._saved.get(e.id) != e.name]

    @staticmethod
    def _new_id() -> str:
        return uuid.uuid4().hex[:12]


def _table_fields(recipe: Recipe) -> tuple[Any, ...]:
    d = recipe.data
    return (d.label, d.features, d.missing, recipe.input_shape)


def _data_fields(recipe: Recipe) -> tuple[Any, ...]:
    d = recipe.data
    return (d.label_mode, d.threshold, d.bins, d.splits, d.standardize, d.classes, recipe.head.task, recipe.seed)
