"""Runs kept in a session: a plain summary per run (name, kind, recipe, metrics, export folder) that the
comparison view, `workbench compare` and the session file all read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.errors import DataError, RecipeError
from workbench.core.safety.atomic import write_bytes_atomic

if TYPE_CHECKING:
    from workbench.core.workflow.pipeline import Run

# 1: runs' summaries only (reopened for comparison); 2: also the inputs by path and hash, and each run's weights in
# a sidecar folder (see session_store), so reopened runs are live again.
SESSION_VERSION = 2
READABLE = (1, 2)


def summary(run: Run, name: str, export: str | None = None) -> dict[str, Any]:
    """What the session keeps of a run for Compare, names and the session file."""
    return {"name": name, "kind": run.kind, "recipe": run.recipe.to_dict(), "metrics": run.metrics,
            "export": export, "source": str(run.loaded.path), "source_sha256": getattr(run.loaded, "sha256", None),
            "label": label_of(run), "threshold": getattr(run, "threshold", None)}


def label_of(run: Run) -> str:
    """What a run's classes were made from, in words: a table's label column, an image folder's or data set's
    name (an image run is never named after a table's label it did not use)."""
    d = run.recipe.data
    table = getattr(getattr(run, "data", None), "table", None)
    if table is None or table.columns is not None:
        return d.label
    if getattr(table, "pixels", False) and Path(d.path).is_dir():
        return f"{Path(d.path).name}/ folders"
    return d.path if d.path.startswith("sklearn:") else Path(d.path).name


def save_session(path: str | Path, runs: list[dict[str, Any]], recipe: dict[str, Any] | None = None,
                 **more: Any) -> None:
    """Write a session; like a saved recipe, one whose recipe (or a run's) names a model source is trusted as naming
    that code. `more`: the inputs, the open model and data, the current run (see session_commands.SaveSession)."""
    from workbench.core.recipe import from_dict, resolve_source
    from workbench.core.safety.named_code import trust_own_file

    data = json.dumps({"version": SESSION_VERSION, "recipe": recipe, "runs": runs, **more}, indent=1,
                      default=float).encode("utf-8")
    write_bytes_atomic(Path(path), data)
    sources = [recipe or {}] + [r.get("recipe") or {} for r in runs if isinstance(r, dict)]
    for source in dict.fromkeys(resolve_source(from_dict(r), Path(path).parent).model_source
                                for r in sources if isinstance(r, dict) and r.get("model_source")):
        trust_own_file(data, source)


def load_session(path: str | Path, trusted: bool = False) -> dict[str, Any]:
    """Read a session file; its recipe becomes a `Recipe` under "recipe" (or None). A model source that recipe
    names runs only if the user trusts the code it names (see `safety.named_code`)."""
    from workbench.core.safety.named_code import check_named_source

    path = Path(path)
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except RecursionError:
        raise DataError("the session file nests too deeply to be read.", "Choose a file saved by the workbench.",
                        path) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"the session file cannot be read ({exc}).", "Choose a file saved by the workbench.",
                        path) from None
    if not isinstance(data, dict) or data.get("version") not in READABLE or not isinstance(data.get("runs"), list):
        raise DataError("this is not a workbench session file.", "Choose a file saved with File ▸ Save session.",
                        path)
    data["recipe_reset"] = []
    if data.get("recipe"):
        try:
            recipe, data["recipe_reset"] = _lenient_recipe(data["recipe"], path.parent)
        except (RecipeError, TypeError) as exc:
            raise DataError(f"the session's recipe is not valid ({exc}).", "Choose a file saved by the workbench.",
                            path) from None
        if recipe.model_source:
            check_named_source(recipe.model_source, path, hashlib.sha256(raw).hexdigest(), trusted, "session")
        data["recipe"] = recipe
        data["sha256"] = hashlib.sha256(raw).hexdigest()
    else:
        data["recipe"] = None
        data["sha256"] = hashlib.sha256(raw).hexdigest()
    return data


def _lenient_recipe(values: Any, folder: Path) -> tuple[Any, list[str]]:
    """The session's recipe, each field it holds that does not pass its check put back to its default and said:
    a session is saved as the window holds it, a field being edited included (splits summing to 1.05), and its runs,
    which carry their own recipes, must not be lost for one field of the next run's."""
    import copy

    from workbench.core.recipe import FIELDS, from_dict, resolve_source

    values = copy.deepcopy(values)
    reset: list[str] = []
    for _ in range(len(FIELDS)):
        try:
            return resolve_source(from_dict(values), folder), reset
        except RecipeError as exc:
            *parents, name = (exc.field or "").split(".")
            part = values
            for key in parents:
                part = part.get(key) if isinstance(part, dict) else None
            if not exc.field or not isinstance(part, dict) or name not in part:
                raise
            part.pop(name)
            said = exc.window_problem  # "Splits: must be ...", its control named as the window names it
            label = FIELDS[exc.field][1].label if exc.field in FIELDS else exc.field
            said = said if said.startswith(f"{label}:") else f"{label}: {said}"
            reset.append(said.rstrip(".") + "; its default is used.")
    raise RecipeError("the session's recipe has too many fields that are not valid.")
