"""What the window is working on: the recipe, the opened model, the data and the latest run.

Panels take the session in their constructor, edit it through its setters and listen to its signals.
It holds references only; all the work is done by `workbench.core`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from workbench.core.recipe import Recipe


class Session(QObject):
    recipe_changed = Signal(object)  # Recipe
    model_changed = Signal(object)  # LoadedModel | None
    inspection_changed = Signal(object)  # Inspection | None
    raw_changed = Signal(object)  # tables.RawTable | None: a table file as read, every column
    table_changed = Signal(object)  # Table | None
    data_changed = Signal(object)  # PreparedData | None
    data_error = Signal(str)
    run_changed = Signal(object)  # Run | None
    runs_changed = Signal(object)  # list of run summaries (core.runs.summary)
    busy_changed = Signal(bool)  # a worker is training / loading

    def __init__(self, parent=None):
        super().__init__(parent)
        self.recipe = Recipe()
        self.loaded = None
        self.inspection = None
        self.raw = None
        self.columns = None  # columns.ColumnSummary of `raw`
        self.table = None
        self.data = None
        self.run = None
        self.busy = False
        self.data_problem = ""
        self.runs: list[dict] = []  # every run of this session, newest last
        self._summaries: dict[int, dict] = {}  # id(Run) -> its summary, updated on recalibration

    def set_recipe(self, recipe: Recipe) -> None:
        if recipe != self.recipe:
            old, self.recipe = self.recipe, recipe
            self.recipe_changed.emit(recipe)
            if self.raw is not None and _table_fields(old) != _table_fields(recipe):
                self.rebuild_table()
            elif self.table is not None and _data_fields(old) != _data_fields(recipe):
                self.relabel()

    def update(self, **changes) -> None:
        self.set_recipe(self.recipe.with_changes(**changes))

    def set_model(self, loaded, inspection) -> None:
        self.loaded, self.inspection = loaded, inspection
        self.set_run(None)
        self.model_changed.emit(loaded)
        self.inspection_changed.emit(inspection)
        if self.raw is not None:
            self.rebuild_table()  # the ticked features are checked against the new model's width

    def set_inspection(self, inspection) -> None:
        self.inspection = inspection
        self.inspection_changed.emit(inspection)

    def model_shape(self) -> tuple[int, ...] | None:
        """The opened model's input shape per sample, when it is known."""
        if self.recipe.input_shape:
            return tuple(self.recipe.input_shape)
        if self.inspection is not None and getattr(self.inspection, "input_shape", None):
            return tuple(self.inspection.input_shape)
        if self.loaded is not None and self.loaded.input_shape:
            return tuple(self.loaded.input_shape)
        return None

    def set_raw(self, raw, columns=None) -> None:
        """A table file as read (or None for arrays, images and bundled sets); its table is then built."""
        self.raw, self.columns = raw, columns
        self.raw_changed.emit(raw)
        if raw is not None:
            self.rebuild_table()

    def rebuild_table(self) -> None:
        """The chosen columns of `raw` as a Table (fast: no file access). A problem (missing values, a width
        that does not match the model) is kept with the column list in view, never a dead end."""
        from workbench.core.data import table_from_raw
        from workbench.core.errors import WorkbenchError

        d = self.recipe.data
        shape = self.model_shape()
        try:
            table = table_from_raw(self.raw, d.label, d.features, d.missing, shape, self.columns)
        except WorkbenchError as exc:
            self.table, self.data = None, None
            self.data_problem = window_text(exc)
            self.table_changed.emit(None)
            self.data_error.emit(self.data_problem)
            self.data_changed.emit(None)
            return
        self.set_table(table)

    def set_table(self, table) -> None:
        self.table = table
        self.data_problem = ""
        self.table_changed.emit(table)
        self.relabel()

    def relabel(self) -> None:
        """Derive labels and splits for the current table and recipe (fast; on the GUI thread)."""
        from workbench.core.errors import WorkbenchError
        from workbench.core.pipeline import label_and_split
        from workbench.core.recipe import problems

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
                self.data_problem = str(exc)
                self.data_error.emit(str(exc))
        self.data_changed.emit(self.data)

    def set_run(self, run) -> None:
        self.run = run
        if run is not None:
            self._remember_run(run)
        self.run_changed.emit(run)

    def _remember_run(self, run) -> None:
        from workbench.core.runs import summary

        known = self._summaries.get(id(run))
        name = known["name"] if known else f"{len(self.runs) + 1}: {run.kind} · {run.recipe.head.task}"
        fresh = summary(run, name, known.get("export") if known else None)
        if known:
            self.runs[self.runs.index(known)] = fresh
        else:
            self.runs.append(fresh)
        self._summaries[id(run)] = fresh
        self.runs_changed.emit(self.runs)

    def note_export(self, run, folder: str) -> None:
        if id(run) in self._summaries:
            self._summaries[id(run)]["export"] = folder

    def set_runs(self, runs: list[dict]) -> None:
        """Runs read back from a session file: their metrics and recipes, for comparison."""
        self.runs = list(runs)
        self._summaries = {}
        self.runs_changed.emit(self.runs)

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.busy_changed.emit(busy)


def window_text(exc) -> str:
    """A data problem as the window says it: naming its controls, never a command-line flag."""
    from workbench.core.columns import MissingValuesError, NotNumericError, WidthMismatchError

    if isinstance(exc, MissingValuesError):
        listing = ", ".join(f"{k}: {v}" for k, v in list(exc.counts.items())[:6])
        return (f"{sum(exc.counts.values())} value(s) are missing in the ticked features ({listing}), in "
                f"{exc.rows} row(s). Choose under Missing values: drop those rows, or impute the train split's "
                "medians — or untick those columns.")
    if isinstance(exc, WidthMismatchError):
        return (f"The model takes {exc.expected} inputs; {exc.chosen} are ticked. Tick {exc.expected} of the "
                "numeric columns.")
    if isinstance(exc, NotNumericError):
        return f"Column '{exc.column}' is not numeric; untick it."
    return str(exc)


def _table_fields(recipe: Recipe):
    d = recipe.data
    return (d.label, d.features, d.missing, recipe.input_shape)


def _data_fields(recipe: Recipe):
    d = recipe.data
    return (d.label_mode, d.threshold, d.bins, d.splits, d.standardize, d.classes, recipe.head.task, recipe.seed)
