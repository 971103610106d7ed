"""Read the tensors out of a pickled module without building any of its classes.

A model pickled from a script or notebook refers to ``__main__.Net``, which exists nowhere else. Here the
unpickler resolves only torch's weights-only names (tensor and storage rebuilders, plain containers);
every other class becomes an inert placeholder that records the state it is given and never runs code.
The placeholders' ``_parameters``, ``_buffers`` and ``_modules`` then read as an ordinary state_dict.

The file is hostile until proven otherwise: the unpickler is Python's own pure-Python one (its memo is a dict,
so a memo index of 2**32 allocates nothing), the tree is walked with a bound on the modules visited (a pickle
can share one child 2**64 ways), only string names count, and anything else odd ends as a CheckpointError.
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
MAX_MODULES = 100_000  # modules visited in one pickled tree: far more than any model has


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


class InertUnpickler(pickle._Unpickler):  # the pure-Python one: no memo array sized by the file
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


def _unreadable(exc: BaseException, shown: Path) -> CheckpointError:
    first = (str(exc).splitlines() or [""])[0][:160]
    return CheckpointError(f"the tensors could not be read out of the pickled model ({type(exc).__name__}"
                           + (f": {first}" if first else "") + ").", "Save the model's state_dict instead: "
                           "torch.save(model.state_dict(), path).", shown)


def read_inert(path: Path, shown: Path) -> Any:
    """Unpickle `path` with every class but torch's tensor machinery replaced by inert placeholders."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_inert_module())
    except Exception as exc:  # noqa: BLE001 - malformed bytes: reported, never raised raw
        raise _unreadable(exc, shown) from None


def read_weights(path: Path, shown: Path) -> tuple[dict[str, Any] | None, list[str], dict[str, Any]]:
    """(state_dict or None when no module is in it, the classes it pickles, the dict around it) of `path`."""
    obj = read_inert(path, shown)
    try:
        state, module, extras = weights_from(obj)
        return state, class_names(module), extras
    except CheckpointError as exc:
        raise CheckpointError(exc.problem, exc.fix, shown) from None
    except Exception as exc:  # noqa: BLE001 - a tree no torch.save wrote: reported, never raised raw
        raise _unreadable(exc, shown) from None


def _state(obj: object) -> dict[Any, Any]:
    state = getattr(obj, "state", None) if isinstance(obj, Inert) else None  # NEWOBJ without BUILD: no state
    return state if isinstance(state, dict) else {}


def is_module_like(obj: object) -> bool:
    return "_parameters" in _state(obj) and "_modules" in _state(obj)


def _modules(root: Inert) -> list[tuple[str, Inert]]:
    """(prefix, placeholder) of each module in the tree, depth first, bounded in depth and in number."""
    out: list[tuple[str, Inert]] = []
    todo: list[tuple[str, Inert, int]] = [("", root, 0)]
    while todo:
        prefix, obj, depth = todo.pop()
        out.append((prefix, obj))
        if len(out) > MAX_MODULES:
            raise CheckpointError(f"the pickled model holds more than {MAX_MODULES} modules.",
                                  "Save the model's state_dict instead: torch.save(model.state_dict(), path).")
        if depth < MAX_DEPTH:
            children = [(f"{prefix}{name}.", child, depth + 1)
                        for name, child in _items(_state(obj).get("_modules")) if is_module_like(child)]
            todo.extend(reversed(children))
    return out


def state_dict_of(obj: Inert) -> dict[str, Any]:
    """The state_dict an inert placeholder of an nn.Module stands for."""
    out: dict[str, Any] = {}
    for prefix, module in _modules(obj):
        state = _state(module)
        skip = state.get("_non_persistent_buffers_set")
        skip = {s for s in skip if isinstance(s, str)} if isinstance(skip, (set, frozenset, list, tuple)) else set()
        for name, value in _items(state.get("_parameters")):
            if isinstance(value, torch.Tensor):
                out[prefix + name] = value.detach() if value.requires_grad else value
        for name, value in _items(state.get("_buffers")):
            if isinstance(value, torch.Tensor) and name not in skip:
                out[prefix + name] = value
    return out


def _items(mapping: object) -> list[tuple[str, Any]]:
    """A mapping's string-keyed items: a dict, or the placeholder of an OrderedDict subclass that was not allowed."""
    items = mapping.items() if isinstance(mapping, dict) else _state(mapping).items()
    return [(k, v) for k, v in items if isinstance(k, str)]


def class_names(obj: object) -> list[str]:
    """The classes a placeholder tree stood for (for notes)."""
    if not isinstance(obj, Inert) or not is_module_like(obj):
        return []
    return list(dict.fromkeys(type(module)._workbench_name for _, module in _modules(obj)))


def weights_from(obj: Any) -> tuple[dict[str, Any] | None, object, dict[str, Any]]:
    """(state_dict, the placeholder of the module, extras) from what `read_inert` returned; (None, None, {})
    when no module is in it. Extras keep only string keys, as a checkpoint dict has."""
    if isinstance(obj, Inert) and is_module_like(obj):
        return state_dict_of(obj), obj, {}
    if isinstance(obj, dict):
        from workbench.core.open.state_keys import STATE_KEYS

        for key in STATE_KEYS:
            found = obj.get(key)
            if isinstance(found, Inert) and is_module_like(found):
                return state_dict_of(found), found, {k: v for k, v in obj.items() if isinstance(k, str)}
    return None, None, {}
