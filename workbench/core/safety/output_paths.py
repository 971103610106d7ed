"""Where the workbench may write: never over or into the user's inputs (the source checkpoint, the data,
the model source, the recipe it read, and every other file opening the model read: config.json beside the weights,
the model source's sibling modules), and over another existing file only when the user says so.

Paths are compared after resolving symlinks, and files also by identity, so a link or a second name for
an input is still that input.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from workbench.core.errors import ExportError


class OutputExistsError(ExportError):
    """The output exists and may be replaced, but only when the user confirms (a dialog, or --overwrite)."""


def _resolve(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def inputs(source: str | Path | None = None, data: str | Path | None = None, model_source: str | Path | None = None,
           recipe: str | Path | None = None, read: Iterable[str | Path] = ()) -> dict[Path, str]:
    """The user's input paths that exist, resolved, each with how a message names it. `read`: every file opening
    the model read (`LoadedModel.files`: config.json beside the weights, the model source's sibling modules)."""
    named: dict[Path, str] = {}
    if model_source and ":" in str(model_source):
        model_source = str(model_source).rsplit(":", 1)[0]
    given = [(source, "the source checkpoint"), (data, "the training data"), (model_source, "the model source"),
             (recipe, "the recipe this run was read from")]
    given += [(path, "a file the model was read from") for path in read]
    for path, what in given:
        if not path or str(path).startswith("sklearn:"):
            continue
        resolved = _resolve(path)
        if resolved.exists():
            named.setdefault(resolved, what)
    return named


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(child: Path, parent: Path) -> bool:
    return child != parent and parent in child.parents


def check_output_file(path: str | Path, protected: dict[Path, str], overwrite: bool,
                      other_outputs: Iterable[str | Path | None] = (),
                      created: Path | None = None) -> Path:
    """Refuse writing `path` over or into an input; an existing other file needs `overwrite`. `created`: a
    folder the job itself makes before writing `path` (the export folder)."""
    given = Path(path).expanduser()
    real = _resolve(given)
    for other in other_outputs:
        if other and _resolve(other) == real:
            raise ExportError("two outputs of this run are the same file.", "Give each output its own file name.",
                              given)
    for q, what in protected.items():
        if real == q or (real.exists() and _same_file(real, q)):
            raise ExportError(f"this is {what}; writing here would destroy it.",
                              "Choose another file name; the workbench never writes over its inputs.", given)
        if q.is_dir() and _inside(real, q):
            raise ExportError(f"this file would be inside {what} ({q}).",
                              "Choose a file outside that folder, so the data stays as it was.", given)
    if real.is_dir():
        raise ExportError("this is a folder.", "Give a file name.", given)
    if not real.parent.is_dir() and real.parent != created:
        raise ExportError("its folder does not exist.", "Create the folder first or choose another place.", given)
    if (given.exists() or given.is_symlink()) and not overwrite:
        raise OutputExistsError("the file already exists.",
                                "Choose another file name, or add --overwrite to replace it.", given)
    return real


def check_export_folder(folder: Path, protected: dict[Path, str]) -> None:
    """Refuse an export folder that is, holds, or lies inside an input (a folder the export would replace)."""
    for q, what in protected.items():
        if folder == q:
            raise ExportError(f"this is {what} itself.", "Choose a new folder for the export.", folder)
        if _inside(q, folder):
            problem = f"this is {what}'s own folder" if q.parent == folder else f"this folder holds {what} ({q})"
            raise ExportError(f"{problem}; an export here could replace it.",
                              "Choose a new folder for the export, so the inputs stay untouched.", folder)
        if q.is_dir() and _inside(folder, q):
            raise ExportError(f"this folder lies inside {what} ({q}).",
                              "Choose a folder outside it, so the data stays as it was.", folder)
