"""Metrics for ordered classes: how far off the predicted class is, not only whether it is right.

- `mae_classes`: mean absolute error in classes, |predicted - true| (the class-distance error);
- `qwk`: quadratic weighted kappa, Cohen's kappa with weights (i - j)^2 over the K classes (scikit-learn's
  `cohen_kappa_score(weights="quadratic", labels=range(K))`);
- `within_one`: the share of rows predicted at most one class off;
- `distance_counts`: the confusion matrix summed by distance from its diagonal (0: right, 1: a neighbour, ...);
- per threshold k, a reliability table of P(y > k) against the observed share of y > k.

Each with a stratified bootstrap interval over the same resamples as the other metrics (see uncertainty); QWK's
per-resample value comes from five weighted sums, so it costs what accuracy does. Computed for every run whose
classes have an order (bins, a threshold, numeric labels or a given class order), so a softmax head and an
ordinal head on the same classes compare on the same footing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.core.evaluate import uncertainty
from workbench.core.evaluate.scores import bin_edges, bin_index, predict

if TYPE_CHECKING:
    from workbench.core.evaluate.scores import Decided

METRICS = ("mae_classes", "qwk", "within_one")
DEFINITION = ("mean class distance: the mean of |predicted class - true class| (0 is perfect); quadratic weighted "
              "kappa: 1 is perfect, 0 is chance; within one class: the share of rows at most one class off")
MEDIAN_RULE = "the median class: the first class whose cumulative probability P(y <= k) reaches 0.5"


def _per_resample(C: np.ndarray, y: np.ndarray, pred: np.ndarray) -> dict[str, np.ndarray]:
    """Each order metric for every row of draw counts C (resamples, n)."""
    y, pred = y.astype(np.float64), pred.astype(np.float64)
    n = C.sum(1)
    distance = np.abs(pred - y)
    out = {"mae_classes": C @ distance / n, "within_one": C @ (distance <= 1).astype(np.float64) / n}
    # QWK = 1 - sum w O / sum w E with w = (i - j)^2 and E the outer product of the marginals over n: both sums
    # expand into sums of y, y^2, pred and pred^2.
    observed = C @ distance ** 2
    expected = ((C @ y ** 2) * n + n * (C @ pred ** 2) - 2 * (C @ y) * (C @ pred)) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        out["qwk"] = np.where(expected > 0, 1 - observed / expected, np.nan)
    return out


def order_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """The order metrics of one set of decisions."""
    values = _per_resample(np.ones((1, len(y))), np.asarray(y), np.asarray(pred))
    return {name: float(v[0]) for name, v in values.items()}


def order_intervals(y: np.ndarray, pred: np.ndarray) -> dict[str, list[float]]:
    y = np.asarray(y).astype(np.int64)
    if len(y) < 2:
        return {}
    counts = uncertainty.resample_counts(y, uncertainty._resamples(len(y)))
    out = {}
    for name, values in _per_resample(counts, y, np.asarray(pred)).items():
        finite = values[np.isfinite(values)]
        if len(finite):
            out[name] = uncertainty.interval(finite)
    return out


def distance_counts(y: np.ndarray, pred: np.ndarray, n_classes: int) -> list[int]:
    """How many rows were predicted 0, 1, ..., K-1 classes away from their class."""
    distance = np.abs(np.asarray(pred, dtype=np.int64) - np.asarray(y, dtype=np.int64))
    return [int(v) for v in np.bincount(distance, minlength=n_classes)]


def above(probs: np.ndarray) -> np.ndarray:
    """P(y > k), k = 0..K-2, from class probabilities (sums from the top class down)."""
    return np.asarray(np.cumsum(probs[:, ::-1], axis=1)[:, ::-1][:, 1:])


def threshold_reliability(probs: np.ndarray, y: np.ndarray, classes: list[str], n_bins: int | str = "auto",
                          binning: str = "width", sparse_below: int = 10) -> list[dict[str, Any]]:
    """One reliability table per threshold k: bins of the predicted P(y > k) ('confidence'), the observed share of
    y > k in each ('accuracy', so the reliability plot draws it as it is), counts, ECE and MCE."""
    from workbench.core.evaluate.scores import auto_bins

    y = np.asarray(y)
    n = auto_bins(len(y)) if n_bins == "auto" else int(n_bins)
    tables = []
    for k, p in enumerate(above(probs).T):
        edges = bin_edges(p, n, binning)
        which = bin_index(p, edges)
        count = np.bincount(which, minlength=len(edges) - 1).astype(np.float64)
        nonzero = count > 0
        mean_p = np.divide(np.bincount(which, weights=p, minlength=len(count)), count, out=np.zeros(len(count)),
                           where=nonzero)
        share = np.divide(np.bincount(which, weights=(y > k).astype(np.float64), minlength=len(count)), count,
                          out=np.zeros(len(count)), where=nonzero)
        gaps = np.abs(mean_p - share)
        tables.append({"threshold": k, "label": f"P(class above {classes[k]})", "edges": edges.tolist(),
                       "confidence": mean_p.tolist(), "accuracy": share.tolist(),
                       "count": count.astype(int).tolist(), "binning": binning, "sparse_below": sparse_below,
                       "ece": float((gaps * count).sum() / max(count.sum(), 1)),
                       "mce": float(gaps[nonzero].max()) if nonzero.any() else 0.0})
    return tables


def evaluate(probs: np.ndarray, y: np.ndarray, classes: list[str], ordinal: bool, before: np.ndarray | None = None,
             threshold: float | None = None, n_bins: int | str = "auto", binning: str = "width",
             sparse_below: int = 10, decisions: Decided | None = None) -> dict[str, Any]:
    """The order metrics of `probs` under the run's decisions (the median class for an ordinal head; `decisions`,
    a metrics.Decided, when given), with intervals (`ci`), distance counts and the per-threshold reliability
    tables (before calibration too)."""
    y = np.asarray(y).astype(np.int64)
    pred = predict(probs, threshold, ordinal) if decisions is None else np.asarray(decisions.after, np.int64)
    out: dict[str, Any] = {**order_metrics(y, pred), "order_definition": DEFINITION,
                           "distance_counts": distance_counts(y, pred, len(classes)),
                           "ci": order_intervals(y, pred),
                           "reliability_thresholds": threshold_reliability(probs, y, classes, n_bins, binning,
                                                                        sparse_below)}
    if ordinal and probs.shape[1] > 2 and decisions is None:
        out["decision_rule"] = MEDIAN_RULE
    if before is not None:
        made = None if decisions is None else decisions.before
        out["mae_classes_before"] = order_metrics(y, predict(before, threshold, ordinal) if made is None
                                                  else np.asarray(made, np.int64))["mae_classes"]
        out["reliability_thresholds_before"] = threshold_reliability(before, y, classes, n_bins, binning,
                                                                         sparse_below)
    return out


def paired(reference: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Paired intervals of other - reference for the order metrics from two runs' `test_rows` (each under its
    own decisions), or {} when they do not hold the same test rows."""
    a, b = reference.get("test_rows"), other.get("test_rows")
    if not a or not b or a["y"] != b["y"] or len(a["y"]) < 2:
        return {}
    y = np.asarray(a["y"]).astype(np.int64)
    counts = uncertainty.resample_counts(y, uncertainty._resamples(len(y)))
    pa, pb = (predict(np.asarray(r["probs"]), r.get("threshold"), bool(r.get("ordinal")))
              if (made := uncertainty.stored_decisions(r)) is None else made for r in (a, b))
    ra, rb = _per_resample(counts, y, pa), _per_resample(counts, y, pb)
    out = {}
    for name in METRICS:
        diff = rb[name] - ra[name]
        diff = diff[np.isfinite(diff)]
        if len(diff):
            low, high = uncertainty.interval(diff)
            out[name] = {"low": low, "high": high, "within_noise": bool(low <= 0 <= high)}
    return out
