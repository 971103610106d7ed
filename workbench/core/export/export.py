"""Export a converted model into a folder: a `torch.export` program from inputs to calibrated probabilities,
safetensors weights and JSON metadata. Never a pickled module. Written in a hidden staging folder beside
the target and swapped into place (folder_swap), so a failed or killed export leaves the old export or the
new one; never written over or into the run's inputs (output_paths), and an existing folder is replaced
only when it holds nothing but an earlier export of this tool.
"""

from __future__ import annotations

import datetime
import errno
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench.core import json_text, progress
from workbench.core.errors import ExportError
from workbench.core.export import model_card
from workbench.core.safety import folder_swap, output_paths, trust
from workbench.core.safety.output_paths import OutputExistsError, check_export_folder
from workbench.core.train.train import shape_logits

FORMAT_VERSION = 1
PRETTY_LIMIT = 1 << 20  # characters of JSON past which a file is written without indentation


class Standardize(nn.Module):
    mean: torch.Tensor  # buffers, registered in __init__
    std: torch.Tensor

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class CalibratedClassifier(nn.Module):
    """Raw inputs (N, *input_shape) -> calibrated class probabilities (N, K)."""

    def __init__(self, model: nn.Module, calibration: nn.Module, binary: bool,
                 preprocess: nn.Module | None = None) -> None:
        super().__init__()
        self.preprocess = preprocess or nn.Identity()
        self.model, self.calibration, self.binary = model, calibration, binary

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs: torch.Tensor = self.calibration(shape_logits(self.model(self.preprocess(x)), self.binary))
        return probs


@dataclass
class ExportResult:
    folder: Path
    files: list[str]
    program_format: str
    round_trip_max_abs_diff: float
    onnx: dict[str, Any] | None = None  # file, checker and round-trip difference, when ONNX was asked for


def check_target(folder: Path, source: Path | None, overwrite: bool, protected: dict[Path, str] | None = None) -> None:
    """Refuse a target that is, holds or lies inside an input, or that holds files this tool did not write;
    an earlier export of this tool is replaced only with `overwrite` (else OutputExistsError)."""
    folder = Path(folder).expanduser().resolve()
    folder_swap.recover(folder.parent)
    check_export_folder(folder, {**output_paths.inputs(source=source), **(protected or {})})
    if folder.exists() and not folder.is_dir():
        raise ExportError("a file of that name exists.", "Choose a folder name that is not taken.", folder)
    if folder.is_dir() and any(folder.iterdir()):
        foreign = folder_swap.foreign_files(folder)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise ExportError(f"the folder is not empty and holds files this tool did not write or that changed "
                              f"since ({shown}).", "Choose a new or empty folder; nothing there was touched.",
                              folder)
        if not overwrite:
            raise OutputExistsError("the folder already holds an export.",
                                    "Choose another folder, or replace it (--overwrite / confirm in the dialog).",
                                    folder)
    parent = folder.parent
    if not parent.is_dir():
        raise ExportError("the folder's parent does not exist.", "Create it first or choose another place.", folder)
    if not os.access(parent, os.W_OK) or (folder.is_dir() and not os.access(folder, os.W_OK)):
        raise ExportError("the folder is read-only.", "Choose a folder you can write to.", folder)


def inputs_of(metadata: dict[str, Any], source: Path | None) -> dict[Path, str]:
    """The run's inputs an export must never replace: the checkpoint, the data and the model source."""
    recipe = metadata.get("recipe") or {}
    return output_paths.inputs(source=source, data=(recipe.get("data") or {}).get("path"),
                               model_source=recipe.get("model_source"))


Example = torch.Tensor | tuple[torch.Tensor, ...]  # a module of several inputs takes them as forward(*inputs)


def _examples(example: Example) -> tuple[torch.Tensor, ...]:
    return tuple(t.cpu() for t in example) if isinstance(example, tuple) else (example.cpu(),)


def _program(module: nn.Module, example: Example, staging: Path) -> tuple[str, str]:
    batch = torch.export.Dim("batch", min=1)
    examples = _examples(example)
    shapes: tuple[Any, ...] = ({0: batch},) if len(examples) == 1 else (tuple({0: batch} for _ in examples),)
    try:
        with warnings.catch_warnings():
            # An LSTM's _flat_weights are re-assigned while tracing; torch warns about it to the author of the
            # module, and the exported program is correct (its weights are the parameters).
            warnings.filterwarnings("ignore", message=r"(?s).*_flat_weights", category=UserWarning)
            program = torch.export.export(module, examples, dynamic_shapes=shapes)
        torch.export.save(program, str(staging / "model.pt2"))
        return "model.pt2", "torch.export"
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - some models cannot be exported; TorchScript is the fallback
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    try:
        traced = torch.jit.trace(module, examples, check_trace=False)
    except Exception as exc:  # noqa: BLE001
        raise ExportError(f"the model can be exported neither with torch.export ({reason}) nor with TorchScript "
                          f"({type(exc).__name__}).", "Simplify the model's forward.") from None
    torch.jit.save(traced, str(staging / "model.ts"))
    return "model.ts", f"torchscript (torch.export failed: {reason})"


def _onnx(module: nn.Module, example: torch.Tensor, expected: np.ndarray, staging: Path,
          folder: Path) -> dict[str, Any]:
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
            assert program is not None  # dynamo=True always returns the program
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


def _json_text(value: Any) -> str:
    """Indented for reading, unless it is large: with thousands of classes the confusion matrix alone holds
    millions of numbers, which Python's indenting encoder (pure Python) writes a hundred times slower."""
    compact = json_text.dumps(value)
    return compact if len(compact) > PRETTY_LIMIT else json_text.dumps(value, indent=2)


def load_program(path: Path) -> nn.Module:
    """Open an exported program as the user would, with torch alone."""
    if path.suffix == ".pt2":
        return torch.export.load(str(path)).module()
    program: nn.Module = torch.jit.load(str(path))
    return program


def export(folder: str | Path, module: nn.Module, example: Example, expected: np.ndarray,
           metadata: dict[str, Any], metrics: dict[str, Any], source: Path | None = None, overwrite: bool = False,
           onnx: bool = False) -> ExportResult:
    """Write the export; `expected` are the in-process probabilities of `example` for the round-trip check."""
    folder = Path(folder).expanduser().resolve()
    protected = inputs_of(metadata, source)
    check_target(folder, source, overwrite, protected)
    module = module.cpu().eval()
    try:
        with folder_swap.Swap(folder) as swap, progress.step("export", f"Exporting to {folder.name}", 4 + onnx,
                                                              "steps") as reported:
            staging = swap.staging
            reported.advance(0, "the program (torch.export)")
            program_file, program_format = _program(module, example, staging)
            reported.advance(1, "the weights and the round-trip check")
            from safetensors.torch import load_file, save_model

            save_model(module, str(staging / "weights.safetensors"))
            with torch.no_grad():
                got = load_program(staging / program_file)(*_examples(example)).numpy()
            diff = float(np.abs(got - expected).max()) if got.shape == expected.shape else float("inf")
            reopened = load_file(str(staging / "weights.safetensors"))
            if diff > 1e-5 or set(reopened) != set(module.state_dict()):
                raise ExportError(f"the round-trip check failed: the saved program differs by {diff:.3g} from the "
                                  "workbench's probabilities.", "Report this as a bug; nothing was written.", folder)
            if onnx:
                reported.advance(1, "ONNX")
                metadata = {**metadata, "onnx": _onnx(module, _examples(example)[0], expected, staging, folder)}
            reported.advance(1, "metadata and the model card")
            meta = {"format_version": FORMAT_VERSION, "program": program_file, "program_format": program_format,
                    "weights": "weights.safetensors", "torch_version": torch.__version__,
                    "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    "round_trip_max_abs_diff": diff, **metadata, "metrics": metrics}
            (staging / "metadata.json").write_text(_json_text(meta))
            (staging / "metrics.json").write_text(_json_text(metrics))
            if "recipe" in metadata:
                (staging / "recipe.json").write_text(_json_text(metadata["recipe"]))
            model_card.write_card(staging, meta)  # README.md with Hugging Face front matter, and its figures
            reported.advance(1, "trusting the program and swapping the folder in")
            # The user made this program, so evaluating it later needs no --trust.
            trust.trust(trust.sha256_of(staging / program_file))
            folder_swap.write_marker(staging, program_file, folder)
            files = sorted(p.name for p in staging.iterdir() if p.name not in folder_swap.HIDDEN)
            check_target(folder, source, overwrite, protected)  # the folder may have changed while we worked
            swap.commit()
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        raise ExportError("the disk is full; nothing was written." if full else f"writing failed ({exc}).",
                          "Free some space or choose another disk." if full else "Check the folder's permissions.",
                          folder) from None
    return ExportResult(folder, files, program_format, diff, metadata.get("onnx"))
