"""A decide/refer band for a binary head with risk control: Learn then Test (Angelopoulos, Bates, Candès, Jordan &
Lei 2021), as in its selective-classification example.

The band is indexed by lambda in [0, 1] on a grid fixed before the data: the head decides positive when
p >= t + (1 - t) lambda, negative when p < t (1 - lambda) (t: the decision threshold) and refers the rest; lambda = 1
refers (nearly) everything, lambda = 0 decides everything at t. For each
lambda, H0: "the error rate among decided cases exceeds epsilon" is tested with the exact binomial p-value
P(Binomial(n_decided, epsilon) <= errors), valid given the number decided. Fixed-sequence testing from the most
conservative lambda controls the chance of certifying any lambda whose error exceeds epsilon at delta. Its start
must already decide enough rows to reject, so a seeded third of the calibration split picks the start (the most
conservative lambda whose p-value, predicted from that third for the other two thirds' size, is under delta / 4)
and the other two thirds run the sequence, from there towards wider decisions: an ordering learned on held-out
rows keeps the guarantee (the paper's section on learned graphs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.core.decide.notes import Note, proportion_interval, warning

GRID = np.linspace(1.0, 0.0, 501)  # lambda, most conservative first
ORDER_FRACTION = 1 / 3
PROCEDURE = ("Learn then Test (Angelopoulos et al. 2021): exact binomial p-values of the error among decided "
             "cases, fixed-sequence testing from a start chosen on a held-out third of the calibration split")


def band(threshold: float, lam: float | np.ndarray) -> tuple[Any, Any]:
    """(lower, upper) of the refer band at `lam`: decide negative below lower, positive at or above upper."""
    lam = np.asarray(lam, dtype=np.float64)
    return threshold * (1 - lam), threshold + (1 - threshold) * lam


def decided_errors(p1: np.ndarray, y: np.ndarray, threshold: float, lams: np.ndarray = GRID
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(decided counts, errors among them) for each lambda, from the sorted scores of each class (no rows x grid
    matrix, so a large calibration split costs n log n)."""
    lower, upper = band(threshold, lams)
    negatives, positives = np.sort(p1[y == 0]), np.sort(p1[y == 1])
    said_positive = [len(s) - np.searchsorted(s, upper, side="left") for s in (negatives, positives)]
    said_negative = [np.searchsorted(s, lower, side="left") for s in (negatives, positives)]
    decided = said_positive[0] + said_positive[1] + said_negative[0] + said_negative[1]
    return np.asarray(decided), np.asarray(said_positive[0] + said_negative[1])


def p_values(n_decided: np.ndarray, errors: np.ndarray, epsilon: float) -> np.ndarray:
    """P(Binomial(n, epsilon) <= k): small when k errors in n decided are unlikely at an error rate of epsilon."""
    from scipy.stats import binom

    return np.where(n_decided > 0, binom.cdf(errors, np.maximum(n_decided, 1), epsilon), 1.0)


@dataclass(frozen=True)
class Band:
    epsilon: float
    delta: float
    threshold: float
    lam: float | None  # None: no band was certified, every case is referred
    lower: float
    upper: float
    calibration: dict[str, Any]
    notes: tuple[Note, ...] = field(default=())

    def decide(self, p1: np.ndarray) -> np.ndarray:
        """1 (positive), 0 (negative) or -1 (refer) per row."""
        out = np.full(len(p1), -1, dtype=np.int64)
        out[p1 >= self.upper] = 1
        out[p1 < self.lower] = 0
        return out

    def metadata(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "delta": self.delta, "lower": self.lower, "upper": self.upper,
                "certified": self.lam is not None, "procedure": PROCEDURE,
                "rule": "class 1 when probability[:, 1] >= upper, class 0 when probability[:, 1] < lower, "
                        "otherwise refer the case to a person",
                "guarantee": f"with probability at least {1 - self.delta:.0%} over the calibration split, the error "
                             f"rate among decided cases is at most {self.epsilon:g} for new cases like it"}


def fit(p1: np.ndarray, y: np.ndarray, epsilon: float, delta: float, threshold: float = 0.5,
        seed: int = 0) -> Band:
    """The widest certified band on the calibration split's p(positive) and labels."""
    p1, y = np.asarray(p1, np.float64), np.asarray(y, np.int64)
    rng = np.random.default_rng(seed)
    order_rows = np.zeros(len(y), dtype=bool)
    order_rows[rng.permutation(len(y))[:int(round(len(y) * ORDER_FRACTION))]] = True
    n_o, k_o = decided_errors(p1[order_rows], y[order_rows], threshold)
    n_t, k_t = decided_errors(p1[~order_rows], y[~order_rows], threshold)
    p_test = p_values(n_t, k_t, epsilon)
    start = _start(n_o, k_o, int(order_rows.sum()), int((~order_rows).sum()), epsilon, delta)
    chosen = None
    for i in range(start, len(GRID)):  # towards lambda = 0, i.e. deciding more
        if p_test[i] > delta:
            break
        chosen = i
    n_all, k_all = decided_errors(p1, y, threshold)
    calibration = {"lambda": GRID.tolist(), "p_value": p_test.tolist(), "start": start,
                   "coverage": (n_all / max(len(y), 1)).tolist(),
                   "error": np.where(n_all > 0, k_all / np.maximum(n_all, 1), 0.0).tolist()}
    if chosen is None:
        note = warning("abstention.none_certified",
                       f"no band keeps the error among decided cases under {epsilon:g} with {1 - delta:.0%} "
                       f"confidence on a calibration split of {len(y)} rows, so every case is referred. Raise the "
                       "error target, lower the confidence or give the calibration split more rows.",
                       "decide.risk_epsilon")
        return Band(epsilon, delta, threshold, None, 0.0, float(np.nextafter(1.0, 2.0)), calibration, (note,))
    lower, upper = band(threshold, GRID[chosen])
    return Band(epsilon, delta, threshold, float(GRID[chosen]), float(lower), float(upper), calibration)


def _start(n_decided: np.ndarray, errors: np.ndarray, n_order: int, n_test: int, epsilon: float,
           delta: float) -> int:
    """Where the fixed sequence starts: the most conservative lambda whose p-value on the testing rows, predicted
    from the ordering rows' share decided and error, is under delta / 4 (else the smallest predicted)."""
    if n_order == 0:
        return 0
    expected_n = np.round(n_decided / n_order * n_test)
    expected_k = np.round(np.where(n_decided > 0, errors / np.maximum(n_decided, 1), 0.0) * expected_n)
    predicted = p_values(expected_n, expected_k, epsilon)
    good = np.flatnonzero(predicted <= delta / 4)
    return int(good[0]) if len(good) else int(np.argmin(predicted))


def evaluate(fitted: Band, p1: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """On labelled rows: the share decided and the error among them, each with a Wilson interval, and the
    coverage-vs-error curve over the grid (what the band trades)."""
    p1, y = np.asarray(p1, np.float64), np.asarray(y, np.int64)
    decision = fitted.decide(p1)
    decided = decision >= 0
    errors = int((decision[decided] != y[decided]).sum())
    n_dec = int(decided.sum())
    n_all, k_all = decided_errors(p1, y, fitted.threshold)
    return {"n": int(len(y)), "decided": n_dec, "coverage": n_dec / len(y) if len(y) else None,
            "coverage_ci": proportion_interval(n_dec, len(y)),
            "error": errors / n_dec if n_dec else None, "error_ci": proportion_interval(errors, n_dec),
            "curve": {"lambda": GRID.tolist(), "coverage": (n_all / max(len(y), 1)).tolist(),
                      "error": np.where(n_all > 0, k_all / np.maximum(n_all, 1), 0.0).tolist()}}
