"""Ordinal heads for K ordered classes, their losses, and their warm start from the regression output.

- CORAL (Cao et al. 2020): one shared score s and K-1 thresholds, P(y > k) = sigmoid(s - t_k). The thresholds
  are `first + cumsum(softplus(gaps))`, so t_0 <= t_1 <= ... holds after any optimiser step, at any rate.
- CORN (Shi et al. 2023): K-1 conditional tasks, P(y > k | y > k-1) = sigmoid(f_k), each with its own weights;
  P(y > k) is their running product, so it cannot rise with k.
- multinomial: K free class scores through a softmax (a multiclass head's probabilities), trained with
  cross-entropy plus CORAL's cumulative loss on its P(y > k) (a class k steps from the truth is charged at k
  thresholds) and decided at the median class. Any distribution's cumulative probabilities fall with k.
- histogram: a softmax over finer bins of the number the classes were cut from (data.fine_bins), trained with
  cross-entropy on those bins and summed into the classes (the histogram loss of Imani and White 2018, its bins
  nested in the classes). It outputs the fine bins' log probabilities while training, where its loss reads them,
  and the classes' in eval mode (validation, evaluation, export).

Every layer outputs **log class probabilities** (N, K). One representation serves everything downstream:
softmax of it is the class probabilities (so an uncalibrated run needs nothing ordinal-specific), partial
log-sum-exps give log P(y > k) and log P(y <= k) exactly, and both losses are computed from it without the
rounding that differencing cumulative probabilities would bring. The decision is the median class (the first
class whose cumulative probability reaches one half), which minimises the expected class distance and does not
move under a temperature: a warm-started head decides exactly as the regression output cut at its thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from workbench.core.errors import RecipeError

MIN_GAP = 1e-6  # the narrowest class a CORAL head can express, in score units (keeps log(width) finite)
DIRECTION = "the regression output falls as the class rises on the train split (negative rank correlation), so " \
            "the head starts from minus the output"
CUTS = "the regression output's own quantiles at the train split's class proportions (midpoints between the " \
       "neighbouring outputs)"


def _inverse_softplus(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp_min(MIN_GAP)
    return x + torch.log(-torch.expm1(-x))


class OrdinalBase(nn.Module):
    """What every ordinal layer carries beside its forward: K, and for the run's metrics what its warm start set
    and head.ordinal auto's pick (choose_head)."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.warm_start: dict[str, Any] | None = None
        self.choice: dict[str, Any] | None = None


class CoralLayer(OrdinalBase):
    """score (N, 1) -> log class probabilities (N, K), with K-1 thresholds that stay ordered."""

    def __init__(self, n_classes: int) -> None:
        super().__init__(n_classes)
        # Cold start: thresholds at the logistic quantiles of 1/K, 2/K, ...: a score of 0 predicts every class
        # equally often (the untrained Linear's scores are near 0).
        start = torch.logit(torch.arange(1, n_classes, dtype=torch.float32) / n_classes)
        self.first = nn.Parameter(start[:1].clone())
        self.gaps = nn.Parameter(_inverse_softplus(start[1:] - start[:-1]))

    def widths(self) -> torch.Tensor:
        """t_k - t_{k-1} for k = 1..K-2, each at least MIN_GAP."""
        return F.softplus(self.gaps) + MIN_GAP

    def thresholds(self) -> torch.Tensor:
        return torch.cat([self.first, self.first + torch.cumsum(self.widths(), 0)])

    def set_thresholds(self, values: list[float]) -> None:
        t = torch.as_tensor(values, dtype=self.first.dtype)
        with torch.no_grad():
            self.first.copy_(t[:1])
            self.gaps.copy_(_inverse_softplus(t[1:] - t[:-1] - MIN_GAP))

    def forward(self, score: torch.Tensor) -> torch.Tensor:
        c = score.reshape(-1, 1) - self.thresholds()  # logit P(y > k)
        above, below = F.logsigmoid(c), F.logsigmoid(-c)
        if self.n_classes == 2:
            return torch.cat([below, above], dim=1)
        # P(y = k) = sigmoid(c_{k-1}) - sigmoid(c_k) = sigmoid(c_{k-1}) sigmoid(-c_k) (1 - exp(-(t_k - t_{k-1}))),
        # from the width itself rather than a difference of two rounded logits.
        middle = above[:, :-1] + below[:, 1:] + torch.log(-torch.expm1(-self.widths()))
        return torch.cat([below[:, :1], middle, above[:, -1:]], dim=1)


class CornLayer(OrdinalBase):
    """conditional logits f (N, K-1) -> log class probabilities (N, K): P(y = k) = P(y > k-1) (1 - sigmoid(f_k))."""

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        f = f.reshape(f.shape[0], -1)
        passed = torch.cumsum(F.logsigmoid(f), dim=1)  # log P(y > k)
        stop = F.logsigmoid(-f)
        return torch.cat([stop[:, :1], passed[:, :-1] + stop[:, 1:], passed[:, -1:]], dim=1)


class MultinomialLayer(OrdinalBase):
    """class scores z (N, K) -> log class probabilities (N, K): log_softmax(z)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(z.reshape(z.shape[0], -1), dim=1)


def block_bounds(sizes: list[int]) -> list[int]:
    """Where each class's block of fine bins starts, and the last one ends: Python ints, which an exported program
    slices by."""
    return [0, *np.cumsum(sizes).astype(int).tolist()]


class HistogramLayer(OrdinalBase):
    """fine bin scores z (N, M) -> log probabilities of the M fine bins while training, of the K classes in eval
    mode: class k's is the log-sum-exp of its block of `sizes[k]` fine bins."""

    def __init__(self, sizes: list[int]) -> None:
        super().__init__(len(sizes))
        self.sizes = [int(s) for s in sizes]
        self.bounds = block_bounds(self.sizes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(z.reshape(z.shape[0], -1), dim=1)
        if self.training:
            return logp
        return torch.cat([torch.logsumexp(logp[:, a:b], dim=1, keepdim=True)
                          for a, b in zip(self.bounds, self.bounds[1:])], dim=1)


LAYERS: dict[str, type[OrdinalBase]] = {"coral": CoralLayer, "corn": CornLayer, "multinomial": MultinomialLayer,
                                        "histogram": HistogramLayer}


def new_layer(kind: str, n_classes: int, fine_sizes: list[int] | None = None) -> OrdinalBase:
    """The ordinal layer of `kind`; a histogram one needs the fine bins per class (data.fine_bins)."""
    if kind == "histogram":
        if not fine_sizes or len(fine_sizes) != n_classes:
            raise RecipeError("the histogram ordinal head needs classes cut from a number into quantile bins, with "
                              "finer bins inside them.", "Choose another ordinal head (coral, corn, multinomial).",
                              field="head.ordinal")
        return HistogramLayer(fine_sizes)
    return LAYERS[kind](n_classes)


def head_outputs(kind: str, n_classes: int, fine_sizes: list[int] | None = None) -> int:
    """What the Linear before the ordinal layer outputs: one score (coral), K-1 conditional logits (corn), K
    class scores (multinomial) or one per fine bin (histogram)."""
    if kind == "histogram":
        return int(sum(fine_sizes or [n_classes]))
    return {"coral": 1, "multinomial": n_classes}.get(kind, n_classes - 1)


def ordinal_layer(model: nn.Module) -> OrdinalBase | None:
    """The model's ordinal layer, if it has one."""
    return next((m for m in model.modules() if isinstance(m, OrdinalBase)), None)


def ordinal_kind(model: nn.Module) -> str:
    layer = ordinal_layer(model)
    return "" if layer is None else next(k for k, kind in LAYERS.items() if isinstance(layer, kind))


def _running_logsumexp(columns: list[torch.Tensor]) -> list[torch.Tensor]:
    """log(exp(a_0) + ... + exp(a_k)) for each k, by pairwise logaddexp: the exported program and ONNX (which has no
    cumulative log-sum-exp) run the same few operations for the K classes."""
    out = [columns[0]]
    for column in columns[1:]:
        out.append(torch.logaddexp(out[-1], column))
    return out


def log_above(logp: torch.Tensor) -> torch.Tensor:
    """log P(y > k) for k = 0..K-2 from log class probabilities, summed from the top class down."""
    columns = _running_logsumexp([logp[:, j] for j in range(logp.shape[1] - 1, 0, -1)])
    return torch.stack(columns[::-1], dim=1)


def log_at_most(logp: torch.Tensor) -> torch.Tensor:
    """log P(y <= k) for k = 0..K-2."""
    return torch.stack(_running_logsumexp([logp[:, j] for j in range(logp.shape[1] - 1)]), dim=1)


def median_class(logp: torch.Tensor) -> torch.Tensor:
    """The median class: how many P(y > k) reach one half (for K = 2, the binary rule p(positive) >= 0.5)."""
    return (log_above(logp) >= math.log(0.5)).sum(1)


class OrdinalLoss(nn.Module):
    """CORAL's loss (binary cross-entropy of each P(y > k), summed over k, averaged over rows), CORN's (each
    conditional task's cross-entropy over the rows that reach it, averaged over those row-task pairs: per row,
    -log P(y = label)), or the multinomial head's: cross-entropy plus CORAL's loss on its cumulative
    probabilities, both proper scoring rules, so the sum is one too. Equal to coral_pytorch's coral_loss and
    corn_loss (plus torch's cross_entropy) on the same heads (tested); or the histogram head's cross-entropy, of
    its fine bins while training and of its classes at validation. Class weights weight each row by its class."""

    weight: torch.Tensor | None
    fine_weight: torch.Tensor | None

    def __init__(self, kind: str, n_classes: int, weight: torch.Tensor | None = None,
                 fine_sizes: list[int] | None = None) -> None:
        super().__init__()
        self.kind, self.n_classes = kind, n_classes
        self.register_buffer("weight", weight)
        # the histogram head's fine bins carry their class's weight
        self.register_buffer("fine_weight", None if weight is None or not fine_sizes else weight.repeat_interleave(
            torch.as_tensor(fine_sizes)))

    def forward(self, logp: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.long()
        weight = self.weight
        if self.kind == "histogram" and logp.shape[1] != self.n_classes and self.fine_weight is not None:
            weight = self.fine_weight
        rows = weight[target] if weight is not None else torch.ones_like(logp[:, 0])
        if self.kind == "histogram":  # the fine bins' cross-entropy while training, the classes' at validation
            return -(rows * logp.gather(1, target[:, None]).squeeze(1)).mean()
        if self.kind == "corn":
            tasks = torch.clamp(target, max=self.n_classes - 2) + 1  # the tasks a row takes part in
            nll = -logp.gather(1, target[:, None]).squeeze(1)
            return (rows * nll).sum() / (rows * tasks).sum()
        levels = (target[:, None] > torch.arange(self.n_classes - 1, device=logp.device)).to(logp.dtype)
        terms = levels * log_above(logp) + (1 - levels) * log_at_most(logp)
        cumulative = -(rows * terms.sum(1)).mean()
        if self.kind == "multinomial":
            return cumulative - (rows * logp.gather(1, target[:, None]).squeeze(1)).mean()
        return cumulative


@dataclass(frozen=True)
class OrdinalWarmStart:
    """How an ordinal head starts from the regression output r: CORAL's score is scale * r with thresholds
    scale * cuts; CORN's conditional logits are scale_k * r + offset_k (its own per-task logistic fits); the
    multinomial head's class scores are scale_k * r + offset_k, whose largest is the class r falls in
    (softmax_warm_start_fit, the multiclass head's warm start on ordered classes)."""

    kind: str
    scale: list[float]
    offset: list[float]
    cuts: list[float] = field(default_factory=list)  # in the units of direction * the regression output (coral)
    direction: float = 1.0  # -1: the output falls as the class rises (classes ordered against it)

    def thresholds(self) -> list[float]:
        return [self.scale[0] * self.direction * c for c in self.cuts]

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "scale": self.scale, "direction": self.direction}
        if self.direction < 0:
            out["direction_from"] = DIRECTION
        if self.kind == "coral":
            out |= {"cuts": self.cuts, "cuts_from": CUTS,
                    "scale_from": "maximum likelihood of the cumulative logistic model on the train split, "
                                  "thresholds fixed at the cuts"}
        elif self.kind == "corn":
            out |= {"offset": self.offset, "fit": "a logistic regression of each conditional task on the "
                                                  "regression output, over the train rows that reach it"}
        else:
            unit = "fine bin" if self.kind == "histogram" else "class"
            out |= {"offset": self.offset, "fit": f"a logistic regression of each '{unit} >= k' on the regression "
                                                  f"output, summed into {unit} scores that rise and fall with it"}
        return out


def direction(regression: np.ndarray, y: np.ndarray) -> float:
    """+1 when the regression output rises with the class on the train split (Spearman's rank correlation at
    least 0), -1 when it falls: classes given in the other order (high, medium, low) are cut from -output."""
    from scipy.stats import spearmanr

    rho = spearmanr(np.asarray(regression, dtype=np.float64), np.asarray(y, dtype=np.float64)).statistic
    return -1.0 if np.isfinite(rho) and rho < 0 else 1.0


def output_cuts(regression: np.ndarray, y: np.ndarray, n_classes: int) -> list[float]:
    """Cut points in the regression output's units: between the sorted outputs where the train split's class
    counts place the class boundaries, so the cut reproduces the train split's class proportions."""
    r = np.sort(np.asarray(regression, dtype=np.float64))
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
    if (counts == 0).any():
        raise RecipeError("an ordinal warm start needs every class in the train split.", "Turn warm start off.")
    below = np.cumsum(counts)[:-1]  # rows under each boundary
    return [float((r[m - 1] + r[m]) / 2) for m in below]


def cut_classes(regression: np.ndarray, cuts: list[float]) -> np.ndarray:
    """The regression cut's classes: how many cut points the output reaches (the warm-started CORAL head's rule)."""
    return np.asarray(np.searchsorted(np.asarray(cuts), np.asarray(regression, dtype=np.float64), side="right"))


def _cumulative_nll(scale: float, r: np.ndarray, y: np.ndarray, cuts: np.ndarray) -> float:
    c = scale * (r[:, None] - cuts[None, :])
    above = np.concatenate([np.ones((len(r), 1)), 1 / (1 + np.exp(-c)), np.zeros((len(r), 1))], axis=1)
    p = above[np.arange(len(r)), y] - above[np.arange(len(r)), y + 1]
    return float(-np.log(np.clip(p, 1e-12, 1.0)).mean())


def softmax_warm_start_fit(regression: np.ndarray, y: np.ndarray, n_classes: int,
                           sign: float | None = None) -> tuple[list[float], list[float]]:
    """Per-class scale and offset so that a softmax head starts from the regression's ordering (`sign`: the
    output's `direction`, read from `regression` and `y` when not given).

    For ordered classes (quantile bins), a logistic fit of "class >= k" on the regression output gives a
    cut point t_k and a slope a_k. With logit_k = sum_{j<=k} a_j (r - t_j), the logit of class k beats
    class k-1 exactly when r passes t_k: argmax picks the bin the regression output falls in.
    """
    from sklearn.linear_model import LogisticRegression

    sign = direction(regression, y) if sign is None else sign  # classes ordered against the output: from -output
    regression = sign * np.asarray(regression, dtype=np.float64)
    slopes: list[float] = []
    cuts: list[float] = []
    for k in range(1, n_classes):
        above = (y >= k).astype(int)
        if above.min() == above.max():
            raise RecipeError("warm start for ordered classes needs every class in the train split.",
                              "Turn warm start off.")
        fit = LogisticRegression(C=1e4).fit(regression.reshape(-1, 1), above)
        slope = max(float(fit.coef_[0, 0]), 1e-6)
        slopes.append(slope)
        cuts.append(-float(fit.intercept_[0]) / slope)
    scale = sign * np.concatenate([[0.0], np.cumsum(slopes)])
    offset = np.concatenate([[0.0], -np.cumsum(np.multiply(slopes, cuts))])
    return [float(v) for v in scale], [float(v) for v in offset]


def ordinal_warm_start_fit(regression: np.ndarray, y: np.ndarray, n_classes: int,
                           kind: str = "coral") -> OrdinalWarmStart:
    """The warm start of an ordinal head from the train split's regression outputs and labels."""
    r = np.asarray(regression, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.int64)
    if kind == "multinomial":
        sign = direction(r, y)
        return OrdinalWarmStart("multinomial", *softmax_warm_start_fit(r, y, n_classes, sign), direction=sign)
    if kind == "corn":
        from sklearn.linear_model import LogisticRegression

        scales, offsets = [], []
        for k in range(n_classes - 1):
            reach = y >= k
            fit = LogisticRegression(C=1e4).fit(r[reach].reshape(-1, 1), (y[reach] > k).astype(int))
            scales.append(float(fit.coef_[0, 0]))
            offsets.append(float(fit.intercept_[0]))
        return OrdinalWarmStart("corn", scales, offsets)
    from scipy.optimize import minimize_scalar

    sign = direction(r, y)
    r = sign * r  # the score rises with the class either way
    cuts = output_cuts(r, y, n_classes)
    spread = float(np.std(r)) or 1.0
    # Any positive scale keeps the cut's decisions; the likelihood picks the one whose probabilities fit.
    best = minimize_scalar(lambda log_a: _cumulative_nll(math.exp(log_a), r, y, np.asarray(cuts)),
                           bounds=(math.log(1e-2 / spread), math.log(1e3 / spread)), method="bounded")
    return OrdinalWarmStart("coral", [sign * float(math.exp(best.x))], [0.0], cuts, sign)


def apply_warm_start(layer: nn.Module, warm: OrdinalWarmStart) -> None:
    """The ordinal layer's part of a warm start (the Linear before it is set by heads)."""
    if isinstance(layer, CoralLayer):
        layer.set_thresholds(warm.thresholds())
    if isinstance(layer, OrdinalBase):
        layer.warm_start = warm.describe()


# head.ordinal = "auto": multinomial when a linear probe on the regression head's input features orders the
# validation rows clearly better than the regression output cut does (class distance under this share of the cut's),
# CORAL otherwise. See choose_head and benchmarks/ordinal.py.
PROBE_SHARE = 0.75


def class_distance(predicted: np.ndarray, y: np.ndarray) -> float:
    return float(np.abs(np.asarray(predicted, dtype=np.int64) - np.asarray(y, dtype=np.int64)).mean())


def probe_probabilities(train_x: np.ndarray, train_y: np.ndarray, x: np.ndarray, n_out: int) -> np.ndarray:
    """A multinomial logistic regression on the standardised features (train rows): x's probabilities of the
    n_out labels (zero for a label the train rows lack)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(train_x, train_y)
    out = np.zeros((len(x), n_out))
    out[:, probe.classes_] = probe.predict_proba(x)
    return out


def summed(p: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Fine bins' probabilities (N, M) summed into their classes (N, K): the histogram head's rule."""
    return np.asarray(np.add.reduceat(p, block_bounds(sizes)[:-1], axis=1))


def median_of(p: np.ndarray) -> np.ndarray:
    """The median class of class probabilities (N, K)."""
    return np.asarray((np.cumsum(p, axis=1)[:, :-1] < 0.5).sum(1))


def choose_head(regression: dict[str, np.ndarray], features: dict[str, np.ndarray], y: dict[str, np.ndarray],
                n_classes: int, fine: dict[str, np.ndarray] | None = None,
                fine_sizes: list[int] | None = None) -> dict[str, Any]:
    """head.ordinal = "auto" from the train and validation splits ("train", "val" keys), without training a head.

    CORAL's one score starts as the regression output and mostly keeps its ordering; the multinomial head gives
    each class its own weights on the features. So: cut the output at the train split's quantiles (the warm
    start's cut) and fit a linear probe on the regression head's input features; when the probe's validation class
    distance is under PROBE_SHARE of the cut's, the features say more about the order than the one output does:
    multinomial, started cold (workflow.pipeline: a warm start would begin from the output just judged the weaker
    signal). Multinomial rather than CORN there: on the digits demo's value bins over 30 paired seeds, both lose
    about 0.004 accuracy to a softmax head; the multinomial head's class distance is +0.0014 [-0.0022, +0.0049]
    from softmax's, CORN's (started cold) +0.0036 [-0.0018, +0.0090] (see benchmarks/ordinal.py --paired).
    With `fine` bins inside the classes (quantile bins; data.fine_bins): a second probe learns the fine bins, its
    probabilities summed into the classes; when its validation class distance at the median class is no larger
    than the class probe's, histogram (started cold) instead of multinomial. On the digits value bins (two digits
    a bin, unalike in shape) it picks histogram on 29 of 30 seeds, and auto - softmax is +0.0069 accuracy
    [+0.0038, +0.0101] and -0.0131 class distance [-0.0204, -0.0059] (benchmarks/ordinal.py --paired)."""
    sign = direction(regression["train"], y["train"])
    cut = cut_classes(sign * regression["val"], output_cuts(sign * regression["train"], y["train"], n_classes))
    cut_distance = class_distance(cut, y["val"])
    probe = probe_probabilities(features["train"], y["train"], features["val"], n_classes)
    probe_distance = class_distance(probe.argmax(1), y["val"])
    kind = "multinomial" if probe_distance < PROBE_SHARE * cut_distance else "coral"
    out: dict[str, Any] = {"chosen": kind, "cut_distance": cut_distance, "probe_distance": probe_distance,
           "rule": f"multinomial (started cold) when a linear probe on the head's input features has a validation "
                   f"class distance under {PROBE_SHARE} x the regression output cut's; coral (warm-started) otherwise"}
    if kind == "multinomial" and fine is not None and fine_sizes:
        fine_probe = summed(probe_probabilities(features["train"], fine["train"], features["val"], sum(fine_sizes)),
                            fine_sizes)
        out["class_probe_median_distance"] = class_distance(median_of(probe), y["val"])
        out["fine_probe_distance"] = class_distance(median_of(fine_probe), y["val"])
        out["rule"] += ("; histogram (started cold) instead of multinomial when a probe on the finer bins inside the "
                        "classes, summed into them, has a validation class distance (median class) no larger than "
                        "the class probe's")
        if out["fine_probe_distance"] <= out["class_probe_median_distance"]:
            out["chosen"] = "histogram"
    return out
