"""Decision policies: how calibrated probabilities become one class per row.

`threshold`: a binary head says positive when p(positive) >= the run's threshold (0.5 unless moved), a multiclass
head takes the most probable class (today's rule). A named objective (F1, balanced accuracy, Youden's J,
precision at a minimum recall) picks the binary threshold that maximises it on the calibration split; Youden's
J = TPR + TNR - 1 = 2 x balanced accuracy - 1, so both pick the same threshold. `cost`: the Bayes decision, the
class j minimising the expected cost sum_i p[i] C[i, j] (rows: true class, columns: decision), which needs no
fitting when the probabilities are calibrated; for a binary head it is the threshold
(C[0,1] - C[0,0]) / ((C[0,1] - C[0,0]) + (C[1,0] - C[1,1])) (Elkan 2001).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

POLICIES = ("threshold", "f1", "balanced_accuracy", "youden", "precision_at_recall", "cost")
OBJECTIVES = ("f1", "balanced_accuracy", "youden", "precision_at_recall")


@dataclass(frozen=True)
class Policy:
    name: str  # one of POLICIES
    threshold: float | None = None  # binary: positive when p(positive) >= threshold
    costs: np.ndarray | None = None  # (K, K): rows true class, columns decision
    value: float | None = None  # the objective's value on the calibration split
    min_recall: float | None = None
    ordinal: bool = False  # an ordinal head's probabilities: without costs, the median class decides

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """One class per row."""
        if self.costs is not None and (probs.shape[1] > 2 or self.threshold is None):
            return bayes_decisions(probs, self.costs)
        if probs.shape[1] == 2:
            return (probs[:, 1] >= (0.5 if self.threshold is None else self.threshold)).astype(np.int64)
        if self.ordinal:
            from workbench.core.evaluate.scores import median_class

            return median_class(probs)
        return np.asarray(probs.argmax(axis=1))

    def rule(self, n_classes: int) -> str:
        if self.costs is not None and (n_classes > 2 or self.threshold is None):
            return ("the class j with the least expected cost, sum over i of p[i] * costs[i][j] (rows: true class, "
                    "columns: decision; ties: the lower index)")
        if n_classes == 2:
            return f"class 1 when probability[:, 1] >= {self.threshold if self.threshold is not None else 0.5:g}, " \
                   "else class 0"
        if self.ordinal:
            return ("the median class: the first column k where probability[:, :k + 1].sum(1) reaches 0.5 "
                    "(equivalently, how many of P(y > k) = probability[:, k + 1:].sum(1) are at least 0.5)")
        return "the class of the largest probability"

    def metadata(self, n_classes: int) -> dict[str, Any]:
        plain = "the run's decision threshold (0.5 unless it was moved)" if n_classes == 2 else \
            "the median class of the ordinal head (no threshold)" if self.ordinal else \
            "the most probable class (no threshold)"
        chosen = {"threshold": plain, "cost": "the Bayes decision under the cost matrix (no fitting)"}.get(
            self.name, f"the threshold maximising {self.name.replace('_', ' ')} on the calibration split")
        return {"policy": self.name, "threshold": self.threshold, "rule": self.rule(n_classes), "chosen": chosen,
                "costs": None if self.costs is None else self.costs.tolist(), "calibration_value": self.value,
                "min_recall": self.min_recall}


def bayes_decisions(probs: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """argmin over decisions j of sum_i p[i] C[i, j]."""
    return np.asarray((np.asarray(probs, np.float64) @ np.asarray(costs, np.float64)).argmin(axis=1))


def bayes_threshold(costs: np.ndarray) -> float:
    """The binary Bayes threshold on p(positive) for a 2x2 cost matrix (rows true, columns decision)."""
    c = np.asarray(costs, dtype=np.float64)
    false_positive, false_negative = c[0, 1] - c[0, 0], c[1, 0] - c[1, 1]
    if false_positive + false_negative <= 0:
        return 0.5
    return float(np.clip(false_positive / (false_positive + false_negative), 0.0, 1.0))


def counts_at(p1: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, TP, FP, FN, TN) for every candidate threshold (positive when p >= t), weighted by row."""
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.argsort(-p1, kind="stable")
    p, pos, wt = p1[order], (y[order] == 1), w[order]
    last = np.r_[np.flatnonzero(np.diff(p)), len(p) - 1]  # the last row of each run of tied scores
    tp = np.cumsum(wt * pos)[last]
    fp = np.cumsum(wt * ~pos)[last]
    total_pos, total_neg = float((wt * pos).sum()), float((wt * ~pos).sum())
    thresholds = p[last]
    # Positive-nothing as the last candidate: above every score.
    thresholds = np.r_[np.nextafter(p[0], np.inf) if len(p) else 1.0, thresholds]
    tp, fp = np.r_[0.0, tp], np.r_[0.0, fp]
    return thresholds, tp, fp, total_pos - tp, total_neg - fp


def objective_curve(p1: np.ndarray, y: np.ndarray, objective: str, min_recall: float = 0.9,
                    weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(candidate thresholds, the objective at each); -inf where a constraint fails."""
    t, tp, fp, fn, tn = counts_at(np.asarray(p1, np.float64), np.asarray(y, np.int64), weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        specificity = np.where(tn + fp > 0, tn / (tn + fp), 0.0)
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        if objective == "f1":
            value = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        elif objective == "balanced_accuracy":
            value = (recall + specificity) / 2
        elif objective == "youden":
            value = recall + specificity - 1
        elif objective == "precision_at_recall":
            value = np.where(recall >= min_recall - 1e-12, precision, -np.inf)
        else:
            raise ValueError(f"unknown objective {objective!r}")
    return t, np.asarray(value, dtype=np.float64)


def choose_threshold(p1: np.ndarray, y: np.ndarray, objective: str, min_recall: float = 0.9,
                     weights: np.ndarray | None = None) -> tuple[float, float | None]:
    """The threshold maximising `objective` on (p1, y) and its value; among ties, the one nearest 0.5. The
    threshold is the midpoint between the last score decided positive and the next lower one, so rows scored
    exactly at a calibration score do not flip."""
    t, value = objective_curve(p1, y, objective, min_recall, weights)
    if not len(t) or not np.isfinite(value).any():
        return 0.5, None
    best = np.flatnonzero(value >= np.max(value) - 1e-12)
    i = int(best[np.argmin(np.abs(t[best] - 0.5))])
    lower = t[i + 1] if i + 1 < len(t) else 0.0
    threshold = float((t[i] + lower) / 2) if i > 0 else float(t[0])
    return threshold, float(value[i])


def fit(name: str, probs: np.ndarray, y: np.ndarray, run_threshold: float | None = None,
        costs: tuple[float, ...] = (), min_recall: float = 0.9, weights: np.ndarray | None = None,
        ordinal: bool = False) -> Policy:
    """The policy `name` fitted on the calibration split's probabilities and labels (`weights`: per-row
    importance weights under a class-prior shift)."""
    n_classes = probs.shape[1]
    if name == "cost":
        matrix = cost_matrix(costs, n_classes)
        threshold = bayes_threshold(matrix) if n_classes == 2 else None
        return Policy("cost", threshold, matrix)
    if name == "threshold" or n_classes != 2:  # a binary head's exported threshold is 0.5 unless moved, as before
        return Policy("threshold", (0.5 if run_threshold is None else float(run_threshold)) if n_classes == 2 else None,
                      ordinal=ordinal)
    threshold, value = choose_threshold(probs[:, 1], y, name, min_recall, weights)
    return Policy(name, threshold, None, value, min_recall if name == "precision_at_recall" else None)


def cost_matrix(costs: tuple[float, ...], n_classes: int) -> np.ndarray:
    """The K x K matrix from the recipe's row-major list; RecipeError when it is not K x K."""
    if len(costs) != n_classes * n_classes:
        from workbench.core.errors import RecipeError

        raise RecipeError(f"the cost matrix has {len(costs)} values, but {n_classes} classes need "
                          f"{n_classes * n_classes} ({n_classes} x {n_classes}, row by row: true class, then "
                          "decision).", "Give one cost per pair of true class and decision.",
                          field="decide.costs")
    return np.asarray(costs, dtype=np.float64).reshape(n_classes, n_classes)


def evaluate(policy: Policy, probs: np.ndarray, y: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """The policy's decisions on labelled rows: accuracy, balanced accuracy, macro F1, the confusion matrix and,
    with costs, the mean cost per row."""
    from sklearn import metrics as skm

    y = np.asarray(y, dtype=np.int64)
    pred = policy.decide(probs)
    labels = list(range(len(classes)))
    out: dict[str, Any] = {
        "n": int(len(y)), "threshold": policy.threshold,
        "accuracy": float(skm.accuracy_score(y, pred)) if len(y) else None,
        "balanced_accuracy": float(np.mean([np.mean(pred[y == k] == k) for k in labels if (y == k).any()]))
        if len(y) else None,
        "macro_f1": float(skm.f1_score(y, pred, labels=labels, average="macro", zero_division=0)) if len(y) else None,
        "confusion_matrix": skm.confusion_matrix(y, pred, labels=labels).tolist(),
    }
    if policy.costs is not None and len(y):
        out["mean_cost"] = float(policy.costs[y, pred].mean())
    if len(classes) == 2 and len(y):
        tp = int(((pred == 1) & (y == 1)).sum())
        out["recall"] = tp / max(int((y == 1).sum()), 1)
        out["precision"] = tp / max(int((pred == 1).sum()), 1)
        out["false_positive_rate"] = int(((pred == 1) & (y == 0)).sum()) / max(int((y == 0).sum()), 1)
    return out
