"""Class-prior (label) shift: the deployment prevalence typed in or estimated from unlabelled rows, the
probabilities corrected for it, and a check that new scores still look like the calibration split's.

Correction (Saerens, Latinne & Decaestecker 2002): p'(k|x) is proportional to p(k|x) pi'(k) / pi(k), where pi is
the prior the probabilities are calibrated to (the calibration split's class shares) and pi' the deployment prior.
Estimation: EM (same paper) iterates that correction and the mean of the corrected probabilities until the prior
stops moving; black-box shift estimation (BBSE, Lipton, Wang & Smola 2018) solves C w = mu, where C is the
calibration split's joint distribution of (decision, class) and mu the new rows' distribution of decisions.

An estimate is marked unreliable (`unreliable`) when EM did not settle or when it puts (near-)zero mass on a class
the model's probabilities still give a real share of the rows. EM is the maximum-likelihood prior only if the
probabilities are calibrated for the new rows; on miscalibrated ones, above all on classes the model barely tells
apart (the middle classes of an ordinal head), the likelihood is flat and its maximum lies on the edge of the
simplex, where EM creeps for thousands of iterations (Alexandari, Kundaje & Shrikumar 2020 on EM needing calibrated
probabilities; Lipton et al. 2018 on BBSE needing only an invertible confusion matrix). Such an estimate is
reported as unreliable and never applied without the user typing it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from workbench.core.decide.notes import Note, warning

METHODS = ("em", "bbse")


def class_prior(y: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(np.asarray(y, np.int64), minlength=n_classes).astype(np.float64)
    return np.asarray(counts / max(counts.sum(), 1.0))


def prior_weights(source: np.ndarray, target: np.ndarray | None) -> np.ndarray | None:
    """Per class, the deployment prior over the calibration split's share (None without a deployment prior): what
    the correction multiplies each probability by before renormalising."""
    if target is None:
        return None
    return np.asarray(np.asarray(target, np.float64) / np.maximum(np.asarray(source, np.float64), 1e-12))


def adjust(probs: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Probabilities calibrated under prior `source`, corrected to prior `target` (rows sum to 1)."""
    w = np.asarray(prior_weights(source, target))
    scaled = np.asarray(probs, np.float64) * w[None, :]
    return np.asarray(scaled / np.maximum(scaled.sum(axis=1, keepdims=True), 1e-300))


def em_prior(probs: np.ndarray, source: np.ndarray, tol: float = 1e-8, max_iter: int = 1000
             ) -> tuple[np.ndarray, int, bool]:
    """Saerens et al.'s EM estimate of the prior of unlabelled rows: (prior, iterations, converged)."""
    prior = np.asarray(source, np.float64).copy()
    for i in range(1, max_iter + 1):
        new = adjust(probs, source, prior).mean(axis=0)
        if np.abs(new - prior).max() < tol:
            return new, i, True
        prior = new
    return prior, max_iter, False


def bbse_prior(probs_cal: np.ndarray, y_cal: np.ndarray, probs_new: np.ndarray,
               decisions_cal: np.ndarray | None = None, decisions_new: np.ndarray | None = None) -> np.ndarray:
    """Lipton et al.'s black-box shift estimate from hard decisions (argmax unless given)."""
    n_classes = probs_cal.shape[1]
    d_cal = probs_cal.argmax(1) if decisions_cal is None else decisions_cal
    d_new = probs_new.argmax(1) if decisions_new is None else decisions_new
    joint = np.zeros((n_classes, n_classes))
    np.add.at(joint, (d_cal, np.asarray(y_cal, np.int64)), 1.0)
    joint /= max(len(y_cal), 1)
    return bbse_from_confusion(joint, class_prior(y_cal, n_classes),
                               np.bincount(d_new, minlength=n_classes) / max(len(d_new), 1))


def bbse_from_confusion(joint: np.ndarray, source: np.ndarray, decided_new: np.ndarray) -> np.ndarray:
    """The prior from C (joint of decision and class on the calibration split), its class shares and the new
    rows' decision shares: w = C^-1 mu (least squares), clipped at 0, prior = w * source normalised."""
    w = np.linalg.lstsq(joint, decided_new, rcond=None)[0]
    prior = np.clip(w, 0, None) * source
    total = prior.sum()
    return np.asarray(prior / total) if total > 0 else np.asarray(source, np.float64)


def estimate(method: str, probs_new: np.ndarray, source: np.ndarray, probs_cal: np.ndarray | None = None,
             y_cal: np.ndarray | None = None, joint: np.ndarray | None = None) -> dict[str, Any]:
    """The deployment prior of unlabelled rows by `method`, with what the estimate rests on: the rows' mean
    probability per class, and `near_zero` (the classes it empties) and `reliable` (see `near_zero_classes`)."""
    mean = np.asarray(probs_new, np.float64).mean(axis=0) if len(probs_new) else np.zeros(probs_new.shape[1])
    found: dict[str, Any]
    if method == "em":
        prior, iterations, converged = em_prior(probs_new, source)
        found = {"method": "em", "prior": prior.tolist(), "iterations": iterations, "converged": converged}
    else:
        if joint is None:
            assert probs_cal is not None and y_cal is not None
            prior = bbse_prior(probs_cal, y_cal, probs_new)
        else:
            prior = bbse_from_confusion(np.asarray(joint), source,
                                        np.bincount(probs_new.argmax(1), minlength=probs_new.shape[1])
                                        / max(len(probs_new), 1))
        found = {"method": "bbse", "prior": prior.tolist()}
    empty = near_zero_classes(prior, mean)
    return {**found, "n_unlabelled": int(len(probs_new)), "mean_probability": mean.tolist(), "near_zero": empty,
            "reliable": bool(found.get("converged", True)) and not empty}


NEAR_ZERO = 0.01  # a share below 1% of the rows: "the class is (nearly) absent"


def near_zero_classes(prior: np.ndarray, mean_probability: np.ndarray) -> list[int]:
    """The classes an estimate all but empties: a share below NEAR_ZERO and below a tenth of the rows' mean
    probability of the class (the model still gives it ten times more), or one that rounds to 0 at 6 digits (the
    recipe records the prior at 6 digits, and a zero share is never decided)."""
    prior, mean = np.asarray(prior, np.float64), np.asarray(mean_probability, np.float64)
    return [int(k) for k in np.flatnonzero((prior < 5e-7) | ((prior < NEAR_ZERO) & (prior * 10 < mean)))]


def unreliable_text(found: dict[str, Any], classes: list[str]) -> str:
    """Why an estimate from `estimate` cannot be applied as it is ("" when it can)."""
    if found.get("reliable", True):
        return ""
    name = {"em": "EM", "bbse": "BBSE"}[found["method"]]
    why = []
    if found.get("near_zero"):
        mean = found["mean_probability"]
        why.append("it puts " + " and ".join(f"{found['prior'][k]:.3f} on {classes[k]}" for k in found["near_zero"])
                   + " (the model's mean probability on these rows: " + " and ".join(
                       f"{mean[k]:.3f}" for k in found["near_zero"]) + ")")
    if found.get("converged") is False:
        why.append(f"it did not settle in {found['iterations']} iterations")
    return (f"the {name} estimate of the prior is unreliable: {'; '.join(why)}. "
            + ("EM runs to the edge of the simplex when the probabilities are not calibrated for these rows, "
               "above all for classes the model barely tells apart." if name == "EM" else
               "BBSE clips a negative share to 0 when the calibration split's confusion matrix is too noisy."))


def normalise_prior(values: tuple[float, ...] | list[float], n_classes: int) -> np.ndarray:
    """The recipe's prior as K shares: a binary head may give one value (the positive class's share)."""
    from workbench.core.errors import RecipeError

    given = np.asarray(values, dtype=np.float64)
    v = np.array([1 - given[0], given[0]]) if n_classes == 2 and len(given) == 1 else given
    if len(v) != n_classes or (v <= 0).any() or abs(v.sum() - 1) > 1e-3:
        raise RecipeError(f"{_prior_problem(given, v, n_classes)}; {n_classes} classes need one share per class, "
                          "each above 0 and below 1, summing to 1 (a binary head may give the positive class's share "
                          "alone; a share of 0 would never decide its class).",
                          "Give the classes' shares in the class order.", field="decide.prior")
    return np.asarray(v / v.sum())


def _prior_problem(given: np.ndarray, v: np.ndarray, n_classes: int) -> str:
    """What is wrong with the prior, said first: its count, a share of 0 or less (by class position), or its sum."""
    if len(v) != n_classes:
        return f"the deployment prior has {len(given)} value(s)"
    if len(given) == 1:  # a binary head's positive share alone: at 0 or 1 one class gets nothing
        return f"the deployment prior's positive share {given[0]:g} leaves a class a share of {min(v):g}"
    low = [f"class {i + 1} of {n_classes} a share of {v[i]:g}" for i in np.flatnonzero(v <= 0)]
    if low:
        return f"the deployment prior gives {', '.join(low)}"
    return f"the deployment prior's shares sum to {v.sum():g}"


class PriorCorrection(nn.Module):
    """The calibration map followed by the prior correction, inside the exported program."""

    weights: torch.Tensor  # buffer: deployment prior / calibration prior

    def __init__(self, calibration: nn.Module, weights: np.ndarray) -> None:
        super().__init__()
        self.calibration = calibration
        self.register_buffer("weights", torch.as_tensor(np.asarray(weights), dtype=torch.float32))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        scaled: torch.Tensor = self.calibration(logits) * self.weights
        return scaled / scaled.sum(dim=1, keepdim=True).clamp_min(1e-30)


def score_summary(probs: np.ndarray) -> np.ndarray:
    """One score per row for the two-sample tests: p(positive) for binary, the top probability otherwise."""
    return np.asarray(probs[:, 1] if probs.shape[1] == 2 else probs.max(axis=1), dtype=np.float64)


def exchangeability(ref_scores: np.ndarray, ref_labels: np.ndarray, new_scores: np.ndarray,
                    ref_prior: np.ndarray, new_prior: np.ndarray, level: float = 0.05
                    ) -> tuple[dict[str, Any], list[Note]]:
    """Two Kolmogorov-Smirnov tests of the new rows' scores against the calibration split's. `plain`: are they
    exchangeable (what conformal coverage assumes)? `label_shift`: against the calibration scores reweighted to
    the estimated prior, i.e. does a change of class shares alone explain them (what the prior correction
    assumes)? The second compares with a weighted sample of effective size (sum w)^2 / sum w^2, by the asymptotic
    two-sample Kolmogorov distribution; it is approximate, since the prior was estimated from the same rows."""
    from scipy.stats import ks_2samp, kstwobign

    ref_scores, ref_labels = np.asarray(ref_scores, np.float64), np.asarray(ref_labels, np.int64)
    plain = ks_2samp(new_scores, ref_scores)
    w = (np.asarray(new_prior) / np.maximum(np.asarray(ref_prior), 1e-12))[ref_labels]
    order = np.argsort(ref_scores)
    sorted_scores, cumulative = ref_scores[order], np.cumsum(w[order]) / max(w.sum(), 1e-300)

    def mixture_cdf(x: np.ndarray) -> np.ndarray:
        i = np.searchsorted(sorted_scores, x, side="right")
        return np.where(i > 0, cumulative[np.maximum(i - 1, 0)], 0.0)

    new_sorted = np.sort(np.asarray(new_scores, np.float64))
    n = len(new_sorted)
    at = mixture_cdf(new_sorted)
    statistic = float(max((np.arange(1, n + 1) / n - at).max(initial=0.0), (at - np.arange(n) / n).max(initial=0.0)))
    m = float(w.sum() ** 2 / max((w * w).sum(), 1e-300))
    p_shifted = float(kstwobign.sf(statistic * np.sqrt(n * m / max(n + m, 1e-300)))) if n else 1.0
    out = {"test": "Kolmogorov-Smirnov on " + ("p(positive)" if len(ref_prior) == 2 else "the top probability"),
           "level": level, "n_new": int(len(new_scores)), "n_reference": int(len(ref_scores)),
           "plain": {"statistic": float(plain.statistic), "p_value": float(plain.pvalue),
                     "exchangeable": bool(plain.pvalue >= level)},
           "label_shift": {"statistic": statistic, "p_value": p_shifted, "explained": bool(p_shifted >= level),
                           "effective_reference_rows": m}}
    notes = []
    if plain.pvalue < level:
        notes.append(warning("shift.not_exchangeable",
                             f"the new rows' scores differ from the calibration split's (KS p = {plain.pvalue:.2g}): "
                             "the coverage of the conformal sets and the risk-controlled band is no longer "
                             "guaranteed for them.", "decide.prior"))
    if p_shifted < level:
        notes.append(warning("shift.not_label_shift",
                             f"a change of class shares alone does not explain the new scores (KS p = "
                             f"{p_shifted:.2g}): the inputs themselves differ, so the calibration, and the "
                             "prior estimate, cannot be trusted on them. Label some of the new rows and recalibrate.",
                             "decide.prior"))
    return out, notes
