"""The binned ECE's upward bias, estimated and said beside it.

On a finite test split each bin's accuracy is noisy, and |confidence - accuracy| turns that noise into a positive
gap: a perfectly calibrated model on 85 rows shows an ECE around 0.07, and the bootstrap interval of the ECE, which
covers test sampling only, never contained 0 for it (0 of 200 simulated splits). Two numbers go beside the ECE:

- `ece_debiased`: Kumar, Liang and Ma (2019, "Verified uncertainty calibration")'s bias-corrected estimator for the
  l1 calibration error: 2 * ECE minus the mean ECE over draws of each bin's accuracy from a normal with its
  binomial spread (their `normal_debiased_ce`). Simulated on 200-row splits (tests/core/evaluate/test_intervals.py)
  it took an overconfident model's mean ECE from 0.110 to 0.098 (truth 0.093) and a calibrated one's from 0.057
  to 0.034 (truth 0): most of the bias of the one, 40% of the other's.
- `ece_if_calibrated`: consistency resampling (Broecker and Smith 2007): the ECE that a perfectly calibrated model
  with these very confidences shows, drawing each row's correctness from its confidence; `high` is its 95th
  percentile. A test ECE under `high` is within what perfect calibration shows on these rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DRAWS = 400
SEED = 20261124
LEVEL = 0.95


def _bins(confidence: np.ndarray, edges: np.ndarray) -> np.ndarray:
    from workbench.core.evaluate.scores import bin_index

    return np.asarray(np.eye(len(edges) - 1)[bin_index(confidence, edges)])


def debiased(confidence: np.ndarray, correct: np.ndarray, edges: np.ndarray, draws: int = DRAWS,
             seed: int = SEED) -> float:
    """Kumar et al.'s normal bias-corrected l1 ECE over the same bins (may be slightly negative near 0)."""
    members = _bins(confidence, edges)
    count = members.sum(0)
    used = count > 0
    n = max(float(count.sum()), 1.0)
    conf = (confidence @ members)[used] / count[used]
    acc = (correct.astype(np.float64) @ members)[used] / count[used]
    weight = count[used] / n
    plugin = float(weight @ np.abs(conf - acc))
    spread = np.sqrt(acc * (1 - acc) / count[used])
    drawn = np.random.default_rng(seed).normal(acc, spread, size=(draws, len(acc)))
    return float(2 * plugin - (np.abs(drawn - conf) @ weight).mean())


def if_calibrated(confidence: np.ndarray, edges: np.ndarray, draws: int = DRAWS, seed: int = SEED,
                  level: float = LEVEL) -> dict[str, Any]:
    """The ECE of a perfectly calibrated model with these confidences: its mean and `level` quantile."""
    members = _bins(confidence, edges)
    rng = np.random.default_rng(seed)
    correct = (rng.random((draws, len(confidence))) < confidence).astype(np.float64)
    gaps = np.abs(confidence @ members - correct @ members).sum(1) / max(len(confidence), 1)
    return {"mean": float(gaps.mean()), "high": float(np.quantile(gaps, level)), "draws": draws,
            "level": level}


def summary(probs: np.ndarray, y: np.ndarray, edges: np.ndarray | list[float]) -> dict[str, Any]:
    """The test metrics' ECE companions (see the module docstring)."""
    edges = np.asarray(edges, dtype=np.float64)
    confidence = probs.max(1)
    correct = probs.argmax(1) == np.asarray(y)
    calibrated = if_calibrated(confidence, edges)
    return {"ece_debiased": debiased(confidence, correct, edges),
            "ece_if_calibrated": calibrated,
            "ece_interval_covers": "test sampling of the binned ECE, which is biased upward on few rows; a "
                                   f"perfectly calibrated model shows up to {calibrated['high']:.3f} on these rows"}
