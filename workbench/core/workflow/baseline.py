"""The no-training baselines: a classifier in seconds with no gradient step, kept as a run like any other so it
can be compared with trained heads ("was training a new head worth it?").

- Binary: the regression model's own output as a score, Platt-calibrated on the calibration split.
- Ordered classes (an ordinal task, or a multiclass one whose classes are cut from a number, numeric or given an
  order): the regression output cut into the classes, i.e. the warm-started CORAL head untrained (train.ordinal):
  its score is the output, its thresholds the output's quantiles at the train split's class proportions. It
  decides exactly as that cut, and is calibrated like any ordinal run.
"""

from __future__ import annotations

import numpy as np

from workbench.core.errors import RecipeError
from workbench.core.evaluate import calibrate as calib
from workbench.core.open.load import LoadedModel
from workbench.core.recipe import Recipe
from workbench.core.train.train import TrainResult, predict_logits
from workbench.core.workflow.pipeline import PreparedData, Run, evaluate_run, prepare_images


def check_baseline(recipe: Recipe, data: PreparedData) -> None:
    """Whether the no-training baseline applies (RecipeError naming the field when not): two classes, or ordered
    ones, and a calibration split to fit it on."""
    if recipe.head.task != "binary" and not data.label_info.get("ordered_by"):
        raise RecipeError("the no-training baseline needs two classes or ordered ones, and these classes have no "
                          "order.", "Choose a binary head and a threshold, cut the label into bins, or give the "
                                    "class order.", field="head.task")
    if not len(data.splits["cal"]):
        raise RecipeError("the baseline is fitted on the calibration split, which is empty.",
                          "Give the calibration split a fraction above 0.", field="data.splits")


def baseline_run(recipe: Recipe, loaded: LoadedModel, data: PreparedData) -> Run:
    from workbench.core.open.layer_tree import inspect_model

    check_baseline(recipe, data)
    recipe = recipe.with_changes(**{"model.cut_at": "", "model.prune": 0.0})  # the regression output, whole
    from workbench.core.decide.decisions import check_classes

    check_classes(recipe, len(data.classes))
    model = loaded.model.eval()
    inspection = inspect_model(model, data.input_shape)
    if int(np.prod(inspection.output_shape)) != 1:
        raise RecipeError(f"the regression model has {int(np.prod(inspection.output_shape))} outputs; the "
                          "baseline needs a single score.", "Train a head instead.")
    prepare_images(data, recipe, model)
    if not data.images and recipe.data.standardize == "auto":  # what auto chose, recorded as a trained run does
        recipe = recipe.with_changes(**{"data.standardize": data.mean is not None})
    if recipe.head.task != "binary":
        return ordinal_baseline_run(recipe, loaded, data)
    scores = {s: predict_logits(model, data.model_inputs(s), True).numpy() for s in data.splits}
    calibration = calib.fit("platt", "binary", 2, scores["cal"], data.labels("cal"))
    from workbench.core.evaluate.calibration_check import check

    # what auto chose for the inputs' scale is said with the run, in its metadata and card, as a trained run says it
    run = Run(recipe.with_changes(calibration="platt"), loaded, data, inspection, model, inspection.head,
              TrainResult(device="cpu", notes=list(data.scale_notes)), scores, calibration, kind="baseline")
    # The Platt fit is the whole model here, so only the split's size is worth a note (not "recommend none").
    found = check("platt", "binary", 2, scores["cal"], data.labels("cal"), recipe.data.splits[2])
    found["notes"] = [n for n in found["notes"] if n.code != "calibration_harms"]
    run.calibration_check = found
    from workbench.core.workflow.decisions import estimate_prior

    estimate_prior(run)
    evaluate_run(run)
    return run


def ordinal_baseline_run(recipe: Recipe, loaded: LoadedModel, data: PreparedData) -> Run:
    """The regression output cut into the ordered classes: the warm-started CORAL head, untrained. Its recipe
    says so (an ordinal task, a CORAL head with warm start on and no hidden layer), whatever head the session's
    recipe asked for; a calibration ordinal heads do not take (matrix) becomes temperature."""
    from workbench.core.workflow.pipeline import build_model, calibrate_run

    calibration = recipe.calibration if recipe.calibration != "matrix" else "temperature"
    recipe = recipe.with_changes(**{"head.task": "ordinal", "head.ordinal": "coral", "head.warm_start": "on",
                                    "head.hidden": 0, "train.loss": "auto", "calibration": calibration})
    model, head, inspection = build_model(recipe, loaded, data)
    model.eval()
    logits = {s: predict_logits(model, data.model_inputs(s), False).numpy() for s in data.splits}
    run = Run(recipe, loaded, data, inspection, model, head, TrainResult(device="cpu", notes=list(data.scale_notes)),
              logits, kind="baseline")
    return calibrate_run(run, calibration)
