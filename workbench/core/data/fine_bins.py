"""Finer bins of the number that ordered classes were cut from, nested in the classes: what the histogram ordinal
head (train.ordinal.HistogramLayer) trains on. Quantile bins keep the target itself, and the head that predicts
where in it a row falls (a histogram over the target, Imani and White 2018) learns classes whose rows look unalike
(digits 0 and 1 in one value bin) as the separate groups they are, then sums them back into the classes.

Within each class: its distinct values when it has at most SUB of them on the train split (digit values), else SUB
quantile bins of its train rows' targets; a class with fewer than 2 * MIN_ROWS train rows stays one bin. Fine bins
are numbered class by class, each class's in rising target order, so class k owns a contiguous block of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUB = 4  # fine bins per class at most
MIN_ROWS = 10  # train rows per fine bin at least (a quantile split)


@dataclass(frozen=True)
class FineBins:
    labels: np.ndarray  # each row's fine bin (all splits), int64
    sizes: list[int]  # fine bins per class, in class order
    how: str  # what they are, in words

    @property
    def count(self) -> int:
        return int(sum(self.sizes))

    def describe(self) -> dict[str, object]:
        return {"bins": self.count, "per_class": list(self.sizes), "from": self.how}


def fine_bins(target: np.ndarray, y: np.ndarray, train: np.ndarray, n_classes: int) -> FineBins | None:
    """Fine bins of `target` within each class of `y` (fitted on the `train` rows), or None when no class splits:
    every class holds one value, or too few train rows."""
    target = np.asarray(target, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    labels = np.zeros(len(y), dtype=np.int64)
    sizes: list[int] = []
    used: set[str] = set()
    for k in range(n_classes):
        rows = np.flatnonzero(y == k)
        cut, how = _edges(target[np.intersect1d(rows, train)])
        used |= {how} if cut else set()
        labels[rows] = sum(sizes) + np.searchsorted(np.asarray(cut), target[rows], side="right")
        sizes.append(len(cut) + 1)
    if sum(sizes) == n_classes:
        return None
    return FineBins(labels, sizes, " and ".join(w for w in (DISTINCT, QUANTILES) if w in used))


DISTINCT = "the target's distinct values within each class"
QUANTILES = f"up to {SUB} quantile bins of the target within each class"


def _edges(values: np.ndarray) -> tuple[list[float], str]:
    """Cut points inside one class (none when it stays one bin) and what they cut: midpoints between its distinct
    train values when they are few, else the midpoints at its train targets' quantiles."""
    unique, counts = np.unique(values, return_counts=True)
    if len(values) < 2 * MIN_ROWS or len(unique) < 2:
        return [], DISTINCT
    if len(unique) <= SUB:  # a value too rare to learn alone keeps the class whole
        return ([] if counts.min() < MIN_ROWS else [float(v) for v in (unique[1:] + unique[:-1]) / 2]), DISTINCT
    parts = min(SUB, len(values) // MIN_ROWS)
    ordered = np.sort(values)
    at = [len(ordered) * j // parts for j in range(1, parts)]
    return sorted({float((ordered[i - 1] + ordered[i]) / 2) for i in at if ordered[i - 1] < ordered[i]}), QUANTILES
