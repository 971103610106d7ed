"""Convert: replace the regression head with a classifier head, drop its activation, choose what trains."""

from __future__ import annotations

import copy
from typing import cast

import numpy as np
import torch
from torch import nn

from workbench.core.errors import RecipeError
from workbench.core.open.layer_tree import Inspection
from workbench.core.open.program_modules import FrozenProgram
from workbench.core.recipe import HeadRecipe
from workbench.core.train.ordinal import OrdinalWarmStart, apply_warm_start, head_outputs, new_layer

Warm = tuple[float, float] | tuple[list[float], list[float]] | OrdinalWarmStart


def build_head(in_features: int, n_out: int, dropout: float, hidden: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Dropout(dropout)] if dropout > 0 else []
    if hidden:
        layers += [nn.Linear(in_features, hidden), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_features = hidden
    layers.append(nn.Linear(in_features, n_out))
    return nn.Sequential(*layers)


def outputs_for(task: str, n_classes: int, ordinal: str = "coral", fine_sizes: list[int] | None = None) -> int:
    if task == "ordinal":
        return head_outputs(ordinal, n_classes, fine_sizes)
    return 1 if task == "binary" else n_classes


def build_task_head(in_features: int, task: str, n_classes: int, head: HeadRecipe,
                    fine_sizes: list[int] | None = None) -> nn.Sequential:
    """The new head for `task`: an ordinal one ends in its ordinal layer (see train.ordinal); a histogram one
    needs the fine bins per class (data.fine_bins)."""
    layer = new_layer(head.ordinal, n_classes, fine_sizes) if task == "ordinal" else None
    new_head = build_head(in_features, outputs_for(task, n_classes, head.ordinal, fine_sizes), head.dropout,
                          head.hidden)
    if layer is not None:
        new_head.append(layer)
    return new_head


def _linear_and_warm(new_head: nn.Sequential, warm: Warm) -> tuple[nn.Linear, tuple[float | list[float],
                                                                                  float | list[float]]]:
    """The head's last Linear and the (scale, offset) it starts from; an ordinal layer takes its own part."""
    if isinstance(warm, OrdinalWarmStart):
        apply_warm_start(new_head[-1], warm)
        return cast(nn.Linear, new_head[-2]), (warm.scale, warm.offset)
    return cast(nn.Linear, new_head[-1]), warm


def convert(model: nn.Module, inspection: Inspection, task: str, n_classes: int, head: HeadRecipe,
            warm: Warm | None = None, fine_sizes: list[int] | None = None) -> tuple[nn.Module, str]:
    """Return (a converted deep copy of `model`, the qualified name of its new head).

    `warm` = (scale, offset) of a logistic fit on the regression output: the binary head starts as
    sigmoid(scale * regression + offset), so its first epoch begins from the regression's ordering. An ordinal
    head's warm start (train.ordinal.OrdinalWarmStart) also sets its thresholds.
    """
    new_head = build_task_head(inspection.head_in, task, n_classes, head, fine_sizes)
    if isinstance(model, FrozenProgram):
        if warm is not None and not head.hidden:
            _warm_start_on_outputs(*_linear_and_warm(new_head, warm))
        converted: nn.Module = nn.Sequential()
        converted.add_module("body", model)
        converted.add_module("head", new_head)
        name = "head"
    else:
        converted = copy.deepcopy(model)
        old = converted.get_submodule(inspection.head)
        if warm is not None:
            linear, (scale, offset) = _linear_and_warm(new_head, warm)
            _warm_start(linear, cast(nn.Linear, old), scale, offset)  # the regression head is a Linear
        converted.set_submodule(inspection.head, new_head)
        for tail in inspection.tail:
            converted.set_submodule(tail, nn.Identity())
        name = inspection.head
    apply_freeze(converted, name, head)
    return converted, name


def _warm_start(linear: nn.Linear, old: nn.Linear, scale: float | list[float], offset: float | list[float]) -> None:
    """Logit_k = scale_k * regression + offset_k, for each of the new head's outputs."""
    if old.out_features != 1:
        raise RecipeError(f"warm start needs a regression head with one output; this one has {old.out_features}.",
                          "Turn warm start off.")
    scales = torch.as_tensor(scale, dtype=linear.weight.dtype).reshape(-1, 1)
    offsets = torch.as_tensor(offset, dtype=linear.weight.dtype).reshape(-1)
    bias = old.bias if old.bias is not None else torch.zeros(1)
    with torch.no_grad():
        linear.weight.copy_(scales * old.weight)
        linear.bias.copy_(scales[:, 0] * bias + offsets)


def _warm_start_on_outputs(linear: nn.Linear, warm: tuple[float | list[float], float | list[float]]) -> None:
    """A head on a frozen program's outputs: logit_k = scale_k * output_0 + offset_k (the baseline's fit)."""
    scale, offset = warm
    scales = torch.as_tensor(scale, dtype=linear.weight.dtype).reshape(-1)
    offsets = torch.as_tensor(offset, dtype=linear.weight.dtype).reshape(-1)
    with torch.no_grad():
        linear.weight.zero_()
        linear.weight[:, 0] = scales
        linear.bias.copy_(offsets.expand_as(linear.bias))


def warm_start_fit(regression: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Scale and offset of a logistic regression of the binary labels on the regression output."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=1e4).fit(regression.reshape(-1, 1), y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def apply_freeze(model: nn.Module, head_name: str, head: HeadRecipe) -> None:
    names = [n for n, _ in model.named_parameters()]
    in_head = {n for n in names if n.startswith(head_name + ".")}
    frozen: set[str] = set()
    if head.freeze == "body":
        frozen = set(names) - in_head
    elif head.freeze.startswith("upto:"):
        layer = head.freeze[5:]
        owned = [i for i, n in enumerate(names) if n.startswith(layer + ".")]
        if not owned:
            known = sorted({n.rpartition(".")[0] for n in names if n not in in_head})
            raise RecipeError(f"freeze up to '{layer}': no layer of that name has parameters.",
                              f"Layers with parameters: {', '.join(known[:20])}.")
        frozen = set(names[: owned[-1] + 1]) - in_head
    for layer in head.frozen_layers:
        owned_by = {n for n in names if n.startswith(layer + ".") and n not in in_head}
        if not owned_by:  # a layer of another model (a recipe written for it): it would train unfrozen unsaid
            known = sorted({n.rpartition(".")[0] for n in names if n not in in_head})
            raise RecipeError(f"the frozen layer '{layer}' is not a layer of this model with parameters.",
                              f"Untick it, or choose among: {', '.join(known[:20])}.", field="head.frozen_layers")
        frozen |= owned_by
    for name, param in model.named_parameters():
        if name in in_head:
            param.requires_grad_(True)
        elif name in frozen:
            param.requires_grad_(False)
