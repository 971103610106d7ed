"""Read the tensors out of a pickled module without building any of its classes.

A model pickled from a script or notebook refers to ``__main__.Net``, which exists nowhere else. Here the
unpickler resolves only torch's weights-only names (tensor and storage rebuilders, plain containers);
every other class becomes an inert placeholder that records the state it is given and never runs code.
The placeholders' ``_parameters``, ``_buffers`` and ``_modules`` then read as an ordinary state_dict.
"""

from __future__ import annotations

import functools
import pickle
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from workbench.core.errors import CheckpointError

MAX_DEPTH = 64


class Inert:
    """Stands for a class that was not imported: it keeps what it is given and does nothing else."""

    _workbench_name = "?"

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.args = args
        self.state: dict[Any, Any] = {}

    def __setstate__(self, state: object) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict state, slot state)
            merged: dict[Any, Any] = {}
            for part in state:
                if isinstance(part, dict):
                    merged.update(part)
            state = merged
        self.state = state if isinstance(state, dict) else {}

    def __setitem__(self, key: object, value: object) -> None:  # a placeholder for a dict subclass receives SETITEMS
        self.state[key] = value

    def append(self, value: object) -> None:  # ... and for a list subclass, APPENDS
        self.state.setdefault("__items__", []).append(value)

    def extend(self, values: Iterable[object]) -> None:
        for value in values:
            self.append(value)


@functools.lru_cache(maxsize=1)
def _allowed() -> dict[str, Any]:
    from torch import _weights_only_unpickler

    return dict(_weights_only_unpickler._get_allowed_globals())


def _placeholder(module: str, name: str) -> type:
    return type(name, (Inert,), {"_workbench_name": f"{module}.{name}", "__module__": "workbench.inert"})


class InertUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        found = _allowed().get(f"{module}.{name}")
        if found is not None:
            return found
        return _placeholder(module, name)


def _inert_module() -> types.ModuleType:
    mod = types.ModuleType("workbench_inert_pickle")
    mod.Unpickler = InertUnpickler  # type: ignore[attr-defined]
    mod.load = lambda fh, **kw: InertUnpickler(fh, **kw).load()  # type: ignore[attr-defined]
    mod.__name__ = "pickle"  # torch checks the name only to pick its weights-only path; this is not that path
    return mod


def read_inert(path: Path, shown: Path) -> Any:
    """Unpickle `path` with every class but torch's tensor machinery replaced by inert placeholders."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_inert_module())
    except Exception as exc:  # noqa: BLE001 - malformed bytes: reported, never raised raw
        raise CheckpointError(f"the tensors could not be read out of the pickled model ({type(exc).__name__}: "
                              f"{str(exc)[:200]}).", "Save the model's state_dict instead: "
                              "torch.save(model.state_dict(), path).", shown) from None


def is_module_like(obj: object) -> bool:
    return isinstance(obj, Inert) and "_parameters" in obj.state and "_modules" in obj.state


def state_dict_of(obj: Inert, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """The state_dict an inert placeholder of an nn.Module stands for."""
    out: dict[str, Any] = {}
    if depth > MAX_DEPTH:
        return out
    state = obj.state
    params = state.get("_parameters") or {}
    buffers = state.get("_buffers") or {}
    skip = state.get("_non_persistent_buffers_set") or set()
    for name, value in _items(params):
        if isinstance(value, torch.Tensor):
            out[prefix + name] = value.detach() if value.requires_grad else value
    for name, value in _items(buffers):
        if isinstance(value, torch.Tensor) and name not in skip:
            out[prefix + name] = value
    for name, child in _items(state.get("_modules") or {}):
        if is_module_like(child):
            out.update(state_dict_of(child, f"{prefix}{name}.", depth + 1))
    return out


def _items(mapping: object) -> list[tuple[Any, Any]]:
    if isinstance(mapping, dict):
        return list(mapping.items())
    if isinstance(mapping, Inert):  # an OrderedDict subclass that was not allowed
        return [(k, v) for k, v in mapping.state.items() if isinstance(k, str)]
    return []


def class_names(obj: Any, depth: int = 0) -> list[str]:
    """The classes a placeholder tree stood for (for notes)."""
    if not is_module_like(obj) or depth > MAX_DEPTH:
        return []
    names = [type(obj)._workbench_name]
    for _, child in _items(obj.state.get("_modules") or {}):
        names += class_names(child, depth + 1)
    return list(dict.fromkeys(names))


def weights_from(obj: Any) -> tuple[dict[str, Any] | None, object, dict[str, Any]]:
    """(state_dict, the placeholder of the module, extras) from what `read_inert` returned; (None, None, {})
    when no module is in it."""
    if is_module_like(obj):
        return state_dict_of(obj), obj, {}
    if isinstance(obj, dict):
        from workbench.core.open.state_keys import STATE_KEYS

        for key in STATE_KEYS:
            if is_module_like(obj.get(key)):
                return state_dict_of(obj[key]), obj[key], obj
    return None, None, {}
