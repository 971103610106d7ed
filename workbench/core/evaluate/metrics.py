"""Evaluation with scikit-learn: accuracy, per-class scores, confusion matrix, AUC, ECE/MCE, Brier, each with
a bootstrap interval (see uncertainty).

The reliability diagram uses top-label confidence in equal-width bins (or equal-mass bins), as many as the test
size supports; ECE is the count-weighted mean gap between confidence and accuracy over the bins, MCE the
largest gap. Brier's definition is stated beside it, since the binary and multiclass forms differ in range.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm

from workbench.core.evaluate.scores import (  # noqa: F401 - metrics' own names too
    Decided,
    auto_bins,
    bin_edges,
    bin_index,
    brier_rows,
    predict,
)

BRIER_BINARY = "Brier = mean over rows of (p(positive) - y)^2; 0 is perfect, range [0, 1]"
BRIER_MULTICLASS = "Brier = mean over rows of the sum over classes of (p_k - [y = k])^2; 0 is perfect, range [0, 2]"
SPARSE_BIN = 10  # a bin with fewer rows than this is drawn as sparse: its accuracy is a guess


def reliability(probs: np.ndarray, y: np.ndarray, n_bins: int | str = 15, binning: str = "width",
                edges: np.ndarray | None = None) -> dict[str, Any]:
    confidence = probs.max(axis=1)
    if n_bins == "auto":
        n_bins = auto_bins(len(y))
    edges = bin_edges(confidence, int(n_bins), binning) if edges is None else np.asarray(edges)
    n_bins = len(edges) - 1
    correct = (probs.argmax(axis=1) == y).astype(np.float64)
    which = bin_index(confidence, edges)
    count = np.bincount(which, minlength=n_bins).astype(np.float64)
    conf_sum = np.bincount(which, weights=confidence, minlength=n_bins)
    acc_sum = np.bincount(which, weights=correct, minlength=n_bins)
    nonzero = count > 0
    mean_conf = np.divide(conf_sum, count, out=np.zeros(n_bins), where=nonzero)
    mean_acc = np.divide(acc_sum, count, out=np.zeros(n_bins), where=nonzero)
    gaps = np.abs(mean_conf - mean_acc)
    return {"edges": edges.tolist(), "confidence": mean_conf.tolist(), "accuracy": mean_acc.tolist(),
            "count": count.astype(int).tolist(), "binning": binning, "sparse_below": SPARSE_BIN,
            "ece": float((gaps * count).sum() / max(count.sum(), 1)),
            "mce": float(gaps[nonzero].max()) if nonzero.any() else 0.0}


def brier(probs: np.ndarray, y: np.ndarray) -> float:
    return float(brier_rows(probs, y).mean())


def roc_auc(probs: np.ndarray, y: np.ndarray) -> float | None:
    """Binary ROC AUC, or multiclass one-vs-rest macro AUC; None when a class is missing from y."""
    if len(np.unique(y)) < probs.shape[1]:
        return None
    if probs.shape[1] == 2:
        return float(skm.roc_auc_score(y, probs[:, 1]))
    return float(skm.roc_auc_score(y, probs, multi_class="ovr", average="macro", labels=list(range(probs.shape[1]))))


def classification(probs: np.ndarray, y: np.ndarray, classes: list[str],
                   threshold: float | None = None, ordinal: bool = False,
                   decisions: np.ndarray | None = None) -> dict[str, Any]:
    """Scores that depend on the decision (the binary threshold moves them; an ordinal head's is the median;
    `decisions`: one class per row, given, e.g. a cost matrix's, instead of either)."""
    pred = predict(probs, threshold, ordinal) if decisions is None else np.asarray(decisions, np.int64)
    labels = list(range(len(classes)))
    precision, recall, f1, support = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    from workbench.core.evaluate.uncertainty import wilson

    matrix = skm.confusion_matrix(y, pred, labels=labels)
    hits, predicted = np.diag(matrix), matrix.sum(0)
    return {"accuracy": float(skm.accuracy_score(y, pred)),
            "macro_f1": float(f1.mean()),
            "confusion_matrix": matrix.tolist(),
            # Wilson intervals of each proportion: recall over the class's rows, precision over its predictions
            "per_class": {c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s),
                              "precision_ci": wilson(float(h), float(m)), "recall_ci": wilson(float(h), float(s))}
                          for c, p, r, f, s, h, m in zip(classes, precision, recall, f1, support, hits, predicted)}}


def evaluate(probs: np.ndarray, y: np.ndarray, classes: list[str], before: np.ndarray | None = None,
             threshold: float | None = None, n_bins: int | str = "auto", binning: str = "width",
             ordinal: bool = False, ordered: bool = False, decisions: Decided | None = None) -> dict[str, Any]:
    """All metrics of calibrated `probs` with bootstrap 95% intervals (`ci`); with `before` (uncalibrated), the
    before/after calibration pairs and the paired interval of each change (`calibration_change`). `ordinal`: an
    ordinal head's probabilities, decided by their median class; `ordered` (or `ordinal`): the classes have an
    order, so the order metrics are added (see ordinal_metrics). `decisions`: the decisions made (of `probs` and
    of `before`) and their rule, when they are not the threshold's, the most probable class or the median."""
    from workbench.core.evaluate import ece_bias, uncertainty

    pred, pred_before = (None, None) if decisions is None else (decisions.after, decisions.before)
    out = classification(probs, y, classes, threshold, ordinal, pred)
    rel = reliability(probs, y, n_bins, binning)
    edges = rel["edges"]
    out |= {"ece": rel["ece"], "mce": rel["mce"], "brier": brier(probs, y), "n": int(len(y)),
            "brier_definition": BRIER_BINARY if probs.shape[1] == 2 else BRIER_MULTICLASS,
            "decision_rule": (f"positive when p(positive) >= {0.5 if threshold is None else threshold:g}"
                              if probs.shape[1] == 2 else "the most probable class") if decisions is None
            else decisions.rule,
            "ece_bins": len(edges) - 1, "reliability": rel,
            "threshold": (0.5 if threshold is None else float(threshold)) if probs.shape[1] == 2 else None}
    auc = roc_auc(probs, y)
    if auc is not None:
        out["roc_auc"] = auc
        out["roc_auc_definition"] = "ROC AUC" if probs.shape[1] == 2 else "one-vs-rest macro ROC AUC"
    out["ci"] = uncertainty.intervals(probs, y, threshold=threshold, edges=edges, ordinal=ordinal, pred=pred)
    resamples = uncertainty.resamples_for(len(y))
    out["ci_method"] = (f"accuracy, per-class precision and recall: Wilson score 95% interval; the others: "
                        f"stratified bootstrap, {resamples} resamples, seed {uncertainty.SEED}, 95% percentile "
                        "interval (the ECE's shifted down by the bootstrap's bias, the resamples' mean ECE minus the "
                        "ECE, which resampling inflates)")
    out["ci_methods"] = {name: uncertainty.method_of(name) for name in out["ci"]}
    out["ci_resamples"] = resamples
    out |= ece_bias.summary(probs, y, edges)
    if before is not None:
        rel_b = reliability(before, y, edges=edges)
        out |= {"ece_before": rel_b["ece"], "mce_before": rel_b["mce"], "brier_before": brier(before, y),
                "accuracy_before": float(skm.accuracy_score(
                    y, predict(before, threshold, ordinal) if pred_before is None else pred_before)),
                "reliability_before": rel_b}
        out["calibration_change"] = uncertainty.paired_difference(
            before, probs, y, ("accuracy", "ece", "brier"), threshold, threshold, edges, ordinal, ordinal,
            pred_before, pred)
    if ordered or ordinal:
        _add_order_metrics(out, probs, y, classes, before, threshold, n_bins, binning, ordinal, decisions)
    return out


def _add_order_metrics(out: dict[str, Any], probs: np.ndarray, y: np.ndarray, classes: list[str],
                       before: np.ndarray | None, threshold: float | None, n_bins: int | str, binning: str,
                       ordinal: bool, decisions: Decided | None = None) -> None:
    """The hook of ordinal_metrics: class distance, weighted kappa, per-threshold reliability."""
    from workbench.core.evaluate import ordinal_metrics

    order = ordinal_metrics.evaluate(probs, y, classes, ordinal, before, threshold, n_bins, binning, SPARSE_BIN,
                                     decisions)
    out["ci"] |= order.pop("ci")
    out |= order


def binary_curves(probs: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    fpr, tpr, roc_t = skm.roc_curve(y, probs[:, 1])
    precision, recall, pr_t = skm.precision_recall_curve(y, probs[:, 1])
    return {"fpr": fpr, "tpr": tpr, "roc_thresholds": roc_t, "precision": precision, "recall": recall,
            "pr_thresholds": pr_t}
