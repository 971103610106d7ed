"""Training losses for a binary (one logit), multiclass (K logits) or ordinal (see ordinal) head."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from workbench.core.recipe import TrainRecipe
from workbench.core.recipe_unused import loss_name as loss_name


class FocalLoss(nn.Module):
    """Focal loss (Lin et al. 2017): cross-entropy scaled by (1 - p_true)^gamma, optional class weights."""

    weight: torch.Tensor | None  # a buffer, registered in __init__

    def __init__(self, gamma: float, binary: bool, weight: torch.Tensor | None = None) -> None:
        super().__init__()
        self.gamma, self.binary = gamma, binary
        self.register_buffer("weight", weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.binary:
            logits = torch.stack([torch.zeros_like(logits), logits], dim=1)
            target = target.long()
        log_p = F.log_softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
        loss = -((1 - log_p.exp()) ** self.gamma) * log_p
        if self.weight is not None:
            loss = loss * self.weight[target]
        return loss.mean()


def build_loss(train: TrainRecipe, task: str, n_classes: int, ordinal: str = "coral",
               fine_sizes: list[int] | None = None) -> nn.Module:
    """The loss; binary losses take float targets in {0, 1}, multiclass and ordinal ones integer codes.
    `ordinal`: the ordinal head's kind, whose loss an ordinal task trains with; `fine_sizes`: a histogram head's
    fine bins per class."""
    name = loss_name(train, task)
    weights = torch.tensor(train.class_weights, dtype=torch.float32) if train.class_weights else None
    if weights is not None and len(weights) != n_classes:
        from workbench.core.errors import RecipeError

        raise RecipeError(f"{len(weights)} class weights were given for {n_classes} classes.",
                          "Give one weight per class, in class order.")
    if name == "ordinal":
        from workbench.core.train.ordinal import OrdinalLoss

        return OrdinalLoss(ordinal, n_classes, weights, fine_sizes)
    if name == "bce":
        pos = train.pos_weight if train.pos_weight is not None else (
            float(weights[1] / weights[0]) if weights is not None else None)
        return nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos) if pos is not None else None)
    if name == "focal":
        if task == "binary" and train.pos_weight is not None:
            weights = torch.tensor([1.0, train.pos_weight])
        return FocalLoss(train.focal_gamma, task == "binary", weights)
    return nn.CrossEntropyLoss(weight=weights, label_smoothing=train.label_smoothing)


def proposed_weights(counts: list[int] | np.ndarray) -> list[float]:
    """Balanced class weights n / (K * count_k), as scikit-learn's 'balanced' heuristic."""
    counts = np.asarray(counts, dtype=np.float64)
    return [float(w) for w in (counts.sum() / (len(counts) * counts)).round(4)]


def imbalance_proposal(counts: list[int] | np.ndarray, task: str, skew: float = 1.5) -> dict[str, Any] | None:
    """Loss weights to propose when the largest class outnumbers the smallest by more than `skew`, else None.

    Binary heads get `pos_weight` = negatives / positives (BCE's own convention); multiclass heads get
    balanced class weights.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.min() <= 0 or counts.max() / counts.min() <= skew:
        return None
    if task == "binary":
        return {"pos_weight": round(float(counts[0] / counts[1]), 4)}
    return {"class_weights": tuple(proposed_weights(counts))}
