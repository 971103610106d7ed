"""Calibration of an ordinal head's cumulative probabilities, and its contiguous prediction sets.

An ordinal run's logits are log class probabilities (see train.ordinal). The maps act on the cumulative logits
c_k = logit P(y > k), which keeps the classes' order:

- temperature: c / T (for CORAL, a temperature on the shared score and its thresholds together);
- platt: c / T + b (a scale and shift of the score);
- isotonic: each P(y > k) through its own isotonic fit to the indicator y > k, then a running minimum over k,
  so the cumulative probabilities still fall with k.

Class probabilities are differences of the cumulative ones, never negative, rows summing to 1. Everything is a
small torch module, so the export computes exactly what the workbench reports. Imported by `calibrate.fit`
for task "ordinal"; it does not import `calibrate`.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench.core.train.ordinal import log_above, log_at_most

METHODS = ("none", "temperature", "platt", "isotonic")
LOG_T_BOUNDS = (-4.0, 4.0)  # as calibrate's temperature: within [0.018, 55]
LOGIT_LIMIT = 60.0  # a cumulative logit beyond this is a probability of 0 or 1 in float32 anyway


def cumulative_logits(logp: torch.Tensor) -> torch.Tensor:
    """logit P(y > k), k = 0..K-2, from log class probabilities (N, K)."""
    return (log_above(logp) - log_at_most(logp)).clamp(-LOGIT_LIMIT, LOGIT_LIMIT)


def running_min(above: torch.Tensor) -> torch.Tensor:
    """The running minimum over k, column by column (ONNX has no cumulative minimum; K-1 is a handful)."""
    columns = [above[:, 0]]
    for k in range(1, above.shape[1]):
        columns.append(torch.minimum(columns[-1], above[:, k]))
    return torch.stack(columns, dim=1)


def class_probabilities(above: torch.Tensor) -> torch.Tensor:
    """P(y > k) (N, K-1) -> class probabilities (N, K); the running minimum keeps them non-negative."""
    above = running_min(above.clamp(0, 1))
    ones, zeros = torch.ones_like(above[:, :1]), torch.zeros_like(above[:, :1])
    cum = torch.cat([ones, above, zeros], dim=1)
    return (cum[:, :-1] - cum[:, 1:]).clamp_min(0)


class OrdinalCalibration(nn.Module):
    """log class probabilities (N, K) -> calibrated class probabilities (N, K)."""

    temperature: torch.Tensor  # buffers, registered in __init__
    shift: torch.Tensor
    knot_offsets: torch.Tensor
    knots_x: torch.Tensor
    knots_y: torch.Tensor

    def __init__(self, method: str, n_classes: int, params: dict[str, Any] | None = None) -> None:
        super().__init__()
        if method not in METHODS:
            raise ValueError(f"{method} is not a calibration of ordinal heads ({', '.join(METHODS)})")
        self.method, self.binary, self.n_classes = method, False, n_classes
        self.notes: list[str] = []
        params = params or {}
        self.register_buffer("temperature", torch.tensor(float(params.get("temperature", 1.0))))
        self.register_buffer("shift", torch.tensor(float(params.get("shift", 0.0))))
        knots_x = params.get("knots_x", []) if method == "isotonic" else []
        knots_y = params.get("knots_y", []) if method == "isotonic" else []
        lengths = [len(x) for x in knots_x]
        self.bounds = [0, *np.cumsum(lengths).astype(int).tolist()]  # Python ints: the exported program slices by them
        self.register_buffer("knot_offsets", torch.tensor([0, *np.cumsum(lengths).tolist()], dtype=torch.long))
        self.register_buffer("knots_x", torch.tensor([v for x in knots_x for v in x], dtype=torch.float64))
        self.register_buffer("knots_y", torch.tensor([v for y in knots_y for v in y], dtype=torch.float64))

    def _isotonic(self, p: torch.Tensor) -> torch.Tensor:
        """Each threshold's P(y > k) through its own piecewise-linear isotonic curve, clipped at its ends."""
        columns = []
        for k in range(p.shape[1]):  # K-1 thresholds, a handful: unrolled in the exported program
            a, b = self.bounds[k], self.bounds[k + 1]
            xs, ys = self.knots_x[a:b], self.knots_y[a:b]
            x = p[:, k].to(torch.float64).clamp(xs[0], xs[-1])
            i = (torch.bucketize(x, xs) - 1).clamp(0, len(xs) - 2)
            x0, x1, y0, y1 = xs[i], xs[i + 1], ys[i], ys[i + 1]
            t = ((x - x0) / (x1 - x0).clamp_min(1e-12)).clamp(0, 1)
            columns.append((y0 + t * (y1 - y0)).to(p.dtype))
        return torch.stack(columns, dim=1)

    def cumulative(self, logp: torch.Tensor) -> torch.Tensor:
        """Calibrated P(y > k), (N, K-1), falling with k."""
        c = cumulative_logits(logp)
        if self.method in ("temperature", "platt"):
            c = c / self.temperature + self.shift
        above = torch.sigmoid(c)
        if self.method == "isotonic":
            above = self._isotonic(above)
        return running_min(above)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return class_probabilities(self.cumulative(logits))

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "ordinal": True}
        if self.method in ("temperature", "platt"):
            out["temperature"] = float(self.temperature)
        if self.method == "platt":
            out["shift"] = float(self.shift)
        if self.method == "isotonic":
            bounds = self.knot_offsets.tolist()
            xs, ys = self.knots_x.tolist(), self.knots_y.tolist()
            out |= {"knots_x": [xs[a:b] for a, b in itertools.pairwise(bounds)],
                    "knots_y": [ys[a:b] for a, b in itertools.pairwise(bounds)]}
        return out

    def probabilities(self, logits: np.ndarray | torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return np.asarray(self(torch.as_tensor(logits, dtype=torch.float32)).numpy())


def _nll(c: np.ndarray, y: np.ndarray, temperature: float, shift: float) -> float:
    above = 1 / (1 + np.exp(-np.clip(c / temperature + shift, -LOGIT_LIMIT, LOGIT_LIMIT)))
    cum = np.concatenate([np.ones((len(c), 1)), above, np.zeros((len(c), 1))], axis=1)
    rows = np.arange(len(y))
    return float(-np.log(np.clip(cum[rows, y] - cum[rows, y + 1], 1e-12, 1.0)).mean())


def fit(method: str, n_classes: int, logits: np.ndarray, y: np.ndarray) -> OrdinalCalibration:
    """Fit `method` on the calibration split's log class probabilities and labels."""
    y = np.asarray(y, dtype=np.int64)
    with torch.no_grad():
        c = cumulative_logits(torch.as_tensor(np.asarray(logits), dtype=torch.float64)).numpy()
    params: dict[str, Any] = {}
    notes: list[str] = []
    if method == "temperature":
        from scipy.optimize import minimize_scalar

        best = minimize_scalar(lambda log_t: _nll(c, y, math.exp(log_t), 0.0), bounds=LOG_T_BOUNDS,
                               method="bounded")
        params["temperature"] = float(math.exp(best.x))
        if min(abs(best.x - bound) for bound in LOG_T_BOUNDS) < 1e-3:
            notes.append(f"the temperature fit stopped at its bound (T = {params['temperature']:.3g}): the "
                         "calibration split is probably separable or degenerate. Use a larger calibration split, "
                         "or calibration none.")
    elif method == "platt":
        from scipy.optimize import minimize

        found = minimize(lambda v: _nll(c, y, math.exp(float(np.clip(v[0], *LOG_T_BOUNDS))), float(v[1])),
                         np.zeros(2), method="L-BFGS-B", bounds=[LOG_T_BOUNDS, (-LOGIT_LIMIT, LOGIT_LIMIT)])
        params["temperature"], params["shift"] = float(math.exp(found.x[0])), float(found.x[1])
    elif method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        above = 1 / (1 + np.exp(-c))
        params["knots_x"], params["knots_y"] = [], []
        for k in range(n_classes - 1):
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(above[:, k], y > k)
            xs, ys = iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist()
            if len(xs) < 2:
                xs, ys = [0.0, 1.0], ([ys[0], ys[0]] if ys else [0.0, 1.0])
            params["knots_x"].append(xs)
            params["knots_y"].append(ys)
    fitted = OrdinalCalibration(method, n_classes, params).eval()
    fitted.notes = notes
    return fitted


def contiguous_sets(probs: np.ndarray, tau: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ordinal adaptive prediction sets (Lu et al. 2022): from the most probable class, add the more probable
    neighbour until the set holds probability mass `tau` (per row, or one for all). Returns each row's lowest
    and highest class: the set is every class between, so it is always a contiguous range."""
    probs = np.asarray(probs, dtype=np.float64)
    n, k = probs.shape
    tau = np.broadcast_to(np.asarray(tau, dtype=np.float64), (n,))
    rows = np.arange(n)
    low = high = probs.argmax(1)
    mass = probs[rows, low]
    for _ in range(k - 1):
        grow = mass < tau - 1e-12
        if not grow.any():
            break
        left = np.where(low > 0, probs[rows, np.maximum(low - 1, 0)], -1.0)
        right = np.where(high < k - 1, probs[rows, np.minimum(high + 1, k - 1)], -1.0)
        go_left = grow & (left >= right) & (left >= 0)
        go_right = grow & ~go_left & (right >= 0)
        low, high = low - go_left, high + go_right
        mass = mass + np.where(go_left, left, 0.0) + np.where(go_right, right, 0.0)
    return low, high


def contiguous_scores(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The conformity score of each labelled row for `contiguous_sets`: the mass of the smallest such set that
    holds its label. Split conformal takes the ceil((n + 1)(1 - alpha)) / n quantile of these on the calibration
    split as `tau`; the test sets then cover the label with probability at least 1 - alpha."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n, k = probs.shape
    rows = np.arange(n)
    low = high = probs.argmax(1)
    mass = probs[rows, low].copy()
    score = np.where((low <= y) & (y <= high), mass, np.inf)
    for _ in range(k - 1):
        left = np.where(low > 0, probs[rows, np.maximum(low - 1, 0)], -1.0)
        right = np.where(high < k - 1, probs[rows, np.minimum(high + 1, k - 1)], -1.0)
        go_left = (left >= right) & (left >= 0)
        go_right = ~go_left & (right >= 0)
        low, high = low - go_left, high + go_right
        mass = mass + np.where(go_left, left, 0.0) + np.where(go_right, right, 0.0)
        score = np.where(np.isinf(score) & (low <= y) & (y <= high), mass, score)
    return np.asarray(np.minimum(score, 1.0))


def contiguous_hull(members: np.ndarray) -> np.ndarray:
    """Any prediction set (N, K) of booleans widened to the range between its lowest and highest class: a set
    made by another rule (LAC) stays valid for an ordinal head, since widening only adds coverage."""
    members = np.asarray(members, dtype=bool)
    k = members.shape[1]
    idx = np.arange(k)
    low = np.where(members.any(1), np.where(members, idx, k).min(1), 0)
    high = np.where(members.any(1), np.where(members, idx, -1).max(1), -1)
    return np.asarray((idx[None, :] >= low[:, None]) & (idx[None, :] <= high[:, None]))
