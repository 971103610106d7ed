"""The regression head's outputs and input features (what warm starts are fitted on), and head.ordinal = "auto"
in a run: both on the train and validation splits judged by train.ordinal.choose_head, and what the choice
records in the run's recipe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from workbench.core.open.layer_tree import Inspection
from workbench.core.open.program_modules import FrozenProgram
from workbench.core.recipe import Recipe
from workbench.core.train.ordinal import ordinal_kind, ordinal_layer

if TYPE_CHECKING:
    from workbench.core.data.image_stream import ImageBatches
    from workbench.core.workflow.prepared import PreparedData


def regression_outputs(model: nn.Module, head: str, X: np.ndarray | ImageBatches,
                       inputs: bool = False) -> np.ndarray:
    """The regression head's pre-activation output for X (what a warm start is fitted on), or its input features."""
    captured = []
    hook = model.get_submodule(head).register_forward_hook(
        lambda _m, i, out: captured.append((i[0] if inputs else out).detach()))
    try:
        model.eval()
        with torch.no_grad():
            for i in range(0, len(X), 4096):
                model(torch.as_tensor(X[i:i + 4096]))
    finally:
        hook.remove()
    return torch.cat(captured).reshape(len(X), -1).numpy()


def ordinal_auto(recipe: Recipe, model: nn.Module) -> dict[str, str]:
    """What head.ordinal auto (and an ordinal head's warm start auto) chose, for the run's recipe."""
    if recipe.head.task != "ordinal" or (layer := ordinal_layer(model)) is None:
        return {}
    warm = {"head.warm_start": "on" if layer.warm_start else "off"} if recipe.head.warm_start == "auto" else {}
    return {"head.ordinal": ordinal_kind(model), **warm}


def choose_ordinal(recipe: Recipe, model: nn.Module, inspection: Inspection, data: PreparedData) -> dict[str, Any]:
    """head.ordinal = "auto" (train.ordinal.choose_head). Without a one-value regression head to cut (a cut model,
    a program, several outputs) or without validation rows there is nothing to judge the output by: corn, whose
    thresholds each have their own weights, is the one that does not lean on that output."""
    from workbench.core.train import ordinal

    if recipe.model.cut_at or isinstance(model, FrozenProgram) or inspection.head_out != 1 \
            or not len(data.splits["val"]):
        return {"chosen": "corn", "rule": "no regression output and validation rows to judge it by: corn"}
    splits = ("train", "val")
    out = {s: regression_outputs(model, inspection.head, data.inputs(s))[:, 0] for s in splits}
    features = {s: regression_outputs(model, inspection.head, data.inputs(s), inputs=True) for s in splits}
    return ordinal.choose_head(out, features, {s: data.labels(s) for s in splits}, len(data.classes))
