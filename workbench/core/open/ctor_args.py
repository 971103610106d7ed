"""Constructor arguments a checkpoint already determines, so that only the rest is asked for.

Three sources, in order: the arguments the user gave; the checkpoint's own record of them (a `{"model": ...,
"args": {...}}` dict, an argparse Namespace read safely, Lightning's `hyper_parameters`, a config dict; a class
taking a config object gets one built from those fields: its dataclass when annotated with one, else a dict
with attribute access); and the weights' shapes, for integer arguments still missing or not fitting (e.g.
`RegressionModel(input_dim)` with `fc.0.weight` of 64 x 8 gives input_dim = 8). The shapes are matched by
building the class on torch's meta device with candidate values and comparing its state_dict's shapes with the
checkpoint's, one argument at a time, until every tensor fits.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from workbench.core.open.state_keys import strip_prefix

# Where checkpoints keep the arguments that built the model (argparse's `args`, Lightning's `hyper_parameters`).
ARG_KEYS = ("hyper_parameters", "hparams", "args", "config", "cfg", "hyperparameters", "model_args", "model_kwargs",
            "kwargs", "params", "model_config", "model_params", "opt", "options")
# Parameter names under which a class takes all its settings as one object.
CONFIG_NAMES = ("config", "cfg", "conf", "hparams", "hp", "args", "opt", "params", "settings", "hyperparams",
                "model_config", "options")
MAX_BUILDS = 400  # meta-device builds the shape search may make
MAX_CANDIDATES = 32


class AttributeDict(dict[str, Any]):
    """A config read from a checkpoint: readable as `cfg.hidden` and `cfg["hidden"]` alike."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class FilledArgs:
    kwargs: dict[str, Any]
    from_checkpoint: dict[str, Any] = field(default_factory=dict)  # name -> value read from the checkpoint
    inferred: dict[str, Any] = field(default_factory=dict)  # name -> value read from the weights' shapes
    missing: list[str] = field(default_factory=list)  # required arguments nothing determined
    unfitted: list[str] = field(default_factory=list)  # required integers no value of which fits the weights


def _plain(value: Any) -> Any:
    """A Namespace or dataclass read from a checkpoint as a dict; anything else as it is."""
    if isinstance(value, (types.SimpleNamespace,)) or type(value).__name__ == "Namespace":
        return dict(vars(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def recorded_args(extras: Mapping[str, Any]) -> dict[str, Any]:
    """The checkpoint's own record of the model's arguments, flattened: the first ARG_KEYS entries win; a config
    nested one level down (hyper_parameters = {"config": {...}}) is kept under its name and its fields spread too;
    scalars stored at the top of the checkpoint dict come last."""
    out: dict[str, Any] = {}
    for key in ARG_KEYS:
        value = _plain(extras.get(key))
        if not isinstance(value, dict):
            continue
        for name, item in value.items():
            item = _plain(item)
            out.setdefault(str(name), item)
            if isinstance(item, dict) and str(name) in CONFIG_NAMES:
                for sub, sub_value in item.items():
                    out.setdefault(str(sub), _plain(sub_value))
    for name, value in extras.items():
        if isinstance(value, (int, float, str, bool, tuple, list)) and not isinstance(name, int):
            out.setdefault(str(name), value)
    return out


def _parameters(cls: type) -> list[inspect.Parameter]:
    try:
        sig = inspect.signature(cls, eval_str=True)
    except Exception:  # noqa: BLE001 - an annotation that does not evaluate: read them as strings
        try:
            sig = inspect.signature(cls)
        except (TypeError, ValueError):
            return []
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p for p in sig.parameters.values() if p.kind in kinds]


def _config_object(param: inspect.Parameter, values: dict[str, Any]) -> Any:
    """The settings object a class takes: its annotated dataclass built from the matching fields, else a dict
    with attribute access."""
    hint = param.annotation
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        names = {f.name for f in dataclasses.fields(hint)}
        return hint(**{k: v for k, v in values.items() if k in names})
    return AttributeDict(values)


def _takes_config(param: inspect.Parameter) -> bool:
    hint = param.annotation
    return (isinstance(hint, type) and dataclasses.is_dataclass(hint)) or param.name in CONFIG_NAMES


def _inferable(param: inspect.Parameter) -> bool:
    """An integer argument: annotated int, or an int default, or required without an annotation."""
    hint, default = param.annotation, param.default
    if default is not inspect.Parameter.empty:
        return isinstance(default, int) and not isinstance(default, bool)
    return hint in (int, "int", inspect.Parameter.empty)


def shapes_of(state: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}


def fit_score(built: Mapping[str, tuple[int, ...]], wanted: Mapping[str, tuple[int, ...]]) -> tuple[int, bool]:
    """(tensors of the checkpoint whose shape the built model has under the same name, whether all fit exactly)."""
    best = (-1, False)
    for target in (dict(wanted), shapes_of_stripped(wanted)):
        matched = sum(1 for k, s in target.items() if built.get(k) == s)
        exact = matched == len(target) and set(built) == set(target)
        best = max(best, (matched, exact))
    return best


def shapes_of_stripped(shapes: Mapping[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    return strip_prefix(dict(shapes))


def _candidates(shapes: Mapping[str, tuple[int, ...]], default: Any) -> list[int]:
    seen: dict[int, None] = {}
    if isinstance(default, int) and not isinstance(default, bool):
        seen[default] = None
    for shape in shapes.values():
        for dim in shape:
            if dim >= 1:
                seen.setdefault(int(dim), None)
    for small in range(1, 9):  # counts of layers or heads are no tensor's dimension
        seen.setdefault(small, None)
    return list(seen)[:MAX_CANDIDATES]


class _Search:
    """Builds on the meta device, counted, each scored against the checkpoint's shapes."""

    def __init__(self, make: Callable[[dict[str, Any]], nn.Module], wanted: dict[str, tuple[int, ...]]) -> None:
        self.make, self.wanted, self.builds = make, wanted, 0

    def score(self, kwargs: dict[str, Any]) -> tuple[int, bool]:
        if self.builds >= MAX_BUILDS:
            return (-1, False)
        self.builds += 1
        try:
            with torch.device("meta"):
                model = self.make(kwargs)
            return fit_score(shapes_of(model.state_dict()), self.wanted)
        except Exception:  # noqa: BLE001 - a candidate the class rejects scores nothing
            return (-1, False)


def fill(cls: type, make: Callable[[dict[str, Any]], nn.Module], given: Mapping[str, Any] | None,
         recorded: Mapping[str, Any], state: Mapping[str, Any] | None) -> FilledArgs:
    """The arguments to build `cls` with: `given`, then what `recorded` holds, then integers from `state`'s shapes.

    `make(kwargs)` builds the class (in the caller's import context); it is called on the meta device only.
    """
    params = _parameters(cls)
    out = FilledArgs(dict(given or {}))
    for p in params:
        if p.name in out.kwargs:
            continue
        if p.name in recorded:
            value = recorded[p.name]
            if isinstance(value, dict) and _takes_config(p):
                value = _config_object(p, value)
            out.kwargs[p.name] = out.from_checkpoint[p.name] = value
        elif _takes_config(p) and p.default is inspect.Parameter.empty and recorded:
            out.kwargs[p.name] = out.from_checkpoint[p.name] = _config_object(p, dict(recorded))
    if state:
        _infer_from_shapes(params, make, shapes_of(state), out, set(given or {}))
    out.missing = [p.name for p in params if p.name not in out.kwargs and p.default is inspect.Parameter.empty]
    return out


def _infer_from_shapes(params: list[inspect.Parameter], make: Callable[[dict[str, Any]], nn.Module],
                       wanted: dict[str, tuple[int, ...]], out: FilledArgs, given: set[str]) -> None:
    """Coordinate search over the integer arguments nobody gave, until every tensor's shape fits."""
    search = _Search(make, wanted)
    free = [p for p in params if p.name not in given and p.name not in out.from_checkpoint and _inferable(p)]
    required = [p for p in free if p.default is inspect.Parameter.empty]
    if not required and search.score(out.kwargs)[1]:
        return  # the defaults (and what the checkpoint recorded) already fit
    if not free:
        return
    choice = {p.name: (p.default if p.default is not inspect.Parameter.empty else None) for p in free}
    options = {p.name: _candidates(wanted, p.default) for p in free}
    for p in required:  # a first value for each that lets the class build
        for value in options[p.name]:
            choice[p.name] = value
            if search.score({**out.kwargs, **{k: v for k, v in choice.items() if v is not None}})[0] >= 0:
                break
    best = search.score({**out.kwargs, **choice})
    for _ in range(3):
        improved = False
        for p in free:
            for value in options[p.name]:
                if value == choice[p.name]:
                    continue
                trial = {**choice, p.name: value}
                score = search.score({**out.kwargs, **trial})
                if score > best:
                    best, choice, improved = score, trial, True
                if best[1]:
                    break
            if best[1]:
                break
        if best[1] or not improved:
            break
    if not best[1]:
        out.unfitted = [p.name for p in required]
        return
    for p in free:
        if p.default is inspect.Parameter.empty or choice[p.name] != p.default:
            out.kwargs[p.name] = out.inferred[p.name] = choice[p.name]


def describe(values: Mapping[str, Any]) -> str:
    def shown(v: Any) -> str:
        if isinstance(v, AttributeDict):
            return "{" + ", ".join(f"{k}={x!r}" for k, x in list(v.items())[:6]) + (", ..." if len(v) > 6 else "") + "}"
        text = repr(v)
        return text if len(text) <= 60 else text[:57] + "..."
    return ", ".join(f"{k}={shown(v)}" for k, v in values.items())
