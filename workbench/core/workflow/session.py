"""The working session, Qt-free: the recipe, the opened model, the data, the runs, the jobs in flight.

napari's split: this is the model; the window observes its events and draws it, the command line and a notebook
drive the same commands (`commands`, `run_commands`, `session_commands`). Its reactions live here, each once:

- a new model (`set_model` with the fields given for it) clears what belonged to the old one: its model source,
  arguments and input shape (unless given for this model), its per-layer freeze choices, the current run (runs of
  another model stay, marked as such); the table is rebuilt for the new width, images are read again at the new
  input size, and the model is inspected with the data's shape when the file gave none;
- a new label, features, missing-value policy or input shape rebuilds the table; labels, splits, task or seed
  relabel it; a resize policy or input size that differs from how images were read reads them again;
- a new MLP activation reopens a model rebuilt as an MLP; new data (a file at a new path) resets the choices
  that named the old file's columns and classes.

Reactions that need slow work start a job through `start` (synchronous by default; the window sets its runner).
Busy state belongs to the job runner: `begin_job`/`end_job` are what it calls, nothing else sets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from workbench.core.errors import WorkbenchError
from workbench.core.recipe import Recipe, problems
from workbench.core.workflow.jobs import run_now
from workbench.core.workflow.runs import RunEntry, RunList
from workbench.core.workflow.session_rules import SessionRules, class_choices_reset

if TYPE_CHECKING:
    from workbench.core.data.columns import ColumnSummary
    from workbench.core.data.samples import Table
    from workbench.core.data.tables import RawTable
    from workbench.core.open.layer_tree import Inspection
    from workbench.core.open.load import LoadedModel
    from workbench.core.workflow.jobs import Job

__all__ = ["SessionModel", "RunEntry", "MODEL_FIELDS", "REACTIONS"]

# The commands the reactions start, by what they do ("open", "inspect", "read"): `commands` sits above this
# module and registers its classes here when the workflow package is imported.
REACTIONS: dict[str, Callable[..., Any]] = {}

# Recipe fields that belong to the open model: a new model takes the values given for it, else these defaults.
MODEL_FIELDS: dict[str, Any] = {"model_source": "", "model_args": {}, "input_shape": ()}


@dataclass
class SessionModel(SessionRules, RunList):
    recipe: Recipe = field(default_factory=Recipe)
    loaded: Any = None  # load.LoadedModel
    refused_model: Any = None  # the checkpoint (Path) the last OpenModel could not open: what opening again retries
    inspection: Any = None  # layer_tree.Inspection
    raw: Any = None  # tables.RawTable: a table file as read, every column (None for arrays, images, bundled sets)
    columns: Any = None  # columns.ColumnSummary of `raw`
    table: Any = None  # samples.Table
    data: Any = None  # pipeline.PreparedData
    data_problem: str = ""  # why there is no table or no labels
    fit_problem: str = ""  # why the data's samples do not fit the open model (its inspection failed)
    fit_error: Any = None  # the typed error behind fit_problem
    data_exception: Any = None  # the typed error behind data_problem
    probe_sweep: Any = None  # evaluate.probe_sweep.ProbeSweep of the open model and data (the Probe command)
    activity: str = ""  # what is being prepared right now ("Opening model.pt …"), for empty views to say
    describe_problem: Callable[[BaseException], str] = str  # the window names its own controls instead
    auto_balance: bool = False  # the proposed loss weights follow the data (the window's box turns it on)
    auto_task: bool = False  # a class column's count sets the task until the user chooses (the window turns it on)
    task_applied: str = ""  # the task the proposal applied (said beside the labels)
    auto_labels: bool = False  # a continuous label column is cut at its median until the user chooses the labels
    labels_applied: str = ""  # why the median cut was applied (said beside the labels)
    unparsed: dict[str, str] = field(default_factory=dict)  # fields typed as text that did not read, and why
    jobs: list[Any] = field(default_factory=list, repr=False, compare=False)  # Jobs in flight
    # How reactions start a job: run it here (the command line, a notebook); the window sets its JobRunner's.
    start: Callable[[Any], Any] = field(default=run_now, repr=False, compare=False)
    _inspected: Any = field(default=None, repr=False, compare=False)  # the shape last inspected (or tried)
    _source: Any = field(default=None, repr=False, compare=False)  # the table as read, before fit_sequences
    _legacy_busy: bool = field(default=False, repr=False, compare=False)

    # ----- jobs (the runner's side)
    @property
    def busy(self) -> bool:
        """A job that locks the session (training, a baseline, a calibration) is running."""
        return self._legacy_busy or any(j.locks and not j.stale for j in self.jobs)

    def begin_job(self, job: Job[Any]) -> None:
        """A runner starts `job`: an earlier job of its kind (or of a kind it replaces) is cancelled."""
        was = self.busy
        for other in self.jobs:
            if other.kind == job.kind or other.kind in job.replaces:
                other.cancel()
        self.jobs.append(job)
        self._jobs_changed(was)

    def end_job(self, job: Job[Any]) -> None:
        """A runner's job has ended (its result, if any, is committed after this)."""
        if job in self.jobs:
            was = self.busy
            self.jobs.remove(job)
            self._jobs_changed(was)

    def job_on(self, run_id: str | None) -> Job[Any] | None:
        """The live job working on a copy of run `run_id`, if any."""
        return next((j for j in self.jobs if j.run_id == run_id and not j.stale), None) if run_id else None

    def _jobs_changed(self, was_busy: bool) -> None:
        announced = [j.title for j in self.jobs if j.announces and not j.stale]
        self.set_activity(announced[-1] if announced else "")
        if self.busy != was_busy:
            self.events.busy.emit(self.busy)
        self.events.jobs.emit(list(self.jobs))

    def set_busy(self, busy: bool) -> None:
        """Deprecated: the window's old runner; jobs begun through `begin_job` make the session busy."""
        was, self._legacy_busy = self.busy, busy
        if self.busy != was:
            self.events.busy.emit(self.busy)

    def set_probe_sweep(self, sweep: Any) -> None:
        self.probe_sweep = sweep
        self.events.probe.emit(sweep)

    def set_activity(self, text: str) -> None:
        if text != self.activity:
            self.activity = text
            self.events.activity.emit(text)

    # ----- the recipe
    def set_recipe(self, recipe: Recipe) -> None:
        if recipe != self.recipe:
            old, self.recipe = self.recipe, recipe
            self.unparsed = {}  # the fields show this recipe's values again
            self.events.recipe.emit(recipe)
            self._react_to_recipe(old)

    def update(self, **changes: Any) -> None:
        self.set_recipe(self.recipe.with_changes(**changes))

    def _react_to_recipe(self, old: Recipe) -> None:
        new = self.recipe
        if self.raw is not None and _table_fields(old) != _table_fields(new):
            self.rebuild_table()
        elif self._source is not None and old.input_shape != new.input_shape:
            self.set_table(self._source)
        elif self.table is not None and _data_fields(old) != _data_fields(new):
            self.relabel()
        if self._images_stale():
            self.read_data_again()
        if old.input_shape != new.input_shape:
            self._inspect_if_needed()
        if old.mlp_activation != new.mlp_activation and self.loaded is not None and _rebuilt_as_mlp(self.loaded):
            self.start(REACTIONS["open"](self, self.loaded.path, **self.model_settings()))

    def model_settings(self) -> dict[str, Any]:
        """The recipe's settings of the open model, as `OpenModel` takes them (to open it again)."""
        r = self.recipe
        return {"model_source": r.model_source, "model_args": r.model_args or None,
                "input_shape": tuple(r.input_shape) or None, "mlp_activation": r.mlp_activation}

    # ----- the model
    def set_model(self, loaded: LoadedModel, inspection: Inspection | None = None,
                  given: dict[str, Any] | None = None, tried: tuple[int, ...] | None = None,
                  problem: str = "", error: BaseException | None = None, own_recipe: bool = False) -> None:
        """A newly opened model. `given`: the model fields the user gave for it (OpenModel passes them); every
        other field that belonged to the old model goes back to its default. None keeps the recipe as it is.
        `tried`, `problem`: the shape it was inspected with and why that failed, if it did. `own_recipe`: the recipe
        is this model's (a reopened session's), so its layer names are kept even over another open model."""
        replaced = self.loaded is not None and not own_recipe  # the recipe's layer names were the old model's
        self.loaded, self.inspection, self.fit_problem, self.fit_error = loaded, inspection, problem, error
        self._inspected = tuple(tried) if tried else None
        if given is not None:
            changes = {name: given.get(name) or default for name, default in MODEL_FIELDS.items()}
            changes["mlp_activation"] = given.get("mlp_activation") or self.recipe.mlp_activation
            if replaced:  # the command line's --cut-at and --freeze upto: name this model's layers: kept, checked
                changes["head.frozen_layers"] = ()
                if not _has_layer(loaded, self.recipe.model.cut_at):
                    changes["model.cut_at"] = ""
                if self.recipe.head.freeze.startswith("upto:"):
                    changes["head.freeze"] = "none"
            recipe = self.recipe.with_changes(**changes)
            if recipe != self.recipe:
                self.recipe = recipe
                self.events.recipe.emit(recipe)
        self.mark_other_model(loaded)
        self.set_probe_sweep(None)  # it probed the old model
        self.select(None)
        self.events.model.emit(loaded)
        self.events.inspection.emit(inspection)
        if problem:
            self.events.data_error.emit(problem)
        if self.raw is not None:
            self.rebuild_table()  # the ticked features are checked against the new model's width
        elif self._source is not None and not self._images_stale():
            self.set_table(self._source)  # flat rows read as sequences for a recurrent model, or back
        if self._images_stale():
            self.read_data_again()
        self._inspect_if_needed()

    def set_inspection(self, inspection: Inspection | None, problem: str = "",
                       error: BaseException | None = None) -> None:
        self.inspection, self.fit_problem, self.fit_error = inspection, problem, error
        self.events.inspection.emit(inspection)
        if problem:
            self.events.data_error.emit(problem)

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

    def probe_shape(self) -> tuple[int, ...] | None:
        """The shape to inspect the open model with: the recipe's, the file's, else the data's."""
        if self.recipe.input_shape:
            return tuple(self.recipe.input_shape)
        from workbench.core.workflow.pipeline import step_features

        if self.loaded is not None and self.loaded.input_shape and not step_features(self.loaded):
            return tuple(self.loaded.input_shape)
        return tuple(self.table.X.shape[1:]) if self.table is not None else None

    def _inspect_if_needed(self) -> None:
        shape = self.probe_shape() if self.loaded is not None else None
        if shape is None or shape == self._inspected:
            return
        self._inspected = shape
        self.start(REACTIONS["inspect"](self, shape))

    # ----- the data
    def read_data_again(self) -> None:
        """Read the recipe's data again (images fitted to another size or resize policy)."""
        self.start(REACTIONS["read"](self, self.recipe.data.path))

    def _images_stale(self) -> bool:
        """An image folder read at another size or with another resize policy than the recipe and model ask."""
        from workbench.core.data.images import ImageSamples

        X = self.table.X if self.table is not None else None
        if not isinstance(X, ImageSamples):
            return False
        shape = self.model_shape()
        return X.resize != self.recipe.data.resize or bool(shape and len(shape) == 3 and X.sample_shape != shape)

    def take_data(self, path: str, raw: RawTable | None = None, columns: ColumnSummary | None = None,
                  table: Table | None = None, sheet: str | None = None) -> None:
        """Data that was read (`ReadData`'s commit): a table file's `raw` columns, or a ready `table`. At a new
        path, the choices that named the old file's columns and classes (their prior, costs, weights) are reset."""
        d, changes = self.recipe.data, dict[str, Any]()
        if path != d.path:
            changes = {"data.path": path, "data.features": (), "data.classes": (), "data.sheet": sheet or "",
                       **class_choices_reset(self.recipe)}
            if raw is not None and self.same_columns(columns):  # a file of the same columns: its ticks still hold
                changes = {"data.path": path, "data.sheet": sheet or ""}
            if raw is None:  # no columns to choose from: the old table's label column names nothing here
                changes["data.label"] = "target"
                if table is not None and table.pixels and d.label_mode != "column":
                    changes["data.label_mode"] = "column"  # an image folder's classes are its sub-folders
        elif sheet is not None and sheet != d.sheet:
            changes = {"data.sheet": sheet, "data.features": ()}
        if raw is not None and columns is not None and path != d.path and not self.same_columns(columns):
            changes["data.label"] = columns.default_label(d.label)
        if path != d.path:
            changes |= self.labels_anew()
        self.raw, self.columns = raw, columns
        recipe = self.recipe.with_changes(**changes)
        if recipe != self.recipe:
            self.recipe = recipe
            self.events.recipe.emit(recipe)
        self.events.raw.emit(raw)
        if raw is not None:
            self.rebuild_table()
        elif table is not None:
            self.set_table(table)

    def data_failed(self, exc: BaseException) -> None:
        self.data_problem, self.data_exception = self.describe_problem(exc), exc
        self.events.data_error.emit(self.data_problem)

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
        from workbench.core.workflow.prepared import several_inputs

        d = self.recipe.data
        try:
            table = table_from_raw(self.raw, d.label, d.features, d.missing, self.model_shape(), self.columns,
                                   several_inputs(self.loaded, d.inputs))
        except WorkbenchError as exc:
            self._source = None
            self._table_problem(exc)
            return
        self.set_table(table)

    def _table_problem(self, exc: BaseException) -> None:
        self.table, self.data = None, None
        self.data_problem, self.data_exception = self.describe_problem(exc), exc
        self.events.table.emit(None)
        self.events.data_error.emit(self.data_problem)
        self.events.data.emit(None)

    def set_table(self, table: Table) -> None:
        """The data's table; flat rows are read as sequences when the model is recurrent (see fit_sequences)."""
        from workbench.core.workflow.pipeline import fit_sequences, step_features

        self._source = table
        from workbench.core.workflow.prepared import take_widths

        take_widths(self.loaded, table)
        shape = self.model_shape()
        try:
            table = fit_sequences(table, shape, step_features(self.loaded))
            from workbench.core.data.images import ImageSamples

            if shape and tuple(table.X.shape[1:]) != shape and not isinstance(table.X, ImageSamples):
                from workbench.core.errors import DataError

                raise DataError(f"the data has inputs of shape {tuple(table.X.shape[1:])} per sample but the model "
                                f"takes {shape}.", "Choose data (or feature columns) that match the model.",
                                self.recipe.data.path)
        except WorkbenchError as exc:
            self._table_problem(exc)
            return
        self.table = table
        self.data_problem, self.data_exception = "", None
        self.events.table.emit(table)
        self.relabel()
        self._inspect_if_needed()

    def relabel(self) -> None:
        """Derive labels and splits for the current table and recipe (fast enough for the GUI thread)."""
        from workbench.core.workflow.pipeline import label_and_split

        if self.table is None:
            self.data = None
        elif self.propose_labels() or self.propose_task():  # a continuous column, 3+ classes: relabelled there
            return
        else:
            bad = [p for p in problems(self.recipe) if p[0].startswith("data.") or p[0] == "head.task"]
            try:
                if bad:
                    raise WorkbenchError(f"{bad[0][0]} {bad[0][1]}.")
                self.data = label_and_split(self.table, self.recipe)
            except WorkbenchError as exc:
                self.data = None
                self.data_problem, self.data_exception = self.describe_problem(exc), exc
                self.events.data_error.emit(self.data_problem)
        self.after_data()
        if self.probe_sweep is not None:  # it scored the old labels and splits
            self.set_probe_sweep(None)
        self.events.data.emit(self.data)

    def require_data(self) -> Any:
        """The prepared data (`pipeline.PreparedData`), or the typed error that stands in its way: what the command
        line and a notebook raise where the window shows the problem beside the control."""
        from workbench.core.errors import DataError

        if self.data is None:
            raise self.data_exception or DataError("no data has been read.", "Read labelled data first.")
        if self.fit_error is not None:
            raise self.fit_error
        return self.data

    # ----- choices on the data (what the Data tab's controls call)
    def set_label(self, name: str) -> None:
        """Another label column: the ticked features stay (less the new label; the old label, a target, is not
        ticked by it); the class order is the new column's."""
        if name and name != self.recipe.data.label:
            keep = tuple(f for f in self.ticked_features() if f != name)
            self.update(**{"data.label": name, "data.features": keep, "data.classes": (), **self.labels_anew()})

    def set_features(self, names: list[str] | tuple[str, ...]) -> None:
        """The ticked feature columns; the defaults (numeric, not ID-like, the model's width) are kept as ()."""
        ticked = tuple(names)
        if self.columns is not None:
            shape = self.model_shape()
            width = int(shape[0]) if shape and len(shape) == 1 else None
            if list(ticked) == self.columns.default_features(self.recipe.data.label, width):
                ticked = ()
        self.update(**{"data.features": ticked})

    def set_classes(self, order: list[str] | tuple[str, ...]) -> None:
        """The order of a class column's classes (the confusion matrix and the export's columns follow it)."""
        self.update(**{"data.classes": tuple(order)})

    def split_counts(self) -> dict[str, list[int]]:
        """Per split ("train", "val", "cal", "test") and over them all ("all"), how many samples of each class
        (empty without data): the Data tab's counts table and the form's imbalance proposal read these."""
        import numpy as np

        if self.data is None:
            return {}
        k = len(self.data.classes)
        counts = {name: np.bincount(self.data.labels(name), minlength=k).tolist() for name in self.data.splits}
        return {**counts, "all": np.bincount(self.data.y, minlength=k).tolist()}

    def blockers(self) -> list[str]:
        """Why training cannot start now (empty when it can), in the order a user would fix them."""
        found = ["training is running"] if self.busy else []
        if self.loaded is None:
            found.append("open a regression checkpoint first")
        found += [f"{name}: {reason}" for name, reason in self.field_problems()]
        if self.table is None:
            problem = self.data_problem if self.raw is not None else ""
            found.append(f"the data needs a choice on the Data tab: {problem}" if problem else
                         "choose labelled data first (Data tab)")
        elif self.data is None:
            found.append(f"the labels cannot be made: {self.data_problem}")
        elif self.fit_problem:
            found.append(self.fit_problem)
        return found


def _rebuilt_as_mlp(loaded: LoadedModel) -> bool:
    return any(getattr(n, "code", "") == "mlp_rebuilt" for n in loaded.notes)


def _has_layer(loaded: Any, name: str) -> bool:
    try:
        return bool(name) and loaded.model.get_submodule(name) is not None
    except AttributeError:
        return False


def _table_fields(recipe: Recipe) -> tuple[Any, ...]:
    d = recipe.data
    return (d.label, d.features, d.missing, recipe.input_shape, d.inputs)


def _data_fields(recipe: Recipe) -> tuple[Any, ...]:
    d = recipe.data
    return (d.label_mode, d.threshold, d.bins, d.splits, d.standardize, d.classes, recipe.head.task, recipe.seed)
