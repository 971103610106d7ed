"""One conversion from a recipe: prepare data, convert, train, calibrate, evaluate, export.

Each step is its own function so the GUI can run them one by one on its worker; `journey.convert_checkpoint`
chains them for the command line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

from workbench.core.data.data import as_sequences, given_split_indices, load_table, make_labels, split_indices
from workbench.core.data.preprocess import Impute
from workbench.core.data.samples import Table
from workbench.core.errors import DataError
from workbench.core.evaluate import calibrate as calib
from workbench.core.evaluate.errors_list import SplitSamples
from workbench.core.export import export as export_mod
from workbench.core.open.layer_tree import Inspection, inspect_model, recurrent_input_size
from workbench.core.open.load import LoadedModel
from workbench.core.open.program_modules import FrozenProgram
from workbench.core.recipe import Recipe
from workbench.core.train import frozen_body
from workbench.core.train.distributed import Distributed
from workbench.core.train.heads import Warm, convert, ordinal_warm_start_fit, warm_start_fit
from workbench.core.train.train import StopToken, TrainResult, pick_device, predict_logits, seed_everything, train

if TYPE_CHECKING:
    from workbench.core.data.image_stream import ImageBatches
    from workbench.core.data.images import ImageSamples

TEST_ROWS_KEPT = 200_000  # test probabilities kept in the metrics (rows x classes) for paired comparisons


@dataclass
class PreparedData:
    table: Table
    y: np.ndarray
    classes: list[str]
    label_info: dict[str, Any]
    splits: dict[str, np.ndarray]
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    fill: np.ndarray | None = None  # train medians for missing inputs (data.missing = impute)
    warnings: list[str] = field(default_factory=list)  # likely leaks, tiny splits: shown, never blocking
    leaks: dict[str, float] = field(default_factory=dict)
    # An image folder's per-channel (mean, std), shape (C, 1, 1), applied to 0..1 pixels before the model and
    # inside the export; resolved from data.normalize against the model by `prepare_images`.
    image_norm: tuple[np.ndarray, np.ndarray] | None = None
    normalize: str = "none"  # the resolved data.normalize of an image folder
    augment: bool = False  # training batches of an image folder are augmented

    @property
    def images(self) -> bool:
        """An image folder: its splits are read as batches (`ImageBatches`), never as one float32 array."""
        from workbench.core.data.images import ImageSamples

        return isinstance(self.table.X, ImageSamples)

    def inputs(self, split: str) -> np.ndarray | ImageBatches:
        """The model's inputs for a split: an array, or an image folder's `ImageBatches`."""
        if self.images:
            from workbench.core.data.image_stream import ImageBatches

            norm = self.image_norm if self.image_norm is not None else (
                None if self.mean is None else cast("tuple[np.ndarray, np.ndarray]", (self.mean, self.std)))
            return ImageBatches(cast("ImageSamples", self.table.X), self.splits[split], norm,
                                self.augment and split == "train")
        X = self.table.X[self.splits[split]]
        return np.asarray(X if self.mean is None else (X - self.mean) / self.std)

    def model_inputs(self, split: str) -> torch.Tensor | ImageBatches:
        """`inputs` as predict_logits takes them: a tensor, or the image folder's batches."""
        X = self.inputs(split)
        return cast("ImageBatches", X) if self.images else torch.as_tensor(X)

    def labels(self, split: str) -> np.ndarray:
        return np.asarray(self.y[self.splits[split]])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.table.X.shape[1:])


@dataclass
class Run:
    recipe: Recipe
    loaded: LoadedModel
    data: PreparedData
    inspection: Inspection
    model: nn.Module
    head_name: str
    training: TrainResult
    logits: dict[str, np.ndarray] = field(default_factory=dict)
    calibration: calib.AnyCalibration | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    calibration_check: dict[str, Any] = field(default_factory=dict)  # see calibration_check.check
    kind: str = "trained"  # or "baseline": the regression output, Platt-calibrated, no training

    @property
    def binary(self) -> bool:
        return self.recipe.head.task == "binary"

    @property
    def ordinal(self) -> bool:
        """An ordinal head: its logits are log class probabilities and its decision the median class."""
        return self.recipe.head.task == "ordinal"

    def probabilities(self, split: str = "test", calibrated: bool = True) -> np.ndarray:
        if calibrated and self.calibration is not None:
            return self.calibration.probabilities(self.logits[split])
        return calib.Calibration("none", self.recipe.head.task, len(self.data.classes)).probabilities(
            self.logits[split])

    def test_samples(self) -> SplitSamples:
        """The test split's samples (file row, image path or index), labels, probabilities and decisions under
        this run's calibration and threshold: what a confusion-matrix cell lists (`errors_list`)."""
        from workbench.core.evaluate.errors_list import split_samples

        return split_samples(self.data, self.probabilities("test"), self.threshold, self.ordinal)


def prepare_data(recipe: Recipe, model_shape: tuple[int, ...] | None = None,
                 step_features: int | None = None) -> PreparedData:
    """Read and label the data; with `model_shape`, images are resized to it and tables must match it. With
    `step_features` (a recurrent model's features per step), flat rows are read as sequences of that many."""
    d = recipe.data
    model_shape = tuple(model_shape) if model_shape else None
    table = load_table(d.path, d.label, d.features, model_shape if model_shape and len(model_shape) == 3 else None,
                       d.missing, d.sheet, model_shape, d.resize)
    table = fit_sequences(table, model_shape, step_features)
    if model_shape and tuple(table.X.shape[1:]) != model_shape:
        raise DataError(f"the data has inputs of shape {tuple(table.X.shape[1:])} per sample but the model takes "
                        f"{model_shape}.", "Choose data (or feature columns) that match the model.", d.path)
    return label_and_split(table, recipe)


def fit_sequences(table: Table, model_shape: tuple[int, ...] | None, step_features: int | None) -> Table:
    """Flat rows (a table, an .npz of rows) for a sequence model: as (N, steps, features), with the steps from
    the input shape when given, else from the width."""
    if table.X.ndim != 2:
        return table
    if model_shape and len(model_shape) == 2:
        return as_sequences(table, int(model_shape[1]), int(model_shape[0]))
    if step_features and not model_shape:
        return as_sequences(table, step_features)
    return table


def step_features(loaded: LoadedModel | None) -> int | None:
    """Features per time step of a recurrent model (its first recurrent layer's input_size), else None."""
    return recurrent_input_size(loaded.model) if loaded is not None else None


def label_and_split(table: Table, recipe: Recipe) -> PreparedData:
    """Derive labels, split, and fit standardisation on the train split (fast; no file access)."""
    d = recipe.data
    y, classes, info = make_labels(table, d.label_mode, recipe.head.task, d.threshold, d.bins, d.classes)
    if table.given_splits:  # the folder's train/ val/ test/, as given
        splits = given_split_indices(y, table.given_splits, d.splits, recipe.seed, d.path, classes)
    else:
        splits = split_indices(y, d.splits, recipe.seed, d.path, classes)
    prepared = PreparedData(table, y, classes, info, splits)
    if d.missing == "impute" and table.X.ndim in (2, 3):  # rows, or rows read as sequences
        from workbench.core.data.preprocess import impute, train_medians

        assert isinstance(table.X, np.ndarray)  # an image folder's samples have 4 dimensions
        prepared.fill, notes = train_medians(table.X[splits["train"]])
        prepared.table = table = dataclasses.replace(table, X=impute(table.X, prepared.fill),
                                                     notes=table.notes + notes)
    from workbench.core.data.checks import leak_warnings, likely_leaks, split_warnings

    if not prepared.images:  # a pixel is not a leak, and the check would decode the whole train split
        prepared.leaks = likely_leaks(table.X[splits["train"]], y[splits["train"]], table.feature_names,
                                      recipe.seed)
    prepared.warnings = leak_warnings(prepared.leaks) + split_warnings(y, splits, classes)
    if d.standardize and prepared.images:
        prepared.mean, prepared.std = _pixel_stats(table.X, splits["train"])
    elif d.standardize:
        train_X = table.X[splits["train"]]
        axes = 0 if train_X.ndim == 2 else None  # per feature for tables, one scalar for images
        prepared.mean = train_X.mean(axis=axes).astype(np.float32)
        std = train_X.std(axis=axes).astype(np.float32)
        prepared.std = np.where(std > 0, std, 1.0).astype(np.float32)
    return prepared


def _pixel_stats(samples: Any, rows: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """One mean and std over the train split's pixels, a chunk of images at a time."""
    total = squares = count = 0.0
    for i in range(0, len(rows), chunk):
        x = samples.raw(rows[i:i + chunk]).astype(np.float64) / samples.scale
        total, squares, count = total + x.sum(), squares + (x * x).sum(), count + x.size
    mean = total / max(count, 1)
    std = np.sqrt(max(squares / max(count, 1) - mean * mean, 0.0))
    # 0-d scalars, which broadcast over the pixels as the per-feature arrays of a table do
    return cast(np.ndarray, np.float32(mean)), cast(np.ndarray, np.float32(std if std > 0 else 1.0))


def prepare_images(data: PreparedData, recipe: Recipe, model: nn.Module) -> None:
    """An image folder's normalisation, resolved against the model's architecture (data.normalize auto)."""
    if not data.images:
        return
    from workbench.core.data.image_norm import channel_stats, resolve_normalize

    d = recipe.data
    data.normalize = resolve_normalize(d.normalize, model)
    data.image_norm = channel_stats(data.normalize, data.input_shape[0], d.norm_mean, d.norm_std, d.path)


def model_input_shape(recipe: Recipe, loaded: LoadedModel, data: PreparedData | None = None
                      ) -> tuple[int, ...] | None:
    if recipe.input_shape:
        return tuple(recipe.input_shape)
    if data is not None:
        return data.input_shape
    return loaded.input_shape


def regression_outputs(model: nn.Module, head: str, X: np.ndarray | ImageBatches) -> np.ndarray:
    """The regression head's pre-activation output for X (what a warm start is fitted on)."""
    captured = []
    hook = model.get_submodule(head).register_forward_hook(lambda _m, _i, out: captured.append(out.detach()))
    try:
        model.eval()
        with torch.no_grad():
            for i in range(0, len(X), 4096):
                model(torch.as_tensor(X[i:i + 4096]))
    finally:
        hook.remove()
    return torch.cat(captured).reshape(len(X), -1).numpy()


def warm_start_applies(recipe: Recipe, inspection: Inspection) -> bool:
    """Whether the new head starts from the regression head's fit: "on" asks for it; "auto" takes it for a binary
    head without a hidden layer on a one-value regression head. benchmarks/defaults.py (defaults, 3 seeds, test
    accuracy cold -> warm): binary heads ended as well or better warm (user MLP on diabetes 0.732 -> 0.914,
    breast cancer 0.988 -> 1.000, the diabetes demo 0.791 -> 0.797); a softmax head's ordinal warm start ended
    worse on the digits demo (0.770 -> 0.768 at the valley's rate; 0.839 -> 0.704 on seed 3 at 3x), so it stays
    cold unless asked for. An ordinal head starts as the regression output cut into the classes (see
    train.ordinal): untrained, it already decides as that cut does."""
    h = recipe.head
    if h.warm_start != "auto":
        return h.warm_start == "on"
    return h.task in ("binary", "ordinal") and not h.hidden and inspection.head_out == 1


def build_model(recipe: Recipe, loaded: LoadedModel, data: PreparedData) -> tuple[nn.Module, str, Inspection]:
    shape = model_input_shape(recipe, loaded, data)
    assert shape is not None  # the data's own shape, at least
    prepare_images(data, recipe, loaded.model)
    data.augment = False
    inspection = inspect_model(loaded.model, shape)
    warm: Warm | None = None
    # A program's new head starts from the baseline's fit (a warm start): kept whole, it cannot learn anything its
    # output does not say; rebuilt or cut, a cold head on its features measured far below the baseline.
    program = loaded.format in ("torchscript", "export") and not recipe.head.hidden and (
        isinstance(loaded.model, FrozenProgram) or inspection.head_out == 1)
    if warm_start_applies(recipe, inspection) or program:
        reg = regression_outputs(loaded.model, inspection.head, data.inputs("train"))
        if recipe.head.task == "binary":
            warm = warm_start_fit(reg[:, 0], data.labels("train"))
        elif recipe.head.task == "ordinal":
            warm = ordinal_warm_start(recipe.head.ordinal, data, reg[:, 0])
        elif data.label_info["mode"] != "bins" and data.table.target.dtype.kind != "f" \
                and not recipe.data.classes:
            if recipe.head.warm_start == "on":
                raise DataError("a multiclass warm start needs ordered classes (quantile bins or numeric labels).",
                                "Turn warm start off for named classes, or give their order (class order).",
                                recipe.data.path)
        else:
            warm = ordinal_warm_start_fit(reg[:, 0], data.labels("train"), len(data.classes))
    seed_everything(recipe.seed)
    model, head = convert(loaded.model, inspection, recipe.head.task, len(data.classes), recipe.head, warm)
    return model, head, inspection


def ordinal_warm_start(kind: str, data: PreparedData, regression: np.ndarray) -> Warm:
    """An ordinal head's start from the train split's regression outputs (train.ordinal)."""
    from workbench.core.train import ordinal

    return ordinal.ordinal_warm_start_fit(regression, data.labels("train"), len(data.classes), kind)


def calibrate_run(run: Run, method: str) -> Run:
    """(Re)fit `method` on the calibration split and recompute the test metrics."""
    n = len(run.data.classes)
    if method != "none" and not len(run.logits["cal"]):
        raise DataError("there is no calibration split to fit on.", "Give the calibration split a fraction above 0.")
    from workbench.core.evaluate.calibration_check import check

    task = run.recipe.head.task
    recipe = run.recipe.replace(calibration=method)  # a method that does not fit the task is a RecipeError
    run.calibration = calib.fit(method, task, n, run.logits["cal"], run.data.labels("cal"))
    run.recipe = recipe
    run.calibration_check = check(method, task, n, run.logits["cal"], run.data.labels("cal"),
                                  run.recipe.data.splits[2], run.calibration.notes, run.recipe.seed)
    evaluate_run(run)
    return run


def evaluate_run(run: Run) -> dict[str, Any]:
    from workbench.core.evaluate.metrics import evaluate

    y = run.data.labels("test")
    ordinal = run.recipe.head.task == "ordinal"
    run.metrics = {
        "kind": run.kind,
        "classes": run.data.classes, "task": run.recipe.head.task, "calibration": run.recipe.calibration,
        "labels": run.data.label_info, "warnings": list(run.data.warnings),
        "calibration_check": run.calibration_check,
        "test": evaluate(run.probabilities("test"), y, run.data.classes, run.probabilities("test", False),
                         run.threshold, run.recipe.reliability_bins, run.recipe.binning, ordinal,
                         ordered_classes(run)),
        "training": {"best_epoch": run.training.best_epoch, "epochs_run": len(run.training.history),
                     "stopped_early": run.training.stopped_early, "cancelled": run.training.cancelled,
                     "seconds": run.training.seconds, "device": run.training.device,
                     "lr": run.training.lr, "epochs": run.training.epochs, "patience": run.training.patience,
                     "schedule": run.training.schedule, "notes": list(run.training.notes),
                     "lr_finder": run.training.lr_finder, "history": run.training.history,
                     "body_features": run.training.body_features, "processes": run.training.processes},
    }
    probs = run.probabilities("test")
    if probs.size <= TEST_ROWS_KEPT:  # what paired comparisons between runs on this split resample
        from workbench.core.evaluate.errors_list import sample_ids

        ids, id_name = sample_ids(run.data.table, run.data.splits["test"])
        if id_name == "file":  # relative to the image folder (the recipe names it): shorter, and no home paths
            root = Path(run.data.table.source)
            ids = [Path(p).relative_to(root).as_posix() if Path(p).is_relative_to(root) else p for p in ids]
        run.metrics["test_rows"] = {"y": y.tolist(), "probs": np.round(probs, 6).tolist(),
                                    "threshold": run.threshold, "ordinal": ordinal, id_name: ids}
    if ordinal:
        run.metrics["ordinal"] = ordinal_summary(run)
    return run.metrics


def ordered_classes(run: Run) -> bool:
    """Whether the run's classes have an order (cut from a number, numeric labels, a given order): then the order
    metrics are reported for any head with more than two classes, so softmax and ordinal heads compare."""
    task = run.recipe.head.task
    return task == "ordinal" or (task != "binary" and bool(run.data.label_info.get("ordered_by")))


def ordinal_summary(run: Run) -> dict[str, Any]:
    """What an ordinal run's metrics say about its head: kind, class order and where it comes from, thresholds
    (CORAL, in score units, ordered), the warm start and the decision rule."""
    from workbench.core.train.ordinal import CoralLayer, ordinal_kind, ordinal_layer

    layer = ordinal_layer(run.model)
    out: dict[str, Any] = {"head": ordinal_kind(run.model), "classes": list(run.data.classes),
                           "ordered_by": run.data.label_info.get("ordered_by"),
                           "decision_rule": "the median class: the first class whose cumulative probability "
                                            "P(y <= k) reaches 0.5",
                           "warm_start": layer.warm_start if layer is not None else None}
    if isinstance(layer, CoralLayer):
        with torch.no_grad():
            out["thresholds"] = [float(v) for v in layer.thresholds()]
    return out


def rebin_run(run: Run, binning: str) -> dict[str, Any]:
    """The run's metrics again with `binning` (width or mass) for its reliability diagram, ECE and their intervals;
    the run's recipe records it, so its export and report follow."""
    run.recipe = run.recipe.replace(binning=binning)  # a binning that is not one of BINNINGS is a RecipeError
    return evaluate_run(run)


def body_features(recipe: Recipe, model: nn.Module, head: str, data: PreparedData, stop: StopToken | None = None,
                  dist: Distributed | None = None) -> frozen_body.BodyFeatures | None:
    """The frozen body's outputs for every split, when nothing before the head trains and no augmentation changes
    the inputs from epoch to epoch (see frozen_body); None otherwise."""
    if recipe.data.augment == "on" or frozen_body.body_trains(model, head):
        return None
    device = dist.device if dist is not None else pick_device(recipe.train.device)
    return frozen_body.compute(model, head, data.inputs, {s: len(idx) for s, idx in data.splits.items()}, device,
                               lambda: bool(stop and stop.stopped), dist=dist)


def train_run(recipe: Recipe, loaded: LoadedModel, data: PreparedData, callbacks: Iterable[object] = (),
              stop: StopToken | None = None, dist: Distributed | None = None) -> Run:
    """Build and train the classifier, then (on rank 0 of a torchrun job, or alone) calibrate and evaluate it.
    Other ranks return the trained run without logits or metrics."""
    model, head, inspection = build_model(recipe, loaded, data)
    binary = recipe.head.task == "binary"
    head_only = not frozen_body.body_trains(model, head)
    if data.images:
        from workbench.core.data.image_norm import resolve_augment

        augment = resolve_augment(recipe.data.augment, body_trains=not head_only)
        data.augment = augment == "on"
        # The run's recipe records what auto chose, so it reproduces this model.
        recipe = recipe.replace(**{"data.normalize": data.normalize, "data.augment": augment,
                                   "data.resize": cast("ImageSamples", data.table.X).resize})
    cache = body_features(recipe, model, head, data, stop, dist)
    try:
        # With the body's outputs cached, only the head trains; it is the model's own head module, so the model
        # (body and head) is what is evaluated and exported afterwards.
        trained = model.get_submodule(head) if cache is not None else model
        inputs = (lambda s: cache.splits[s]) if cache is not None else data.inputs
        result = train(trained, recipe.head.task, len(data.classes), inputs("train"), data.labels("train"),
                       inputs("val"), data.labels("val"), recipe.train, recipe.seed, callbacks, stop,
                       head="" if cache is not None else head, dist=dist,
                       head_only=head_only)
        if cache is not None:
            result.body_features, result.seconds = cache.where, result.seconds + cache.seconds
        model.cpu().eval()
        if dist is not None and not dist.is_main:
            return Run(recipe, loaded, data, inspection, model, head, result)
        logits = {s: predict_logits(trained, cache.splits[s].cpu() if cache is not None else data.model_inputs(s),
                                    binary).numpy() for s in data.splits}
    finally:
        if cache is not None:
            cache.close()
    if not result.cancelled:  # the run's recipe records what "auto" chose, so it reproduces this model
        recipe = recipe.replace(**{"train.lr": result.lr, "train.epochs": result.epochs})
    run = Run(recipe, loaded, data, inspection, model, head, result, logits)
    return calibrate_run(run, recipe.calibration)


def input_description(d: PreparedData, recipe: Recipe, norm: tuple[np.ndarray, np.ndarray] | None) -> dict[str, Any]:
    """What the exported program takes, in words ('input') and exactly ('input_spec'), which `evaluate` checks."""
    shape = list(d.input_shape)
    if not (d.images or d.table.pixels) or len(shape) != 3:
        return {"input": "raw features as float32, shape (N, *input_shape); any standardisation is inside the "
                         "program", "input_spec": {"dtype": "float32", "shape": ["N", *shape], "range": None}}
    c, h, w = shape
    colour = "RGB" if c == 3 else "grey"
    resize = cast("ImageSamples", d.table.X).resize if d.images else None  # as an image folder's images were read
    fit = {"resize": "resized (stretched) to", None: "of",
           "crop": "resized so the shorter side is the size / 0.875, then centre-cropped to"}[resize]
    normal = {"imagenet": "ImageNet's per-channel mean and std", "custom": "the recipe's per-channel mean and std",
              "none": "no normalisation"}.get(d.normalize, "no normalisation")
    if d.image_norm is None and d.mean is not None:
        normal = "the train split's pixel mean and std"
    return {
        "input": f"{colour} pixels as float32 in [0, 1] (8-bit values divided by 255), shape (N, {c}, {h}, {w}): "
                 f"layout NCHW{', channels in R, G, B order' if c == 3 else ''}; images {fit} {h}x{w} "
                 f"(height x width); {normal}{' is applied inside the program' if norm is not None else ''}",
        "input_spec": {"dtype": "float32", "range": [0.0, 1.0], "layout": "NCHW", "channels": c,
                       "channel_order": "RGB" if c == 3 else "grey", "size": [h, w], "shape": ["N", c, h, w],
                       "resize": resize, "normalization": d.normalize if d.image_norm is not None else
                       ("standardize" if norm is not None else "none"),
                       "normalization_inside_program": norm is not None,
                       "mean": None if norm is None else np.ravel(norm[0]).tolist(),
                       "std": None if norm is None else np.ravel(norm[1]).tolist()},
    }


def decision_rule(run: Run) -> str:
    if run.binary:
        return f"class 1 when probability[:, 1] >= {run.threshold or 0.5:g}, else class 0"
    if run.ordinal:
        return ("the median class: the first column k where probability[:, :k + 1].sum(1) reaches 0.5 (equivalently, "
                "how many of P(y > k) = probability[:, k + 1:].sum(1) are at least 0.5)")
    return "the class of the largest probability"


def ordinal_export(run: Run) -> dict[str, Any]:
    """What an ordinal export's metadata says beyond the probabilities: the head, the classes' order and where it
    comes from, and how a plain-PyTorch user reads cumulative probabilities and contiguous sets."""
    summary = run.metrics.get("ordinal") or ordinal_summary(run)
    return {"head": summary["head"], "class_order": list(run.data.classes), "ordered_by": summary["ordered_by"],
            "thresholds": summary.get("thresholds"), "warm_start": summary["warm_start"],
            "cumulative": "P(y > classes[k]) = probability[:, k + 1:].sum(1), falling with k",
            "prediction_sets": "contiguous ranges of classes (ordinal adaptive prediction sets): "
                               "workbench.core.evaluate.ordinal_calibrate.contiguous_sets"}


def export_run(run: Run, folder: str | Path, overwrite: bool = False, onnx: bool = False) -> export_mod.ExportResult:
    d = run.data
    assert run.calibration is not None  # every run is calibrated ("none" included) before it can be exported
    steps: list[nn.Module] = [Impute(d.fill)] if d.fill is not None else []
    norm = d.image_norm if d.images and d.image_norm is not None else (
        (d.mean, d.std) if d.mean is not None and d.std is not None else None)
    steps += [export_mod.Standardize(*norm)] if norm is not None else []
    preprocess = (steps[0] if len(steps) == 1 else nn.Sequential(*steps)) if steps else None
    module = export_mod.CalibratedClassifier(run.model, run.calibration, run.binary, preprocess)
    example = torch.as_tensor(d.table.X[d.splits["test"][:256]])
    with torch.no_grad():
        expected = module.eval()(example).numpy()
    metadata = {
        "classes": d.classes, "task": run.recipe.head.task, "input_shape": list(d.input_shape),
        "output": "calibrated class probabilities, shape (N, K), columns in the order of 'classes'",
        **input_description(d, run.recipe, norm),
        "recipe": run.recipe.to_dict(), "calibration": run.calibration.params(), "head": run.head_name,
        "feature_names": d.table.feature_names if d.table.columns is not None else None,  # table files only
        "decision_threshold": (run.threshold or 0.5) if run.binary else None,
        "decision_rule": decision_rule(run),  # the rule metrics.predict applies
        "source": {"path": str(run.loaded.path), "sha256": run.loaded.sha256, "format": run.loaded.format},
    }
    if run.ordinal:
        metadata["ordinal"] = ordinal_export(run)
    return export_mod.export(folder, module, example, expected, metadata, run.metrics, run.loaded.path, overwrite,
                             onnx)
