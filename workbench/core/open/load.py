"""Open a regression checkpoint of any common shape, safely, and return an `nn.Module`.

The format is sniffed from the bytes, not the extension. Loading is `weights_only` (or safetensors)
unless the user has trusted the file by hash; a safe load that fails never falls back to an unsafe one.
Code a file names (config.json's model_source, a recipe's) runs only once trusted; code the user names
runs, and the notes say so. Sizes are checked against the file and free memory before anything is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from workbench.core import notes as N
from workbench.core.errors import CheckpointError, ModelSourceError
from workbench.core.open import model_source
from workbench.core.open.architectures import mlp_from_state_dict, torchvision_from_state_dict
from workbench.core.open.ctor_args import recorded_args
from workbench.core.open.formats import CHECKPOINT_SUFFIXES, REFUSED, sniff
from workbench.core.open.layer_tree import check_finite
from workbench.core.open.multi_input import several_inputs
from workbench.core.open.named_source import MAX_SMALL_FILE, Source, read_source, require_source_trust, vouch
from workbench.core.open.pickled import (
    INERT_KEY,
    NEEDS_TRUST,
    inert_weights,
    safe_torch_load,
    trusted_torch_load,
    untrusted_error,
)
from workbench.core.open.shape_hints import input_shape_hint, named_architecture
from workbench.core.open.state_keys import STATE_KEYS
from workbench.core.open.state_keys import strip_prefix as _strip_prefix
from workbench.core.safety import trust
from workbench.core.safety.bounds import check_declared, check_safetensors, check_tensors, check_zip, parse_json
from workbench.core.safety.pickle_read import read_program
from workbench.core.safety.snapshot import Snapshot, read_bytes_once


@dataclass
class LoadedModel:
    model: nn.Module
    path: Path
    sha256: str
    format: str
    notes: list[N.Note] = field(default_factory=list)  # what opening it did and chose (see core.notes)
    input_shape: tuple[int, ...] | None = None
    # Every file opening it read (resolved): the checkpoint, config.json beside it, the model source and each
    # sibling module it reaches. All are inputs: no output of the workbench may replace one.
    files: list[Path] = field(default_factory=list)


def companions(path: str | Path) -> list[Path]:
    """Files beside a checkpoint that opening it reads, known before it is opened (config.json)."""
    config = Path(path).with_name("config.json")
    return [config] if config.is_file() else []


def _files_read(o: _Opening) -> list[Path]:
    """The checkpoint, its config.json (safetensors), and the model source with every sibling module it reaches."""
    files = [o.path, *(companions(o.path) if o.fmt == "safetensors" else [])]
    files += o.source.closure.files if o.source is not None else []
    return list(dict.fromkeys(Path(f).expanduser().resolve() for f in files))


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
                           "Check the model source and its constructor arguments (--model-args; in the window, the "
                           "Model tab's Model source and Model arguments, then Reload model).", path)


def _architecture(state: dict[str, Any], extras: dict[str, Any], path: Path, source: Source | None,
                  args: dict[str, Any] | None, activation: str, notes: list[N.Note]) -> nn.Module:
    if source is not None:
        model = model_source.build(source.spec, args, recorded_args(extras), source.closure, state, notes)
        _load_into(model, state, path, source.spec)
        return model
    stripped = _strip_prefix(state)
    vision = torchvision_from_state_dict(stripped, path)
    if vision is not None:
        notes.append(N.info(f"Architecture recognised as torchvision {vision._workbench_arch} by its keys and shapes.",
                            "torchvision_architecture"))
        return vision
    mlp = mlp_from_state_dict(stripped, activation)
    if mlp is not None:
        notes.append(N.info(f"Architecture rebuilt as an MLP of Linear layers with {activation} between them, an "
                            "activation the file does not record: choose another one if it was trained with another "
                            "(--mlp-activation; in the window, the Model tab's MLP activation).",
                            "mlp_rebuilt", "mlp_activation"))
        return mlp
    named = named_architecture(extras)
    raise CheckpointError(
        "the file holds only weights, and no architecture could be recovered from them "
        "(not a torchvision model, not a plain chain of Linear layers)." + (f" {named}" if named else ""),
        "Name the model's class (--model-source path/to/models.py:ClassName, and --model-args; in the window, the "
        "Model tab's Model source and Model arguments, then Reload model).", path)


def load_checkpoint(path: str | Path, source: str = "", args: dict[str, Any] | None = None, trusted: bool = False,
                    mlp_activation: str = "relu", source_named_by: str | Path | None = None) -> LoadedModel:
    """Open `path`; `trusted=True` records trust for this file (and the model source it names) first.

    `source` typed by the user runs (and a note says so). When a file named it instead (a recipe), pass
    that file as `source_named_by`: the source then runs only once trusted, like one named by config.json.
    The file is read once into a private copy; its hash and everything loaded come from that copy.
    """
    path = Path(path)
    if path.is_dir():
        inside = sorted(p.name for p in path.iterdir() if p.suffix.lower() in CHECKPOINT_SUFFIXES)[:6]
        raise CheckpointError("this is a folder, not a checkpoint file.", f"Give the checkpoint file inside it ("
                              f"{', '.join(inside)})." if inside else "Give a checkpoint file ("
                              f"{', '.join(CHECKPOINT_SUFFIXES)}); this folder holds none.", path)
    if not path.is_file():
        raise CheckpointError("no such file.", "Check the path.", path)
    with Snapshot(path) as snap:
        return _load(snap, path, source, args, trusted, mlp_activation,
                     Path(source_named_by) if source_named_by else None)


@dataclass
class _Opening:
    """A checkpoint being opened: its private copy and format, hash, the model source to run, what trust to
    record once the file is accepted, and the notes so far."""

    path: Path
    copy: Path
    fmt: str
    digest: str
    trusted: bool
    source: Source | None
    args: dict[str, Any] | None
    to_trust: list[str]
    notes: list[N.Note] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


def _load(snap: Snapshot, path: Path, source_spec: str, args: dict[str, Any] | None, trusted: bool, mlp_activation: str,
          named_by: Path | None) -> LoadedModel:
    copy = snap.path
    assert copy is not None  # the snapshot is open
    fmt = sniff(copy)
    if fmt in REFUSED:
        raise CheckpointError(REFUSED[fmt] + ".", "Open a file saved with torch.save, torch.jit.save, "
                              "torch.export.save or safetensors.", path)
    o = _Opening(path, copy, fmt, snap.sha256, trusted, read_source(source_spec, named_by) if source_spec else None,
                 args, [snap.sha256] if trusted else [])
    if o.source is not None:
        require_source_trust(o.source, trusted, o.to_trust)
        if o.source.named_by is None:
            vouch(o.source)
    declared = check_zip(copy, path) if fmt not in ("safetensors", "legacy-pickle") else snap.size
    if fmt in ("torchscript", "export"):
        return _open_program(o, snap, declared)
    obj = _open_safetensors(o) if fmt == "safetensors" else _open_pickle(o, declared)
    return _build(o, obj, mlp_activation)


def _open_program(o: _Opening, snap: Snapshot, declared: int) -> LoadedModel:
    """A TorchScript or torch.export program: code that runs when loaded, so only once trusted."""
    from workbench.core.open.archives import load_code_archive

    reading = read_program(o.copy, o.path)  # the reading `workbench evaluate` makes of a program too
    check_declared(reading.scan, declared, o.path)
    if not (o.trusted or trust.is_trusted(o.digest)):
        raise untrusted_error(o.path, "a TorchScript program" if o.fmt == "torchscript" else "a torch.export program",
                              reading.names)
    _record_trust(o.to_trust, o.notes)
    model, archive_notes, shape = load_code_archive(snap.alias(".pt2") if o.fmt == "export" else o.copy, o.fmt,
                                                    o.path)
    check_finite(model, o.path)
    return LoadedModel(model, o.path, o.digest, o.fmt, o.notes + archive_notes, shape, _files_read(o))


def _open_safetensors(o: _Opening) -> Any:
    """Safetensors weights, and a config.json beside them (whose model source runs only once trusted)."""
    check_safetensors(o.copy, o.path)
    obj = _read_safetensors(o.copy, o.path)
    config = o.path.with_name("config.json")
    if config.is_file():
        o.extras = _read_config(config)
        o.notes.append(N.info(f"Read {config.name} beside the weights.", "config_read"))
        named = o.extras.get("model_source")
        if named and o.source is None:
            if not isinstance(named, str):
                raise CheckpointError("config.json's model_source is not a path/to/models.py:ClassName string.",
                                      "Fix or remove it.", config)
            o.source = read_source(named, config)
            require_source_trust(o.source, o.trusted, o.to_trust)
            o.args = o.args or o.extras.get("model_args")
        elif named:
            o.notes.append(N.info(f"The model source you named overrides {config.name}'s ({named}).",
                                  "source_overrides_config", "model_source"))
    _record_trust(o.to_trust, o.notes)
    return obj


def _open_pickle(o: _Opening, declared: int) -> Any:
    """A torch.save file: weights only, the weights of a module pickled from a script, or (trusted) anything."""
    scan = trust.scan_file(o.copy)
    check_declared(scan, declared, o.path)
    obj = safe_torch_load(o.copy, o.fmt, o.path)
    source, trusted = o.source, o.trusted
    if (obj is NEEDS_TRUST and any(n.startswith("__main__.") for n in scan.imports)
            and not (trusted and source is not None or source is not None and trust.is_trusted(o.digest))):
        # saved from a script or notebook: its weights are read without building any class; a model
        # source the user names then builds the model (mapping __main__ onto it needs the file trusted)
        _record_trust(o.to_trust, o.notes)
        return inert_weights(o.copy, o.path, scan.imports, o.notes)
    if obj is NEEDS_TRUST:
        if not (trusted or trust.is_trusted(o.digest)):
            raise untrusted_error(o.path, "a pickled Python object (not only weights)", scan.imports)
        _record_trust(o.to_trust, o.notes)
        return trusted_torch_load(o.copy, source, scan.imports, o.path, o.notes)
    _record_trust(o.to_trust, o.notes)
    return obj


PACKAGE = Path(__file__).resolve().parents[2]  # the workbench package's own folder


def _own_code(file: Path) -> bool:
    """A model source inside the workbench package itself (the demo's classes): code that runs anyway."""
    return file.resolve().is_relative_to(PACKAGE)


def _build(o: _Opening, obj: Any, mlp_activation: str) -> LoadedModel:
    """The module from what was read: as pickled, or built from a state_dict (see _architecture)."""
    check_tensors(obj, o.path)
    module, state, kind, found_extras = _find_weights(obj, o.path)
    if isinstance(obj, dict) and obj.get(INERT_KEY):
        kind = "pickled module (weights read without its code)"
    extras = {**found_extras, **o.extras}
    if module is None:
        assert state is not None  # _find_weights gives a module or else a state_dict
        module = _architecture(state, extras, o.path, o.source, o.args, mlp_activation, o.notes)
    if o.source is not None and _own_code(o.source.file):
        # The demo's model classes: the package's own code, already running; nothing the user wrote ran.
        o.notes.append(N.info(f"Builds the model with {o.source.spec.rpartition(':')[2]} from this program's own "
                              f"{o.source.file.name}.", "source_ran", "model_source"))
    elif o.source is not None:
        who = "you named" if o.source.named_by is None else f"named by {o.source.named_by.name}, trusted"
        siblings = [o.source.closure.rel(f) for f in o.source.closure.sibling_files]
        o.notes.append(N.safety(f"Runs {o.source.file} (the model source {who}) to build the model"
                                + (f", and the modules beside it that it imports: {', '.join(siblings)}." if siblings
                                   else "."), "source_ran", "model_source"))
        o.notes.extend(N.info(note, "sibling_passed_over", "model_source") for note in o.source.closure.notes)
    module.eval()
    check_finite(module, o.path)
    shape = input_shape_hint(extras or obj, module)
    if shape is None and _is_recurrent(module):
        o.notes.append(N.info("The model is recurrent: each sample is a sequence, and its length is not in the file. "
                              "The input shape comes from the data (sequence length, features), or give it "
                              "(--input-shape; in the window, the Model tab's Input shape field).", "sequence_length",
                              "input_shape"))
    fmt = "safetensors" if o.fmt == "safetensors" else kind
    module, shape = several_inputs(module, shape, o.notes)
    return LoadedModel(module, o.path, o.digest, fmt, o.notes, shape, _files_read(o))


def _is_recurrent(model: nn.Module) -> bool:
    return any(isinstance(m, nn.RNNBase) for m in model.modules())


def _record_trust(hashes: list[str], notes: list[N.Note]) -> None:
    if hashes:
        trust.trust_many(hashes)
    notes.extend(N.warning(problem, "trust_store") for problem in trust.take_problems())


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
