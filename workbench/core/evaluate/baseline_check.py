"""Did training beat the no-training baseline? Scored beside every trained run, on the validation split.

The baseline (workflow/baseline.py) is the regression model's own output, Platt-calibrated on the calibration
split: a classifier without a gradient step. On an analyst's table trained heads scored 0.667 and 0.621 while it
scored 0.697, and nothing said so. Here the trained run's calibrated probabilities and the baseline's are scored
on the validation split (which neither calibration saw), with paired bootstrap intervals of each difference
(trained - baseline). Training stopped early on this split, which leans the comparison towards training: a
"worse" verdict is, if anything, understated.

A verdict per metric ("better" or "worse" when the interval excludes zero, else "within noise") and one overall:
"better" (some metric better, none worse), "worse" (some worse, none better), "mixed", or "within noise".
It applies to binary heads on a one-output regression model; a multiclass head has no single score to calibrate,
and an ordinal head's baseline (the output cut into the classes) is a run of its own (workflow/baseline.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from torch import nn

from workbench.core import notes as N

METRICS = ("accuracy", "brier", "roc_auc")
HIGHER = {"accuracy": True, "brier": False, "roc_auc": True}


def scores_for(task: str, model: nn.Module, n_outputs: int, inputs: Callable[[str], Any],
               rows: dict[str, int]) -> dict[str, Any]:
    """The regression output on the calibration and validation splits ({"cal": ..., "val": ...}), or
    {"why_not": reason} when the baseline does not apply."""
    from workbench.core.train.train import predict_logits

    if task == "ordinal":
        return {"why_not": "this check is for binary heads; for ordered classes the no-training baseline (the "
                           "regression output cut into the classes) is a run of its own (--baseline; in the window, "
                           "the Baseline button): compare the two runs"}
    if task != "binary":
        return {"why_not": "the no-training baseline is for binary heads: a multiclass head has no single score to "
                           "calibrate"}
    if n_outputs != 1:
        return {"why_not": f"the regression model has {n_outputs} outputs; the baseline needs a single score"}
    if rows.get("cal", 0) < 2 or rows.get("val", 0) < 2:
        return {"why_not": "the baseline is fitted on the calibration split and scored on the validation split, "
                           "and one of them has fewer than 2 rows"}
    model = model.eval()
    return {split: predict_logits(model, inputs(split), True).numpy() for split in ("cal", "val")}


def check(scores: dict[str, Any], trained_val: np.ndarray, y_val: np.ndarray, y_cal: np.ndarray,
          threshold: float | None = None) -> dict[str, Any]:
    """The comparison for metrics.json (`baseline_check`): each metric for both, the paired interval of the
    difference, the verdicts, and a typed note when training did not beat the baseline."""
    from workbench.core.evaluate import calibrate
    from workbench.core.evaluate.uncertainty import paired_difference, replicates

    if "why_not" in scores:
        return {"applies": False, "reason": scores["why_not"]}
    y_val = np.asarray(y_val).astype(np.int64)
    baseline = calibrate.fit("platt", "binary", 2, scores["cal"], y_cal).probabilities(scores["val"])
    diff = paired_difference(baseline, trained_val, y_val, METRICS, threshold, threshold)
    once = np.ones((1, len(y_val)))
    point_t = replicates(trained_val, y_val, METRICS, threshold, counts=once)
    point_b = replicates(baseline, y_val, METRICS, threshold, counts=once)
    metrics = {}
    for name in [m for m in METRICS if m in diff]:
        d = diff[name]
        verdict = "within noise" if d["within_noise"] else ("better" if (d["low"] > 0) == HIGHER[name] else "worse")
        trained, base = float(point_t[name][0]), float(point_b[name][0])
        metrics[name] = {"trained": trained, "baseline": base, "difference": trained - base, "low": d["low"],
                         "high": d["high"], "verdict": verdict}
    verdicts = {m["verdict"] for m in metrics.values()}
    overall = ("mixed" if {"better", "worse"} <= verdicts else "worse" if "worse" in verdicts
               else "better" if "better" in verdicts else "within noise")
    out: dict[str, Any] = {"applies": True, "split": "validation", "n": int(len(y_val)), "metrics": metrics,
                           "verdict": overall, "interval": "paired stratified bootstrap 95%, trained - baseline"}
    note = _note(overall, metrics)
    out["note"] = note.to_dict() if note else None
    return out


def _note(verdict: str, metrics: dict[str, dict[str, Any]]) -> N.Note | None:
    if verdict == "better":
        return None
    def listed(verdicts: tuple[str, ...]) -> str:
        return "; ".join(f"{name.replace('_', ' ')} {m['trained']:.3f} vs {m['baseline']:.3f} ({m['verdict']})"
                         for name, m in metrics.items() if m["verdict"] in verdicts)

    shown = listed(("better", "worse", "within noise"))
    if verdict in ("worse", "mixed"):  # the metrics it lost on first, the others after them
        rest = listed(("better", "within noise"))
        return N.warning(f"on the validation split the trained head scored below the no-training baseline (the "
                         f"regression output, Platt-calibrated) on {listed(('worse',))}"
                         + (f" (elsewhere: {rest})" if rest else "")
                         + ". The baseline may serve better, and it trains nothing.", "training_below_baseline")
    return N.info("training did not measurably beat the no-training baseline "
                f"on the validation split: {shown}.", "training_not_above_baseline")


def for_run(run: Any, threshold: float | None = None) -> dict[str, Any]:
    """`check` for a pipeline run: its validation probabilities under its calibration, at `threshold` (the run's
    decision threshold; None: the threshold the run was set to)."""
    if run.kind != "trained":
        return {"applies": False, "reason": "this run is the baseline"}
    if not run.baseline_scores:
        return {"applies": False, "reason": "the baseline was not scored for this run"}
    return check(run.baseline_scores, run.probabilities("val"), run.data.labels("val"), run.data.labels("cal"),
                 run.threshold if threshold is None else threshold)
