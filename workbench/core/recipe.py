"""The recipe: every choice of a conversion as one immutable, serialisable object.

The GUI edits a recipe, the CLI reads one from JSON or TOML, an export embeds the one that made it.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import RecipeError

TASKS = ("binary", "multiclass")
LABEL_MODES = ("column", "threshold", "bins")
LOSSES = ("auto", "bce", "cross_entropy", "focal")
OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("none", "cosine", "step", "plateau")
CALIBRATIONS = ("none", "platt", "isotonic", "temperature")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class DataRecipe:
    path: str = ""  # a CSV, an .npz, an image folder, or "sklearn:<name>"
    label: str = "target"  # label column (CSV); ignored for .npz/images
    features: tuple[str, ...] = ()  # empty: every column but the label
    label_mode: str = "column"  # column | threshold | bins
    threshold: float | None = None  # None: the median of the column
    bins: int = 3
    splits: tuple[float, float, float, float] = (0.6, 0.15, 0.1, 0.15)  # train/val/cal/test
    standardize: bool = False  # off: a pretrained body expects the inputs it was trained on


@dataclass(frozen=True)
class HeadRecipe:
    task: str = "binary"
    dropout: float = 0.0
    hidden: int = 0  # 0: no hidden layer
    freeze: str = "none"  # none | body | upto:<layer name>
    frozen_layers: tuple[str, ...] = ()  # explicit per-layer choice (GUI checkboxes)
    warm_start: bool = False


@dataclass(frozen=True)
class TrainRecipe:
    loss: str = "auto"  # auto: bce for binary, cross_entropy for multiclass
    pos_weight: float | None = None
    class_weights: tuple[float, ...] = ()
    label_smoothing: float = 0.0
    focal_gamma: float = 2.0
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "none"
    epochs: int = 30
    batch_size: int = 64
    patience: int = 5  # early stopping on validation loss; 0 turns it off
    device: str = "auto"
    mixed_precision: bool = False  # torch autocast on a GPU (bfloat16, or float16 with a gradient scaler)


@dataclass(frozen=True)
class Recipe:
    data: DataRecipe = field(default_factory=DataRecipe)
    head: HeadRecipe = field(default_factory=HeadRecipe)
    train: TrainRecipe = field(default_factory=TrainRecipe)
    calibration: str = "temperature"
    seed: int = 0
    model_source: str = ""  # path/to/models.py:ClassName, for state_dicts
    model_args: dict = field(default_factory=dict)
    input_shape: tuple[int, ...] = ()  # per sample; empty: from the data

    def replace(self, **changes: Any) -> "Recipe":
        """A validated copy with top-level or dotted (``"train.lr"``) fields changed; raises RecipeError."""
        return validate(self.with_changes(**changes))

    def with_changes(self, **changes: Any) -> "Recipe":
        """Like `replace` but not validated, for forms that show problems next to the fields."""
        nested: dict[str, dict] = {}
        top: dict[str, Any] = {}
        for key, value in changes.items():
            part, _, sub = key.partition(".")
            if sub:
                nested.setdefault(part, {})[sub] = value
            else:
                top[part] = value
        for part, subs in nested.items():
            top[part] = dataclasses.replace(getattr(self, part), **subs)
        return dataclasses.replace(self, **top)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def save(self, path: str | Path) -> None:
        from .atomic import write_text_atomic

        write_text_atomic(Path(path), self.to_json() + "\n")


def _build(cls, values: dict, where: str):
    if not isinstance(values, dict):
        raise RecipeError(f"recipe section '{where}' must be a table of fields, not {type(values).__name__}.")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise RecipeError(
            f"unknown recipe field(s) {', '.join(where + '.' + u if where else u for u in unknown)}.",
            f"Known fields here: {', '.join(sorted(known))}.",
        )
    kwargs = {}
    for name, value in values.items():
        default = known[name].default
        if isinstance(default, tuple) or name in ("splits", "input_shape"):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def from_dict(values: dict) -> Recipe:
    values = dict(values)
    parts = {
        "data": _build(DataRecipe, values.pop("data", {}), "data"),
        "head": _build(HeadRecipe, values.pop("head", {}), "head"),
        "train": _build(TrainRecipe, values.pop("train", {}), "train"),
    }
    recipe = _build(Recipe, values, "")
    return validate(dataclasses.replace(recipe, **parts))


def load(path: str | Path) -> Recipe:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError(f"cannot read the recipe ({exc.strerror}).", "Check the path.", path) from None
    try:
        values = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise RecipeError(f"the recipe is not valid {'TOML' if path.suffix == '.toml' else 'JSON'} ({exc}).",
                          "Fix the syntax or save the recipe again from the workbench.", path) from None
    try:
        return from_dict(values)
    except RecipeError as exc:
        raise RecipeError(exc.problem, exc.fix, path) from None
    except TypeError as exc:
        raise RecipeError(f"the recipe has a field of the wrong kind ({exc}).", "", path) from None


def _choice(value: str, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise RecipeError(f"{name} is '{value}'.", f"Choose one of: {', '.join(allowed)}.")


def problems(recipe: Recipe) -> list[tuple[str, str]]:
    """Every invalid field or combination as (field, reason); empty when the recipe is usable."""
    out = []
    d, h, t = recipe.data, recipe.head, recipe.train
    checks = [
        ("head.task", h.task, TASKS), ("data.label_mode", d.label_mode, LABEL_MODES),
        ("train.loss", t.loss, LOSSES), ("train.optimizer", t.optimizer, OPTIMIZERS),
        ("train.schedule", t.schedule, SCHEDULES), ("calibration", recipe.calibration, CALIBRATIONS),
        ("train.device", t.device, DEVICES),
    ]
    for name, value, allowed in checks:
        if value not in allowed:
            out.append((name, f"'{value}' is not one of {', '.join(allowed)}"))
    if not 0.0 <= h.dropout < 1.0:
        out.append(("head.dropout", "must be at least 0 and below 1"))
    if h.hidden < 0:
        out.append(("head.hidden", "must be 0 (none) or a positive width"))
    if not (h.freeze in ("none", "body") or h.freeze.startswith("upto:")):
        out.append(("head.freeze", "must be none, body or upto:<layer name>"))
    if t.epochs < 1:
        out.append(("train.epochs", "must be at least 1"))
    if t.batch_size < 1:
        out.append(("train.batch_size", "must be at least 1"))
    if not t.lr > 0:
        out.append(("train.lr", "must be positive"))
    if not 0.0 <= t.label_smoothing < 1.0:
        out.append(("train.label_smoothing", "must be at least 0 and below 1"))
    if t.pos_weight is not None and not t.pos_weight > 0:
        out.append(("train.pos_weight", "must be positive"))
    if h.task == "binary" and t.loss == "cross_entropy":
        out.append(("train.loss", "cross-entropy needs a multiclass head; use bce or focal for binary"))
    if h.task == "multiclass" and t.loss == "bce":
        out.append(("train.loss", "BCE needs a binary head; use cross_entropy or focal for multiclass"))
    if h.task == "binary" and d.label_mode == "bins":
        out.append(("data.label_mode", "quantile bins make several classes; choose a multiclass head or a threshold"))
    if h.task == "multiclass" and d.label_mode == "threshold":
        out.append(("data.label_mode", "a threshold makes two classes; choose a binary head or quantile bins"))
    if d.label_mode == "bins" and d.bins < 2:
        out.append(("data.bins", "needs at least 2 bins"))
    if len(d.splits) != 4 or any(s < 0 for s in d.splits) or abs(sum(d.splits) - 1.0) > 1e-6:
        out.append(("data.splits", "must be four non-negative fractions (train, val, cal, test) summing to 1"))
    elif min(d.splits[0], d.splits[3]) <= 0:
        out.append(("data.splits", "train and test fractions must be positive"))
    elif recipe.calibration != "none" and d.splits[2] <= 0:
        out.append(("data.splits", "calibration needs a calibration split above 0"))
    if h.warm_start and h.hidden:
        out.append(("head.warm_start", "warm start needs a head without a hidden layer"))
    if t.class_weights and any(w <= 0 for w in t.class_weights):
        out.append(("train.class_weights", "must all be positive"))
    if t.mixed_precision and t.device == "cpu":
        out.append(("train.mixed_precision", "is a GPU option and does nothing on the cpu; set the device to auto "
                                             "or cuda, or turn it off"))
    return out


def validate(recipe: Recipe) -> Recipe:
    found = problems(recipe)
    if found:
        name, reason = found[0]
        more = f" ({len(found) - 1} more problem(s) after this one.)" if len(found) > 1 else ""
        raise RecipeError(f"recipe field {name} {reason}.{more}", "Change it in the form or the recipe file.")
    return recipe
