"""Open a regression checkpoint of any common shape, safely, and return an `nn.Module`.

The format is sniffed from the bytes, not the extension. Loading is `weights_only` (or safetensors)
unless the user has trusted the file by hash; a safe load that fails never falls back to an unsafe one.
"""

from __future__ import annotations

import json
import pickle
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from . import model_source, trust
from .architectures import mlp_from_state_dict, torchvision_from_state_dict
from .errors import CheckpointError, ModelSourceError, UntrustedFileError

STATE_KEYS = ("state_dict", "model_state_dict", "model", "net", "network", "model_state", "weights")
PREFIXES = ("model.", "net.", "module.", "network.", "_orig_mod.", "backbone.")


@dataclass
class LoadedModel:
    model: nn.Module
    path: Path
    sha256: str
    format: str
    notes: list[str] = field(default_factory=list)
    input_shape: tuple[int, ...] | None = None


def sniff(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head:
        return "empty"
    if head.startswith(b"PK\x03\x04") and not zipfile.is_zipfile(path):
        return "corrupt"  # a zip whose end (the central directory) is missing: cut short in a copy
    if zipfile.is_zipfile(path):
        try:
            names = zipfile.ZipFile(path).namelist()
        except (zipfile.BadZipFile, OSError):
            return "corrupt"
        if any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names):
            return "torchscript"
        if any(n.endswith("archive_format") or "/models/" in n and n.endswith(".json") for n in names):
            return "export"
        if any(n.endswith("data.pkl") for n in names):
            return "torch-zip"
        return "zip"
    if len(head) >= 9:
        (size,) = struct.unpack("<Q", head[:8])
        if 2 <= size < 100_000_000 and head[8:9] == b"{":
            return "safetensors"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "legacy-pickle"
    return "unknown"


def _untrusted(path: Path, what: str) -> UntrustedFileError:
    names = trust.pickle_globals(path) if what != "a TorchScript program" else ["TorchScript code (runs when loaded)"]
    return UntrustedFileError(
        f"this is {what}, which runs code when it is opened, so it was not opened. {trust.describe(names)}",
        "If you know where it comes from, trust this file (command line: add --trust; "
        "in the window: answer the trust prompt). Trust applies to this exact file only.",
        path, names, trust.dangerous_globals(names))


def _safe_torch_load(path: Path, fmt: str):
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=(fmt == "torch-zip"))
    except pickle.UnpicklingError:
        return _NEEDS_TRUST
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"the checkpoint is truncated or corrupt ({str(exc).splitlines()[0][:200]}).",
                              "Copy the file again from its source.", path) from None


_NEEDS_TRUST = object()


def _trusted_torch_load(path: Path, source: str):
    if source:
        model_source.import_source(source)
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (ModuleNotFoundError, AttributeError) as exc:
        missing = getattr(exc, "name", None) or str(exc)
        classes = [n for n in trust.unfamiliar_globals(trust.pickle_globals(path))]
        raise ModelSourceError(
            f"the pickled model needs code that is not importable here ({missing}); it refers to "
            f"{', '.join(classes) or 'unknown classes'}.",
            "Point --model-source (or the Model source field) at the .py file that defines that class.",
            path) from None
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"the checkpoint could not be unpickled ({type(exc).__name__}: {exc}).",
                              "Check that it was saved with torch.save.", path) from None


def _strip_prefix(state: dict) -> dict:
    while state:
        hit = next((p for p in PREFIXES if all(k.startswith(p) for k in state)), None)
        if hit is None:
            return state
        state = {k[len(hit):]: v for k, v in state.items()}
    return state


def _find_weights(obj, path: Path):
    """Return (module or None, state_dict or None, format name, extras)."""
    if isinstance(obj, nn.Module):
        return obj, None, "pickled module", {}
    if not isinstance(obj, dict):
        raise CheckpointError(f"the file holds a {type(obj).__name__}, not model weights.",
                              "Save the model with torch.save(model.state_dict(), path) and open that.", path)
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return None, obj, "state_dict", {}
    for key in STATE_KEYS:
        value = obj.get(key)
        if isinstance(value, nn.Module):
            return value, None, f"dict with a pickled module under '{key}'", obj
        if isinstance(value, dict) and value and all(isinstance(v, torch.Tensor) for v in value.values()):
            lightning = key == "state_dict" and ("hyper_parameters" in obj or "pytorch-lightning_version" in obj)
            return None, value, ("Lightning checkpoint" if lightning else f"checkpoint dict ('{key}')"), obj
    raise CheckpointError(
        f"the file holds a dict with keys {', '.join(map(str, list(obj)[:8]))} but no model weights.",
        f"Weights are looked for under {', '.join(STATE_KEYS)}; save them under one of those keys.", path)


def _load_into(model: nn.Module, state: dict, path: Path, what: str) -> None:
    for candidate in (state, _strip_prefix(state)):
        try:
            model.load_state_dict(candidate, strict=True)
            return
        except RuntimeError as exc:
            error = exc
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()][1:4]
    raise ModelSourceError(f"the weights do not fit {what}: {' '.join(lines)[:400]}",
                           "Check the model source and its constructor arguments (--model-args).", path)


def _architecture(state: dict, extras: dict, path: Path, source: str, args: dict | None,
                  activation: str, notes: list[str]) -> nn.Module:
    if source:
        fallback = extras.get("hyper_parameters") if isinstance(extras.get("hyper_parameters"), dict) else None
        model = model_source.build(source, args, fallback)
        _load_into(model, state, path, source)
        return model
    stripped = _strip_prefix(state)
    model = torchvision_from_state_dict(stripped, path)
    if model is not None:
        notes.append(f"Architecture recognised as torchvision {model._workbench_arch} by its keys and shapes.")
        return model
    model = mlp_from_state_dict(stripped, activation)
    if model is not None:
        notes.append(f"Architecture rebuilt as an MLP of Linear layers with {activation} between them "
                     "(the file does not record the activation; choose another with --mlp-activation).")
        return model
    raise CheckpointError(
        "the file holds only weights, and no architecture could be recovered from them "
        "(not a torchvision model, not a plain chain of Linear layers).",
        "Name the model's class with --model-source path/to/models.py:ClassName (and --model-args).", path)


def _input_shape_hint(obj, model: nn.Module) -> tuple[int, ...] | None:
    if isinstance(obj, dict):
        hparams = obj.get("hyper_parameters") if isinstance(obj.get("hyper_parameters"), dict) else {}
        for key in ("input_shape", "input_size"):
            value = obj.get(key, hparams.get(key))
            if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
                return tuple(value)
    for module in model.modules():
        if isinstance(module, nn.Linear):
            return (module.in_features,)
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            return None
    return None


def load_checkpoint(path: str | Path, source: str = "", args: dict | None = None, trusted: bool = False,
                    mlp_activation: str = "relu") -> LoadedModel:
    """Open `path`; `trusted=True` records trust for this file's hash before a full unpickle."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("no such file.", "Check the path.", path)
    fmt = sniff(path)
    if fmt in ("empty", "unknown", "corrupt", "zip"):
        problem = {"empty": "the file is empty", "unknown": "the file is not a PyTorch or safetensors checkpoint",
                   "corrupt": "the file is truncated or corrupt (a damaged zip archive)",
                   "zip": "the zip archive is not a PyTorch checkpoint"}[fmt]
        raise CheckpointError(problem + ".", "Open a file saved with torch.save, torch.jit.save, "
                              "torch.export.save or safetensors.", path)
    digest = trust.sha256_of(path)
    if trusted:
        trust.trust(digest)
    is_trusted = trust.is_trusted(digest)
    notes: list[str] = []
    if fmt in ("torchscript", "export"):
        from .archives import load_code_archive

        if not is_trusted:
            raise _untrusted(path, "a TorchScript program" if fmt == "torchscript" else "a torch.export program")
        model, notes, shape = load_code_archive(path, fmt)
        return LoadedModel(model, path, digest, fmt, notes, shape)
    extras: dict = {}
    if fmt == "safetensors":
        obj = _read_safetensors(path)
        config = path.with_name("config.json")
        if config.is_file():
            extras = _read_config(config)
            source = source or extras.get("model_source", "")
            args = args or extras.get("model_args")
            notes.append(f"Read {config.name} beside the weights.")
    else:
        obj = _safe_torch_load(path, fmt)
        if obj is _NEEDS_TRUST:
            if not is_trusted:
                raise _untrusted(path, "a pickled Python object (not only weights)")
            obj = _trusted_torch_load(path, source)
            notes.append("Opened with full unpickling because you trusted this file.")
    module, state, kind, found_extras = _find_weights(obj, path)
    extras = {**found_extras, **extras}
    if module is None:
        module = _architecture(state, extras, path, source, args, mlp_activation, notes)
    module.eval()
    shape = _input_shape_hint(extras or obj, module)
    return LoadedModel(module, path, digest, "safetensors" if fmt == "safetensors" else kind, notes, shape)


def _read_safetensors(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"the safetensors file is damaged ({exc}).", "Copy it again from its source.",
                              path) from None


def _read_config(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"config.json beside the weights is not valid JSON ({exc}).",
                              "Fix or remove it.", path) from None
    return value if isinstance(value, dict) else {}
