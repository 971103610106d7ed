"""What the numbers are said to mean, computed once for the window, the command line, the notebook and the
reports: whether a calibration made a metric better, worse or changed it within noise, and the confusion matrix
as counts or normalised by the true or the predicted class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CONFUSION_MODES = ("counts", "normalised by true class", "normalised by predicted class")


def verdict(interval: dict[str, Any], higher_is_better: bool) -> str:
    """"better", "worse" or "within noise" for a paired 95% interval of a difference (new minus old): a change is
    better or worse only when its interval excludes zero."""
    if interval["within_noise"]:
        return "within noise"
    return "better" if (interval["low"] > 0) == higher_is_better else "worse"


def calibration_verdict(test: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The calibration's change of `key` ("ece", "brier": lower is better) on the test split:
    {before, after, difference, low, high, verdict} where verdict is "better", "worse" or "within noise" (the paired
    95% interval covers zero); low, high and verdict are None when no paired interval was computed. None when the
    metrics hold no before/after pair for `key`."""
    before, after = test.get(f"{key}_before"), test.get(key)
    if before is None or after is None:
        return None
    change = (test.get("calibration_change") or {}).get(key)
    out: dict[str, Any] = {"before": before, "after": after, "difference": after - before,
                           "low": None, "high": None, "verdict": None}
    if change:
        out |= {"low": change["low"], "high": change["high"], "verdict": verdict(change, higher_is_better=False)}
    return out


def change_text(test: dict[str, Any], key: str, arrow: str = "->") -> str:
    """'0.061 -> 0.034 (change -0.027, 95% CI [-0.041, -0.012], better)', or the two values alone."""
    found = calibration_verdict(test, key)
    if found is None:
        return ""
    text = f"{found['before']:.3f} {arrow} {found['after']:.3f}"
    if found["verdict"] is None:
        return text
    return (text + f" (change {found['difference']:+.3f}, 95% CI [{found['low']:+.3f}, {found['high']:+.3f}], "
            f"{found['verdict']})")


def normalised_confusion(matrix: Any, mode: str = CONFUSION_MODES[0]) -> np.ndarray:
    """The confusion matrix (rows: true class, columns: predicted) as counts, or each row divided by its total
    (recall along the diagonal) or each column by its total (precision along the diagonal); an empty row or
    column stays 0."""
    counts = np.asarray(matrix, dtype=np.float64)
    if mode in CONFUSION_MODES[1:]:
        axis = 1 if mode == CONFUSION_MODES[1] else 0
        shown: np.ndarray = counts / np.maximum(counts.sum(axis=axis, keepdims=True), 1)
        return shown
    if mode != CONFUSION_MODES[0]:
        raise ValueError(f"the confusion matrix is shown as one of {CONFUSION_MODES}, not {mode!r}")
    return counts
