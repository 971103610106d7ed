"""The no-training baseline for binary tasks: the regression model's own output as a score, Platt-calibrated
on the calibration split. A classifier in seconds with no gradient step, kept as a run like any other so
it can be compared with trained heads ("was training a new head worth it?")."""

from __future__ import annotations

import numpy as np

from workbench.core.errors import RecipeError
from workbench.core.evaluate import calibrate as calib
from workbench.core.open.load import LoadedModel
from workbench.core.recipe import Recipe
from workbench.core.train.train import TrainResult, predict_logits
from workbench.core.workflow.pipeline import PreparedData, Run, evaluate_run, prepare_images


def baseline_run(recipe: Recipe, loaded: LoadedModel, data: PreparedData) -> Run:
    from workbench.core.open.layer_tree import inspect_model

    if recipe.head.task != "binary":
        raise RecipeError("the no-training baseline is for binary tasks.", "Choose a binary head and a threshold.")
    if not len(data.splits["cal"]):
        raise RecipeError("the baseline is fitted on the calibration split, which is empty.",
                          "Give the calibration split a fraction above 0.")
    from workbench.core.decide.decisions import check_classes

    check_classes(recipe, len(data.classes))
    model = loaded.model.eval()
    inspection = inspect_model(model, data.input_shape)
    if int(np.prod(inspection.output_shape)) != 1:
        raise RecipeError(f"the regression model has {int(np.prod(inspection.output_shape))} outputs; the "
                          "baseline needs a single score.", "Train a head instead.")
    prepare_images(data, recipe, model)
    scores = {s: predict_logits(model, data.model_inputs(s), True).numpy() for s in data.splits}
    calibration = calib.fit("platt", "binary", 2, scores["cal"], data.labels("cal"))
    from workbench.core.evaluate.calibration_check import check

    run = Run(recipe.with_changes(calibration="platt"), loaded, data, inspection, model, inspection.head,
              TrainResult(device="cpu"), scores, calibration, kind="baseline")
    # The Platt fit is the whole model here, so only the split's size is worth a note (not "recommend none").
    found = check("platt", "binary", 2, scores["cal"], data.labels("cal"), recipe.data.splits[2])
    found["notes"] = [n for n in found["notes"] if n.code != "calibration_harms"]
    run.calibration_check = found
    from workbench.core.workflow.decisions import estimate_prior

    estimate_prior(run)
    evaluate_run(run)
    return run
