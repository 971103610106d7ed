"""What an export's metadata says of a run's data and inputs: the data file with its hash and rows per split, and the
inputs of a model taking several tensors (their columns, dtypes and category codes)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from workbench.core.data.samples import Table

if TYPE_CHECKING:
    from workbench.core.data.images import ImageSamples
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.prepared import PreparedData


def several_inputs_export(table: Table, shapes: dict[str, tuple[int, ...]] | None = None) -> dict[str, Any]:
    """What an export of a model taking several tensors says of them: each input's columns, dtype and shape (a
    sequence's (N, steps, features), its columns step by step), in the order the program takes them, and each
    category column's codes (applied by `workbench evaluate`)."""
    if not table.inputs:
        return {}
    shapes = shapes or {}
    inputs: list[dict[str, Any]] = [{"name": name, "columns": columns, "dtype": "int64" if codes else "float32",
                                     "shape": ["N", *shapes.get(name, (len(columns),))]}
                                    for name, columns, codes in table.inputs]
    described = "; ".join(f"{i['name']}: {i['dtype']} ({', '.join(map(str, i['shape']))}) from "
                          f"{', '.join(i['columns'])}" for i in inputs)
    width = sum(len(columns) for _n, columns, _c in table.inputs)
    # one tensor per input, not one float32 row: `input_shape` stays the table row `workbench evaluate` reads and cuts
    spec = {"tensors": [{k: i[k] for k in ("name", "dtype", "shape")} for i in inputs], "range": None,
            "table_row": ["N", width]}
    return {"inputs": inputs, "categories": table.categories or {}, "input_spec": spec,
            "input": f"the model's own inputs, in order: {described}. Category columns as integer codes (see "
                     "'categories': values -> codes, and the code an unseen category is read as); any "
                     "standardisation is inside the program"}


def data_description(run: Any) -> dict[str, Any]:
    """The data a run was made from: file name, path, sha256 (an image folder's over its files), rows per split and
    the data's warnings."""
    path = run.recipe.data.path
    return {"file": Path(path).name if path and not path.startswith("sklearn:") else path, "path": path,
            "sha256": _fingerprint(path),
            "rows": {split: int(len(rows)) for split, rows in run.data.splits.items()},
            "warnings": [str(w) for w in run.data.warnings]}


def _fingerprint(path: str) -> str | None:
    from workbench.core.safety.snapshot import fingerprint

    try:
        return fingerprint(path) if path else None
    except OSError:  # moved or unreadable since it was read: the card says the hash is unknown
        return None


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
