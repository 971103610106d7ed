"""Runs of a saved session made live again: the data read and split with each run's recipe (the same seed gives
the same splits), the converted model rebuilt from the checkpoint and loaded with the run's saved weights, its
logits, calibration and metrics as saved. A reopened run is evaluated, recalibrated, drilled into and exported
like a fresh one, with the same probabilities as before it was saved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.errors import DataError

if TYPE_CHECKING:
    from workbench.core.open.load import LoadedModel
    from workbench.core.recipe import Recipe
    from workbench.core.train.train import TrainResult
    from workbench.core.workflow.pipeline import PreparedData, Run


class DataCache:
    """Prepared data per (model, data and labelling recipe): runs that share them read the file once."""

    def __init__(self) -> None:
        self._found: dict[str, PreparedData] = {}

    def get(self, recipe: Recipe, loaded: LoadedModel) -> PreparedData:
        import dataclasses

        from workbench.core.workflow.pipeline import prepare_data, step_features

        key = json.dumps([str(loaded.path), loaded.sha256, recipe.to_dict()["data"], recipe.seed,
                          recipe.head.task, list(recipe.input_shape)])
        if key not in self._found:
            shape = tuple(recipe.input_shape) or loaded.input_shape
            self._found[key] = prepare_data(recipe, shape, step_features(loaded), loaded)
        return dataclasses.replace(self._found[key])  # each run records its own image normalisation on it


def training_result(metrics: dict[str, Any]) -> TrainResult:
    """The training record as metrics.json keeps it."""
    from workbench.core.train.train import TrainResult

    t = metrics.get("training") or {}
    return TrainResult(history=list(t.get("history") or []), best_epoch=int(t.get("best_epoch") or 0),
                       stopped_early=bool(t.get("stopped_early")), cancelled=bool(t.get("cancelled")),
                       device=str(t.get("device") or "cpu"), seconds=float(t.get("seconds") or 0.0),
                       lr=float(t.get("lr") or 0.0), epochs=int(t.get("epochs") or 0),
                       patience=int(t.get("patience") or 0), lr_finder=t.get("lr_finder"),
                       body_features=str(t.get("body_features") or ""), processes=int(t.get("processes") or 1),
                       schedule=str(t.get("schedule") or ""), notes=list(t.get("notes") or []))


def rebuild_run(item: dict[str, Any], recipe: Recipe, loaded: LoadedModel, data: PreparedData,
                session_file: Path) -> Run:
    """A saved run (`item`: its summary with weights, calibration and threshold) as a live `Run`."""
    from workbench.core.evaluate.calibrate import Calibration
    from workbench.core.open.layer_tree import inspect_model
    from workbench.core.train.heads import convert
    from workbench.core.workflow.pipeline import Run, model_input_shape, prepare_images
    from workbench.core.workflow.session_store import read_weights

    metrics = item.get("metrics") or {}
    state, logits = read_weights(session_file, item["weights"])
    if list(metrics.get("classes") or []) != list(data.classes) or any(
            len(logits.get(s, ())) != len(idx) for s, idx in data.splits.items()):
        raise DataError("the data no longer gives this run's classes and splits.",
                        "Reopen it with the data it was saved with.", recipe.data.path)
    prepare_images(data, recipe, loaded.model)
    shape = model_input_shape(recipe, loaded, data)
    assert shape is not None  # the data's own shape, at least
    inspection = inspect_model(loaded.model, shape)
    kind = str(item.get("kind", "trained"))
    if kind == "baseline":
        model, head = loaded.model.eval(), inspection.head
    else:
        from workbench.core.train.simplify import simplify

        body, simplified = simplify(loaded.model, recipe.model, shape, inspection.head,  # its cut and pruning again
                                    (metrics.get("model") or {}).get("pruned_units"))
        if simplified:
            inspection = inspect_model(body, shape)
            inspection.simplified = simplified
        from workbench.core.workflow.ordinal_choice import histogram_bins

        fine = histogram_bins(recipe, data)  # a histogram head's fine bins, from the same data and split
        model, head = convert(body, inspection, recipe.head.task, len(data.classes), recipe.head,
                              fine_sizes=fine.sizes if fine is not None else None)
        model.load_state_dict(state, strict=True)
        model.eval()
    params = item.get("calibration") or {"method": recipe.calibration}
    calibration = Calibration(str(params.get("method", recipe.calibration)), recipe.head.task, len(data.classes),
                              params).eval()
    threshold = item.get("threshold")
    return Run(recipe, loaded, data, inspection, model, head, training_result(metrics), logits, calibration,
               dict(metrics), float(threshold) if threshold is not None else None,
               dict(metrics.get("calibration_check") or {}), kind)
