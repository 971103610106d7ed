"""Calibration maps from logits to class probabilities: none, Platt, isotonic, temperature.

Each is fitted on the calibration split with scikit-learn or SciPy and held as a small torch module,
so the probabilities the workbench reports and the exported program compute exactly the same thing.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Calibration(nn.Module):
    """logits (N,) for binary or (N, K) for multiclass -> probabilities (N, K), rows summing to 1."""

    def __init__(self, method: str, task: str, n_classes: int, params: dict | None = None):
        super().__init__()
        self.method, self.binary = method, task == "binary"
        params = params or {}
        k = 1 if self.binary else n_classes
        self.register_buffer("temperature", torch.tensor(float(params.get("temperature", 1.0))))
        self.register_buffer("weight", torch.tensor(params.get("weight", np.eye(k).tolist()), dtype=torch.float32))
        self.register_buffer("bias", torch.tensor(params.get("bias", [0.0] * k), dtype=torch.float32))
        knots_x = params.get("knots_x", [[0.0, 1.0]] * k)
        knots_y = params.get("knots_y", [[0.0, 1.0]] * k)
        width = max(len(x) for x in knots_x)
        # Knots padded at the right with the last knot, so one tensor holds every class's curve.
        self.register_buffer("knots_x", torch.tensor([x + [x[-1] + 1.0 + i for i in range(width - len(x))]
                                                      for x in knots_x], dtype=torch.float64))
        self.register_buffer("knots_y", torch.tensor([y + [y[-1]] * (width - len(y)) for y in knots_y],
                                                     dtype=torch.float64))

    def _isotonic(self, p: torch.Tensor) -> torch.Tensor:
        """Piecewise-linear interpolation through each class's knots, clipped at the ends."""
        cols = []
        for k in range(p.shape[1]):
            xs, ys = self.knots_x[k], self.knots_y[k]
            x = p[:, k].to(xs.dtype).clamp(xs[0], xs[-1])
            i = torch.bucketize(x, xs[1:-1])
            x0, x1, y0, y1 = xs[i], xs[i + 1], ys[i], ys[i + 1]
            t = ((x - x0) / (x1 - x0).clamp_min(1e-12)).clamp(0, 1)
            cols.append((y0 + t * (y1 - y0)).to(p.dtype))
        return torch.stack(cols, dim=1)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        z = logits.reshape(-1, 1) if self.binary else logits
        if self.method == "temperature":
            z = z / self.temperature
        elif self.method == "platt":
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
            probs = torch.where(total > 0, q / total.clamp_min(1e-12), probs)
        return probs

    def params(self) -> dict:
        out: dict = {"method": self.method}
        if self.method == "temperature":
            out["temperature"] = float(self.temperature)
        elif self.method == "platt":
            out |= {"weight": self.weight.tolist(), "bias": self.bias.tolist()}
        elif self.method == "isotonic":
            out |= {"knots_x": self.knots_x.tolist(), "knots_y": self.knots_y.tolist()}
        return out

    def probabilities(self, logits) -> np.ndarray:
        with torch.no_grad():
            return self(torch.as_tensor(logits, dtype=torch.float32)).numpy()


def _nll(logits: np.ndarray, y: np.ndarray, binary: bool, temperature: float) -> float:
    z = torch.as_tensor(logits, dtype=torch.float64) / temperature
    target = torch.as_tensor(y)
    if binary:
        return float(nn.functional.binary_cross_entropy_with_logits(z, target.double()))
    return float(nn.functional.cross_entropy(z, target.long()))


def fit(method: str, task: str, n_classes: int, logits: np.ndarray, y: np.ndarray) -> Calibration:
    """Fit `method` on calibration-split logits and labels."""
    binary = task == "binary"
    logits = np.asarray(logits, dtype=np.float64)
    params: dict = {}
    if method == "temperature":
        from scipy.optimize import minimize_scalar

        best = minimize_scalar(lambda log_t: _nll(logits, y, binary, float(np.exp(log_t))),
                               bounds=(-4.0, 4.0), method="bounded")
        params["temperature"] = float(np.exp(best.x))
    elif method == "platt":
        from sklearn.linear_model import LogisticRegression

        fitted = LogisticRegression(C=1e4, max_iter=1000).fit(logits.reshape(len(logits), -1), y)
        weight, bias = fitted.coef_, fitted.intercept_
        if not binary and weight.shape[0] == 1:  # scikit-learn fits two classes as one logit
            weight, bias = np.vstack([-weight / 2, weight / 2]), np.concatenate([-bias / 2, bias / 2])
        params["weight"], params["bias"] = weight.tolist(), bias.tolist()
    elif method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        probs = Calibration("none", task, n_classes).probabilities(logits).astype(np.float64)
        columns = [1] if binary else range(n_classes)
        params["knots_x"], params["knots_y"] = [], []
        for k in columns:
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(probs[:, k], y == k)
            xs, ys = iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist()
            if len(xs) < 2:
                xs, ys = [0.0, 1.0], [ys[0], ys[0]] if ys else [0.0, 1.0]
            params["knots_x"].append(xs)
            params["knots_y"].append(ys)
    elif method != "none":
        raise ValueError(f"unknown calibration method {method}")
    return Calibration(method, task, n_classes, params).eval()
