"""What a session file holds so that a session continues: its inputs (the checkpoint, the data) by path and hash,
and each run's trained weights in a sidecar folder of safetensors files.

- An input is stored with its path relative to the session file's folder (where it can be) and absolute, and
  its sha256 (an image folder's: over its files' names and contents; a bundled data set has none). Reopening
  looks for it at the relative path, then the absolute one; a file that is gone or changed is a
  `SessionInputError` naming it, and the command takes a replacement path for it (the user located it).
- A run's weights (its converted model's state_dict; a baseline has none: its model is the checkpoint) and its
  logits per split go into `<session name>.runs/<run id>.safetensors`, each written atomically and listed in the
  session file with its sha256. They are read with safetensors only: nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.errors import DataError
from workbench.core.safety.atomic import write_bytes_atomic
from workbench.core.safety.snapshot import fingerprint as fingerprint  # also the export's data hash

if TYPE_CHECKING:
    import numpy as np
    import torch

    from workbench.core.workflow.pipeline import Run

SPLITS = ("train", "val", "cal", "test")


class SessionInputError(DataError):
    """A file the session names is gone or has changed since the session was saved. `role` ("model", "data",
    "weights"), `path` (where it was looked for), `original` (the path as saved: the key a replacement is given
    under), `reason` ("missing" or "changed")."""

    def __init__(self, problem: str, fix: str, path: object, role: str, original: str, reason: str) -> None:
        self.role, self.original, self.reason = role, original, reason
        super().__init__(problem, fix, path)


def input_ref(path: str | Path, role: str, session_dir: Path) -> dict[str, Any]:
    """How the session file names an input: role, path relative to the session (when on the same drive),
    absolute path, sha256."""
    text = str(path)
    if text.startswith("sklearn:"):
        return {"role": role, "path": text, "absolute": text, "sha256": None}
    absolute = Path(text).expanduser().resolve()
    try:
        relative = os.path.relpath(absolute, session_dir.resolve())
    except ValueError:  # another drive (Windows)
        relative = str(absolute)
    return {"role": role, "path": Path(relative).as_posix(), "absolute": str(absolute),
            "sha256": fingerprint(str(absolute))}


def resolve_input(ref: dict[str, Any], session_file: Path, replacements: dict[str, str]) -> tuple[str, bool]:
    """(the path an input is found at, whether the user located it). Raises SessionInputError when it is gone or
    changed (a located replacement is taken as the user's choice, changed or not)."""
    original, role = str(ref.get("absolute") or ref.get("path")), str(ref.get("role", "data"))
    if original.startswith("sklearn:"):
        return original, False
    for key in (original, str(ref.get("path"))):
        if key in replacements:
            return str(Path(replacements[key]).expanduser().resolve()), True
    candidates = [session_file.parent / str(ref.get("path")), Path(original)]
    found = next((c for c in candidates if c.exists()), None)
    what = {"model": "The checkpoint", "data": "The data"}.get(role, "A file")
    if found is None:
        raise SessionInputError(f"{what} this session was saved with is not where it was (looked beside the "
                                f"session at {ref.get('path')} and at {original}).",
                                "Locate it (in the window: the file dialog that follows; in code: "
                                "open_session(..., replacements={old path: new path})).",
                                original, role, original, "missing")
    if ref.get("sha256") and fingerprint(str(found)) != ref["sha256"]:
        raise SessionInputError(f"{what} this session was saved with has changed since (its sha256 differs), so "
                                "its runs' splits and weights would not match it.",
                                "Locate the original file, or give this one as the replacement to use it anyway.",
                                found, role, original, "changed")
    return str(found.resolve()), False


def sidecar(session_file: Path) -> Path:
    """The folder beside the session file that holds its runs' weights."""
    return session_file.with_name(session_file.name.rpartition(".")[0] + ".runs"
                                  if "." in session_file.name else session_file.name + ".runs")


def write_weights(session_file: Path, run_id: str, run: Run) -> dict[str, Any]:
    """Write a run's weights and logits (safetensors, atomically); returns its listing for the session file."""
    import torch
    from safetensors.torch import save

    tensors: dict[str, torch.Tensor] = {f"logits.{s}": torch.as_tensor(run.logits[s]).contiguous()
                                        for s in SPLITS if s in run.logits}
    if run.kind != "baseline":
        tensors |= {f"model.{k}": v.detach().cpu().contiguous().clone() for k, v in run.model.state_dict().items()}
    data = save(tensors, metadata={"head": run.head_name, "kind": run.kind})
    folder = sidecar(session_file)
    folder.mkdir(exist_ok=True)
    path = folder / f"{run_id}.safetensors"
    write_bytes_atomic(path, data)
    return {"file": f"{folder.name}/{path.name}", "sha256": hashlib.sha256(data).hexdigest(), "head": run.head_name}


def read_weights(session_file: Path, listing: dict[str, Any]) -> tuple[dict[str, torch.Tensor],
                                                                        dict[str, np.ndarray]]:
    """(the model's state_dict, logits per split) of a run, checked against its hash; never unpickled."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = session_file.parent / str(listing.get("file", ""))
    try:
        data = path.read_bytes()
    except OSError:
        raise SessionInputError("a run's weights file is missing.", "Keep the .runs folder beside the session file.",
                                path, "weights", str(path), "missing") from None
    if hashlib.sha256(data).hexdigest() != listing.get("sha256"):
        raise SessionInputError("a run's weights file has changed since the session was saved.",
                                "Use the .runs folder saved with this session.", path, "weights", str(path), "changed")
    try:
        tensors = load(data)
    except (SafetensorError, ValueError) as exc:
        raise SessionInputError(f"a run's weights file cannot be read ({exc}).", "Save the session again.",
                                path, "weights", str(path), "changed") from None
    state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    logits = {k[7:]: v.numpy() for k, v in tensors.items() if k.startswith("logits.")}
    return state, logits


def session_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=1, default=float).encode("utf-8")
