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

SESSION_VERSION = 1


def summary(run: Run, name: str, export: str | None = None) -> dict[str, Any]:
    return {"name": name, "kind": run.kind, "recipe": run.recipe.to_dict(), "metrics": run.metrics,
            "export": export, "source": str(run.loaded.path)}


def save_session(path: str | Path, runs: list[dict[str, Any]], recipe: dict[str, Any] | None = None) -> None:
    """Write a session; like a saved recipe, one whose recipe names a model source is trusted as naming that code."""
    from workbench.core.recipe import from_dict, resolve_source
    from workbench.core.safety.named_code import trust_own_file

    data = json.dumps({"version": SESSION_VERSION, "recipe": recipe, "runs": runs}, indent=1,
                      default=float).encode("utf-8")
    write_bytes_atomic(Path(path), data)
    if recipe and recipe.get("model_source"):
        trust_own_file(data, resolve_source(from_dict(recipe), Path(path).parent).model_source)


def load_session(path: str | Path, trusted: bool = False) -> dict[str, Any]:
    """Read a session file; its recipe becomes a `Recipe` under "recipe" (or None). A model source that recipe
    names runs only if the user trusts the code it names (see `safety.named_code`)."""
    from workbench.core.recipe import from_dict, resolve_source
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
    if not isinstance(data, dict) or data.get("version") != SESSION_VERSION or not isinstance(data.get("runs"), list):
        raise DataError("this is not a workbench session file.", "Choose a file saved with File ▸ Save session.",
                        path)
    if data.get("recipe"):
        try:
            recipe = resolve_source(from_dict(data["recipe"]), path.parent)
        except (RecipeError, TypeError) as exc:
            raise DataError(f"the session's recipe is not valid ({exc}).", "Choose a file saved by the workbench.",
                            path) from None
        if recipe.model_source:
            check_named_source(recipe.model_source, path, hashlib.sha256(raw).hexdigest(), trusted, "session")
        data["recipe"] = recipe
    else:
        data["recipe"] = None
    return data
