"""Inputs on another scale than the model was trained on: `data.standardize` and `data.normalize` auto.

A model trained on standardised features and fed the raw table (features around 1e4) has first-layer
pre-activations in the thousands, saturating or collapsing what follows, and training from there fails; an image
model trained on pixels normalised to (0.5, 0.5) and fed 0..1 pixels may rank its inputs backwards (AUC below 0.5).
The evidence is read on the train split before training, from the model as it came:

- how well the model's own output orders the train split's labels (Spearman's rank correlation; for two classes
  it is the AUC's ordering) under each candidate scale: the model's regression output says what it was trained on;
- for tables, how large the first layer's pre-activations are: a model trained on unit-scale inputs has them near
  1 on such inputs, and hundreds of times larger on raw columns of a large scale.

A candidate replaces the plain inputs only where that evidence is clear (MARGIN); the note says what was chosen
and why, with the numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from workbench.core import notes as N

if TYPE_CHECKING:
    from workbench.core.data.samples import LazySamples

SAMPLE = 512  # train rows the evidence is read on
MARGIN = 0.1  # rank correlation a candidate must gain over the plain inputs to replace them
# Columns whose mean and spread are within these bounds are already on a unit-like scale: nothing to decide.
UNIT_MEAN, UNIT_SPREAD = 5.0, (0.2, 5.0)
# First-layer pre-activations this many times larger on the raw columns than on standardised ones (and above
# SATURATED in absolute size) say the model was trained on standardised inputs.
BLOWUP, SATURATED = 30.0, 10.0


SHOWN = {"none": "0..1 pixels as they are", "custom": "mean 0.5 and std 0.5 per channel",
         "imagenet": "ImageNet's mean and std"}


@dataclass
class ScaleChoice:
    chosen: str  # a candidate's name
    note: N.Note | None


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    # ties share their mean rank, so a constant output scores 0 rather than an arbitrary order
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return np.asarray(sums[inverse] / counts[inverse])


def rank_correlation(output: np.ndarray, y: np.ndarray) -> float:
    """Spearman's correlation of the model's output with the labels (0 where either is constant or not finite)."""
    output = np.nan_to_num(np.asarray(output, dtype=np.float64), nan=0.0, posinf=1e300, neginf=-1e300)
    a, b = _ranks(output), _ranks(np.asarray(y, dtype=np.float64))
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def _first_output(model: nn.Module, X: torch.Tensor) -> np.ndarray | None:
    """The model's first output value per row (its regression output), or None when it does not run."""
    model.eval()
    try:
        with torch.inference_mode():
            out = model(X)
    except Exception:  # noqa: BLE001 - a model that does not take these inputs gives no evidence here
        return None
    if not isinstance(out, torch.Tensor) or out.ndim == 0 or len(out) != len(X):
        return None
    return out.reshape(len(X), -1)[:, 0].float().numpy()


def _evidence(model: nn.Module, X: torch.Tensor) -> tuple[np.ndarray | None, float | None]:
    """From one run of the model on X: its first output value per row (`_first_output`) and the median
    |pre-activation| of its first Linear or convolution (None where there is none)."""
    first = next((m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))), None)
    if first is None:
        return _first_output(model, X), None
    seen: list[torch.Tensor] = []
    hook = first.register_forward_hook(lambda _m, _i, out: seen.append(out.detach()))
    try:
        output = _first_output(model, X)
    finally:
        hook.remove()
    return output, float(seen[0].abs().median()) if seen else None


def _sample(n: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).permutation(n)[:SAMPLE])


def choose_standardize(model: nn.Module, X: np.ndarray | LazySamples, y: np.ndarray, mean: np.ndarray, std: np.ndarray,
                       ordered: bool, seed: int = 0, among: np.ndarray | None = None) -> ScaleChoice:
    """`data.standardize` auto for a table: "on" or "off", from the train split `X` (raw), its labels `y` and
    the train split's per-column `mean` and `std`; or, with `among` (the train split's row numbers), from those
    rows of the whole table's `X` and `y`, of which only the SAMPLE read are copied. `ordered`: the labels' order
    means something (a threshold, bins, ordinal classes); otherwise only the correlation's size counts."""
    spread = np.asarray(std, dtype=np.float64).ravel()
    centre = np.abs(np.asarray(mean, dtype=np.float64)).ravel()
    if (centre <= UNIT_MEAN).all() and ((spread >= UNIT_SPREAD[0]) & (spread <= UNIT_SPREAD[1])).all():
        return ScaleChoice("off", None)  # already unit-like: standardising would change little
    rows = _sample(len(X), seed) if among is None else np.asarray(among)[_sample(len(among), seed)]
    raw = torch.as_tensor(np.asarray(X[rows], dtype=np.float32))
    scaled = (raw - torch.as_tensor(mean)) / torch.as_tensor(std)
    score = _scorer(y[rows], ordered)
    (raw_out, raw_size), (std_out, std_size) = _evidence(model, raw), _evidence(model, scaled)
    raw_score, std_score = score(raw_out), score(std_out)
    blown = raw_size is not None and std_size is not None and raw_size > SATURATED and \
        raw_size > BLOWUP * max(std_size, 1e-12)
    scale = f"columns' means up to {centre.max():.3g} and spreads {spread.min():.3g} to {spread.max():.3g}"
    if std_score > raw_score + MARGIN or (blown and std_score >= raw_score - MARGIN / 5):
        why = [f"the model's output orders the train labels with rank correlation {std_score:.2f} on standardised "
               f"inputs against {raw_score:.2f} on the raw columns"]
        if blown:
            assert raw_size is not None and std_size is not None  # blown says so
            why.append(f"its first layer's pre-activations are about {raw_size / max(std_size, 1e-12):.0f} "
                       f"times larger on the raw columns (median {raw_size:.3g})")
        return ScaleChoice("on", N.info(
            f"Inputs standardised (data.standardize auto): {scale}, and {' and '.join(why)}, so the model was "
            "likely trained on standardised inputs. The export standardises inside the program.",
            "standardized_auto", "data.standardize"))
    if raw_score > std_score + MARGIN:
        return ScaleChoice("off", N.info(
            f"Inputs kept on their own scale (data.standardize auto): {scale}, but the model's output orders the "
            f"train labels better on the raw columns (rank correlation {raw_score:.2f} against {std_score:.2f} "
            "standardised).", "standardize_kept_off", "data.standardize"))
    return ScaleChoice("off", None)


def _scorer(y: np.ndarray, ordered: bool) -> Callable[[np.ndarray | None], float]:
    def score(output: np.ndarray | None) -> float:
        if output is None:
            return 0.0
        r = rank_correlation(output, y)
        return r if ordered else abs(r)
    return score


def choose_image_normalization(model: nn.Module, pixels: np.ndarray, y: np.ndarray,
                               candidates: dict[str, tuple[np.ndarray, np.ndarray] | None], default: str,
                               ordered: bool) -> ScaleChoice:
    """`data.normalize` auto for an image model that is not a recognised torchvision architecture: the candidate
    (none, (0.5, 0.5), ImageNet's) under which the model's output orders the train labels best, where it beats
    `default` by MARGIN. `pixels`: a sample of the train split's 0..1 images (N, C, H, W)."""
    x = torch.as_tensor(np.asarray(pixels, dtype=np.float32))
    score = _scorer(y, ordered)
    scores = {}
    for name, stats in candidates.items():
        inputs = x if stats is None else (x - torch.as_tensor(stats[0])) / torch.as_tensor(stats[1])
        scores[name] = score(_first_output(model, inputs))
    best = max(scores, key=lambda k: scores[k])
    if best == default or scores[best] <= scores[default] + MARGIN:
        return ScaleChoice(default, None)
    listed = ", ".join(f"{SHOWN.get(k, k)} {v:.2f}" for k, v in scores.items())
    return ScaleChoice(best, N.info(
        f"Images normalised with {SHOWN.get(best, best)} (data.normalize auto): the model's output orders the "
        f"train labels best that way (rank correlation: {listed}), so its images were likely normalised so in "
        "training. The export "
        "normalises inside the program.", "normalize_auto", "data.normalize"))
