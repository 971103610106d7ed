"""The recipe's model section applied: the body cut at a layer (train.cut), then its hidden layers narrowed
(train.prune), before the head is converted and trained as usual; and what the run's metrics say about it."""

from __future__ import annotations

import copy
from typing import Any

from torch import nn

from workbench.core.errors import RecipeError
from workbench.core.open.program_modules import FrozenProgram
from workbench.core.recipe_cut import ModelRecipe
from workbench.core.train.cut import cut_model
from workbench.core.train.prune import parameters, prune_units


def simplify(model: nn.Module, wanted: ModelRecipe, input_shape: tuple[int, ...], head: str,
             pruned: dict[str, Any] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """(the model to convert, what was done to it). Without a cut or pruning, `model` itself and {}. The given
    model is never changed: a pruned model is a copy. `pruned`: a saved run's `pruned_units`, so that it is rebuilt
    with the layers it was pruned at (a run saved before the layer before an outside head was pruned keeps it)."""
    if not wanted.cut_at and not wanted.prune:
        return model, {}
    if isinstance(model, FrozenProgram):
        raise RecipeError("the model is a program kept whole (its layers are not readable), so it can be neither cut "
                          "at a layer nor pruned.", "Leave the cut empty and pruning at 0 for this model.",
                          field="model.cut_at" if wanted.cut_at else "model.prune")
    info: dict[str, Any] = {"parameters_regression_model": parameters(model)}
    if wanted.cut_at:
        model, cut = cut_model(model, wanted.cut_at, input_shape, head)
        info |= cut.to_dict()
    if wanted.prune:
        model = copy.deepcopy(model)
        info["parameters_before_prune"] = parameters(model)
        info["prune"] = wanted.prune
        from workbench.core.train.cut import probe_input

        head_after = "" if wanted.cut_at else head  # a cut body's stand-in head sits in its own chain
        info["pruned_units"] = prune_units(model, wanted.prune, head_after, probe_input(model, input_shape),
                                           only=list(pruned) if pruned else None)
    return model, info


def model_metrics(wanted: ModelRecipe, done: dict[str, Any], converted: nn.Module) -> dict[str, Any]:
    """metrics["model"]: where the head is attached ("" = after the whole body), pruning, and the parameters the
    converted model (body and new head, what the export holds) has."""
    return {"cut_at": wanted.cut_at, "prune": wanted.prune, "parameters": parameters(converted), **{
        k: v for k, v in done.items() if k not in ("cut_at", "prune")}}
