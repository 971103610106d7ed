"""Evaluation with scikit-learn: accuracy, per-class scores, confusion matrix, AUC, ECE/MCE, Brier.

The reliability diagram uses top-label confidence in equal-width bins; ECE is the count-weighted mean
gap between confidence and accuracy over the bins, MCE the largest gap.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def reliability(probs: np.ndarray, y: np.ndarray, n_bins: int = 15) -> dict:
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins).astype(np.float64)
    conf_sum = np.bincount(which, weights=confidence, minlength=n_bins)
    acc_sum = np.bincount(which, weights=correct, minlength=n_bins)
    nonzero = count > 0
    mean_conf = np.divide(conf_sum, count, out=np.zeros(n_bins), where=nonzero)
    mean_acc = np.divide(acc_sum, count, out=np.zeros(n_bins), where=nonzero)
    gaps = np.abs(mean_conf - mean_acc)
    return {"edges": edges.tolist(), "confidence": mean_conf.tolist(), "accuracy": mean_acc.tolist(),
            "count": count.astype(int).tolist(),
            "ece": float((gaps * count).sum() / max(count.sum(), 1)),
            "mce": float(gaps[nonzero].max()) if nonzero.any() else 0.0}


def brier(probs: np.ndarray, y: np.ndarray) -> float:
    if probs.shape[1] == 2:
        return float(skm.brier_score_loss(y, probs[:, 1], pos_label=1))
    return float(skm.brier_score_loss(y, probs, labels=list(range(probs.shape[1]))))


def predict(probs: np.ndarray, threshold: float | None = None) -> np.ndarray:
    if threshold is not None and probs.shape[1] == 2:
        return (probs[:, 1] >= threshold).astype(np.int64)
    return probs.argmax(axis=1)


def classification(probs: np.ndarray, y: np.ndarray, classes: list[str], threshold: float | None = None) -> dict:
    """Scores that depend on the decision (the binary threshold moves them)."""
    pred = predict(probs, threshold)
    labels = list(range(len(classes)))
    precision, recall, f1, support = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    return {"accuracy": float(skm.accuracy_score(y, pred)),
            "macro_f1": float(f1.mean()),
            "confusion_matrix": skm.confusion_matrix(y, pred, labels=labels).tolist(),
            "per_class": {c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                          for c, p, r, f, s in zip(classes, precision, recall, f1, support)}}


def evaluate(probs: np.ndarray, y: np.ndarray, classes: list[str], before: np.ndarray | None = None,
             threshold: float | None = None, n_bins: int = 15) -> dict:
    """All metrics of calibrated `probs`; with `before` (uncalibrated), the before/after calibration pairs."""
    out = classification(probs, y, classes, threshold)
    rel = reliability(probs, y, n_bins)
    out |= {"ece": rel["ece"], "mce": rel["mce"], "brier": brier(probs, y), "n": int(len(y)),
            "reliability": rel}
    if probs.shape[1] == 2 and len(np.unique(y)) == 2:
        out["roc_auc"] = float(skm.roc_auc_score(y, probs[:, 1]))
    if before is not None:
        rel_b = reliability(before, y, n_bins)
        out |= {"ece_before": rel_b["ece"], "mce_before": rel_b["mce"], "brier_before": brier(before, y),
                "accuracy_before": float(skm.accuracy_score(y, predict(before, threshold))),
                "reliability_before": rel_b}
    return out


def binary_curves(probs: np.ndarray, y: np.ndarray) -> dict:
    fpr, tpr, roc_t = skm.roc_curve(y, probs[:, 1])
    precision, recall, pr_t = skm.precision_recall_curve(y, probs[:, 1])
    return {"fpr": fpr, "tpr": tpr, "roc_thresholds": roc_t, "precision": precision, "recall": recall,
            "pr_thresholds": pr_t}
