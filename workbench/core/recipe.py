"""The recipe: every choice of a conversion as one immutable, serialisable object.

The GUI edits a recipe, the CLI reads one from JSON or TOML, an export embeds the one that made it. Each field
is described once (see `fields`); the checks, the command-line options and the form are generated from it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import tomllib

from workbench.core import fields as F
from workbench.core.errors import RecipeError
from workbench.core.fields import describe
from workbench.core.recipe_cut import ModelRecipe, cut_problems
from workbench.core.recipe_decide import DecideRecipe, decide_problems
from workbench.core.recipe_inputs import inputs_problems
from workbench.core.recipe_migrate import BEFORE_IMAGES, BEFORE_SCALES, V2_TRAIN_DEFAULTS, migrate  # noqa: F401 - re-exported
from workbench.core.recipe_ordinal import ordinal_problems
from workbench.core.safety.named_code import check_named_source, trust_own_file

# 1: unversioned, before fields were described; 2: before "auto" defaults; 3: before head.warm_start auto/on/off (was
# true/false); 4: before image normalisation and augmentation; 5: before calibration auto (was temperature); 6: before
# data.standardize auto (was false), data.normalize auto reading the model's evidence and train.time_budget; 7: before
# head.ordinal auto (was coral); 8: before data.split_order (classes). Without a bump: mlp_activation, train.repeats,
# the ordinal task and its histogram head (runs record auto's pick), the decide section, data.inputs, model.
RECIPE_VERSION = 9
TASKS = ("binary", "multiclass", "ordinal")
ORDINAL_HEADS = ("coral", "corn", "multinomial", "histogram", "auto")  # see train.ordinal
LABEL_MODES = ("column", "threshold", "bins")
LOSSES = ("auto", "bce", "cross_entropy", "focal")
OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("onecycle", "none", "cosine", "step", "plateau")
CALIBRATIONS = ("auto", "none", "platt", "isotonic", "temperature", "matrix")
BINNINGS = ("width", "mass")
AUTO = ("auto",)
WARM_STARTS = ("auto", "on", "off")
DEVICES = ("auto", "cpu", "cuda")
MISSING = ("error", "drop", "impute")
NORMALIZATIONS = ("auto", "architecture", "imagenet", "none", "custom")
STANDARDIZE = ("auto",)
RESIZES = ("resize", "crop")
AUGMENTS = ("auto", "on", "off")
SPLIT_ORDERS = ("labels", "classes")
# Between the Linear layers of an MLP rebuilt from a bare state_dict (the file does not record it).
MLP_ACTIVATIONS = ("relu", "tanh", "gelu", "sigmoid", "silu", "leaky_relu", "elu")


@dataclass(frozen=True)
class DataRecipe:
    path: str = field(default="", metadata=describe(
        "Data", "a table (.csv/.tsv/.txt, .parquet, .feather, .xlsx), an .npz with X and y, an image folder, or "
        "sklearn:<diabetes|breast_cancer|wine|iris|digits>", flag="--data"))
    sheet: str = field(default="", metadata=describe("Sheet", "the Excel sheet to read (default: the first)"))
    label: str = field(default="target", metadata=describe("Label column", "label column (default: target)"))
    features: tuple[str, ...] = field(default=(), metadata=describe(
        "Features", "comma-separated feature columns (default: the numeric columns but the label and ID-like "
        "ones; text columns are left out)"))
    inputs: str = field(default="", metadata=describe(
        "Model inputs", "for a model whose forward takes several tensors: the columns feeding each, as "
        "'x_cat=city,weekday;x_cont=dist,hour' (default: category columns to the input feeding embeddings, numeric "
        "ones to the other)"))
    missing: str = field(default="error", metadata=describe(
        "Missing values", "error: stop and show the counts; drop: leave out rows with a missing feature value; "
        "impute: fill with the train split's medians, also inside the exported program", choices=MISSING))
    classes: tuple[str, ...] = field(default=(), metadata=describe(
        "Class order", "a class column's classes in the order wanted, comma-separated (e.g. low,medium,high); "
        "the confusion matrix and the export's columns follow it"))
    label_mode: str = field(default="column", metadata=describe(
        "Labels from", "column: a class column; threshold: label > T; bins: quantile classes",
        choices=LABEL_MODES, flag=None))
    threshold: float | None = field(default=None, metadata=describe(
        "Threshold", "binary labels: label > T; none: the median", flag=None))
    bins: int = field(default=3, metadata=describe("Bins", "multiclass labels: K quantile bins of the label column",
                                                   low=2, high=1000, flag=None))
    splits: tuple[float, ...] = field(default=(0.6, 0.15, 0.1, 0.15), metadata=describe(
        "Splits", "train,val,cal,test fractions, e.g. 0.6,0.15,0.1,0.15", low=0, high=1))
    split_order: str = field(default="labels", metadata=describe(
        "Split order", "the order the seeded split draws each class's rows in. labels: the classes' own order "
        "(numbers, low/medium/high, else alphabetical), so that a Class order given moves no row between splits; "
        "classes: the Class order (recipes of version 8 and before)", choices=SPLIT_ORDERS))
    standardize: bool | str = field(default="auto", metadata=describe(
        "Standardize", "standardize a table's inputs with the train split's mean and std, also inside the exported "
        "program. auto: when the model's output and first layer say it was trained on standardised inputs and the "
        "columns are on another scale (a note says why); false: as they are (a pretrained body expects the inputs "
        "it was trained on)", choices=STANDARDIZE))
    normalize: str = field(default="auto", metadata=describe(
        "Normalise images", "image folders: pixels (0..1) are normalised per channel before the model, also inside "
        "the exported program (which takes 0..1 pixels). auto: ImageNet's mean and std for a recognised "
        "torchvision architecture; otherwise none, (0.5, 0.5) or ImageNet's, whichever the model's output on the "
        "train split clearly reads best (a note says why), none without clear evidence; architecture: ImageNet's "
        "for a recognised torchvision architecture, none otherwise; imagenet; none; custom: the mean and std given",
        choices=NORMALIZATIONS, group="Images"))
    norm_mean: tuple[float, ...] = field(default=(), metadata=describe(
        "Custom mean", "custom normalisation: per-channel mean of 0..1 pixels, e.g. 0.5,0.5,0.5 (one value for "
        "grey)", low=-10, high=10, group="Images"))
    norm_std: tuple[float, ...] = field(default=(), metadata=describe(
        "Custom std", "custom normalisation: per-channel std, e.g. 0.25,0.25,0.25", low=0, high=10, low_open=True,
        group="Images"))
    resize: str = field(default="resize", metadata=describe(
        "Resize images", "image folders: resize: stretch each image to the model's input size; crop: resize the "
        "shorter side to size / 0.875 and take the centre (torchvision's evaluation transform, no stretching)",
        choices=RESIZES, group="Images"))
    augment: str = field(default="auto", metadata=describe(
        "Augment images", "image folders: a random resized crop and horizontal flip of each training image. "
        "auto: on when a layer before the head trains, off for a frozen body", choices=AUGMENTS,
        group="Images"))


@dataclass(frozen=True)
class HeadRecipe:
    task: str = field(default="binary", metadata=describe(
        "Task", "binary (one logit, sigmoid), multiclass (K logits, softmax) or ordinal (K ordered classes: "
        "cumulative probabilities from one score and thresholds, conditional tasks, a softmax with an ordinal loss "
        "or a softmax over finer bins; see Ordinal head; decided at the median class)", choices=TASKS,
        group="Head"))
    ordinal: str = field(default="auto", metadata=describe(
        "Ordinal head", "ordinal task: coral (one shared score, K-1 ordered thresholds; warm-started from the "
        "regression output cut where the classes were cut), corn (K-1 conditional tasks), multinomial (K class "
        "scores, softmax, cross-entropy plus CORAL's loss), histogram (quantile bins only: a softmax over finer bins "
        "of the target inside each class, summed into the classes) or auto (coral; multinomial, started cold, when a "
        "linear probe on the head's input features orders validation rows clearly better than the output cut; "
        "histogram there when a probe on the finer bins does at least as well)",
        choices=ORDINAL_HEADS, group="Head"))
    dropout: float = field(default=0.0, metadata=describe(
        "Dropout before the head", "dropout before the new head", low=0, high=1, high_open=True, group="Head",
        decimals=3, step=0.05))
    hidden: int = field(default=0, metadata=describe(
        "Hidden layer width (0 = none)", "width of an optional hidden layer in the head (0: none)", low=0,
        high=65536, group="Head", step=16))
    freeze: str = field(default="none", metadata=describe(
        "Freeze", "none, body, or upto:<layer name>", group="Head"))
    frozen_layers: tuple[str, ...] = field(default=(), metadata=describe(
        "Frozen layers", "explicit per-layer choice (the Model tab's boxes)", flag=None))
    warm_start: str = field(default="auto", metadata=describe(
        "Warm start from the regression head", "initialise the new head from a logistic fit of the regression "
        "output; auto: on for a binary or ordinal head on a one-value regression head, off otherwise",
        choices=WARM_STARTS, group="Head"))


@dataclass(frozen=True)
class TrainRecipe:
    loss: str = field(default="auto", metadata=describe(
        "Loss", "auto: bce for binary, cross_entropy for multiclass, the ordinal head's own loss (CORAL's, CORN's, "
        "the multinomial's or the histogram's) for ordinal", choices=LOSSES, group="Loss"))
    pos_weight: float | None = field(default=None, metadata=describe(
        "Positive class weight (0 = none)", "BCE weight of the positive class", low=0, high=1e6, low_open=True,
        group="Loss", decimals=3, step=0.5, none_label="none"))
    class_weights: tuple[float, ...] = field(default=(), metadata=describe(
        "Class weights", "comma-separated, one per class", low=0, high=1e6, low_open=True, group="Loss"))
    label_smoothing: float = field(default=0.0, metadata=describe(
        "Label smoothing", "cross-entropy label smoothing", low=0, high=1, high_open=True, group="Loss",
        decimals=3, step=0.05))
    focal_gamma: float = field(default=2.0, metadata=describe(
        "Focal gamma", "focusing parameter of the focal loss", low=0, high=20, group="Loss", decimals=3, step=0.5))
    optimizer: str = field(default="adamw", metadata=describe(
        "Optimizer", "the optimiser", choices=OPTIMIZERS, group="Training"))
    lr: float | str = field(default="auto", metadata=describe(
        "Learning rate", "learning rate; auto: a short range test on the train split picks it", choices=AUTO,
        low=0, high=10, low_open=True, group="Training", decimals=6, step=1e-4))
    weight_decay: float = field(default=0.0, metadata=describe(
        "Weight decay", "weight decay", low=0, high=1, group="Training", decimals=6, step=1e-3))
    schedule: str = field(default="onecycle", metadata=describe(
        "Schedule", "learning-rate schedule (onecycle: warm-up to the rate, then cosine decay)", choices=SCHEDULES,
        group="Training"))
    epochs: int | str = field(default="auto", metadata=describe(
        "Epochs", "the most epochs to train; auto: enough for a few thousand optimiser steps on small data and "
        "at least 20 epochs on large data", choices=AUTO, low=1, high=100_000, group="Training"))
    batch_size: int = field(default=64, metadata=describe(
        "Batch size", "samples per optimiser step", low=1, high=1 << 20, group="Training", step=16))
    patience: int = field(default=10, metadata=describe(
        "Early stopping patience (0 = off)", "early stopping patience in epochs (at least a tenth of the "
        "epochs; with onecycle, before half of them only after twice the patience); 0 turns it off", low=0,
        high=100_000, group="Training"))
    device: str = field(default="auto", metadata=describe(
        "Device", "where to train", choices=DEVICES, group="Training"))
    time_budget: float | str = field(default="auto", metadata=describe(
        "Time budget (s)", "the most seconds of training; auto: a budget that would train over 10 minutes at the "
        "cost per step the range test measured is cut to the epochs that fit in 10 minutes; 0: no limit",
        choices=AUTO, low=0, high=1e8, group="Training", decimals=0, step=60))
    repeats: int = field(default=1, metadata=describe(
        "Repeats", "train this many times with training seeds seed, seed+1, ... on seed's split, reporting the test "
        "metrics' mean and spread (which Compare weighs); the first run is exported", low=1, high=1000,
        group="Training"))
    mixed_precision: bool = field(default=False, metadata=describe(
        "Mixed precision (GPU)", "torch autocast on a GPU (bfloat16, or float16 with a gradient scaler)",
        group="Training"))


@dataclass(frozen=True)
class Recipe:
    data: DataRecipe = field(default_factory=DataRecipe)
    head: HeadRecipe = field(default_factory=HeadRecipe)
    train: TrainRecipe = field(default_factory=TrainRecipe)
    decide: DecideRecipe = field(default_factory=DecideRecipe)
    model: ModelRecipe = field(default_factory=ModelRecipe)
    calibration: str = field(default="auto", metadata=describe(
        "Calibration", "fitted on the calibration split. auto: none unless temperature, platt or isotonic lowers its "
        "cross-validated Brier score beyond noise; platt: Platt scaling (binary) or regularised vector scaling "
        "(multiclass); matrix: regularised matrix scaling", choices=CALIBRATIONS, group="Head"))
    reliability_bins: int | str = field(default="auto", metadata=describe(
        "Reliability bins", "bins of the reliability diagram and ECE; auto: follows the test size (5 to 15)",
        choices=AUTO, low=2, high=1000, flag="--reliability-bins"))
    binning: str = field(default="width", metadata=describe(
        "Reliability binning", "width: equal-width confidence bins; mass: equal-count bins", choices=BINNINGS,
        flag="--reliability-binning"))
    seed: int = field(default=0, metadata=describe("Seed", "seed of the splits and of training", low=0,
                                                   high=2**31 - 1, group="Training"))
    model_source: str = field(default="", metadata=describe(
        "Model source", "path/to/models.py:ClassName, for weights without an architecture", flag=None))
    model_args: dict[str, Any] = field(default_factory=dict, metadata=describe(
        "Model arguments", "constructor arguments as JSON", flag=None))
    input_shape: tuple[int, ...] = field(default=(), metadata=describe(
        "Input shape", "input shape of one sample, e.g. 10 or 1,8,8", low=1, high=1 << 20, flag=None))
    mlp_activation: str = field(default="relu", metadata=describe(
        "MLP activation", "the activation between the Linear layers of an MLP rebuilt from a bare state_dict (the "
        "file does not record it)", choices=MLP_ACTIVATIONS))

    def replace(self, **changes: Any) -> "Recipe":
        """A validated copy with top-level or dotted (``"train.lr"``) fields changed; raises RecipeError."""
        return validate(self.with_changes(**changes))

    def with_changes(self, **changes: Any) -> "Recipe":
        """Like `replace` but not validated, for forms that show problems next to the fields."""
        nested: dict[str, dict[str, Any]] = {}
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

    def get(self, name: str) -> Any:
        """A field by its dotted name, e.g. ``recipe.get("train.lr")``."""
        value: Any = self
        for part in name.split("."):
            value = getattr(value, part)
        return value

    def to_dict(self) -> dict[str, Any]:
        return {"version": RECIPE_VERSION, **json.loads(json.dumps(dataclasses.asdict(self)))}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def save(self, path: str | Path) -> None:
        """Write the recipe. One that names a model source is trusted as naming that code: the user chose that
        source here, so reopening their own file must not ask again (a copy edited elsewhere, or a changed source
        or sibling module, is asked about)."""
        from workbench.core.safety.atomic import write_bytes_atomic

        data = (self.to_json() + "\n").encode("utf-8")
        write_bytes_atomic(Path(path), data)
        if self.model_source:
            trust_own_file(data, resolve_source(self, Path(path).parent).model_source)


FIELDS = F.labelled({name: (kind, spec) for name, _f, kind, spec in F.walk(Recipe)})
_T = TypeVar("_T")


def _build(cls: type[_T], values: Any, where: str) -> _T:
    if not isinstance(values, dict):
        raise RecipeError(f"recipe section '{where}' must be a table of fields, not {type(values).__name__}.")
    known = {f.name: f for f in dataclasses.fields(cast("type[Any]", cls))}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise RecipeError(
            f"unknown recipe field(s) {', '.join(where + '.' + u if where else u for u in unknown)}.",
            f"Known fields here: {', '.join(sorted(known))}.",
        )
    kwargs = {}
    for name, value in values.items():
        dotted = f"{where}.{name}" if where else name
        kwargs[name] = F.coerce(value, FIELDS[dotted][0]) if dotted in FIELDS else value
    return cls(**kwargs)


def _migrate(values: dict[str, Any]) -> dict[str, Any]:
    """Bring an older recipe's fields up to RECIPE_VERSION (see recipe_migrate)."""
    return migrate(values, RECIPE_VERSION)


def from_dict(values: dict[str, Any]) -> Recipe:
    if not isinstance(values, dict):
        raise RecipeError("a recipe must be a table of fields.", "Save the recipe again from the workbench.")
    if F.depth(values) > F.MAX_NESTING:
        raise RecipeError(f"the recipe nests more than {F.MAX_NESTING} levels deep.",
                          "A recipe has at most a few levels; save it again from the workbench.")
    values = _migrate(dict(values))
    parts: dict[str, Any] = {
        "data": _build(DataRecipe, values.pop("data", {}), "data"),
        "head": _build(HeadRecipe, values.pop("head", {}), "head"),
        "train": _build(TrainRecipe, values.pop("train", {}), "train"),
        "decide": _build(DecideRecipe, values.pop("decide", {}), "decide"),
        "model": _build(ModelRecipe, values.pop("model", {}), "model"),
    }
    recipe = _build(Recipe, values, "")
    return validate(dataclasses.replace(recipe, **parts))


def read_values(path: Path, data: bytes | None = None) -> dict[str, Any]:
    """A recipe file's raw table of values (JSON, or TOML by suffix), with syntax errors as RecipeError."""
    try:
        text = (path.read_bytes() if data is None else data).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"cannot read the recipe ({getattr(exc, 'strerror', None) or exc}).", "Check the path.",
                          path) from None
    is_toml = path.suffix.lower() == ".toml"
    try:
        return tomllib.loads(text) if is_toml else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise RecipeError(f"the recipe is not valid {'TOML' if is_toml else 'JSON'} ({exc}).",
                          "Fix the syntax or save the recipe again from the workbench.", path) from None
    except RecursionError:
        raise RecipeError("the recipe nests too deeply to be read.",
                          "A recipe has at most a few levels; save it again from the workbench.", path) from None


def load(path: str | Path, trusted: bool = False, typed_source: str | None = None) -> Recipe:
    """Read a recipe file.

    A model source the file names is code that would run, so it is accepted only when the user trusts this file
    (`trusted=True` records that trust by the hash of the bytes read) or names a source themselves
    (`typed_source`, which replaces the file's). A relative source is resolved against the recipe's folder.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecipeError(f"cannot read the recipe ({exc.strerror or exc}).", "Check the path.", path) from None
    values = read_values(path, data)
    try:
        recipe = from_dict(values)
    except RecipeError as exc:
        fix = "Change it in the recipe file." if exc.field else exc.fix
        raise RecipeError(exc.problem, fix, path, exc.field) from None
    except TypeError as exc:
        raise RecipeError(f"the recipe has a field of the wrong kind ({exc}).", "", path) from None
    if typed_source:
        return dataclasses.replace(recipe, model_source=typed_source)
    recipe = resolve_data(resolve_source(recipe, path.parent), path.parent)
    if recipe.model_source:
        check_named_source(recipe.model_source, path, hashlib.sha256(data).hexdigest(), trusted, "recipe")
    return recipe


def resolve_source(recipe: Recipe, folder: Path) -> Recipe:
    """A relative model source named by a file is relative to that file's folder, not the current one."""
    source = absolute_source(recipe.model_source, folder)
    return recipe if source == recipe.model_source else dataclasses.replace(recipe, model_source=source)


def absolute_source(source: str, folder: Path) -> str:
    """'models.py:Net' read from `folder` as '/abs/models.py:Net', so that a run's recipe names the file it ran
    whatever folder it is read from, and two runs of one file do not differ by how it was typed."""
    file_part, sep, class_name = source.rpartition(":")
    if not sep or not file_part or Path(file_part).expanduser().is_absolute():
        return source
    return f"{(Path(folder) / file_part).resolve()}:{class_name}"


def resolve_data(recipe: Recipe, folder: Path) -> Recipe:
    """A relative data path that exists under `folder` (a recipe file's folder, or the folder a command runs in)
    becomes absolute, so an export's recipe.json opens from anywhere; one that does not is kept as typed (read
    from the current folder, as before, and named as typed when it is missing)."""
    path = recipe.data.path
    if not path or path.startswith("sklearn:") or Path(path).expanduser().is_absolute():
        return recipe
    found = Path(folder) / path
    if not found.exists():
        return recipe
    return dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, path=str(found.resolve())))


def field_problems(recipe: Recipe) -> list[tuple[str, str]]:
    """Each field checked against its own description (type, choices, range)."""
    out = []
    for name, (kind, spec) in FIELDS.items():
        why = F.check(name, recipe.get(name), kind, spec)
        if why:
            out.append((name, why))
    return out


def problems(recipe: Recipe) -> list[tuple[str, str]]:
    """Every invalid field or combination as (field, reason); empty when the recipe is usable."""
    out = field_problems(recipe)
    if out:  # combinations are only judged between fields that are each valid
        return out
    d, h, t = recipe.data, recipe.head, recipe.train
    if not (h.freeze in ("none", "body") or h.freeze.startswith("upto:")):
        out.append(("head.freeze", "must be none, body or upto:<layer name>"))
    if h.task == "binary" and t.loss == "cross_entropy":
        out.append(("train.loss", "cross-entropy needs a multiclass head; use bce or focal for binary"))
    if h.task == "multiclass" and t.loss == "bce":
        out.append(("train.loss", "BCE needs a binary head; use cross_entropy or focal for multiclass"))
    if h.task == "binary" and d.label_mode == "bins":
        out.append(("data.label_mode", "quantile bins make several classes; choose a multiclass or ordinal head, or "
                                       "a threshold"))
    if h.task == "multiclass" and d.label_mode == "threshold":
        out.append(("data.label_mode", "a threshold makes two classes; choose a binary head or quantile bins"))
    out += ordinal_problems(h.task, t.loss, d.label_mode, recipe.calibration, h.ordinal)
    out += inputs_problems(d.inputs, d.label)
    if d.classes and d.label_mode != "column":
        out.append(("data.classes", "orders a class column's classes; threshold and bins classes are ordered by "
                                    "value"))
    if len(set(d.classes)) != len(d.classes):
        out.append(("data.classes", "names a class twice"))
    if len(d.splits) != 4 or abs(sum(d.splits) - 1.0) > 1e-6:
        out.append(("data.splits", "must be four non-negative fractions (train, val, cal, test) summing to 1"))
    elif min(d.splits[0], d.splits[3]) <= 0:
        out.append(("data.splits", "train and test fractions must be positive"))
    elif recipe.calibration not in ("none", "auto") and d.splits[2] <= 0:
        out.append(("data.splits", "calibration needs a calibration split above 0"))
    if d.normalize == "custom" and (not d.norm_mean or len(d.norm_mean) != len(d.norm_std)):
        out.append(("data.normalize", "custom needs a mean and a std with one value per channel each"))
    if h.task == "binary" and recipe.calibration == "matrix":
        out.append(("calibration", "matrix scaling is for multiclass heads; use platt for binary"))
    if h.warm_start == "on" and h.hidden:
        out.append(("head.warm_start", "warm start needs a head without a hidden layer"))
    if t.mixed_precision and t.device == "cpu":
        out.append(("train.mixed_precision", "is a GPU option and does nothing on the cpu; set the device to auto "
                                             "or cuda, or turn it off"))
    if recipe.input_shape and math.prod(recipe.input_shape) > 1 << 28:
        out.append(("input_shape", "describes more than 2^28 values per sample"))
    out += cut_problems(recipe.model, h.warm_start)
    return out + decide_problems(recipe.decide, h.task == "binary", recipe.data.splits, h.task == "ordinal")


def validate(recipe: Recipe) -> Recipe:
    found = problems(recipe)
    if found:
        name, reason = found[0]
        more = f" ({len(found) - 1} more problem(s) after this one.)" if len(found) > 1 else ""
        label = FIELDS[name][1].label if name in FIELDS else name
        raise RecipeError(f"recipe field {name} {reason}.{more}", "Change that field.", field=name,
                          window=f"{label}: {reason}.{more}", gui=f"Change {label}.")
    return recipe
