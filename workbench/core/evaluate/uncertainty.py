"""Intervals for the test metrics: Wilson score intervals for proportions, and a seeded bootstrap, stratified by
class and vectorised in numpy, for the rest.

Accuracy and per-class precision and recall are proportions of independent rows: their Wilson interval keeps
near-nominal coverage at every n and p (Brown, Cai and DasGupta 2001), including an all-correct split, where a
percentile bootstrap collapses to [1, 1] (85 of 85 correct). It is used for them always, not only where the
bootstrap degenerates, so one metric never switches method with the data. Paired differences between runs (and a
calibration's before/after change) stay bootstrap, where the shared rows cancel.

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


def resamples_for(n: int) -> int:
    """How many resamples a test split of n rows gets: fewer for a large split keep the (resamples, n) arrays near
    100 MB at most."""
    return int(min(RESAMPLES, max(100, 12_000_000 // max(n, 1))))


_resamples = resamples_for
PROPORTIONS = ("accuracy",)  # of METRICS, the ones with a Wilson interval
# Of METRICS, the ones whose resampled values run above the value itself: resampling adds noise to every bin, and a
# bin's |confidence - accuracy| turns noise into gap. Their percentile interval is shifted down by that bias (the
# resamples' mean minus the value), so it is centred as the value is: it then held the value in 100% of simulated
# splits (92-99% unshifted, the value below the whole interval otherwise) and covered the ECE of the same bins on
# 400,000 rows in 88-95% of splits of an over-confident model where the unshifted one covered it in 68-91%
# (tests/core/evaluate/test_intervals.py). Near perfect calibration neither covers that ECE (near 0; shifted 3-17%,
# unshifted 0%): `ece_bias.if_calibrated` says what calibration shows there.
SHIFTED = ("ece",)
INTERVALS = "95% intervals: Wilson for accuracy, bootstrap for the others"  # how a summary says which is which


def wilson(successes: float, n: float, level: float = LEVEL) -> list[float]:
    """The Wilson score interval of a proportion successes / n; [0, 1] when n is 0."""
    from statistics import NormalDist

    if n <= 0:
        return [0.0, 1.0]
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    # all or none: the interval reaches the end exactly (rounding would leave 0.9999999999999999)
    return [0.0 if successes <= 0 else float(low), 1.0 if successes >= n else float(high)]


def method_of(metric: str) -> str:
    """"wilson" or "bootstrap": how `intervals` makes the metric's interval."""
    return "wilson" if metric in PROPORTIONS else "bootstrap"


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


def _auc_pairs(C: np.ndarray, probs: np.ndarray, y: np.ndarray, block: int = 1 << 22) -> np.ndarray:
    """Macro one-vs-rest AUC per resample from every (positive, row) pair at once: for each row i, the weighted
    count of rows of other classes scored below it on i's own class is one matrix product, so the cost is
    resamples x n^2 in BLAS rather than classes x resamples x n in numpy passes (thousands of classes: minutes
    to a second). Counts and halves are exact in float32."""
    n, k = probs.shape
    counts = C.astype(np.float32)
    below = np.empty_like(counts)
    step = max(1, block // max(n, 1))
    for start in range(0, n, step):
        rows = np.arange(start, min(n, start + step))
        scores = probs[:, y[rows]]  # every row's score for each positive row's class
        own = probs[rows, y[rows]]
        pairs = (scores < own).astype(np.float32) + np.float32(0.5) * (scores == own)
        pairs[y[:, None] == y[rows][None, :]] = 0.0  # only the other classes' rows are its negatives
        below[:, rows] = counts @ pairs
    order = np.argsort(y, kind="stable")
    starts = np.r_[0, np.cumsum(np.bincount(y, minlength=k))[:-1]]
    num = np.add.reduceat((counts * below)[:, order], starts, axis=1).astype(np.float64)
    pos = np.add.reduceat(counts[:, order], starts, axis=1).astype(np.float64)
    neg = counts.sum(1, keepdims=True, dtype=np.float64) - pos
    return np.asarray((num / np.maximum(pos * neg, 1e-12)).mean(1))


PAIRS_PER_CLASS = 50  # test rows per class up to which the pairwise AUC is the cheaper way


def _roc_auc(C: np.ndarray, probs: np.ndarray, y: np.ndarray, pred: np.ndarray, **_: Any) -> np.ndarray:
    if probs.shape[1] == 2:
        return _auc_one(C, probs[:, 1], y == 1)
    if len(y) <= PAIRS_PER_CLASS * probs.shape[1]:
        return _auc_pairs(C, probs, y)
    return np.asarray(np.mean([_auc_one(C, probs[:, k], y == k) for k in range(probs.shape[1])], axis=0))


_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {"accuracy": _accuracy, "macro_f1": _macro_f1, "ece": _ece,
                                                    "brier": _brier, "roc_auc": _roc_auc}


def replicates(probs: np.ndarray, y: np.ndarray, metrics: Iterable[str] = METRICS, threshold: float | None = None,
               edges: np.ndarray | None = None, counts: np.ndarray | None = None,
               ordinal: bool = False, pred: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Each metric over every resample (`ordinal`: decisions are an ordinal head's median class; `pred`: the
    decisions, one class per row, when given)."""
    y = np.asarray(y).astype(np.int64)
    C = resample_counts(y, _resamples(len(y))) if counts is None else counts
    edges = _edges(probs, y, edges)
    pred = _predict(probs, threshold, ordinal) if pred is None else np.asarray(pred, np.int64)
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
              edges: np.ndarray | None = None, ordinal: bool = False,
              pred: np.ndarray | None = None) -> dict[str, list[float]]:
    """95% intervals, {metric: [low, high]}: Wilson for accuracy, bootstrap percentiles for the others, the ECE's
    shifted by the bootstrap's bias (see SHIFTED) (`pred`:
    the decisions, one class per row, when they are not the threshold's, the most probable class or the median)."""
    if len(y) < 2:
        return {}
    y = np.asarray(y).astype(np.int64)
    metrics = list(metrics)
    pred = _predict(probs, threshold, ordinal) if pred is None else np.asarray(pred, np.int64)
    boot = replicates(probs, y, [m for m in metrics if method_of(m) == "bootstrap"], threshold, edges,
                      ordinal=ordinal, pred=pred)
    out = {}
    for name in metrics:
        if name == "accuracy":
            out[name] = wilson(float((pred == y).sum()), len(y))
        elif name in SHIFTED and name in boot:
            value = float(_FUNCTIONS[name](np.ones((1, len(y))), probs, y, pred, edges=_edges(probs, y, edges))[0])
            low, high = interval(boot[name] - (boot[name].mean() - value))
            out[name] = [max(low, 0.0), high]
        elif name in boot:
            out[name] = interval(boot[name])
    return out


def _edges(probs: np.ndarray, y: np.ndarray, edges: np.ndarray | None) -> np.ndarray:
    """`edges`, or the reliability bins the test size gets (auto) over `probs`' confidences."""
    from workbench.core.evaluate.scores import auto_bins, bin_edges

    return bin_edges(probs.max(1), auto_bins(len(y))) if edges is None else edges


def paired_difference(probs_a: np.ndarray, probs_b: np.ndarray, y: np.ndarray, metrics: Iterable[str] = METRICS,
                      threshold_a: float | None = None, threshold_b: float | None = None,
                      edges: np.ndarray | None = None, ordinal_a: bool = False,
                      ordinal_b: bool = False, pred_a: np.ndarray | None = None,
                      pred_b: np.ndarray | None = None) -> dict[str, Any]:
    """Interval of metric(b) - metric(a) over the same resamples; `within_noise` when it covers zero (`pred_a`,
    `pred_b`: each one's decisions, when given)."""
    counts = resample_counts(np.asarray(y), _resamples(len(y)))
    edges = _edges(probs_a, y, edges)
    a = replicates(probs_a, y, metrics, threshold_a, edges, counts, ordinal_a, pred_a)
    b = replicates(probs_b, y, metrics, threshold_b, edges, counts, ordinal_b, pred_b)
    out = {}
    for name in [m for m in a if m in b]:  # a's order: a set's order would follow PYTHONHASHSEED into metrics.json
        low, high = interval(b[name] - a[name])
        out[name] = {"low": low, "high": high, "within_noise": bool(low <= 0 <= high)}
    return out


def compare_runs(reference: dict[str, Any], other: dict[str, Any],
                 metrics: Iterable[str] = METRICS) -> dict[str, Any] | None:
    """Paired intervals of other - reference from two runs' metrics (their `test_rows`, each under its own
    decisions: `decisions` where they are stored, else its threshold, most probable or median class), or None when
    they do not hold the same test rows."""
    rows = aligned_rows(reference, other)
    if rows is None:
        return None
    a, b = rows
    y = np.asarray(a["y"])
    return paired_difference(np.asarray(a["probs"]), np.asarray(b["probs"]), y, metrics, a.get("threshold"),
                             b.get("threshold"), ordinal_a=bool(a.get("ordinal")), ordinal_b=bool(b.get("ordinal")),
                             pred_a=stored_decisions(a), pred_b=stored_decisions(b))


def aligned_rows(reference: dict[str, Any], other: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Two runs' `test_rows` when they hold the same rows, the other's in the reference's class order: the same
    classes given in another order (a Class order set between the runs, which moves no row between splits) have
    their codes, probability columns and decisions mapped by class name. None for other rows or other classes."""
    a, b = reference.get("test_rows"), other.get("test_rows")
    if not a or not b:
        return None
    ca, cb = reference.get("classes"), other.get("classes")
    if not isinstance(ca, list) or not isinstance(cb, list) or ca == cb or sorted(ca) != sorted(cb) \
            or len(set(ca)) != len(ca):
        return (a, b) if a["y"] == b["y"] else None
    to_a = np.array([ca.index(name) for name in cb])  # the other's code -> the reference's code
    y = to_a[np.asarray(b["y"], dtype=np.int64)].tolist()
    if y != a["y"]:
        return None
    probs = np.asarray(b["probs"])
    made = stored_decisions(b)
    made = _predict(probs, b.get("threshold"), bool(b.get("ordinal"))) if made is None else made
    return a, {**b, "y": y, "probs": probs[:, [cb.index(name) for name in ca]].tolist(),
               "decisions": to_a[made].tolist()}


def stored_decisions(rows: dict[str, Any]) -> np.ndarray | None:
    """The decisions a run's `test_rows` store (one class per row), when its rule is not the threshold, the most
    probable class or the median (a cost matrix, a deployment prior); None otherwise, or when they are not one
    class code per row (a file edited by hand)."""
    found, k = rows.get("decisions"), len((rows.get("probs") or [[]])[0])
    if not isinstance(found, list) or len(found) != len(rows["y"]) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v < k for v in found):
        return None
    return np.asarray(found, dtype=np.int64)


def seed_interval(a: dict[str, Any] | None, b: dict[str, Any] | None, metric: str,
                  level: float = LEVEL) -> dict[str, Any] | None:
    """The training-seed noise of metric(b) - metric(a), from runs' `repeats` records (workflow/repeats.py).

    Both repeated: the difference of the means over seeds, with a Welch t interval. One repeated: the difference
    of the two first runs, with the spread of a difference of two single runs (its sd times sqrt 2, on k - 1
    degrees of freedom). Neither: None (seed noise not measured).
    """
    from scipy import stats

    def spread(r: dict[str, Any] | None) -> tuple[float, float, int] | None:
        if not r or r.get("k", 1) < 2 or metric not in r.get("sd", {}):
            return None
        return float(r["mean"][metric]), float(r["sd"][metric]), int(r["k"])

    sa, sb = spread(a), spread(b)
    if sa is None and sb is None:
        return None
    tail = 1 - (1 - level) / 2
    if sa is not None and sb is not None:
        va, vb = sa[1] ** 2 / sa[2], sb[1] ** 2 / sb[2]
        se = float(np.sqrt(va + vb))
        dof = (va + vb) ** 2 / max(va ** 2 / (sa[2] - 1) + vb ** 2 / (sb[2] - 1), 1e-300)
        difference: float | None = sb[0] - sa[0]
        what = "the means over training seeds, Welch t interval"
    else:
        one = sa if sa is not None else sb
        assert one is not None
        se, dof = one[1] * float(np.sqrt(2)), one[2] - 1
        difference, what = None, "two single runs, with the spread of the repeated one's seeds"
    half = float(stats.t.ppf(tail, dof)) * se if se > 0 else 0.0
    return {"difference": difference, "half_width": half, "of": what,
            "both_repeated": sa is not None and sb is not None}
