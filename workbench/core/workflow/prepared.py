"""The data of a conversion, prepared from a recipe: read, fitted to the model (sequences for a recurrent model),
labelled, split (stratified, seeded), standardised or normalised on the train split, and checked for leaks and
splits too small to trust."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

from workbench.core.data.data import as_sequences, given_split_indices, load_table, make_labels, split_indices
from workbench.core.data.fine_bins import FineBins, fine_bins
from workbench.core.data.samples import Table
from workbench.core.errors import DataError
from workbench.core.notes import Note
from workbench.core.open.layer_tree import recurrent_input_size
from workbench.core.open.load import LoadedModel
from workbench.core.recipe import Recipe

if TYPE_CHECKING:
    from workbench.core.data.image_stream import ImageBatches
    from workbench.core.data.images import ImageSamples
    from workbench.core.open.multi_input import ModelInputs


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
    warnings: list[Note] = field(default_factory=list)  # likely leaks, tiny splits: shown, never blocking
    leaks: dict[str, float] = field(default_factory=dict)
    # An image folder's per-channel (mean, std), shape (C, 1, 1), applied to 0..1 pixels before the model and
    # inside the export; resolved from data.normalize against the model by `prepare_images`.
    image_norm: tuple[np.ndarray, np.ndarray] | None = None
    normalize: str = "none"  # the resolved data.normalize of an image folder
    norm_values: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())  # its mean and std where auto chose custom
    # data.standardize auto: the train split's statistics, applied (as mean/std) once the model's evidence says so
    scale_stats: tuple[np.ndarray, np.ndarray] | None = None
    scale_notes: list[Note] = field(default_factory=list)  # what auto chose for the inputs' scale, and why
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

    def fine_bins(self) -> FineBins | None:
        """Finer bins of the target inside quantile-bin classes, fitted on the train split: what a histogram ordinal
        head trains on (data.fine_bins); None for other labels, or when no class splits."""
        if self.label_info.get("mode") != "bins":
            return None
        return fine_bins(self.table.target, self.y, self.splits["train"], len(self.classes))

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.table.X.shape[1:])


def prepare_data(recipe: Recipe, model_shape: tuple[int, ...] | None = None,
                 step_features: int | None = None, loaded: LoadedModel | None = None) -> PreparedData:
    """Read and label the data; with `model_shape`, images are resized to it and tables must match it. With
    `step_features` (a recurrent model's features per step), flat rows are read as sequences of that many."""
    d = recipe.data
    model_shape = tuple(model_shape) if model_shape else None
    table = load_table(d.path, d.label, d.features, model_shape if model_shape and len(model_shape) == 3 else None,
                       d.missing, d.sheet, model_shape, d.resize, several_inputs(loaded, d.inputs))
    take_widths(loaded, table)
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


def several_inputs(loaded: LoadedModel | None, text: str) -> tuple[str, ModelInputs] | None:
    """(data.inputs, the model's inputs) when the open model takes several tensors, else None."""
    from workbench.core.open.multi_input import packed_of

    packed = packed_of(loaded.model if loaded is not None else None)
    return (text, packed.found) if packed is not None else None


def take_widths(loaded: LoadedModel | None, table: Table) -> None:
    """A several-input model cuts each row where the table's mapping put its inputs."""
    from workbench.core.open.multi_input import packed_of

    packed = packed_of(loaded.model if loaded is not None else None)
    if packed is not None and table.inputs:
        packed.set_widths([len(columns) for _, columns, _ in table.inputs])


def step_features(loaded: LoadedModel | None) -> int | None:
    """Features per time step of a recurrent model (its first recurrent layer's input_size), else None; None for a
    model of several inputs, whose sequence input is cut from the row by its packing (multi_input.PackedInputs)."""
    from workbench.core.open.multi_input import packed_of

    if loaded is None or packed_of(loaded.model) is not None:
        return None
    return recurrent_input_size(loaded.model)


def label_and_split(table: Table, recipe: Recipe) -> PreparedData:
    """Derive labels, split, and fit standardisation on the train split (fast; no file access)."""
    d = recipe.data
    y, classes, info = make_labels(table, d.label_mode, recipe.head.task, d.threshold, d.bins, d.classes)
    draw = _draw_order(recipe, classes, info.pop("own_order", None))  # not a label fact metrics.json records
    if table.given_splits:  # the folder's train/ val/ test/, as given
        splits = given_split_indices(y, table.given_splits, d.splits, recipe.seed, d.path, classes, draw)
    else:
        splits = split_indices(y, d.splits, recipe.seed, d.path, classes, draw)
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
    if d.standardize is True and prepared.images:
        prepared.mean, prepared.std = _pixel_stats(table.X, splits["train"])
    elif d.standardize is True or (d.standardize == "auto" and not prepared.images):
        train_X = table.X[splits["train"]]
        axes = 0 if train_X.ndim == 2 else None  # per feature for tables, one scalar for images
        mean = train_X.mean(axis=axes).astype(np.float32)
        std = train_X.std(axis=axes).astype(np.float32)
        std = np.where(std > 0, std, 1.0).astype(np.float32)
        if table.inputs:  # category codes index embeddings: never standardised
            coded = np.array([k for _, columns, k in table.inputs for _ in columns])
            mean[coded], std[coded] = 0.0, 1.0
        if d.standardize is True:
            prepared.mean, prepared.std = mean, std
        else:  # decided against the model by prepare_for_model
            prepared.scale_stats = (mean, std)
    return prepared


def _draw_order(recipe: Recipe, classes: list[str], own: list[str] | None) -> list[int] | None:
    """The class codes in the order the split draws them: a class column's classes in their own order when a Class
    order is given (data.split_order labels; make_labels' `own_order`), so that reordering the classes keeps every
    split; None (code order) otherwise, where the codes are that order already."""
    if recipe.data.split_order != "labels" or own is None:
        return None
    where = {name: code for code, name in enumerate(classes)}
    return [where[name] for name in own if name in where]


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
    """What auto means for this model: a table's standardisation (data.standardize) and an image folder's
    normalisation (data.normalize), resolved against the model's architecture and its output on the train split
    (see data.input_scale). Called again, it decides the same."""
    if not data.images:
        _resolve_standardize(data, recipe, model)
        return
    from workbench.core.data.image_norm import channel_stats, resolve_normalize

    d = recipe.data
    data.normalize = resolve_normalize(d.normalize, model)
    mean, std = d.norm_mean, d.norm_std
    if d.normalize == "auto" and data.normalize == "none":
        mean, std = _resolve_image_normalization(data, recipe, model)
    data.image_norm = channel_stats(data.normalize, data.input_shape[0], mean, std, d.path)


def _ordered(recipe: Recipe) -> bool:
    """Whether the labels rise with the regression output's target (a threshold or bins cut from it). A class
    column's order (an ordinal task on low, medium, high) may run either way: there only the correlation's size
    counts, or classes given high, medium, low would turn the evidence against the scale the model was trained on."""
    return recipe.data.label_mode in ("threshold", "bins")


def _resolve_standardize(data: PreparedData, recipe: Recipe, model: nn.Module) -> None:
    if data.scale_stats is None or data.table.X.ndim != 2:
        return
    from workbench.core.data.input_scale import choose_standardize

    mean, std = data.scale_stats
    choice = choose_standardize(model, data.table.X, data.y, mean, std, _ordered(recipe), recipe.seed,
                                among=data.splits["train"])
    data.mean, data.std = (mean, std) if choice.chosen == "on" else (None, None)
    data.scale_notes = [choice.note] if choice.note is not None else []


IMAGE_EVIDENCE = 128  # train images decoded to choose an image folder's normalisation


def _resolve_image_normalization(data: PreparedData, recipe: Recipe,
                                 model: nn.Module) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """data.normalize auto on a model that is no torchvision architecture: none, (0.5, 0.5) or ImageNet's, by
    the evidence of the model's output (see input_scale); the custom mean and std it chose."""
    from workbench.core.data.image_norm import IMAGENET_MEAN, IMAGENET_STD, channel_stats
    from workbench.core.data.input_scale import choose_image_normalization

    channels = data.input_shape[0]
    half = ((0.5,) * channels, (0.5,) * channels)
    candidates = {"none": None, "custom": channel_stats("custom", channels, *half)}
    if channels == 3:
        candidates["imagenet"] = channel_stats("custom", 3, IMAGENET_MEAN, IMAGENET_STD)
    rows = np.sort(np.random.default_rng(recipe.seed).permutation(data.splits["train"])[:IMAGE_EVIDENCE])
    samples = cast("ImageSamples", data.table.X)
    pixels = samples.raw(rows).astype(np.float32) / np.float32(samples.scale)
    choice = choose_image_normalization(model, pixels, data.y[rows], candidates, "none", _ordered(recipe))
    data.scale_notes = [choice.note] if choice.note is not None else []
    data.normalize = choice.chosen
    data.norm_values = half if choice.chosen == "custom" else ((), ())
    return data.norm_values
