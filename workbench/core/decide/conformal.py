"""Split conformal prediction sets from calibrated probabilities, fitted on the calibration split.

Scores (higher = less conforming): LAC, 1 - p[k] (Sadinle, Lei & Wasserman 2019), and APS, the total probability
of the classes at least as probable as k, k included (Romano, Sesia & Candès 2020; not randomised, so the sets are
deterministic and exportable). APS is computed as minus the probability of the classes ranked after k, which is
the same score less 1 when a row sums to 1, summed from the smallest probabilities up: a confident model's
cumulative sums round to exactly 1.0 (float32 softmax tails of 1e-20), which tied every class at the threshold and
made the digits demo's sets hold all ten classes. The threshold is the ceil((n + 1)(1 - alpha))-th smallest
calibration score, the same order statistic as MAPIE's and TorchCP's; a class is in the set when its score is at
most the threshold.
Class-conditional (Mondrian, Vovk 2012) takes one threshold per class from that class's rows. Under a known
class-prior shift, marginal sets use the label-shift weighted quantile of Podkopaev & Ramdas (2021), which again
gives one threshold per candidate class; class-conditional sets need no weights.
Ordered classes (an ordinal head): APS becomes ordinal APS (Lu et al. 2022, `evaluate.ordinal_calibrate`): from the
most probable class the set grows by the more probable neighbour, and a class's score is the mass of the first such
range holding it (`ordinal_calibrate.contiguous_scores`). A set is the classes scored at most the threshold, as for
every score: with one threshold, the largest grown range whose mass is at most it (`ordinal_calibrate.
contiguous_sets` takes the smallest range reaching it, one class more at most: also valid, but not the exact split
conformal set). LAC sets and sets with a threshold per class are filled to the range between their lowest and
highest class (`contiguous`): an ordinal run's sets are always ranges, and filling only adds classes, so coverage
can only rise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.core.decide.notes import Note, proportion_interval, warning

METHODS = ("lac", "aps")
SCORE_TEXT = {
    "lac": "score[k] = 1 - p[k]",
    "aps": "score[k] = -(the sum of p[j] over the classes j ranked after k when p is sorted in descending order, "
           "ties by index), i.e. APS's cumulative probability less 1, summed from the smallest p up",
    "ordinal_aps": "ordinal APS: start from the most probable class and add the more probable neighbour (the lower "
                   "one on a tie) until the range holds every class; score[k] = the summed p of the first range "
                   "that holds k",
}


def label_scores(probs: np.ndarray, method: str, u: np.ndarray | None = None) -> np.ndarray:
    """(N, K) nonconformity score of every class. `u` (N,): Romano et al.'s randomised APS, score - u * p[k]
    (given the uniform draws, for comparison with references; the workbench itself uses u = 0)."""
    probs = np.asarray(probs, dtype=np.float64)
    if method == "lac":
        return 1.0 - probs
    if method == "ordinal_aps":
        return ordinal_scores(probs)
    if method != "aps":
        raise ValueError(f"unknown conformal score {method!r}")
    order = np.argsort(-probs, axis=1, kind="stable")
    from_the_end = np.cumsum(np.take_along_axis(probs, order, axis=1)[:, ::-1], axis=1)[:, ::-1]
    after = np.concatenate([from_the_end[:, 1:], np.zeros((len(probs), 1))], axis=1)  # mass ranked after k
    scores = np.empty_like(probs)
    np.put_along_axis(scores, order, -after, axis=1)
    if u is not None:
        scores = scores - np.asarray(u, dtype=np.float64).reshape(-1, 1) * probs
    return scores


def ordinal_scores(probs: np.ndarray) -> np.ndarray:
    """(N, K) ordinal APS score of every class: the mass of the first range, grown from the most probable class by
    `ordinal_calibrate.contiguous_sets`' rule, that holds it (so the scores of a row rise away from its mode)."""
    from workbench.core.evaluate.ordinal_calibrate import contiguous_scores

    probs = np.asarray(probs, dtype=np.float64)
    n, k = probs.shape
    return np.stack([contiguous_scores(probs, np.full(n, j)) for j in range(k)], axis=1) if n else \
        np.zeros((0, k))


def true_scores(probs: np.ndarray, y: np.ndarray, method: str, u: np.ndarray | None = None) -> np.ndarray:
    y = np.asarray(y, dtype=np.int64)
    return np.asarray(label_scores(probs, method, u)[np.arange(len(y)), y])


def quantile(scores: np.ndarray, alpha: float) -> float:
    """The ceil((n + 1)(1 - alpha))-th smallest score; +inf when that exceeds n (too few rows for the level)."""
    n = len(scores)
    k = math.ceil((n + 1) * (1 - alpha))  # the float arithmetic MAPIE and TorchCP use, so the order statistic agrees
    if n == 0 or k > n:
        return math.inf
    return float(np.partition(np.asarray(scores, dtype=np.float64), k - 1)[k - 1])


def weighted_quantile(scores: np.ndarray, weights: np.ndarray, test_weight: float, alpha: float) -> float:
    """The (1 - alpha) quantile of sum_i w_i delta(s_i) + w_test delta(+inf), normalised (Tibshirani et al. 2019;
    with equal weights it is `quantile`)."""
    order = np.argsort(scores, kind="stable")
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64)[order])
    target = (1 - alpha) * (cumulative[-1] + test_weight) if len(cumulative) else math.inf
    reached = np.flatnonzero(cumulative >= target)
    return float(np.asarray(scores)[order][reached[0]]) if len(reached) else math.inf


def minimum_rows(alpha: float) -> int:
    """The fewest calibration rows whose threshold is finite at this level: ceil((1 - alpha) / alpha)."""
    return math.ceil((1 - alpha) / alpha - 1e-9)


@dataclass(frozen=True)
class ConformalSets:
    method: str
    alpha: float
    class_conditional: bool
    thresholds: np.ndarray  # (K,): class k is in the set when its score is at most thresholds[k]
    n_calibration: int
    label_shift: bool = False  # thresholds from the label-shift weighted quantile
    notes: tuple[Note, ...] = field(default=())
    ordinal: bool = False  # ordered classes: every set is a range of classes

    @property
    def score(self) -> str:
        """The score the thresholds apply to: an ordinal run's APS is ordinal APS."""
        return "ordinal_aps" if self.ordinal and self.method == "aps" else self.method

    def sets(self, probs: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """(N, K) booleans: which classes are in each row's set."""
        t = self.thresholds
        found = np.asarray(label_scores(probs, self.score, u) <= t[None, :])
        return contiguous(found) if self.ordinal else found

    def metadata(self) -> dict[str, Any]:
        """What a plain-PyTorch user needs to form the sets from the program's probabilities."""
        finite = [float(t) if math.isfinite(t) else None for t in self.thresholds]
        return {"alpha": self.alpha, "confidence_level": 1 - self.alpha, "method": self.method,
                "class_conditional": self.class_conditional, "label_shift_weighted": self.label_shift,
                "randomized": False, "thresholds": finite, "score": SCORE_TEXT[self.score],
                "rule": "class k is in the set when score[k] <= thresholds[k] (a null threshold: always in the "
                        "set); scores from the program's probabilities p"
                        + ("; then every class between the set's lowest and highest class is added (ordered "
                           "classes: the set is a range)" if self.ordinal else ""),
                "contiguous": self.ordinal,
                "n_calibration": self.n_calibration}


def fit(probs: np.ndarray, y: np.ndarray, alpha: float, method: str = "lac", class_conditional: bool = False,
        class_weights: np.ndarray | None = None, u: np.ndarray | None = None, ordinal: bool = False) -> ConformalSets:
    """Thresholds from the calibration split's probabilities `probs` and labels `y`. `class_weights` (K,):
    deployment prior / calibration prior, for marginal sets under a class-prior shift. `ordinal`: ordered classes,
    whose sets are ranges (APS becomes ordinal APS)."""
    y = np.asarray(y, dtype=np.int64)
    n_classes = probs.shape[1]
    scores = true_scores(probs, y, "ordinal_aps" if ordinal and method == "aps" else method, u)
    if class_conditional:
        thresholds = np.array([quantile(scores[y == k], alpha) for k in range(n_classes)])
    elif class_weights is not None:
        w = np.asarray(class_weights, dtype=np.float64)
        thresholds = np.array([weighted_quantile(scores, w[y], float(w[k]), alpha) for k in range(n_classes)])
    else:
        thresholds = np.full(n_classes, quantile(scores, alpha))
    notes = calibration_notes(y, n_classes, alpha, class_conditional)
    return ConformalSets(method, float(alpha), class_conditional, thresholds, len(y),
                         class_weights is not None and not class_conditional, tuple(notes), ordinal)


def calibration_notes(y: np.ndarray, n_classes: int, alpha: float, class_conditional: bool,
                      classes: list[str] | None = None) -> list[Note]:
    """Warn when the calibration split is too small for the level: below ceil((1 - alpha) / alpha) rows (per class
    when class-conditional) the threshold is infinite and every set holds every class."""
    need = minimum_rows(alpha)
    if not class_conditional:
        if len(y) >= need:
            return []
        return [warning("conformal.small_calibration",
                        f"the calibration split has {len(y)} rows; sets at level {1 - alpha:.0%} need at least {need}, "
                        "so every set holds every class. Give the calibration split more rows or raise alpha.",
                        "decide.conformal_alpha")]
    counts = np.bincount(y, minlength=n_classes)
    names = classes or [str(k) for k in range(n_classes)]
    short = [f"{names[k]} ({counts[k]})" for k in range(n_classes) if counts[k] < need]
    if not short:
        return []
    return [warning("conformal.small_class",
                    f"class-conditional sets at level {1 - alpha:.0%} need at least {need} calibration rows per "
                    f"class; {', '.join(short)} have fewer, so those classes are in every set. Give the calibration "
                    "split more rows, raise alpha or use marginal sets.", "decide.class_conditional")]


def evaluate(sets: np.ndarray, y: np.ndarray, classes: list[str],
             deployment_prior: np.ndarray | None = None) -> dict[str, Any]:
    """Coverage and set sizes of `sets` on labelled rows: coverage with its Wilson interval, mean set size with a
    stratified bootstrap interval, per-class coverage, the set-size histogram (index = size) and, with a
    deployment prior, the coverage expected at that prior (per-class coverage weighted by it)."""
    y = np.asarray(y, dtype=np.int64)
    n, n_classes = len(y), sets.shape[1]
    covered = sets[np.arange(n), y]
    sizes = sets.sum(axis=1)
    out: dict[str, Any] = {
        "n": int(n), "coverage": float(covered.mean()) if n else None,
        "coverage_ci": proportion_interval(int(covered.sum()), n),
        "mean_set_size": float(sizes.mean()) if n else None, "mean_set_size_ci": _size_interval(sizes, y),
        "set_size_histogram": np.bincount(sizes, minlength=n_classes + 1).astype(int).tolist(),
        "empty_sets": float((sizes == 0).mean()) if n else None,
        "singletons": float((sizes == 1).mean()) if n else None,
        "per_class_coverage": {},
    }
    for k, name in enumerate(classes):
        rows = y == k
        hits, total = int(covered[rows].sum()), int(rows.sum())
        out["per_class_coverage"][name] = {"coverage": hits / total if total else None, "n": total,
                                           "ci": proportion_interval(hits, total)}
    if deployment_prior is not None:
        per_class = [out["per_class_coverage"][c]["coverage"] for c in classes]
        if all(c is not None for c in per_class):
            out["coverage_at_deployment_prior"] = float(np.dot(deployment_prior, np.asarray(per_class, float)))
    return out


def _size_interval(sizes: np.ndarray, y: np.ndarray) -> list[float] | None:
    if len(y) < 2:
        return None
    from workbench.core.evaluate.uncertainty import interval, resample_counts

    counts = resample_counts(y, int(min(400, max(100, 12_000_000 // len(y)))))  # as uncertainty keeps ~100 MB
    return interval(counts @ sizes.astype(np.float64) / counts.sum(1))


def contiguous(sets: np.ndarray) -> np.ndarray:
    """Sets filled to the range from their lowest to their highest class: the hook for ordered classes (an
    ordinal task's sets are ranges). Filling only adds classes, so coverage can only rise."""
    sets = np.asarray(sets, dtype=bool)
    k = np.arange(sets.shape[1])
    any_in = sets.any(axis=1)
    low = np.where(any_in, np.argmax(sets, axis=1), 0)
    high = np.where(any_in, sets.shape[1] - 1 - np.argmax(sets[:, ::-1], axis=1), -1)
    return np.asarray((k[None, :] >= low[:, None]) & (k[None, :] <= high[:, None]))
