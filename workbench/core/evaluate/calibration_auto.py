"""Calibration `auto`: a method only when the calibration split shows it helps, else none.

The candidates are none, temperature (one parameter), platt (binary: two; multiclass: vector scaling, 2K) and
isotonic (a step function, only from ISOTONIC_MIN_ROWS calibration rows: on fewer its steps overfit, as Niculescu-
Mizil and Caruana 2005 found). Each is fitted on K-1 stratified folds of the calibration split (seeded) and scores
the held-out fold, so every calibration row is scored once by a map that never saw it.

A method is applied only when it lowers the mean cross-validated Brier score below none's by more than Z standard
errors of the row-paired difference (its noise; Z = 1, the one-standard-error rule). Among the methods that do,
the one with the fewest parameters whose score is within Z standard errors of the best is taken: on a small split
a one-parameter map as good as a richer one is the safer choice. Simulated binary scores (100 or 300 rows to
calibrate, 3,000 to test, 15 seeds each): with Z = 1 auto kept none's test Brier on calibrated scores (0.1517 and
0.1496, where temperature alone made them worse) and most of temperature's gain on overconfident ones (T = 2, 300
rows: 0.1619 -> 0.1520, temperature 0.1516); Z = 2 kept a third of that gain, Z = 0.5 began to harm calibrated
scores. The score is Brier rather than log loss: it is bounded, so an isotonic
map's 0 and 1 ends (a log loss of 27 on one held-out row) do not decide alone; the log loss is recorded beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FOLDS = 5
Z = 1.0
ISOTONIC_MIN_ROWS = 1000
CANDIDATES = ("none", "temperature", "platt", "isotonic")


def parameters(method: str, task: str, n_classes: int) -> int | None:
    """How many numbers the map fits; None for isotonic (as many steps as the data gives)."""
    k = 1 if task == "binary" else n_classes
    return {"none": 0, "temperature": 1, "platt": 2 * k, "matrix": k * k + k}.get(method)


def _row_scores(probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from workbench.core.evaluate.scores import brier_rows

    return brier_rows(probs, y), -np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0))


def _held_out(method: str, task: str, n_classes: int, logits: np.ndarray, y: np.ndarray,
              folds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Every row's probabilities from the map fitted without its fold."""
    from workbench.core.evaluate.calibrate import fit

    out = np.zeros((len(y), 2 if task == "binary" else n_classes))
    for fit_rows, held in folds:
        out[held] = fit(method, task, n_classes, logits[fit_rows], y[fit_rows]).probabilities(logits[held])
    return out


def _paired(worse: np.ndarray, better: np.ndarray) -> tuple[float, float]:
    """Mean of worse - better over rows and its standard error."""
    d = worse - better
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0


def _none(n: int, code: str, reason: str, seed: int) -> dict[str, Any]:
    return {"pick": "none", "reason_code": code, "reason": reason, "score": "brier", "folds": 0, "seed": seed,
            "n_cal": n, "z": Z, "candidates": []}


def choose(task: str, n_classes: int, logits: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """The pick and why, with every candidate's cross-validated scores (a dict for metrics.json)."""
    from sklearn.model_selection import StratifiedKFold

    logits = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    n = len(y)
    if n == 0:
        return _none(0, "no_calibration_split", "there is no calibration split, so nothing was fitted", seed)
    present = np.bincount(y)[np.unique(y)]
    folds = int(min(FOLDS, present.min())) if len(present) > 1 else 0
    if folds < 2 or n < 2 * FOLDS:
        return _none(n, "too_few_rows", f"the calibration split ({n} rows) is too small to cross-validate a "
                     "calibration, so none was applied", seed)
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(n), y))
    rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    candidates = []
    for method in CANDIDATES:
        entry: dict[str, Any] = {"method": method, "parameters": parameters(method, task, n_classes)}
        if method == "isotonic" and n < ISOTONIC_MIN_ROWS:
            entry["skipped"] = f"isotonic needs at least {ISOTONIC_MIN_ROWS} calibration rows"
        else:
            try:
                rows[method] = _row_scores(_held_out(method, task, n_classes, logits, y, splits), y)
            except ValueError as exc:  # e.g. a fold with one class for a binary Platt fit
                entry["skipped"] = f"could not be fitted on every fold ({exc})"
        if method in rows:
            brier, nll = rows[method]
            gain, se = _paired(rows["none"][0], brier)
            entry |= {"cv_brier": float(brier.mean()), "cv_nll": float(nll.mean()), "gain": gain, "gain_se": se,
                      "beats_none": method != "none" and gain > 0 and gain > Z * se}
        candidates.append(entry)
    out = {"score": "brier", "folds": folds, "seed": seed, "n_cal": n, "z": Z, "candidates": candidates}
    beaters = [c for c in candidates if c.get("beats_none")]
    if not beaters:
        return out | {"pick": "none", "reason_code": "none_within_noise",
                      "reason": "no method lowered the calibration split's cross-validated Brier score by more than "
                                f"{Z:g} standard error{'' if Z == 1 else 's'} (its noise), so none was applied"}
    best = max(beaters, key=lambda c: c["gain"])
    order = sorted(beaters, key=lambda c: (c["parameters"] is None, c["parameters"] or 0))

    def as_good(c: dict[str, Any]) -> bool:
        extra, se = _paired(rows[c["method"]][0], rows[best["method"]][0])
        return c is best or extra <= Z * se

    pick = next(c for c in order if as_good(c))
    none = candidates[0]
    reason = (f"{pick['method']} lowered the calibration split's cross-validated Brier score from "
              f"{none['cv_brier']:.4f} to {pick['cv_brier']:.4f} (by {pick['gain']:.4f}, standard error "
              f"{pick['gain_se']:.4f})")
    if pick is not best:
        reason += f"; {best['method']} did no better within its noise and has more parameters"
    return out | {"pick": pick["method"], "reason_code": "beats_none", "reason": reason}
