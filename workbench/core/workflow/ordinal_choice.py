"""The regression head's outputs and input features (what warm starts are fitted on), and head.ordinal = "auto"
in a run: both on the train and validation splits judged by train.ordinal.choose_head, and what the choice
records in the run's recipe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from workbench.core.errors import RecipeError
from workbench.core.open.layer_tree import Inspection
from workbench.core.open.program_modules import FrozenProgram
from workbench.core.recipe import Recipe
from workbench.core.train.ordinal import HistogramLayer, OrdinalWarmStart, ordinal_kind, ordinal_layer

HISTOGRAM_LOSS = ("its train loss is the cross-entropy of the finer bins, its validation loss that of the classes: "
                  "the two curves are on different scales, so read each against itself")

if TYPE_CHECKING:
    from workbench.core.data.fine_bins import FineBins
    from workbench.core.data.image_stream import ImageBatches
    from workbench.core.notes import Note
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
    fine = data.fine_bins()
    return ordinal.choose_head(out, features, {s: data.labels(s) for s in splits}, len(data.classes),
                               None if fine is None else {s: fine.labels[data.splits[s]] for s in splits},
                               None if fine is None else fine.sizes)


def histogram_bins(recipe: Recipe, data: PreparedData) -> FineBins | None:
    """The fine bins a histogram ordinal head trains on; None for any other head. Refused where the labels have
    none: a class column, or quantile bins whose classes are each one value or too few train rows."""
    if recipe.head.task != "ordinal" or recipe.head.ordinal != "histogram":
        return None
    fine = data.fine_bins()
    if fine is None:
        from workbench.core.data.fine_bins import MIN_ROWS

        raise RecipeError("the histogram ordinal head learns finer bins inside the classes, and "
                          + ("classes taken as the label column gives them have none."
                             if data.label_info.get("mode") != "bins" else
                             f"no quantile bin here holds two values of the label (each with {MIN_ROWS} train "
                             f"rows) or {2 * MIN_ROWS} train rows to split."),
                          "Choose another ordinal head (--ordinal coral, corn, multinomial or auto; in the window, "
                          "the Ordinal head field).", field="head.ordinal")
    return fine


def training_labels(model: nn.Module, data: PreparedData) -> np.ndarray:
    """The train split's labels as the head trains on them: a histogram head's fine bins, else the classes."""
    layer = ordinal_layer(model)
    fine = data.fine_bins() if isinstance(layer, HistogramLayer) else None
    return data.labels("train") if fine is None else np.asarray(fine.labels[data.splits["train"]])


def ordinal_warm_start(kind: str, data: PreparedData, regression: np.ndarray,
                       fine: FineBins | None = None) -> OrdinalWarmStart:
    """An ordinal head's start from the train split's regression outputs (train.ordinal); a histogram head's is the
    multinomial's over its fine bins, which are ordered by the target as the classes are."""
    import dataclasses

    from workbench.core.train import ordinal

    if fine is None:
        return ordinal.ordinal_warm_start_fit(regression, data.labels("train"), len(data.classes), kind)
    warm = ordinal.ordinal_warm_start_fit(regression, fine.labels[data.splits["train"]], fine.count, "multinomial")
    return dataclasses.replace(warm, kind="histogram")


def ordinal_notes(model: nn.Module) -> list[Note]:
    """What a run says of its ordinal head beside its curves: the head auto chose and why, and a histogram head's
    train and validation losses being of different bins."""
    from workbench.core import notes as N

    layer = ordinal_layer(model)
    out = []
    choice = getattr(layer, "choice", None)
    if choice and "cut_distance" in choice:
        fine = (f"; at the median class, a probe on the finer bins {choice['fine_probe_distance']:.3f}, on the "
                f"classes {choice['class_probe_median_distance']:.3f}" if "fine_probe_distance" in choice else "")
        out.append(N.info(f"Ordinal head auto chose {choice['chosen']} (validation class distance: the regression "
                          f"output cut {choice['cut_distance']:.3f}, a linear probe {choice['probe_distance']:.3f}"
                          f"{fine})", "ordinal_auto", "head.ordinal"))
    elif choice:
        out.append(N.info(f"Ordinal head auto chose {choice['chosen']}: {choice['rule']}", "ordinal_auto",
                          "head.ordinal"))
    if isinstance(layer, HistogramLayer):
        out.append(N.info(f"Histogram ordinal head: {HISTOGRAM_LOSS}", "histogram_loss", "head.ordinal"))
    return out
