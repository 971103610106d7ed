"""Input preprocessing that travels inside the exported program: imputation of missing values and
standardisation, both fitted on the train split."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Impute(nn.Module):
    """NaN inputs become the train split's per-feature medians, so inference treats a missing value as
    training did."""

    fill: torch.Tensor  # a buffer, registered in __init__

    def __init__(self, fill: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("fill", torch.as_tensor(fill, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(torch.isnan(x), self.fill, x)


def train_medians(X_train: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per-feature medians of the train split's present values (0 where a feature is missing in every row)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: handled below
        fill = np.nanmedian(X_train, axis=0) if len(X_train) else np.zeros(X_train.shape[1:])
    empty = np.isnan(fill)
    notes = [f"{int(empty.sum())} feature(s) have no value in the train split and are filled with 0."] \
        if empty.any() else []
    return np.where(empty, 0.0, fill).astype(np.float32), notes


def impute(X: np.ndarray, fill: np.ndarray) -> np.ndarray:
    nan = np.isnan(X)
    return np.where(nan, fill, X).astype(np.float32) if nan.any() else X
