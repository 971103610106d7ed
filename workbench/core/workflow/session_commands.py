"""Saving and opening a session: the commands behind File ▸ Save session / Open session, `Session.save` and
`workbench.open_session`.

A saved session (see session_store) names its checkpoint and data by path and hash and keeps each run's weights
beside it, so opening it continues the session: the model and data open again, and every run is live (evaluate,
recalibrate, drill into, export) with the probabilities it had. A moved or changed input is a SessionInputError
naming it; `OpenSession(..., replacements={saved path: new path})` locates it. A model source the file names
runs only once trusted, as for any file naming code. Files of version 1 (summaries only) open for comparison.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.errors import WorkbenchError
from workbench.core.workflow.jobs import Job

if TYPE_CHECKING:
    from workbench.core.open.load import LoadedModel
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.commands import DataRead, Inspected
    from workbench.core.workflow.runs import RunEntry
    from workbench.core.workflow.session import SessionModel


def _relative_source(recipe: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A recipe dict whose model source is relative to `folder` where it can be (the file is read beside the
    session when it is opened, see recipe.resolve_source)."""
    import os

    file_part, sep, name = str(recipe.get("model_source") or "").rpartition(":")
    if not sep or not file_part:
        return recipe
    try:
        relative = os.path.relpath(Path(file_part).expanduser().resolve(), folder)
    except ValueError:  # another drive
        return recipe
    return {**recipe, "model_source": f"{Path(relative).as_posix()}:{name}"}


class SaveSession(Job[Path]):
    """Write the session to `path`: its recipe, inputs, runs and each live run's weights (beside it, in
    `<name>.runs/`). Never over the checkpoint, the data or a model source."""

    kind = "save"

    def __init__(self, session: SessionModel, path: str | Path) -> None:
        from workbench.core.safety.output_paths import check_output_file
        from workbench.core.workflow.protected import run_inputs, session_inputs

        r, loaded = session.recipe, session.loaded
        protected = session_inputs(session)
        for e in session.entries:
            if e.run is not None:
                protected = {**run_inputs(e.run), **protected}
        check_output_file(path, protected, overwrite=True)
        super().__init__(session, f"Saving the session to {Path(path).name} …")
        self.path = Path(path)
        self.entries = [(e.id, dict(e.summary), e.run, e.number, e.named) for e in session.entries]
        self.recipe, self.current = r, session.current
        self.loaded_path = str(loaded.path) if loaded is not None else None

    def work(self, callbacks: Iterable[object] = ()) -> Path:
        from workbench.core.workflow.session_files import save_session
        from workbench.core.workflow.session_store import input_ref, write_weights

        folder = self.path.parent.resolve()
        inputs: dict[str, dict[str, Any]] = {}
        keys: dict[str, str] = {}

        def key_of(path: str | Path, role: str) -> str:
            text = str(path)
            name = text if text.startswith("sklearn:") else str(Path(text).expanduser().resolve())
            if name not in keys:
                keys[name] = f"{role}-{sum(k.startswith(role) for k in inputs) + 1}"
                inputs[keys[name]] = input_ref(text, role, folder)
            return keys[name]

        runs = []
        for run_id, summary, run, number, named in self.entries:
            item = {**summary, "id": run_id, "number": number, "named": named}
            if run is not None:
                item |= {"model_input": key_of(run.loaded.path, "model"),
                         "data_input": key_of(run.recipe.data.path, "data"),
                         "weights": write_weights(self.path, run_id, run), "threshold": run.threshold,
                         "calibration": run.calibration.params() if run.calibration is not None else None}
            if isinstance(item.get("recipe"), dict):
                item["recipe"] = _relative_source(item["recipe"], folder)
            runs.append(item)
        more = {"inputs": inputs, "current": self.current,
                "model": key_of(self.loaded_path, "model") if self.loaded_path else None,
                "data": key_of(self.recipe.data.path, "data") if self.recipe.data.path else None}
        save_session(self.path, runs, _relative_source(self.recipe.to_dict(), folder), **more)
        return self.path

    def commit(self, result: Path) -> Path:
        self.session.mark_saved()
        return result


@dataclass
class Reopened:
    """What OpenSession's work found: the recipe, the open model and data, and the runs."""

    recipe: Recipe | None
    entries: list[RunEntry]
    current: str | None = None
    loaded: LoadedModel | None = None
    inspected: Inspected | None = None
    data_path: str = ""
    data: DataRead | None = None
    located: list[str] = field(default_factory=list)  # inputs the user located (replacements used)
    reset: list[str] = field(default_factory=list)  # recipe fields that did not pass their check, put to default


class OpenSession(Job[Reopened]):
    """Open a saved session. `trusted`: the user trusts this file (and the code it names); `replacements`: new
    paths for inputs that moved, by the path they were saved with (a SessionInputError's `original`)."""

    kind = "session"
    replaces = ("load", "data", "train", "baseline", "calibrate")
    announces = True

    def __init__(self, session: SessionModel, path: str | Path, trusted: bool = False,
                 replacements: dict[str, str] | None = None) -> None:
        super().__init__(session, f"Opening the session {Path(path).name} …")
        self.path, self.trusted = Path(path), trusted
        self.replacements = {str(k): str(v) for k, v in (replacements or {}).items()}

    def retry_trusted(self) -> OpenSession:
        return OpenSession(self.session, self.path, True, self.replacements)

    def located(self, original: str, new_path: str | Path) -> OpenSession:
        """The same command with one more input located (the window's answer to a SessionInputError)."""
        return OpenSession(self.session, self.path, self.trusted, {**self.replacements, original: str(new_path)})

    def work(self, callbacks: Iterable[object] = ()) -> Reopened:
        from workbench.core.workflow.session_files import load_session

        doc = load_session(self.path, self.trusted)
        if doc.get("version", 1) < 2 or not isinstance(doc.get("inputs"), dict):
            return Reopened(doc["recipe"], _comparison_entries(doc["runs"]), reset=doc["recipe_reset"])
        out = _Reopen(self, doc).run()
        out.reset = doc["recipe_reset"]
        return out

    def commit(self, result: Reopened) -> Reopened:
        s = self.session
        if result.recipe is not None:
            s.set_recipe(result.recipe)
        if result.loaded is not None and result.inspected is not None:
            r = result.recipe
            given = {"model_source": r.model_source, "model_args": r.model_args or None,
                     "input_shape": tuple(r.input_shape) or None, "mlp_activation": r.mlp_activation} if r else {}
            insp, problem, error = result.inspected
            s.set_model(result.loaded, insp, given, tuple(r.input_shape) or result.loaded.input_shape if r else None,
                        problem, error, own_recipe=r is not None)
        if result.data is not None:
            s.take_data(result.data_path, *result.data)
        s.take_entries(result.entries, result.current)
        if result.loaded is not None:
            s.mark_other_model(result.loaded)
        s.mark_saved()
        return result


def _comparison_entries(runs: list[Any], reason: str = "comparison only: the file holds its metrics, not its "
                        "weights") -> list[RunEntry]:
    from workbench.core.workflow.runs import RunEntry

    entries: list[RunEntry] = []
    for number, item in enumerate(r for r in runs if isinstance(r, dict)):
        run_id = item.get("id") if isinstance(item.get("id"), str) else f"saved-{number + 1}"
        if any(e.id == run_id for e in entries):
            run_id = f"{run_id}-{number + 1}"
        entries.append(RunEntry(str(run_id), {**item, "id": run_id}, None, int(item.get("number") or number + 1),
                                named=True, comparison_only=reason))
    return entries


class _Reopen:
    """OpenSession's work on a version-2 file: inputs located and checked, models and data opened, runs rebuilt."""

    def __init__(self, job: OpenSession, doc: dict[str, Any]) -> None:
        from workbench.core.workflow.session_reopen import DataCache
        from workbench.core.workflow.session_store import resolve_input

        self.job, self.doc, self.cache = job, doc, DataCache()
        self.models: dict[str, LoadedModel] = {}
        self.found = {k: resolve_input(ref, job.path, job.replacements) for k, ref in doc["inputs"].items()}

    def recipe(self, values: Any, data_key: str | None) -> Recipe:
        """A recipe of the file with its model source resolved beside the session (and trusted as the file
        is) and its data at the path where it was found."""
        from workbench.core.recipe import Recipe, from_dict, resolve_source
        from workbench.core.safety.named_code import check_named_source

        recipe = values if isinstance(values, Recipe) else resolve_source(from_dict(values), self.job.path.parent)
        if recipe.model_source:
            check_named_source(recipe.model_source, self.job.path, self.doc["sha256"], self.job.trusted, "session")
        if data_key in self.found:
            recipe = recipe.with_changes(**{"data.path": self.found[data_key][0]})
        return recipe

    def model(self, key: str, recipe: Recipe) -> LoadedModel:
        from workbench.core.open.load import load_checkpoint

        name = "|".join((key, recipe.model_source, repr(sorted(recipe.model_args.items())), recipe.mlp_activation))
        if name not in self.models:
            self.models[name] = load_checkpoint(self.found[key][0], recipe.model_source, recipe.model_args or None,
                                                self.job.trusted, recipe.mlp_activation, self.job.path)
        return self.models[name]

    def entry(self, number: int, item: dict[str, Any]) -> RunEntry:
        from workbench.core.workflow.runs import RunEntry
        from workbench.core.workflow.session_reopen import rebuild_run
        from workbench.core.workflow.session_store import SessionInputError

        run_id = str(item.get("id") or f"saved-{number}")
        if isinstance(item.get("recipe"), dict) and item["recipe"].get("model_source"):
            from workbench.core.recipe import absolute_source  # stored beside the session: Compare reads it whole

            source = absolute_source(str(item["recipe"]["model_source"]), self.job.path.parent)
            item = {**item, "recipe": {**item["recipe"], "model_source": source}}
        entry = RunEntry(run_id, {**item, "id": run_id}, None, int(item.get("number") or number),
                         named=bool(item.get("named", True)))
        if not item.get("weights") or item.get("model_input") not in self.found:
            entry.comparison_only = "comparison only: the session was saved without its weights"
            return entry
        try:
            recipe = self.recipe(item["recipe"], item.get("data_input"))
            loaded = self.model(item["model_input"], recipe)
            entry.run = rebuild_run(item, recipe, loaded, self.cache.get(recipe, loaded), self.job.path)
        except SessionInputError:
            raise  # the user locates it
        except WorkbenchError as exc:
            entry.comparison_only = f"comparison only: {exc.problem}"
        return entry

    def run(self) -> Reopened:
        from workbench.core.workflow.commands import inspect_or_say, read_data_file

        doc = self.doc
        recipe = self.recipe(doc["recipe"], doc.get("data")) if doc.get("recipe") is not None else None
        entries = [self.entry(i, item) for i, item in enumerate((r for r in doc["runs"] if isinstance(r, dict)), 1)]
        out = Reopened(recipe, entries, doc.get("current") if isinstance(doc.get("current"), str) else None,
                       located=[k for k, (_p, located) in self.found.items() if located])
        if recipe is not None and doc.get("model") in self.found:
            out.loaded = self.model(doc["model"], recipe)
            shape = tuple(recipe.input_shape) or out.loaded.input_shape
            out.inspected = inspect_or_say(out.loaded, shape, bool(recipe.input_shape)) if shape else (None, "", None)
        if recipe is not None and doc.get("data") in self.found:
            out.data_path = recipe.data.path
            shape = tuple(recipe.input_shape) or (out.loaded.input_shape if out.loaded is not None else None)
            out.data = read_data_file(out.data_path, recipe, shape, recipe.data.sheet)
        return out
