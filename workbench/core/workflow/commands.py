"""Session commands that open things: a model, its inspection, data, the demo.

Each is a `jobs.Job`: the constructor validates against the session's state and takes copies; `work` does the
file access; `commit` hands the result to the session model, whose reactions do the rest (see `session`).
Commands on runs (train, calibrate, export, …) are in `run_commands`; saving and opening sessions in
`session_commands`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.errors import WorkbenchError
from workbench.core.recipe import absolute_source
from workbench.core.workflow.jobs import Job, JobError
from workbench.core.workflow.session import REACTIONS

if TYPE_CHECKING:
    from workbench.core.data.columns import ColumnSummary
    from workbench.core.data.samples import Table
    from workbench.core.data.tables import RawTable
    from workbench.core.open.layer_tree import Inspection
    from workbench.core.open.load import LoadedModel
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.session import SessionModel

# The inspection, or why inputs of the shape tried do not go through the model (text, and the typed error)
Inspected = tuple["Inspection | None", str, "WorkbenchError | None"]
Opened = tuple["LoadedModel", Inspected]
DataRead = tuple["RawTable | None", "ColumnSummary | None", "Table | None"]


def _check_fields(session: SessionModel, values: dict[str, Any]) -> None:
    """Values given for recipe fields, checked by the fields' own descriptions (a RecipeError names the field)."""
    given = {k: v for k, v in values.items() if v is not None}
    if given:
        from workbench.core.errors import RecipeError
        from workbench.core.recipe import field_problems

        found = [(n, why) for n, why in field_problems(session.recipe.with_changes(**given)) if n in given]
        if found:
            name, why = found[0]
            raise RecipeError(f"{name} {why}.", "Give it another value.", field=name)


class OpenModel(Job[Opened]):
    """Open a checkpoint and make it the session's model.

    `model_source`, `model_args`, `input_shape`: given for *this* model (None: it has none, whatever the last
    model had). `mlp_activation`: for a model rebuilt from bare Linear weights (None keeps the recipe's).
    `trusted`: the user trusts this file (and code it names). `source_named_by`: the file that named the model
    source (a recipe, a session), whose code then runs only once trusted (see load.load_checkpoint).
    """

    kind = "load"
    replaces = ("train", "baseline", "inspect")  # a run of the model being replaced must not land on the new one
    announces = True

    def __init__(self, session: SessionModel, path: str | Path, model_source: str | None = None,
                 model_args: dict[str, Any] | None = None, input_shape: tuple[int, ...] | None = None,
                 mlp_activation: str | None = None, trusted: bool = False,
                 source_named_by: str | Path | None = None) -> None:
        if not str(path):
            raise JobError("no checkpoint was named.", "Choose a checkpoint file.")
        # a source typed relative (CLI, notebook) is the current folder's: kept absolute in the run's recipe
        source = absolute_source(model_source, Path.cwd()) if model_source else ""
        self.given: dict[str, Any] = {"model_source": source, "model_args": model_args or None,
                                      "input_shape": tuple(input_shape) if input_shape else None,
                                      "mlp_activation": mlp_activation}
        _check_fields(session, self.given)
        super().__init__(session, f"Opening {Path(path).name} …")
        self.path, self.trusted, self.named_by = Path(path), trusted, source_named_by
        self.activation = mlp_activation or session.recipe.mlp_activation

    def work(self, callbacks: Iterable[object] = ()) -> Opened:
        from workbench.core.open.load import load_checkpoint

        g = self.given
        loaded = load_checkpoint(self.path, g["model_source"], g["model_args"], self.trusted, self.activation,
                                 self.named_by)
        shape = g["input_shape"] or loaded.input_shape
        return loaded, (inspect_or_say(loaded, shape, typed=bool(g["input_shape"])) if shape else (None, "", None))

    def commit(self, result: Opened) -> LoadedModel:
        loaded, (inspection, problem, error) = result
        shape = self.given["input_shape"] or loaded.input_shape
        self.session.set_model(loaded, inspection, self.given, tried=shape, problem=problem, error=error)
        self.session.refused_model = None
        return loaded

    def failed(self, exc: BaseException) -> None:
        """A file refused (weights that need their class, say) is the one to open again with the settings typed
        since, not the model open before it (the window's Reload model)."""
        self.session.refused_model = self.path

    def retry_trusted(self) -> OpenModel:
        g = self.given
        return OpenModel(self.session, self.path, g["model_source"], g["model_args"], g["input_shape"],
                         g["mlp_activation"], True, self.named_by)


def inspect_or_say(loaded: LoadedModel, shape: tuple[int, ...], typed: bool = False) -> Inspected:
    """The model's inspection at `shape`, or why inputs of that shape do not go through it, in words and as the
    typed error (never raised here: the data or the input shape is what to change)."""
    from workbench.core.open.layer_tree import inspect_model

    try:
        return inspect_model(loaded.model, tuple(shape)), "", None
    except WorkbenchError as exc:
        what = "The input shape given" if typed else "The data's samples"
        return None, (f"{what} ({', '.join(map(str, shape))}) do not fit this model: {exc.problem} Choose data "
                      "that fits the model, or give its input shape."), exc


class Inspect(Job[Inspected]):
    """Inspect the open model with inputs of `shape` (the data's, when the file did not say)."""

    kind = "inspect"

    def __init__(self, session: SessionModel, shape: tuple[int, ...]) -> None:
        if session.loaded is None:
            raise JobError("no model is open.", "Open a checkpoint first.")
        super().__init__(session, "Inspecting the model …")
        self.loaded, self.shape = session.loaded, tuple(shape)
        self.typed = bool(session.recipe.input_shape)

    def work(self, callbacks: Iterable[object] = ()) -> Inspected:
        return inspect_or_say(self.loaded, self.shape, self.typed)

    def commit(self, result: Inspected) -> Inspection | None:
        if self.session.loaded is not self.loaded:
            return None  # another model was opened meanwhile
        self.session.set_inspection(*result)
        return result[0]


class ReadData(Job[DataRead]):
    """Read labelled data: a table file once, with every column (the label and features are chosen afterwards,
    see SessionModel.rebuild_table), or an image folder, `.npz` or bundled set (images fitted to the model's
    input size). `sheet`: the Excel sheet (None: the recipe's for the same file, the first for a new one)."""

    kind = "data"

    def __init__(self, session: SessionModel, path: str | Path, sheet: str | None = None) -> None:
        path = str(path)
        if not path:
            raise JobError("no data was named.", "Choose a table, an .npz, an image folder or a bundled set.")
        super().__init__(session, f"Reading {Path(path).name} …")
        d = session.recipe.data
        self.path, self.sheet = path, sheet if sheet is not None else (d.sheet if path == d.path else "")
        self.recipe, self.shape = session.recipe, session.model_shape()

    def work(self, callbacks: Iterable[object] = ()) -> DataRead:
        return read_data_file(self.path, self.recipe, self.shape, self.sheet)

    def commit(self, result: DataRead) -> Table | None:
        raw, columns, table = result
        self.session.take_data(self.path, raw, columns, table, self.sheet)
        taken: Table | None = self.session.table
        return taken

    def failed(self, exc: BaseException) -> None:
        self.session.data_failed(exc)


def read_data_file(path: str, recipe: Recipe, shape: tuple[int, ...] | None, sheet: str = "") -> DataRead:
    """A table file's columns as read (raw, its column summary), or the table of an image folder (fitted to
    `shape`), an .npz or a bundled set."""
    from workbench.core.data.tables import is_table_path

    if is_table_path(path):
        from workbench.core.data.columns import summarize
        from workbench.core.data.tables import read_table

        raw = read_table(path, sheet)
        return raw, summarize(raw), None
    from workbench.core.data.data import load_table

    d = recipe.data
    return None, None, load_table(path, d.label, (), shape if shape and len(shape) == 3 else None, d.missing, sheet,
                                  None, d.resize)


class OpenDemo(Job["tuple[Path, Recipe]"]):
    """Build (or reuse) a demo in `folder`, then open its model and data with its recipe."""

    kind = "demo"
    announces = True

    def __init__(self, session: SessionModel, folder: str | Path, digits: bool = False) -> None:
        what = "a small CNN on scikit-learn's 8x8 digits" if digits else \
            "a small regression model on scikit-learn's diabetes data"
        super().__init__(session, f"Building the demo: training {what}, in {folder} (a few seconds)…")
        self.folder, self.digits = Path(folder), digits

    def work(self, callbacks: Iterable[object] = ()) -> tuple[Path, Recipe]:
        from workbench.core.workflow import demo

        return (demo.build_digits if self.digits else demo.build_diabetes)(self.folder)

    def commit(self, result: tuple[Path, Recipe]) -> Path:
        ckpt, recipe = result
        s = self.session
        s.set_recipe(recipe)
        s.start(OpenModel(s, ckpt, recipe.model_source or None, recipe.model_args or None,
                          tuple(recipe.input_shape) or None, recipe.mlp_activation))
        s.start(ReadData(s, recipe.data.path))
        return ckpt


REACTIONS.update(open=OpenModel, inspect=Inspect, read=ReadData)
