"""Runs kept in a session: a plain summary per run (name, kind, recipe, metrics, export folder) that the
comparison view, `workbench compare` and the session file all read."""

from __future__ import annotations

import json
from pathlib import Path

from .atomic import write_text_atomic
from .errors import DataError

SESSION_VERSION = 1


def summary(run, name: str, export: str | None = None) -> dict:
    return {"name": name, "kind": run.kind, "recipe": run.recipe.to_dict(), "metrics": run.metrics,
            "export": export, "source": str(run.loaded.path)}


def save_session(path: str | Path, runs: list[dict], recipe: dict | None = None) -> None:
    write_text_atomic(Path(path), json.dumps({"version": SESSION_VERSION, "recipe": recipe, "runs": runs},
                                             indent=1, default=float))


def load_session(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"the session file cannot be read ({exc}).", "Choose a file saved by the workbench.",
                        path) from None
    if not isinstance(data, dict) or data.get("version") != SESSION_VERSION or not isinstance(data.get("runs"), list):
        raise DataError("this is not a workbench session file.", "Choose a file saved with File ▸ Save session.",
                        path)
    return data
