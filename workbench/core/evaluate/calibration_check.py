"""Does calibration help here? Checks that keep a calibration method from doing silent harm.

- The calibration split's size: a map fitted on fewer than about SMALL_SPLIT rows is noisy, and test ECE on
  such sizes moves by a few hundredths by chance; the check says so and suggests a split fraction.
- Cross-validated NLL on the calibration split: the method is fitted on k-1 folds and scored on the held-out
  fold, against the uncalibrated probabilities on the same fold. When it is worse, `none` is recommended.
- The fit's own notes (a temperature on its bound).
- Vector or matrix scaling chosen by name on a split with fewer than ROWS_PER_PARAMETER rows per fitted number: a
  typed warning (`advice`), which the window and the command line can show before the fit (digits, 180 rows: vector
  scaling took the test Brier from 0.021 to 0.035).
- A method that calibration `auto` chose has passed a stricter test (calibration_auto); its record explains it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.core import notes as N

if TYPE_CHECKING:
    from workbench.core.evaluate.calibrate import AnyCalibration

SMALL_SPLIT = 200
FOLDS = 5
ROWS_PER_PARAMETER = 20


def advice(method: str, task: str, n_classes: int, n_cal: int | None = None) -> list[N.Note]:
    """Warnings about a calibration before it is fitted: vector/matrix scaling on too few rows for its parameters
    (with `n_cal` unknown, whenever they are chosen for a multiclass head)."""
    from workbench.core.evaluate.calibration_auto import parameters

    if task == "binary" or method not in ("platt", "matrix"):
        return []
    fitted = parameters(method, task, n_classes) or 0
    wanted = ROWS_PER_PARAMETER * fitted
    if n_cal is not None and n_cal >= wanted:
        return []
    name = "vector scaling" if method == "platt" else "matrix scaling"
    rows = f"the calibration split has {n_cal} rows" if n_cal is not None else "check the calibration split's size"
    return [N.warning(f"multiclass {method} is {name}, {fitted} fitted numbers for "
                 f"{n_classes} classes, and needs about {wanted} calibration rows ({rows}); on fewer it has made "
                 "test calibration worse (digits, 180 rows: Brier 0.021 -> 0.035). Calibration auto applies it only "
                 "when cross-validation shows it helps.", "calibration_overfits", "calibration")]


def _nll(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)).mean())


def cross_validated_nll(method: str, task: str, n_classes: int, logits: np.ndarray, y: np.ndarray,
                        seed: int = 0) -> tuple[float, float] | None:
    """(uncalibrated NLL, calibrated NLL) over held-out folds of the calibration split, or None when a fold
    cannot be made (too few rows of some class)."""
    from sklearn.model_selection import StratifiedKFold

    from workbench.core.evaluate.calibrate import Calibration, fit

    y = np.asarray(y).astype(np.int64)
    if method == "none" or len(y) < 2 * FOLDS:
        return None
    folds = min(FOLDS, int(np.bincount(y, minlength=n_classes)[np.unique(y)].min()))
    if folds < 2:
        return None
    before, after = [], []
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for fit_rows, held in splitter.split(np.zeros(len(y)), y):
        try:
            fitted = fit(method, task, n_classes, logits[fit_rows], y[fit_rows])
        except ValueError:  # e.g. a fold with one class for a binary Platt fit
            return None
        after.append(_nll(fitted.probabilities(logits[held]), y[held]) * len(held))
        before.append(_nll(Calibration("none", task, n_classes).probabilities(logits[held]), y[held]) * len(held))
    return sum(before) / len(y), sum(after) / len(y)


def suggested_fraction(n_cal: int, fraction: float) -> float | None:
    """The calibration fraction that gives about SMALL_SPLIT rows, or None when the data is too small for it."""
    if n_cal <= 0 or fraction <= 0:
        return None
    total = n_cal / fraction
    wanted = SMALL_SPLIT / total
    return math.ceil(wanted * 100) / 100 if wanted <= 0.4 else None


def check(method: str, task: str, n_classes: int, logits: np.ndarray, y: np.ndarray, fraction: float,
          fit_notes: Sequence[str] = (), seed: int = 0, auto: dict[str, Any] | None = None) -> dict[str, Any]:
    """A dict for metrics.json: the split's size, the cross-validated NLL pair, notes for the user (`notes`, as
    text) and typed warnings (`advice`). With `auto` (calibration_auto's record of how `method` was chosen), its
    cross-validated scores stand for the NLL pair."""
    n = len(y)
    notes = [N.as_note(note, "warning", "calibration", "calibration_fit") for note in fit_notes]
    out: dict[str, Any] = {"method": method, "n_cal": n, "small": n < SMALL_SPLIT}
    typed = [] if auto is not None else advice(method, task, n_classes, n)
    out["advice"] = [note.to_dict() for note in typed]
    notes += typed
    if auto is not None:
        scores = {c["method"]: c for c in auto["candidates"] if "cv_nll" in c}
        if method in scores and "none" in scores:
            out["cv_nll_before"], out["cv_nll_after"] = scores["none"]["cv_nll"], scores[method]["cv_nll"]
        out["worse"] = False  # auto applies a method only when it beat none beyond noise
        out["notes"] = notes
        return out
    if method != "none" and n < SMALL_SPLIT:
        suggestion = suggested_fraction(n, fraction)
        out["suggested_fraction"] = suggestion
        notes.append(N.warning(f"the calibration split has {n} rows; a calibration fitted on fewer than about "
                               f"{SMALL_SPLIT} rows is noisy and can make test calibration worse. "
                               + (f"A calibration fraction of {suggestion:g} would give about {SMALL_SPLIT} rows."
                                  if suggestion else "This data set is too small for a reliable split; consider "
                                  "calibration none."), "small_calibration_split", "data.splits"))
    pair = cross_validated_nll(method, task, n_classes, np.asarray(logits, dtype=np.float64), y, seed)
    if pair is not None:
        out["cv_nll_before"], out["cv_nll_after"] = pair
        out["worse"] = bool(pair[1] > pair[0])
        if out["worse"]:
            notes.append(N.warning(f"{method} makes the calibration split's cross-validated NLL worse "
                                   f"({pair[0]:.3f} -> {pair[1]:.3f}); calibration none is recommended.",
                                   "calibration_harms", "calibration"))
    out["notes"] = notes
    return out


def fit_and_check(method: str, task: str, n_classes: int, logits: np.ndarray, y: np.ndarray, fraction: float,
                  seed: int = 0) -> tuple[AnyCalibration, dict[str, Any], dict[str, Any] | None]:
    """Fit `method` ("auto": the one calibration_auto picks) on the calibration split, and check it: (the fitted
    map, the check, auto's record or None)."""
    from workbench.core.evaluate.calibrate import fit
    from workbench.core.evaluate.calibration_auto import choose

    auto = choose(task, n_classes, logits, y, seed) if method == "auto" else None
    fitted = fit(auto["pick"] if auto is not None else method, task, n_classes, logits, y)
    if auto is not None and fitted.notes:  # a fit on its bound is arbitrary (the check says so): auto takes none
        why = fitted.notes[0].partition(":")[0]  # "the temperature fit stopped at its bound (T = 0.0183)"
        auto = auto | {"pick": "none", "reason_code": "fit_at_bound", "chosen_first": auto["pick"],
                       "reason": f"{auto['pick']} helped in cross-validation, but {why} on the whole calibration "
                                 "split, so its value is arbitrary and none was applied"}
        fitted = fit("none", task, n_classes, logits, y)
    return fitted, check(fitted.method, task, n_classes, logits, y, fraction, fitted.notes, seed, auto), auto
