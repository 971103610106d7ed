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


def head_io(model: nn.Module, head: str, X: np.ndarray | ImageBatches) -> tuple[np.ndarray, np.ndarray]:
    """(the regression head's input features, its pre-activation output) for X, from one pass over X."""
    inputs, outputs = [], []

    def keep(_m: nn.Module, given: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        inputs.append(given[0].detach())
        outputs.append(out.detach())

    hook = model.get_submodule(head).register_forward_hook(keep)
    try:
        model.eval()
        with torch.no_grad():
            for i in range(0, len(X), 4096):
                model(torch.as_tensor(X[i:i + 4096]))
    finally:
        hook.remove()
    return (torch.cat(inputs).reshape(len(X), -1).numpy(), torch.cat(outputs).reshape(len(X), -1).numpy())


def regression_outputs(model: nn.Module, head: str, X: np.ndarray | ImageBatches,
                       inputs: bool = False) -> np.ndarray:
    """The regression head's pre-activation output for X (what a warm start is fitted on), or its input features."""
    return head_io(model, head, X)[0 if inputs else 1]


def ordinal_auto(recipe: Recipe, model: nn.Module) -> dict[str, str]:
    """What head.ordinal auto (and an ordinal head's warm start auto) chose, for the run's recipe."""
    if recipe.head.task != "ordinal" or (layer := ordinal_layer(model)) is None:
        return {}
    warm = {"head.warm_start": "on" if layer.warm_start else "off"} if recipe.head.warm_start == "auto" else {}
    return {"head.ordinal": ordinal_kind(model), **warm}


def choose_ordinal(recipe: Recipe, model: nn.Module, inspection: Inspection, data: PreparedData) -> dict[str, Any]:
    """head.ordinal = "auto" (train.ordinal.choose_head). Without a one-value regression head to cut (a cut model,
    a program, several outputs) or without validation rows there is nothing to judge the output by: multinomial,
    the head that does not lean on that output (each class has its own weights)."""
    from workbench.core.train import ordinal

    if recipe.model.cut_at or isinstance(model, FrozenProgram) or inspection.head_out != 1 \
            or not len(data.splits["val"]):
        return {"chosen": "multinomial",
                "rule": "no regression output and validation rows to judge it by: multinomial"}
    splits = ("train", "val")
    io = {s: head_io(model, inspection.head, data.inputs(s)) for s in splits}  # one pass over each split
    out = {s: io[s][1][:, 0] for s in splits}
    features = {s: io[s][0] for s in splits}
    return ordinal.choose_head(out, features, {s: data.labels(s) for s in splits}, len(data.classes))
