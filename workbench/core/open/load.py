"""Open a regression checkpoint of any common shape, safely, and return an `nn.Module`.

The format is sniffed from the bytes, not the extension. Loading is `weights_only` (or safetensors)
unless the user has trusted the file by hash; a safe load that fails never falls back to an unsafe one.
Code a file names (config.json's model_source, a recipe's) runs only once trusted; code the user names
runs, and the notes say so. Sizes are checked against the file and free memory before anything is built.
"""

from __future__ import annotations

import pickle
import struct
import sys
import tarfile
import types
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from workbench.core.errors import CheckpointError, ModelSourceError, TrustStoreError, UntrustedFileError
from workbench.core.open import model_source
from workbench.core.open.architectures import mlp_from_state_dict, torchvision_from_state_dict
from workbench.core.open.layer_tree import check_finite
from workbench.core.open.state_keys import STATE_KEYS
from workbench.core.open.state_keys import strip_prefix as _strip_prefix
from workbench.core.safety import trust
from workbench.core.safety.bounds import check_safetensors, check_storages, check_tensors, check_zip, parse_json
from workbench.core.safety.snapshot import Snapshot, read_bytes_once

MAX_SMALL_FILE = 16 << 20  # a config.json or a model source larger than this is not one


@dataclass
class LoadedModel:
    model: nn.Module
    path: Path
    sha256: str
    format: str
    notes: list[str] = field(default_factory=list)
    input_shape: tuple[int, ...] | None = None
    # Every file opening it read (resolved): the checkpoint, config.json beside it, the model source and each
    # sibling module that source imported. All are inputs: no output of the workbench may replace one.
    files: list[Path] = field(default_factory=list)


def companions(path: str | Path) -> list[Path]:
    """Files beside a checkpoint that opening it reads, known before it is opened (config.json)."""
    config = Path(path).with_name("config.json")
    return [config] if config.is_file() else []


def _files_read(path: Path, beside: bool, source: _Source | None) -> list[Path]:
    """The checkpoint, (`beside`) its config.json, and the model source with the sibling modules it reached."""
    from workbench.core.open.sibling_import import is_sibling

    files = [path, *(companions(path) if beside else [])]
    if source is not None:
        files.append(source.file)
        # the modules the sibling finder made for this load (it forgets them when the next source is imported)
        found = [getattr(m, "__file__", None) for m in list(sys.modules.values()) if is_sibling(m)]
        files += [Path(f) for f in found if isinstance(f, str)]
    return list(dict.fromkeys(f.expanduser().resolve() for f in files))


def sniff(path: Path) -> str:
    """The format, by content and by the same tests torch applies (a zip only if it starts like one)."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head:
        return "empty"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return "corrupt"  # a zip whose end (the central directory) is missing: cut short in a copy
        lower = [n.lower() for n in names]
        if any(n.endswith("/constants.pkl") for n in lower) and any("/code/" in n for n in lower):
            return "torchscript"
        if any(n.endswith("archive_format") or "/models/" in n and n.endswith(".json") for n in lower):
            return "export"
        if any(n.endswith("data.pkl") for n in lower):
            return "torch-zip"
        return "zip"
    if _is_tar(path):
        return "tar"  # torch.load would read it as its pre-1.6 tar format, unpickling members we do not show
    if len(head) >= 9:
        (size,) = struct.unpack("<Q", head[:8])
        if 2 <= size < 100_000_000 and head[8:9] == b"{":
            return "safetensors"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "legacy-pickle"
    return "unknown"


def _is_tar(path: Path) -> bool:
    """torch.load's own test for its pre-1.6 tar format, which it tries before reading a pickle."""
    try:
        with open(path, "rb") as fh, tarfile.open(fileobj=fh, mode="r:"):
            return True
    except (tarfile.TarError, OSError, ValueError, EOFError, UnicodeDecodeError):
        return False


REFUSED = {"empty": "the file is empty", "unknown": "the file is not a PyTorch or safetensors checkpoint",
           "corrupt": "the file is truncated or corrupt (a damaged zip archive)",
           "zip": "the zip archive is not a PyTorch checkpoint",
           "tar": "the file is a tar archive (PyTorch's format before 1.6), which is not supported"}


def _untrusted(path: Path, what: str, names: list[str]) -> UntrustedFileError:
    store = " ".join(trust.take_problems())  # why a file trusted before may be asked about again
    return UntrustedFileError(
        f"this is {what}, which runs code when it is opened, so it was not opened. {trust.describe(names)}"
        + (f" ({store})" if store else ""),
        "If you know where it comes from, trust this file (command line: add --trust; "
        "in the window: answer the trust prompt). Trust applies to this exact file only.",
        path, names, trust.dangerous_globals(names))


def _safe_torch_load(path: Path, fmt: str, shown: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=(fmt == "torch-zip"))
    except pickle.UnpicklingError:
        return _NEEDS_TRUST
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"the checkpoint is truncated or corrupt ({str(exc).splitlines()[0][:200]}).",
                              "Copy the file again from its source.", shown) from None


_NEEDS_TRUST = object()


_INERT_KEY = "__workbench_inert__"


def _inert_weights(path: Path, shown: Path, names: list[str], notes: list[str]) -> dict[str, Any]:
    """The weights of a pickled module whose classes are not importable, read without building any class."""
    from workbench.core.open.pickle_weights import class_names, read_inert, weights_from

    obj = read_inert(path, shown)
    state, module, extras = weights_from(obj)
    if not state:
        classes = trust.unfamiliar_globals(names)
        raise ModelSourceError(
            f"the file pickles classes that are not importable here ({', '.join(classes[:6]) or 'unknown'}) and "
            "holds no module whose weights could be read out.",
            "Name the file and class that define it as the model source (--model-source FILE:Class; in the "
            "window, the Model source field).", shown)
    danger = trust.dangerous_globals(names)
    notes.append(f"The file pickles {', '.join(class_names(module)[:6])}, code that exists only where it was saved. "
                 "None of it was run: its weights were read out as a state_dict."
                 + (f" It also names {', '.join(danger)}, which was not run either." if danger else ""))
    return {**{k: v for k, v in extras.items() if k not in STATE_KEYS}, "state_dict": state, _INERT_KEY: True}


def _mapped_pickle_module(module: types.ModuleType) -> types.ModuleType:
    """A pickle module whose classes that cannot be imported (`__main__.Net`) come from the user's model source."""

    class Unpickler(pickle.Unpickler):
        def find_class(self, mod_name: str, name: str) -> Any:
            if mod_name == "__main__" and hasattr(module, name):
                return getattr(module, name)
            try:
                return super().find_class(mod_name, name)
            except (ImportError, AttributeError):
                if "." not in name and hasattr(module, name):
                    return getattr(module, name)
                raise

    mapped = types.ModuleType("pickle")
    mapped.Unpickler = Unpickler  # type: ignore[attr-defined]
    mapped.load = lambda fh, **kw: Unpickler(fh, **kw).load()  # type: ignore[attr-defined]
    return mapped


def _trusted_torch_load(path: Path, source: _Source | None, names: list[str], shown: Path,
                        notes: list[str]) -> Any:
    kwargs: dict[str, Any] = {}
    if source is not None:
        module, _ = model_source.import_source(source.spec, source.code)
        kwargs["pickle_module"] = _mapped_pickle_module(module)
    try:
        return torch.load(path, map_location="cpu", weights_only=False, **kwargs)
    except (ModuleNotFoundError, AttributeError) as exc:
        missing = getattr(exc, "name", None) or str(exc)
        classes = trust.unfamiliar_globals(names)
        if source is None:  # no class to build it with: its weights still open, as a state_dict would
            return _inert_weights(path, shown, names, notes)
        raise ModelSourceError(
            f"the pickled model needs code that neither this installation nor the model source {source.file} "
            f"provides ({missing}); it refers to {', '.join(classes) or 'unknown classes'}.",
            "Name the file and class that define it as the model source (--model-source FILE:Class; in the "
            "window, the Model source field).", shown) from None
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"the checkpoint could not be unpickled ({type(exc).__name__}: {exc}).",
                              "Check that it was saved with torch.save.", shown) from None


@dataclass
class _Source:
    """A model source to run: `spec` with an absolute file, the bytes read once, and who named it."""

    spec: str
    file: Path
    code: bytes
    sha256: str
    named_by: Path | None  # None: the user typed it


def _read_source(spec: str, named_by: Path | None) -> _Source:
    file_part, sep, class_name = spec.rpartition(":")
    if not sep or not file_part or not class_name:
        raise ModelSourceError(f"the model source '{spec}' is not of the form path/to/models.py:ClassName.",
                               "Name the Python file and the class, separated by a colon.", named_by)
    file = Path(file_part).expanduser()
    if named_by is not None and not file.is_absolute():
        file = named_by.parent / file  # a file's own references are relative to that file, not to the cwd
    try:
        if not file.is_file() or file.stat().st_size > MAX_SMALL_FILE:  # not a FIFO, a device or a huge file
            raise FileNotFoundError(file)
        code, digest = read_bytes_once(file)
    except OSError:
        named = f" (named by {named_by})" if named_by else ""
        raise ModelSourceError(f"the model source file does not exist or is not a plain Python file{named}.",
                               "Check the path before the colon.", file) from None
    return _Source(f"{file}:{class_name}", file, code, digest, named_by)


def _require_source_trust(source: _Source, trusted: bool, hashes: list[str]) -> None:
    """Code named by a file runs only once its own bytes are trusted (or the user trusts the naming file now)."""
    if source.named_by is None:
        return
    if trusted:
        hashes.append(source.sha256)
        return
    if trust.is_trusted(source.sha256):
        return
    imported = _imports_of(_would_run(source))
    danger = trust.dangerous_globals(imported)
    raise UntrustedFileError(
        f"{source.named_by.name} names the model source {source.file}; opening the model would run the class "
        f"{source.spec.rpartition(':')[2]} from that file and the code it refers to (not the rest of the "
        "file), so it was not run."
        + (f" It imports {', '.join(imported[:12])}." if imported else "")
        + (" DANGER: " + ", ".join(danger) + " can run programs or change files." if danger else ""),
        "If you know where both files come from, trust them (command line: add --trust; in the window: answer "
        "the trust prompt). Trust is recorded for that Python file's exact content; or name the model source "
        "yourself with --model-source (the Model source field).",
        source.named_by, [str(source.file)] + imported, danger)


def _would_run(source: _Source) -> bytes:
    """The part of the source file that would run: the class and what it needs (the whole file if unreadable)."""
    try:
        return model_source.extracted_code(source.spec, source.code).encode()
    except ModelSourceError:
        return source.code


def _vouch(source: _Source) -> None:
    """A source the user names is code they vouch for: a recipe or config.json naming that same content may run it.

    Best effort: a store that cannot be written only means the user is asked again later.
    """
    try:
        if not trust.is_trusted(source.sha256):
            trust.trust(source.sha256)
    except TrustStoreError:
        pass


def _imports_of(code: bytes) -> list[str]:
    """Modules a Python file imports, read with ast (never run), for the trust message."""
    import ast

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ["<the file could not be parsed>"]
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return list(dict.fromkeys(found))


def _find_weights(obj: object, path: Path
                  ) -> tuple[nn.Module | None, dict[str, Any] | None, str, dict[str, Any]]:
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


def _load_into(model: nn.Module, state: dict[str, Any], path: Path, what: str) -> None:
    for candidate in (state, _strip_prefix(state)):
        try:
            model.load_state_dict(candidate, strict=True)
            return
        except RuntimeError as exc:
            error = exc
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()][1:4]
    raise ModelSourceError(f"the weights do not fit {what}: {' '.join(lines)[:400]}",
                           "Check the model source and its constructor arguments (--model-args).", path)


def _architecture(state: dict[str, Any], extras: dict[str, Any], path: Path, source: _Source | None,
                  args: dict[str, Any] | None, activation: str, notes: list[str]) -> nn.Module:
    if source is not None:
        fallback = extras.get("hyper_parameters") if isinstance(extras.get("hyper_parameters"), dict) else None
        model = model_source.build(source.spec, args, fallback, source.code)
        _load_into(model, state, path, source.spec)
        return model
    stripped = _strip_prefix(state)
    vision = torchvision_from_state_dict(stripped, path)
    if vision is not None:
        notes.append(f"Architecture recognised as torchvision {vision._workbench_arch} by its keys and shapes.")
        return vision
    mlp = mlp_from_state_dict(stripped, activation)
    if mlp is not None:
        notes.append(f"Architecture rebuilt as an MLP of Linear layers with {activation} between them "
                     "(the file does not record the activation; the recipe's mlp_activation chooses it: "
                     "--mlp-activation on the command line, the Model tab's MLP activation in the window).")
        return mlp
    raise CheckpointError(
        "the file holds only weights, and no architecture could be recovered from them "
        "(not a torchvision model, not a plain chain of Linear layers).",
        "Name the model's class with --model-source path/to/models.py:ClassName (and --model-args).", path)


def _input_shape_hint(obj: object, model: nn.Module) -> tuple[int, ...] | None:
    if isinstance(obj, dict):
        hparams = obj["hyper_parameters"] if isinstance(obj.get("hyper_parameters"), dict) else {}
        for key in ("input_shape", "input_size"):
            value = obj.get(key, hparams.get(key))
            if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
                return tuple(value)
    for module in model.modules():
        if isinstance(module, nn.RNNBase):
            return None  # the first Linear reads the hidden state, not the input
        if isinstance(module, nn.Linear):
            return (module.in_features,)
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            return None
    return None


def load_checkpoint(path: str | Path, source: str = "", args: dict[str, Any] | None = None, trusted: bool = False,
                    mlp_activation: str = "relu", source_named_by: str | Path | None = None) -> LoadedModel:
    """Open `path`; `trusted=True` records trust for this file (and the model source it names) first.

    `source` typed by the user runs (and a note says so). When a file named it instead (a recipe), pass
    that file as `source_named_by`: the source then runs only once trusted, like one named by config.json.
    The file is read once into a private copy; its hash and everything loaded come from that copy.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("no such file.", "Check the path.", path)
    with Snapshot(path) as snap:
        return _load(snap, path, source, args, trusted, mlp_activation,
                     Path(source_named_by) if source_named_by else None)


def _load(snap: Snapshot, path: Path, source_spec: str, args: dict[str, Any] | None, trusted: bool, mlp_activation: str,
          named_by: Path | None) -> LoadedModel:
    copy = snap.path
    assert copy is not None  # the snapshot is open
    fmt = sniff(copy)
    if fmt in REFUSED:
        raise CheckpointError(REFUSED[fmt] + ".", "Open a file saved with torch.save, torch.jit.save, "
                              "torch.export.save or safetensors.", path)
    digest = snap.sha256
    notes: list[str] = []
    to_trust = [digest] if trusted else []
    source = _read_source(source_spec, named_by) if source_spec else None
    if source is not None:
        _require_source_trust(source, trusted, to_trust)
        if source.named_by is None:
            _vouch(source)
    declared = check_zip(copy, path) if fmt not in ("safetensors", "legacy-pickle") else snap.size
    if fmt in ("torchscript", "export"):
        from workbench.core.open.archives import load_code_archive

        if not (trusted or trust.is_trusted(digest)):
            names = (["TorchScript code (runs when loaded)"] if fmt == "torchscript"
                     else trust.pickle_globals(copy))
            raise _untrusted(path, "a TorchScript program" if fmt == "torchscript" else "a torch.export program",
                             names)
        _record_trust(to_trust, notes)
        model, archive_notes, shape = load_code_archive(snap.alias(".pt2") if fmt == "export" else copy, fmt, path)
        check_finite(model, path)
        return LoadedModel(model, path, digest, fmt, notes + archive_notes, shape, _files_read(path, False, None))
    extras: dict[str, Any] = {}
    if fmt == "safetensors":
        check_safetensors(copy, path)
        obj = _read_safetensors(copy, path)
        config = path.with_name("config.json")
        if config.is_file():
            extras = _read_config(config)
            notes.append(f"Read {config.name} beside the weights.")
            named = extras.get("model_source")
            if named and source is None:
                if not isinstance(named, str):
                    raise CheckpointError("config.json's model_source is not a path/to/models.py:ClassName string.",
                                          "Fix or remove it.", config)
                source = _read_source(named, config)
                _require_source_trust(source, trusted, to_trust)
                args = args or extras.get("model_args")
            elif named:
                notes.append(f"The model source you named overrides {config.name}'s ({named}).")
        _record_trust(to_trust, notes)
    else:
        scan = trust.scan_file(copy)
        check_storages(scan.storages, declared, path)
        obj = _safe_torch_load(copy, fmt, path)
        if (obj is _NEEDS_TRUST and any(n.startswith("__main__.") for n in scan.imports)
                and not (trusted and source is not None or source is not None and trust.is_trusted(digest))):
            # saved from a script or notebook: its weights are read without building any class; a model
            # source the user names then builds the model (mapping __main__ onto it needs the file trusted)
            _record_trust(to_trust, notes)
            obj = _inert_weights(copy, path, scan.imports, notes)
        elif obj is _NEEDS_TRUST:
            if not (trusted or trust.is_trusted(digest)):
                raise _untrusted(path, "a pickled Python object (not only weights)", scan.imports)
            _record_trust(to_trust, notes)
            obj = _trusted_torch_load(copy, source, scan.imports, path, notes)
            notes.append("Opened with full unpickling because you trusted this file.")
        else:
            _record_trust(to_trust, notes)
    check_tensors(obj, path)
    module, state, kind, found_extras = _find_weights(obj, path)
    if isinstance(obj, dict) and obj.get(_INERT_KEY):
        kind = "pickled module (weights read without its code)"
    extras = {**found_extras, **extras}
    if module is None:
        assert state is not None  # _find_weights gives a module or else a state_dict
        module = _architecture(state, extras, path, source, args, mlp_activation, notes)
    if source is not None:
        who = "you named" if source.named_by is None else f"named by {source.named_by.name}, trusted"
        notes.append(f"Runs {source.file} (the model source {who}) to build the model.")
    module.eval()
    check_finite(module, path)
    shape = _input_shape_hint(extras or obj, module)
    if shape is None and _is_recurrent(module):
        notes.append("The model is recurrent: each sample is a sequence, and its length is not in the file. The "
                     "input shape comes from the data (sequence length, features), or give it (--input-shape; in "
                     "the window, the Model tab's Input shape field).")
    return LoadedModel(module, path, digest, "safetensors" if fmt == "safetensors" else kind, notes, shape,
                       _files_read(path, fmt == "safetensors", source))


def _is_recurrent(model: nn.Module) -> bool:
    return any(isinstance(m, nn.RNNBase) for m in model.modules())


def _record_trust(hashes: list[str], notes: list[str]) -> None:
    if hashes:
        trust.trust_many(hashes)
    notes.extend(trust.take_problems())


def _read_safetensors(path: Path, shown: Path) -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"the safetensors file is damaged ({exc}).", "Copy it again from its source.",
                              shown) from None


def _read_config(path: Path) -> dict[str, Any]:
    if path.stat().st_size > MAX_SMALL_FILE:
        raise CheckpointError(f"config.json beside the weights is {path.stat().st_size >> 20} MiB, far more than any "
                              "model configuration.", "Fix or remove it.", path)
    try:
        data, _ = read_bytes_once(path)
    except OSError as exc:
        raise CheckpointError(f"config.json beside the weights cannot be read ({exc.strerror}).",
                              "Fix or remove it.", path) from None
    value = parse_json(data, path, "config.json beside the weights")
    return value if isinstance(value, dict) else {}
