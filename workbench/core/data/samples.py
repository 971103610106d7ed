"""Samples as read, before labels are derived: the `Table` every data source produces, and what counts as an
image file. Its own module so that the readers (tables, images) and the labelling (data) need not import
each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class LazySamples(Protocol):
    """Samples that read as a float32 array but decode only the rows indexed (an image folder's
    images.ImageSamples, which this module cannot import: images imports it)."""

    ndim: int

    @property
    def shape(self) -> tuple[int, ...]: ...

    def __len__(self) -> int: ...

    def __getitem__(self, key: Any) -> np.ndarray: ...


@dataclass
class Table:
    """Inputs and the raw label column, before labels are derived."""

    X: np.ndarray | LazySamples  # float32, (N, *input_shape); NaN only where missing values are to be imputed;
    # an image folder's is an images.ImageSamples: float32 pixels in [0, 1], decoded only in the rows indexed
    target: np.ndarray  # float64 or str, (N,)
    feature_names: list[str]
    source: str
    target_names: list[str] | None = None  # names for integer class codes (sklearn sets, image folders)
    notes: list[str] = field(default_factory=list)  # rows dropped, values imputed, columns renamed
    columns: object = None  # columns.ColumnSummary of a table file: every column's kind and missing cells
    rows: np.ndarray | None = None  # each sample's row number in the file, for messages and the error list
    paths: list[str] | None = None  # each sample's image file (image folders), for the error list
    given_splits: dict[str, np.ndarray] | None = None  # rows of the splits a folder gives (train/, val/, test/)
    split_folders: dict[str, str] = field(default_factory=dict)  # split -> the folder it came from
    pixels: bool = False  # X holds image pixels in [0, 1] (NCHW): what an export of it states and checks
    # a table file's ID-like columns (row numbers, keys, names), one text per sample: what names a sample in the
    # drill-down besides its row number (they are never features)
    id_columns: dict[str, np.ndarray] = field(default_factory=dict)
    # A model taking several tensors (see data.input_columns): [(input, its columns, category codes?)] in the
    # order X's columns hold them, and each category column's codes {column: {values, codes, unseen, layout}}
    inputs: list[tuple[str, list[str], bool]] | None = None
    categories: dict[str, dict[str, Any]] | None = None
