"""One description per recipe field: label, help, choices, range, unit, and where it appears.

A recipe dataclass declares each field once with ``field(default=..., metadata=describe(...))``. The command
line's options, the form's widgets and the range checks are all generated from that description, so a new
field cannot be silently missing from one of them (napari's settings do the same with field titles).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from typing import Any

MAX_NESTING = 16  # deeper JSON/TOML is refused before Python's recursion limit is near


@dataclass(frozen=True)
class Spec:
    """How a recipe field is shown, parsed and checked."""

    label: str  # the form's label, without the colon
    help: str  # the command line's help and the form's tooltip
    choices: tuple[str, ...] = ()
    low: float | None = None  # inclusive unless `low_open`
    high: float | None = None  # inclusive unless `high_open`
    low_open: bool = False
    high_open: bool = False
    unit: str = ""
    flag: str | None = ""  # "" derives --name-with-dashes from the field name; None: no command-line option
    group: str = ""  # the form's group box; "" keeps the field off the generated form
    decimals: int = 4  # digits a form field keeps (enough that typed values are never rounded away)
    step: float = 1.0
    none_label: str = ""  # the form shows 0 for None (e.g. "0 = none")

    def range_text(self) -> str:
        if self.low is None and self.high is None:
            return ""
        low = "" if self.low is None else f"{'above' if self.low_open else 'at least'} {self.low:g}"
        high = "" if self.high is None else f"{'below' if self.high_open else 'at most'} {self.high:g}"
        return " and ".join(p for p in (low, high) if p)


def labelled(fields: dict[str, tuple[Any, Spec]]) -> dict[str, tuple[Any, Spec]]:
    """`fields`, their labels also given to `errors.FIELD_LABELS` (a RecipeError says its field by its control's
    label in the window; errors sits below the recipe and cannot import it)."""
    from workbench.core.errors import FIELD_LABELS

    FIELD_LABELS.update({name: spec.label for name, (_kind, spec) in fields.items()})
    return fields


def describe(label: str, help: str, **kwargs: Any) -> dict[str, Spec]:
    """The metadata of a dataclass field: ``field(default=..., metadata=describe("Epochs", "..."))``."""
    return {"spec": Spec(label, help, **kwargs)}


def spec_of(f: dataclasses.Field[Any]) -> Spec | None:
    return f.metadata.get("spec")


def walk(cls: type, prefix: str = "") -> list[tuple[str, dataclasses.Field[Any], Any, Spec]]:
    """Every described leaf field of a recipe class as (dotted name, field, type, spec), in declaration order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            out += walk(kind, f"{prefix}{f.name}.")
            continue
        spec = spec_of(f)
        if spec is not None:
            out.append((prefix + f.name, f, kind, spec))
    return out


def _args(kind: Any) -> tuple[Any, ...]:
    return typing.get_args(kind) if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union \
        else ()


def _base(kind: Any) -> tuple[Any, bool]:
    """(the type without Optional and without a word alternative, whether None is allowed)."""
    args = _args(kind)
    if not args:
        return kind, False
    rest = [a for a in args if a is not type(None) and a is not str] or [str]
    return rest[0], type(None) in args


def takes_word(kind: Any) -> bool:
    """A number field that also takes one of its `choices` as a word, e.g. `lr: float | str = "auto"`."""
    args = _args(kind)
    return str in args and any(a in (int, float) for a in args)


def check(name: str, value: Any, kind: Any, spec: Spec) -> str | None:
    """Why `value` does not fit the field, or None."""
    base, optional = _base(kind)
    if value is None:
        return None if optional else "must be given"
    if isinstance(value, str) and takes_word(kind):
        return None if value in spec.choices else f"must be {' or '.join(spec.choices)} or a number"
    if isinstance(value, str) and base is bool and str in _args(kind):  # e.g. standardize: true, false or auto
        return None if value in spec.choices else f"must be true, false or {' or '.join(spec.choices)}"
    origin = typing.get_origin(base)
    if origin is tuple:
        if not isinstance(value, tuple):
            return "must be a list"
        item = typing.get_args(base)[0]
        for v in value:
            why = check(name, v, item, spec)
            if why:
                return f"has the item {v!r}, which {why}"
        return None
    if origin is dict or base is dict:
        if not isinstance(value, dict):
            return "must be a table of names and values"
        return None if depth(value) <= MAX_NESTING else f"is nested more than {MAX_NESTING} levels deep"
    if base is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be a whole number"
    elif base is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "must be a number"
        if not math.isfinite(value):
            return "must be a finite number"
    elif base is str:
        if not isinstance(value, str):
            return "must be text"
        if spec.choices and value not in spec.choices:
            return f"'{value}' is not one of {', '.join(spec.choices)}"
        return None
    if isinstance(value, (int, float)):
        too_low = spec.low is not None and (value <= spec.low if spec.low_open else value < spec.low)
        too_high = spec.high is not None and (value >= spec.high if spec.high_open else value > spec.high)
        if too_low or too_high:
            return f"must be {spec.range_text()}" + (f" {spec.unit}" if spec.unit else "")
    return None


def depth(value: Any, level: int = 0) -> int:
    """How deeply lists and tables nest, counted without recursing past MAX_NESTING."""
    stack = [(value, level)]
    deepest = level
    while stack:
        item, lvl = stack.pop()
        deepest = max(deepest, lvl)
        if deepest > MAX_NESTING:
            return deepest
        if isinstance(item, dict):
            stack += [(v, lvl + 1) for v in item.values()]
        elif isinstance(item, (list, tuple)):
            stack += [(v, lvl + 1) for v in item]
    return deepest


def base_type(kind: Any) -> Any:
    """The field's type without Optional: `float | None` -> float."""
    return _base(kind)[0]


def coerce(value: Any, kind: Any) -> Any:
    """Lists from JSON/TOML become tuples where the field is a tuple, as does comma-separated text (as the flags take
    it); everything else is left to `check`."""
    base, _ = _base(kind)
    if isinstance(value, str) and base is bool and str in _args(kind):
        word = value.strip().lower()
        return {"true": True, "on": True, "false": False, "off": False}.get(word, word)
    if isinstance(value, str) and takes_word(kind):
        text = value.strip().lower()
        try:
            return base(text)  # "0.01" typed as text is the number
        except ValueError:
            return text
    if typing.get_origin(base) is tuple and isinstance(value, list):
        return tuple(value)
    if typing.get_origin(base) is tuple and isinstance(value, str):  # "low,medium,high", as the flag takes it
        if typing.get_args(base)[:1] == (str,):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        try:
            return parse_text(value, kind)  # numbers, as a field typed in the window reads them
        except ValueError:
            return value  # `check` says what the field takes
    if typing.get_origin(base) is tuple and isinstance(value, (int, float)) and not isinstance(value, bool):
        return (value,)  # one value of a list: prior=0.3, a binary head's positive share
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def parse_text(text: str, kind: Any) -> Any:
    """A field's value from the text a user typed into it: a list of numbers is split at commas (or semicolons),
    other text is kept as typed. ValueError names the part that is not a number."""
    base = _base(kind)[0]
    if typing.get_origin(base) is not tuple:
        return text
    values = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        try:
            values.append(float(part))
        except ValueError:
            raise ValueError(f"'{part.strip()}' is not a number: give numbers separated by commas") from None
    return tuple(values)
