"""Bootstrap intervals for the test metrics: seeded, stratified by class, vectorised in numpy.

A resample is a row of counts (how often each test row is drawn), drawn within each class so that every
resample keeps the split's class counts. Each metric is then a weighted sum over rows, computed for all
resamples at once by matrix products; AUC is the Mann-Whitney statistic over the counts. Paired intervals
for the difference of two runs use the same resamples for both, so shared difficulty cancels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

RESAMPLES = 400
LEVEL = 0.95
SEED = 20261124
METRICS = ("accuracy", "macro_f1", "ece", "brier", "roc_auc")


def resample_counts(y: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples, n) draw counts, stratified by class."""
    y = np.asarray(y)
    n = len(y)
    rng = np.random.default_rng(seed)
    counts = np.zeros((resamples, n), dtype=np.float64)
    rows = np.arange(resamples)[:, None] * n
    for k in np.unique(y):
        idx = np.flatnonzero(y == k)
        picks = idx[rng.integers(0, len(idx), size=(resamples, len(idx)))]
        np.add.at(counts.reshape(-1), (rows + picks).reshape(-1), 1.0)
    return counts


def _resamples(n: int) -> int:
    """Fewer resamples for a large test split keep the (resamples, n) arrays near 100 MB at most."""
    return int(min(RESAMPLES, max(100, 12_000_000 // max(n, 1))))


def _predict(probs: np.ndarray, threshold: float | None, ordinal: bool = False) -> np.ndarray:
    from workbench.core.evaluate.scores import predict

    return predict(probs, threshold, ordinal)


def _accuracy(C: np.ndarray, probs: np.ndarray, y: np.ndarray, pred: np.ndarray, **_: Any) -> np.ndarray:
    return np.asarray(C @ (pred == y).astype(np.float64) / C.sum(1))


def _macro_f1(C: np.ndarray, probs: np.ndarray, y: np.ndarray, pred: np.ndarray, **_: Any) -> np.ndarray:
    K = probs.shape[1]
    onehot_y = np.eye(K)[y]
    onehot_p = np.eye(K)[pred]
    tp = C @ (onehot_y * onehot_p)
    denom = C @ onehot_y + C @ onehot_p
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return np.asarray(f1.mean(1))


def _ece(C: np.ndarray, probs: np.ndarray, y: np.ndarray, pred: np.ndarray, edges: np.ndarray,
         **_: Any) -> np.ndarray:
    from workbench.core.evaluate.scores import bin_index

    confidence = probs.max(1)
    correct = (probs.argmax(1) == y).astype(np.float64)
    which = bin_index(confidence, edges)
    M = np.eye(len(edges) - 1)[which]
    gap = np.abs(C @ (M * confidence[:, None]) - C @ (M * correct[:, None]))
    return np.asarray(gap.sum(1) / C.sum(1))


def _brier(C: np.ndarray, probs: np.ndarray, y: np.ndarray, pred: np.ndarray, **_: Any) -> np.ndarray:
    from workbench.core.evaluate.scores import brier_rows

    return np.asarray(C @ brier_rows(probs, y) / C.sum(1))


def _auc_one(C: np.ndarray, score: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC of `score` for the positive rows, per resample (ties count a half)."""
    order = np.argsort(score, kind="mergesort")
    s, pos = score[order], positive[order]
    Cs = C[:, order]
    neg_w = Cs * (~pos)
    pos_w = Cs * pos
    # group tied scores: negatives strictly below, and negatives tied, for each positive row
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(s)]))
    neg_cum = np.cumsum(neg_w, axis=1)
    neg_before_group = np.concatenate([np.zeros((len(C), 1)), neg_cum[:, starts[1:] - 1]], axis=1)
    ends = np.r_[starts[1:], len(s)] - 1
    neg_in_group = neg_cum[:, ends] - neg_before_group
    below = neg_before_group[:, group] + 0.5 * neg_in_group[:, group]
    n_pos, n_neg = pos_w.sum(1), neg_w.sum(1)
    return np.asarray((pos_w * below).sum(1) / np.maximum(n_pos * n_neg, 1e-12))


def _roc_auc(C: np.ndarray, probs: np.ndarray, y: np.ndarray, pred: np.ndarray, **_: Any) -> np.ndarray:
    if probs.shape[1] == 2:
        return _auc_one(C, probs[:, 1], y == 1)
    return np.asarray(np.mean([_auc_one(C, probs[:, k], y == k) for k in range(probs.shape[1])], axis=0))


_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {"accuracy": _accuracy, "macro_f1": _macro_f1, "ece": _ece,
                                                    "brier": _brier, "roc_auc": _roc_auc}


def replicates(probs: np.ndarray, y: np.ndarray, metrics: Iterable[str] = METRICS, threshold: float | None = None,
               edges: np.ndarray | None = None, counts: np.ndarray | None = None,
               ordinal: bool = False) -> dict[str, np.ndarray]:
    """Each metric over every resample (`ordinal`: decisions are an ordinal head's median class)."""
    from workbench.core.evaluate.scores import auto_bins, bin_edges

    y = np.asarray(y).astype(np.int64)
    C = resample_counts(y, _resamples(len(y))) if counts is None else counts
    edges = bin_edges(probs.max(1), auto_bins(len(y))) if edges is None else edges
    pred = _predict(probs, threshold, ordinal)
    out = {}
    for name in metrics:
        if name == "roc_auc" and len(np.unique(y)) < probs.shape[1]:
            continue  # a class absent from the test split has no AUC
        out[name] = _FUNCTIONS[name](C, probs, y, pred, edges=edges)
    return out


def interval(values: np.ndarray, level: float = LEVEL) -> list[float]:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return [float(low), float(high)]


def intervals(probs: np.ndarray, y: np.ndarray, metrics: Iterable[str] = METRICS, threshold: float | None = None,
              edges: np.ndarray | None = None, ordinal: bool = False) -> dict[str, list[float]]:
    """95% percentile intervals, {metric: [low, high]}."""
    if len(y) < 2:
        return {}
    return {name: interval(v) for name, v in replicates(probs, y, metrics, threshold, edges,
                                                        ordinal=ordinal).items()}


def paired_difference(probs_a: np.ndarray, probs_b: np.ndarray, y: np.ndarray, metrics: Iterable[str] = METRICS,
                      threshold_a: float | None = None, threshold_b: float | None = None,
                      edges: np.ndarray | None = None, ordinal_a: bool = False,
                      ordinal_b: bool = False) -> dict[str, Any]:
    """Interval of metric(b) - metric(a) over the same resamples; `within_noise` when it covers zero."""
    from workbench.core.evaluate.scores import auto_bins, bin_edges

    counts = resample_counts(np.asarray(y), _resamples(len(y)))
    edges = bin_edges(probs_a.max(1), auto_bins(len(y))) if edges is None else edges
    a = replicates(probs_a, y, metrics, threshold_a, edges, counts, ordinal_a)
    b = replicates(probs_b, y, metrics, threshold_b, edges, counts, ordinal_b)
    out = {}
    for name in a.keys() & b.keys():
        low, high = interval(b[name] - a[name])
        out[name] = {"low": low, "high": high, "within_noise": bool(low <= 0 <= high)}
    return out


def compare_runs(reference: dict[str, Any], other: dict[str, Any],
                 metrics: Iterable[str] = METRICS) -> dict[str, Any] | None:
    """Paired intervals of other - reference from two runs' metrics (their `test_rows`), or None when they do not
    hold the same test rows."""
    a, b = reference.get("test_rows"), other.get("test_rows")
    if not a or not b or a["y"] != b["y"]:
        return None
    y = np.asarray(a["y"])
    return paired_difference(np.asarray(a["probs"]), np.asarray(b["probs"]), y, metrics, a.get("threshold"),
                             b.get("threshold"), ordinal_a=bool(a.get("ordinal")), ordinal_b=bool(b.get("ordinal")))
