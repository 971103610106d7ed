"""Read an export folder back (evaluate): its metadata checked field by field, and its program loaded only
when trusted. A `model.pt2` holds pickles that `torch.export.load` may fully unpickle and a `model.ts`
can call any operator, so an export this tool did not write on this machine needs the user's trust.
The bytes that are hashed are the bytes that are loaded.
"""

from __future__ import annotations

import hashlib
import io
import numbers
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.core.errors import DataError, UntrustedFileError
from workbench.core.fields import MAX_NESTING
from workbench.core.safety import folder_swap, trust
from workbench.core.safety.bounds import TooDeep, check_declared, json_value
from workbench.core.safety.memory import available_memory
from workbench.core.safety.pickle_read import TORCHSCRIPT, read_program, verdict

if TYPE_CHECKING:
    import torch

PROGRAM_SUFFIXES = (".pt2", ".ts")


def _bad(folder: Path, what: str) -> DataError:
    return DataError(f"not a usable export folder: {what}.",
                     "Give a folder written by `workbench convert` or the Export dialog, or export the run again.",
                     folder)


def read_metadata(folder: str | Path) -> dict[str, Any]:
    """metadata.json of an export, with every field that evaluating needs checked."""
    folder = Path(folder).expanduser()
    folder_swap.recover(folder.resolve().parent)  # an export a killed run was replacing is put back first
    if not folder.is_dir():
        raise _bad(folder, "it is not a folder")
    try:
        meta = json_value((folder / "metadata.json").read_bytes(), MAX_NESTING)
    except FileNotFoundError:
        raise _bad(folder, "it has no metadata.json") from None
    except TooDeep:
        raise _bad(folder, f"metadata.json nests deeper than {MAX_NESTING} levels, which no export does") from None
    except (OSError, ValueError) as exc:
        raise _bad(folder, f"metadata.json cannot be read ({type(exc).__name__})") from None
    if not isinstance(meta, dict):
        raise _bad(folder, "metadata.json is not a JSON object")
    program = meta.get("program")
    if not isinstance(program, str) or Path(program).name != program or program in ("", ".", "..") \
            or "\\" in program or Path(program).suffix not in PROGRAM_SUFFIXES:
        raise _bad(folder, f"metadata.json names the program {program!r}, which is not a .pt2 or .ts file name "
                           "inside the folder")
    classes = meta.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise _bad(folder, "metadata.json has no list of class names")
    if meta.get("task") not in ("binary", "multiclass", "ordinal"):
        raise _bad(folder, "metadata.json's task is not binary, multiclass or ordinal")
    shape = meta.get("input_shape")
    if not isinstance(shape, list) or not shape or not all(isinstance(v, int) and v > 0 for v in shape):
        raise _bad(folder, "metadata.json's input_shape is not a list of positive whole numbers")
    recipe = meta.get("recipe")
    data = recipe.get("data") if isinstance(recipe, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("features", []), list) \
            or not isinstance(data.get("label_mode"), str) \
            or not isinstance(data.get("threshold"), (numbers.Real, type(None))) \
            or not isinstance(data.get("bins"), (int, type(None))):
        raise _bad(folder, "metadata.json's recipe has no usable data section")
    metrics = meta.get("metrics")
    if not isinstance(metrics, dict) or not isinstance(metrics.get("labels", {}), dict):
        raise _bad(folder, "metadata.json has no metrics")
    return meta


def load_program(folder: str | Path, meta: dict[str, Any], trusted: bool = False) -> torch.nn.Module:
    """The export's program as a torch module, once its exact bytes are trusted.

    Trust is decided on the hash of the bytes read, before anything inflates; the program's pickles are then
    read as the loader reads them (`pickle_read`): the refusal names what they would call, and a trusted
    program's declared sizes are checked before torch loads it.
    """
    folder = Path(folder).expanduser()
    path = folder / meta["program"]
    if path.is_symlink() or not path.is_file():
        raise _bad(folder, f"its program {meta['program']} is missing or not a plain file")
    free = available_memory()
    if free is not None and path.stat().st_size > free:
        raise DataError(f"the program is {path.stat().st_size:,} bytes, more than the memory free now.",
                        "Free memory, or evaluate it on a machine with more.", path)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    known = trust.is_trusted(digest)
    reading = read_program(data, path)
    if not known and not trusted:
        what = "It is TorchScript, which can call any operator. " if TORCHSCRIPT in reading.names else \
            "Loading it may unpickle what it holds. "
        raise UntrustedFileError(
            "this export's program was not written by this workbench on this computer, or was changed since. "
            + what + verdict(reading.names),
            "If you made this export or trust whoever did, run again with --trust; otherwise do not.",
            path, reading.names, trust.dangerous_globals(reading.names))
    check_declared(reading.scan, max(reading.declared, len(data)), path)
    if not known:
        trust.trust(digest)
    return _load(data, path)


def _load(data: bytes, path: Path) -> torch.nn.Module:
    import logging
    import zipfile

    import torch

    # torch.export logs a traceback before raising on a damaged archive; the user gets one paragraph instead.
    quiet = logging.getLogger("torch.export")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise ValueError("it is not a zip archive")
        if path.suffix == ".pt2":
            return torch.export.load(io.BytesIO(data)).module()
        program: torch.nn.Module = torch.jit.load(io.BytesIO(data), map_location="cpu")
        return program
    except Exception as exc:  # noqa: BLE001 - a damaged program is the user's file, not our bug
        first = str(exc).splitlines()[0][:160] if str(exc) else ""
        raise DataError(f"the program cannot be loaded ({type(exc).__name__}: {first}).", "Export the run again.",
                        path) from None
    finally:
        quiet.setLevel(level)


def check_inputs(meta: dict[str, Any], X: Any, source: str | Path = "") -> None:
    """Refuse data that does not match what the export states it takes (metadata 'input_spec'): the wrong shape
    per sample, or pixels outside [0, 1], such as 0..255 values or pixels normalised already, which the program
    would score without complaint and badly."""
    spec = meta.get("input_spec") or {}
    shape = tuple(meta.get("input_shape") or ())
    if shape and tuple(X.shape[1:]) != shape:
        raise DataError(f"the data has samples of shape {tuple(X.shape[1:])} but the export takes {shape} "
                        f"({meta.get('input', 'see its metadata.json')}).",
                        "Give data of the export's input shape.", source)
    if spec.get("range") is None or not isinstance(X, np.ndarray) or not X.size:
        return  # an image folder is read as [0, 1] pixels by construction
    low, high = spec["range"]
    lo, hi = float(np.nanmin(X)), float(np.nanmax(X))
    if lo < low - 1e-3:
        raise DataError(f"the values go down to {lo:g}, but the export takes pixels in [{low:g}, {high:g}]: the "
                        "data looks normalised already (mean subtracted).",
                        "Give the 0..1 pixels; the program applies its own normalisation "
                        f"({spec.get('normalization', 'none')}).", source)
    if hi > high + 1e-3:
        raise DataError(f"the values reach {hi:g}, but the export takes {spec.get('channel_order', '')} pixels as "
                        f"float32 in [{low:g}, {high:g}]; 8-bit values (0..255) would be scored wrongly.",
                        "Divide 8-bit pixels by 255 (or give the image folder itself, which is read as 0..1 "
                        "pixels). Normalisation, if any, is inside the program: do not apply it again.", source)


def probabilities(folder: str | Path, meta: dict[str, Any], X: Any, trusted: bool = False,
                  batch_size: int = 1024) -> np.ndarray:
    """Run the export's program on `X` (an array, or an image folder's samples, a batch at a time) and check it
    gives one probability per class."""
    import torch

    program = load_program(folder, meta, trusted)
    try:
        with torch.no_grad():
            parts = [program(*program_inputs(meta, torch.as_tensor(X[i:i + batch_size]))).numpy()
                     for i in range(0, len(X), batch_size)]
            probs = np.concatenate(parts) if parts else np.zeros((0, len(meta["classes"])), dtype=np.float32)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"the export's program fails on this data ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:160] if str(exc) else ''}).",
                        "Check that the data has the features the export was trained on.",
                        Path(folder) / meta["program"]) from None
    if probs.ndim != 2 or probs.shape != (len(X), len(meta["classes"])):
        raise _bad(Path(folder), f"its program gives shape {tuple(probs.shape)}, not one probability for each of "
                                 f"its {len(meta['classes'])} classes")
    return np.asarray(probs)


def program_inputs(meta: dict[str, Any], rows: Any) -> tuple[Any, ...]:
    """A batch of rows as the program takes it: itself, or cut into the model's inputs (metadata 'inputs', in
    order; category codes as int64) for a model whose forward takes several tensors."""
    import torch

    inputs = meta.get("inputs")
    if not inputs:
        return (rows,)
    parts = torch.split(rows, [len(spec["columns"]) for spec in inputs], dim=1)
    return tuple(p.round().long() if spec.get("dtype") == "int64"
                 else p.reshape(len(p), *spec["shape"][1:]) if len(spec.get("shape", ())) > 2 else p
                 for p, spec in zip(parts, inputs))
