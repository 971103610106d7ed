"""Calibration maps from logits to class probabilities: none, Platt, isotonic, temperature, matrix.

Each is fitted on the calibration split with scikit-learn or SciPy and held as a small torch module,
so the probabilities the workbench reports and the exported program compute exactly the same thing.
Multiclass "platt" is vector scaling (a per-class scale and bias, Guo et al. 2017) and "matrix" full matrix
scaling; both are penalised towards the identity, since K*K parameters fitted on a small calibration split
overfit. A fit that ends on its bound says so in `notes`.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench.core.evaluate.ordinal_calibrate import OrdinalCalibration

CHUNK_VALUES = 1 << 22  # logits per block in `probabilities`


class Calibration(nn.Module):
    """logits (N,) for binary or (N, K) for multiclass -> probabilities (N, K), rows summing to 1."""

    # buffers, registered in __init__
    temperature: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    knot_offsets: torch.Tensor
    knots_x: torch.Tensor
    knots_y: torch.Tensor
    knot_keys: torch.Tensor

    def __init__(self, method: str, task: str, n_classes: int, params: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.method, self.binary = method, task == "binary"
        self.notes: list[str] = []  # what the fit wants the user to know (a bound reached)
        params = params or {}
        k = 1 if self.binary else n_classes
        self.register_buffer("temperature", torch.tensor(float(params.get("temperature", 1.0))))
        # The K x K matrix exists only for Platt and matrix scaling: an identity placeholder for every method
        # made every export quadratic in K.
        platt = method in ("platt", "matrix")
        self.register_buffer("weight", torch.tensor(params.get("weight", np.eye(k).tolist()) if platt else
                                                    np.zeros((0, k)), dtype=torch.float32))
        self.register_buffer("bias", torch.tensor(params.get("bias", [0.0] * k) if platt else [],
                                                  dtype=torch.float32))
        isotonic = method == "isotonic"
        knots_x = params.get("knots_x", [[0.0, 1.0]] * k) if isotonic else []
        knots_y = params.get("knots_y", [[0.0, 1.0]] * k) if isotonic else []
        # Sessions saved before knots were stored flat padded them past 1.0; probabilities never reach those.
        pairs = [[(a, b) for a, b in zip(x, y) if a <= 1.0] or list(zip(x, y)) for x, y in zip(knots_x, knots_y)]
        knots_x, knots_y = [[a for a, _ in c] for c in pairs], [[b for _, b in c] for c in pairs]
        # Every class's knots in one flat tensor with per-class offsets: storage and the exported program grow
        # with the number of knots, never with classes x the longest curve (padding made it quadratic).
        lengths = [len(x) for x in knots_x]
        self.register_buffer("knot_offsets", torch.tensor([0, *np.cumsum(lengths).tolist()], dtype=torch.long))
        self.register_buffer("knots_x", torch.tensor([v for x in knots_x for v in x], dtype=torch.float64))
        self.register_buffer("knots_y", torch.tensor([v for y in knots_y for v in y], dtype=torch.float64))
        # Class c's knots shifted by 2c (probabilities lie in [0, 1]) are one sorted sequence, so a single
        # bucketize finds every class's segment at once, with no per-class loop in the program.
        shift = 2.0 * torch.repeat_interleave(torch.arange(len(lengths), dtype=torch.float64),
                                              torch.tensor(lengths, dtype=torch.long))
        self.register_buffer("knot_keys", self.knots_x + shift)

    def _isotonic(self, p: torch.Tensor) -> torch.Tensor:
        """Piecewise-linear interpolation through each class's knots, clipped at the ends."""
        first, last = self.knot_offsets[:-1], self.knot_offsets[1:] - 1
        x = p.to(torch.float64)
        shift = 2.0 * torch.arange(p.shape[1], dtype=torch.float64, device=p.device)
        # A probability outside a class's knots lands on its first or last segment, where t clamps to 0 or 1:
        # the ends are held without clipping x first (each pass over N x K values counts at thousands of classes).
        i = torch.minimum(torch.maximum(torch.bucketize(x + shift, self.knot_keys) - 1, first),
                          torch.clamp(last - 1, min=0))
        j = torch.minimum(i + 1, last)
        x0, y0 = self.knots_x[i], self.knots_y[i]
        t = ((x - x0) / (self.knots_x[j] - x0).clamp_min(1e-12)).clamp(0, 1)
        return (y0 + t * (self.knots_y[j] - y0)).to(p.dtype)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        z = logits.reshape(-1, 1) if self.binary else logits
        if self.method == "temperature":
            z = z / self.temperature
        elif self.method in ("platt", "matrix"):
            z = z @ self.weight.T + self.bias
        if self.binary:
            p1 = torch.sigmoid(z)
            if self.method == "isotonic":
                p1 = self._isotonic(p1)
            return torch.cat([1 - p1, p1], dim=1)
        probs = torch.softmax(z, dim=1)
        if self.method == "isotonic":
            q = self._isotonic(probs)
            total = q.sum(dim=1, keepdim=True)
            # A row every class's curve maps to 0 says nothing: uniform, as scikit-learn's calibrator does.
            probs = torch.where(total > 0, q / total.clamp_min(1e-12), torch.full_like(q, 1.0 / q.shape[1]))
        return probs

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method}
        if self.method == "temperature":
            out["temperature"] = float(self.temperature)
        elif self.method in ("platt", "matrix"):
            out |= {"weight": self.weight.tolist(), "bias": self.bias.tolist()}
        elif self.method == "isotonic":
            bounds = self.knot_offsets.tolist()
            xs, ys = self.knots_x.tolist(), self.knots_y.tolist()
            out |= {"knots_x": [xs[a:b] for a, b in itertools.pairwise(bounds)],
                    "knots_y": [ys[a:b] for a, b in itertools.pairwise(bounds)]}
        return out

    def probabilities(self, logits: np.ndarray | torch.Tensor) -> np.ndarray:
        z = torch.as_tensor(logits, dtype=torch.float32)
        # in blocks of rows: isotonic curves over thousands of classes make a dozen N x K temporaries otherwise
        rows = max(1, CHUNK_VALUES // max(1, z.shape[1] if z.ndim > 1 else 1))
        with torch.no_grad():
            return np.concatenate([self(part).numpy() for part in torch.split(z, rows)]) if len(z) else \
                np.asarray(self(z).numpy())


def _nll(logits: np.ndarray, y: np.ndarray, binary: bool, temperature: float) -> float:
    z = torch.as_tensor(logits, dtype=torch.float64) / temperature
    target = torch.as_tensor(y)
    if binary:
        return float(nn.functional.binary_cross_entropy_with_logits(z, target.double()))
    return float(nn.functional.cross_entropy(z, target.long()))


LOG_T_BOUNDS = (-4.0, 4.0)  # temperature within [0.018, 55]
PENALTY = 1.0  # L2 pull of vector/matrix scaling towards the identity, in units of one calibration row's NLL


def scaling_fit(logits: np.ndarray, y: np.ndarray, full: bool, penalty: float = PENALTY) -> tuple[np.ndarray,
                                                                                                 np.ndarray]:
    """Vector (diagonal) or matrix scaling of multiclass logits by L-BFGS: mean NLL of softmax(z W^T + b) plus
    penalty / n * (||W - I||^2 + ||b||^2). Returns (W, b)."""
    from scipy.optimize import minimize

    z = torch.as_tensor(logits, dtype=torch.float64)
    target = torch.as_tensor(np.asarray(y), dtype=torch.long)
    n, k = z.shape
    eye = torch.eye(k, dtype=torch.float64)

    def unpack(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = theta[:k * k].reshape(k, k) if full else torch.diag(theta[:k])
        return w, theta[-k:]

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        theta = torch.as_tensor(flat, dtype=torch.float64).requires_grad_(True)
        w, b = unpack(theta)
        loss = nn.functional.cross_entropy(z @ w.T + b, target) + penalty / n * (((w - eye) ** 2).sum()
                                                                                 + (b ** 2).sum())
        loss.backward()
        assert theta.grad is not None  # backward() filled it
        return float(loss.detach()), theta.grad.detach().numpy().copy()

    start = np.concatenate([eye.numpy().ravel() if full else np.ones(k), np.zeros(k)])
    found = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    w, b = unpack(torch.as_tensor(found.x))
    return w.numpy(), b.numpy()


def isotonic_knots(probs: np.ndarray, y: np.ndarray, columns: Any) -> tuple[list[list[float]], list[list[float]]]:
    """Each class's one-vs-rest isotonic curve as knots: what scikit-learn's IsotonicRegression(y_min=0, y_max=1)
    keeps as X_thresholds_ / y_thresholds_, computed with one sort of every column at once and SciPy's PAV (what
    scikit-learn calls) per class, so thousands of classes take seconds, not the minutes that thousands of
    estimator fits (each validating its input) take."""
    from scipy.optimize import isotonic_regression

    columns = list(columns)
    scores = np.ascontiguousarray(probs[:, columns].T)  # one row per class: each sort reads contiguous memory
    order = np.argsort(scores, axis=1)
    knots_x, knots_y = [], []
    for c, k in enumerate(columns):
        x = scores[c, order[c]]
        target = (y[order[c]] == k).astype(np.float64)
        # tied scores become one point: their mean target, weighted by their count (sklearn's _make_unique)
        starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
        weight = np.diff(np.r_[starts, len(x)]).astype(np.float64)
        xs = x[starts]
        ys = np.clip(isotonic_regression(np.add.reduceat(target, starts) / weight, weights=weight).x, 0.0, 1.0)
        keep = np.ones(len(ys), dtype=bool)  # drop points inside a flat run, as sklearn's trim_duplicates does
        keep[1:-1] = (ys[1:-1] != ys[:-2]) | (ys[1:-1] != ys[2:])
        kx, ky = xs[keep].tolist(), ys[keep].tolist()
        if len(kx) < 2:
            kx, ky = [0.0, 1.0], [ky[0], ky[0]] if ky else [0.0, 1.0]
        knots_x.append(kx)
        knots_y.append(ky)
    return knots_x, knots_y


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one thread: these fits are a few hundred tiny operations, and on a busy two-core machine two
    intra-op threads made vector scaling of 144 x 10 logits take 2.1 s instead of 0.27 s."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


AnyCalibration = Calibration | OrdinalCalibration  # an ordinal head's maps keep the classes' order


def fit(method: str, task: str, n_classes: int, logits: np.ndarray, y: np.ndarray) -> AnyCalibration:
    """Fit `method` on calibration-split logits and labels (an ordinal head's: see ordinal_calibrate)."""
    with one_thread():
        if task == "ordinal":
            from workbench.core.evaluate import ordinal_calibrate

            return ordinal_calibrate.fit(method, n_classes, logits, y)
        return _fit(method, task, n_classes, logits, y)


def _fit(method: str, task: str, n_classes: int, logits: np.ndarray, y: np.ndarray) -> Calibration:
    binary = task == "binary"
    logits = np.asarray(logits, dtype=np.float64)
    params: dict[str, Any] = {}
    notes: list[str] = []
    if method == "temperature":
        from scipy.optimize import minimize_scalar

        best = minimize_scalar(lambda log_t: _nll(logits, y, binary, float(np.exp(log_t))),
                               bounds=LOG_T_BOUNDS, method="bounded")
        params["temperature"] = float(np.exp(best.x))
        if min(abs(best.x - bound) for bound in LOG_T_BOUNDS) < 1e-3:
            notes.append(f"the temperature fit stopped at its bound (T = {params['temperature']:.3g}): the calibration "
                         "split is probably separable or degenerate, so the fitted temperature is arbitrary. "
                         "Use a larger calibration split, or calibration none.")
    elif method in ("platt", "matrix") and not binary:
        weight, bias = scaling_fit(logits, y, full=method == "matrix")
        params["weight"], params["bias"] = weight.tolist(), bias.tolist()
    elif method == "matrix":
        raise ValueError("matrix scaling is for multiclass heads; binary heads use platt")
    elif method == "platt":
        from sklearn.linear_model import LogisticRegression

        fitted = LogisticRegression(C=1e4, max_iter=1000).fit(logits.reshape(len(logits), -1), y)
        weight, bias = fitted.coef_, fitted.intercept_
        if not binary and weight.shape[0] == 1:  # scikit-learn fits two classes as one logit
            weight, bias = np.vstack([-weight / 2, weight / 2]), np.concatenate([-bias / 2, bias / 2])
        params["weight"], params["bias"] = weight.tolist(), bias.tolist()
    elif method == "isotonic":
        probs = Calibration("none", task, n_classes).probabilities(logits).astype(np.float64)
        params["knots_x"], params["knots_y"] = isotonic_knots(probs, np.asarray(y), [1] if binary else
                                                              range(n_classes))
    elif method != "none":
        raise ValueError(f"unknown calibration method {method}")
    fitted = Calibration(method, task, n_classes, params).eval()
    fitted.notes = notes
    return fitted
