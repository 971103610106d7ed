"""Export a converted model into a folder: a `torch.export` program from inputs to calibrated probabilities,
safetensors weights and JSON metadata. Never a pickled module. Written in a hidden staging folder beside
the target and renamed into place, so a failed export leaves nothing behind and never touches the source.
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import ExportError
from .train import shape_logits

FORMAT_VERSION = 1


class Standardize(nn.Module):
    def __init__(self, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class CalibratedClassifier(nn.Module):
    """Raw inputs (N, *input_shape) -> calibrated class probabilities (N, K)."""

    def __init__(self, model: nn.Module, calibration: nn.Module, binary: bool, preprocess: nn.Module | None = None):
        super().__init__()
        self.preprocess = preprocess or nn.Identity()
        self.model, self.calibration, self.binary = model, calibration, binary

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.calibration(shape_logits(self.model(self.preprocess(x)), self.binary))


@dataclass
class ExportResult:
    folder: Path
    files: list[str]
    program_format: str
    round_trip_max_abs_diff: float
    onnx: dict | None = None  # file, checker and round-trip difference, when ONNX was asked for


def check_target(folder: Path, source: Path | None, overwrite: bool) -> None:
    folder = Path(folder).expanduser().resolve()
    if source is not None and folder == Path(source).resolve().parent:
        raise ExportError("this is the source checkpoint's own folder.",
                          "Choose a new folder for the export, so the source stays untouched.", folder)
    if source is not None and folder == Path(source).resolve():
        raise ExportError("this is the source checkpoint itself.", "Choose a new folder for the export.", folder)
    if folder.exists() and not folder.is_dir():
        raise ExportError("a file of that name exists.", "Choose a folder name that is not taken.", folder)
    if folder.is_dir() and any(folder.iterdir()):
        if (folder / "metadata.json").is_file():
            if not overwrite:
                raise ExportError("the folder already holds an export.",
                                  "Choose another folder, or replace it (--overwrite / confirm in the dialog).",
                                  folder)
        else:
            raise ExportError("the folder is not empty.", "Choose a new or empty folder.", folder)
    parent = folder.parent
    if not parent.is_dir():
        raise ExportError("the folder's parent does not exist.", "Create it first or choose another place.", folder)
    if not os.access(parent, os.W_OK) or (folder.is_dir() and not os.access(folder, os.W_OK)):
        raise ExportError("the folder is read-only.", "Choose a folder you can write to.", folder)


def _program(module: nn.Module, example: torch.Tensor, staging: Path) -> tuple[str, str]:
    batch = torch.export.Dim("batch", min=1)
    try:
        program = torch.export.export(module, (example,), dynamic_shapes=({0: batch},))
        torch.export.save(program, str(staging / "model.pt2"))
        return "model.pt2", "torch.export"
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - some models cannot be exported; TorchScript is the fallback
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    try:
        traced = torch.jit.trace(module, (example,), check_trace=False)
    except Exception as exc:  # noqa: BLE001
        raise ExportError(f"the model can be exported neither with torch.export ({reason}) nor with TorchScript "
                          f"({type(exc).__name__}).", "Simplify the model's forward.") from None
    torch.jit.save(traced, str(staging / "model.ts"))
    return "model.ts", f"torchscript (torch.export failed: {reason})"


def _onnx(module: nn.Module, example: torch.Tensor, expected: np.ndarray, staging: Path, folder: Path) -> dict:
    """Write model.onnx; check it with onnx and, where onnxruntime is installed, against `expected`."""
    import contextlib
    import io

    try:
        import onnx
    except ImportError:
        raise ExportError("ONNX export needs the onnx packages, which are not installed.",
                          "Install them with: pip install -e '.[onnx]', or export without ONNX.", folder) from None
    path = staging / "model.onnx"
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints progress lines
            program = torch.onnx.export(module, (example,), dynamo=True, verbose=False,
                                        dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
            program.save(str(path))
        onnx.checker.check_model(onnx.load(str(path)))
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as a user-facing choice, not a crash
        raise ExportError(f"the model cannot be exported to ONNX ({type(exc).__name__}: {str(exc)[:200]}).",
                          "Export without ONNX; the torch program and weights do not need it.", folder) from None
    try:
        import onnxruntime
    except ImportError:
        return {"file": path.name, "checked_with": "onnx.checker", "round_trip_max_abs_diff": None}
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: example.numpy()})[0]
    diff = float(np.abs(got - expected).max()) if got.shape == expected.shape else float("inf")
    if diff > 1e-4:
        raise ExportError(f"the ONNX model differs by {diff:.3g} from the workbench's probabilities.",
                          "Export without ONNX and report this as a bug.", folder)
    return {"file": path.name, "checked_with": f"onnxruntime {onnxruntime.__version__}",
            "round_trip_max_abs_diff": diff}


def load_program(path: Path) -> nn.Module:
    """Open an exported program as the user would, with torch alone."""
    if path.suffix == ".pt2":
        return torch.export.load(str(path)).module()
    return torch.jit.load(str(path))


def export(folder: str | Path, module: CalibratedClassifier, example: torch.Tensor, expected: np.ndarray,
           metadata: dict, metrics: dict, source: Path | None = None, overwrite: bool = False,
           onnx: bool = False) -> ExportResult:
    """Write the export; `expected` are the in-process probabilities of `example` for the round-trip check."""
    folder = Path(folder).expanduser().resolve()
    check_target(folder, source, overwrite)
    module = module.cpu().eval()
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    try:
        program_file, program_format = _program(module, example.cpu(), staging)
        from safetensors.torch import load_file, save_model

        save_model(module, str(staging / "weights.safetensors"))
        with torch.no_grad():
            got = load_program(staging / program_file)(example.cpu()).numpy()
        diff = float(np.abs(got - expected).max()) if got.shape == expected.shape else float("inf")
        reopened = load_file(str(staging / "weights.safetensors"))
        if diff > 1e-5 or set(reopened) != set(module.state_dict()):
            raise ExportError(f"the round-trip check failed: the saved program differs by {diff:.3g} from the "
                              "workbench's probabilities.", "Report this as a bug; nothing was written.", folder)
        if onnx:
            metadata = {**metadata, "onnx": _onnx(module, example.cpu(), expected, staging, folder)}
        meta = {"format_version": FORMAT_VERSION, "program": program_file, "program_format": program_format,
                "weights": "weights.safetensors", "torch_version": torch.__version__,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "round_trip_max_abs_diff": diff, **metadata, "metrics": metrics}
        (staging / "metadata.json").write_text(json.dumps(meta, indent=2))
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2))
        if "recipe" in metadata:
            (staging / "recipe.json").write_text(json.dumps(metadata["recipe"], indent=2))
        files = sorted(p.name for p in staging.iterdir())
        _move_into_place(staging, folder)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        raise ExportError("the disk is full; nothing was written." if full else f"writing failed ({exc}).",
                          "Free some space or choose another disk." if full else "Check the folder's permissions.",
                          folder) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(folder, files, program_format, diff, metadata.get("onnx"))


def _move_into_place(staging: Path, folder: Path) -> None:
    if folder.is_dir() and any(folder.iterdir()):
        old = folder.with_name(f".{folder.name}.replaced")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        if folder.is_dir():
            folder.rmdir()
        os.replace(staging, folder)
