"""Per-row scores and reliability bins: the pieces that both the metrics and their bootstrap intervals
(uncertainty) are computed from, kept apart so that neither module needs the other's."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


def auto_bins(n: int) -> int:
    """Bins that follow the test size: about sqrt(n), from 5 (under ~30 rows) to 15 (from ~225 rows)."""
    return int(np.clip(round(np.sqrt(max(n, 1))), 5, 15))


def bin_edges(confidence: np.ndarray, n_bins: int, binning: str = "width") -> np.ndarray:
    """Equal-width edges on [0, 1], or equal-mass edges (quantiles of the confidences, ends at 0 and 1)."""
    if binning == "mass" and len(confidence):
        inner = np.quantile(confidence, np.linspace(0, 1, n_bins + 1)[1:-1])
        return np.concatenate([[0.0], np.maximum.accumulate(inner), [1.0]])
    return np.linspace(0.0, 1.0, n_bins + 1)


def bin_index(confidence: np.ndarray, edges: ArrayLike) -> np.ndarray:
    edges = np.asarray(edges)
    return np.asarray(np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, len(edges) - 2))


def brier_rows(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row's Brier term: binary (p1 - y)^2, multiclass the sum over classes (see BRIER_*)."""
    y = np.asarray(y).astype(np.int64)
    if probs.shape[1] == 2:
        return np.asarray((probs[:, 1] - (y == 1)) ** 2)
    return np.asarray(((probs - np.eye(probs.shape[1])[y]) ** 2).sum(1))


def predict(probs: np.ndarray, threshold: float | None = None, ordinal: bool = False) -> np.ndarray:
    """Binary: positive when p(positive) >= threshold (0.5 unless given), the rule the export states;
    multiclass: the most probable class; `ordinal` (an ordinal head's): the median class."""
    if ordinal and probs.shape[1] > 2:
        return median_class(probs)
    if probs.shape[1] == 2:
        return (probs[:, 1] >= (0.5 if threshold is None else threshold)).astype(np.int64)
    return np.asarray(probs.argmax(axis=1))


def median_class(probs: np.ndarray) -> np.ndarray:
    """How many cumulative probabilities P(y > k) reach one half: the first class whose P(y <= k) reaches it
    (for two classes, the binary rule at 0.5). Sums run from the top class down, as the head computes them."""
    tail = np.cumsum(np.asarray(probs)[:, ::-1], axis=1)[:, ::-1][:, 1:]
    return np.asarray((tail >= 0.5).sum(1), dtype=np.int64)


@dataclass(frozen=True)
class Decided:
    """Decisions made by a rule other than the threshold, the most probable class or the median (a cost matrix's
    least expected cost, or any rule on prior-corrected probabilities): one class per row of the calibrated
    probabilities (`after`) and of the uncalibrated ones (`before`, when evaluated), and the rule in words."""

    after: np.ndarray
    before: np.ndarray | None
    rule: str
