"""One conversion from a recipe: convert, train, calibrate, evaluate, export (the data is prepared in `prepared`,
whose names this module also gives).

Each step is its own function; the session's commands (`run_commands`) run them as jobs, and
`journey.convert_checkpoint` chains those commands for the command line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

from workbench.core.errors import DataError
from workbench.core.evaluate import baseline_check
from workbench.core.evaluate import calibrate as calib
from workbench.core.evaluate.errors_list import SplitSamples
from workbench.core.export import export as export_mod
from workbench.core.open.layer_tree import Inspection, inspect_model
from workbench.core.open.load import LoadedModel
from workbench.core.open.program_modules import FrozenProgram
from workbench.core.recipe import Recipe
from workbench.core.train import frozen_body
from workbench.core.train.distributed import Distributed
from workbench.core.train.heads import Warm, convert, warm_start_fit
from workbench.core.train.ordinal import HistogramLayer, ordinal_kind, ordinal_layer, softmax_warm_start_fit
from workbench.core.train.simplify import model_metrics
from workbench.core.train.train import StopToken, TrainResult, pick_device, predict_logits, seed_everything, train

# The data steps moved to `prepared`; they are still imported from here.
from workbench.core.workflow.export_description import data_description as data_description
from workbench.core.workflow.export_description import input_description as input_description
from workbench.core.workflow.export_description import several_inputs_export as several_inputs_export
from workbench.core.workflow.ordinal_choice import (
    HISTOGRAM_LOSS,
    choose_ordinal,
    histogram_bins,
    ordinal_auto,
    ordinal_notes,
    ordinal_warm_start,
    training_labels,
)
from workbench.core.workflow.ordinal_choice import regression_outputs as regression_outputs
from workbench.core.workflow.prepared import PreparedData as PreparedData
from workbench.core.workflow.prepared import fit_sequences as fit_sequences
from workbench.core.workflow.prepared import label_and_split as label_and_split
from workbench.core.workflow.prepared import prepare_data as prepare_data
from workbench.core.workflow.prepared import prepare_images as prepare_images
from workbench.core.workflow.prepared import step_features as step_features

if TYPE_CHECKING:
    from workbench.core.data.images import ImageSamples

TEST_ROWS_KEPT = 200_000  # test probabilities kept in the metrics (rows x classes) for paired comparisons


@dataclass
class Run:
    recipe: Recipe
    loaded: LoadedModel
    data: PreparedData
    inspection: Inspection
    model: nn.Module
    head_name: str
    training: TrainResult
    logits: dict[str, np.ndarray] = field(default_factory=dict)
    calibration: calib.AnyCalibration | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    calibration_check: dict[str, Any] = field(default_factory=dict)  # see calibration_check.check
    kind: str = "trained"  # or "baseline": the regression output, Platt-calibrated, no training
    calibration_auto: dict[str, Any] | None = None  # how calibration auto chose (calibration_auto.choose)
    baseline_scores: dict[str, Any] = field(default_factory=dict)  # see baseline_check.scores_for
    extra_metrics: dict[str, Any] = field(default_factory=dict)  # kept across re-evaluation, e.g. "repeats"
    prior_estimate: dict[str, Any] = field(default_factory=dict)  # decide.prior_from's estimate (workflow.decisions)

    @property
    def binary(self) -> bool:
        return self.recipe.head.task == "binary"

    @property
    def ordinal(self) -> bool:
        """An ordinal head: its logits are log class probabilities and its decision the median class."""
        return self.recipe.head.task == "ordinal"

    def probabilities(self, split: str = "test", calibrated: bool = True) -> np.ndarray:
        if calibrated and self.calibration is not None:
            return self.calibration.probabilities(self.logits[split])
        return calib.Calibration("none", self.recipe.head.task, len(self.data.classes)).probabilities(
            self.logits[split])

    def test_samples(self) -> SplitSamples:
        """The test split's samples (file row, image path or index), labels, probabilities and decisions under
        this run's calibration, decided as its metrics were (their threshold, or the decisions its test rows
        keep): what a confusion-matrix cell lists (`errors_list`)."""
        from workbench.core.evaluate.errors_list import split_samples

        test, probs = self.metrics.get("test") or {}, self.probabilities("test")
        samples = split_samples(self.data, probs, test["threshold"] if "threshold" in test
                                else self.decision_threshold, self.ordinal)
        made = (self.metrics.get("test_rows") or {}).get("decisions")
        if made is None and "decisions_from" in test:  # too many test rows to keep: decided again
            from workbench.core.decide.decisions import fit_decisions

            made = fit_decisions(self).made(probs)
        if made is not None:
            samples.predicted = np.asarray(made, np.int64)
        return samples

    @property
    def decision_threshold(self) -> float | None:
        """Binary: the threshold this run decides at, under its decision policy (`self.threshold` is the one the
        user set, which the `threshold` policy keeps); see decide.decisions.decision_threshold."""
        from workbench.core.decide.decisions import decision_threshold

        return decision_threshold(self)


def model_input_shape(recipe: Recipe, loaded: LoadedModel, data: PreparedData | None = None
                      ) -> tuple[int, ...] | None:
    if recipe.input_shape:
        return tuple(recipe.input_shape)
    if data is not None:
        return data.input_shape
    return loaded.input_shape


def warm_start_applies(recipe: Recipe, inspection: Inspection) -> bool:
    """Whether the new head starts from the regression head's fit: "on" asks for it; "auto" takes it for a binary
    head without a hidden layer on a one-value regression head. benchmarks/defaults.py (defaults, 3 seeds, test
    accuracy cold -> warm): binary heads ended as well or better warm (user MLP on diabetes 0.732 -> 0.914,
    breast cancer 0.988 -> 1.000, the diabetes demo 0.791 -> 0.797); a softmax head's ordinal warm start ended
    worse on the digits demo (0.770 -> 0.768 at the valley's rate; 0.839 -> 0.704 on seed 3 at 3x), so it stays
    cold unless asked for, as a histogram ordinal head does (digits value bins, seeds 0-1: 0.978 cold, 0.935
    warm). An ordinal head starts as the regression output cut into the classes (see train.ordinal): untrained, it
    already decides as that cut does."""
    h = recipe.head
    if recipe.model.cut_at:  # the regression head it would start from is dropped with the layers after the cut
        return False
    if h.warm_start != "auto":
        return h.warm_start == "on"
    # a histogram head is for features that say more than the output (see train.ordinal.choose_head): cold
    return h.task in ("binary", "ordinal") and h.ordinal != "histogram" and not h.hidden and inspection.head_out == 1


def build_model(recipe: Recipe, loaded: LoadedModel, data: PreparedData) -> tuple[nn.Module, str, Inspection]:
    shape = model_input_shape(recipe, loaded, data)
    assert shape is not None  # the data's own shape, at least
    prepare_images(data, recipe, loaded.model)
    data.augment = False
    from workbench.core.train.simplify import simplify

    head_name = inspect_model(loaded.model, shape).head if recipe.model.cut_at or recipe.model.prune else ""
    body, simplified = simplify(loaded.model, recipe.model, shape, head_name)
    inspection = inspect_model(body, shape)
    inspection.simplified = simplified
    choice = choose_ordinal(recipe, body, inspection, data) if recipe.head.task == "ordinal" \
        and recipe.head.ordinal == "auto" else None
    if choice is not None:  # multinomial (or histogram) was chosen because the output orders worse than the
        cold = choice["chosen"] != "coral" and recipe.head.warm_start == "auto"  # features: not started from it
        recipe = recipe.replace(**{"head.ordinal": choice["chosen"], **({"head.warm_start": "off"} if cold else {})})
    fine = histogram_bins(recipe, data)
    warm: Warm | None = None
    # A program's new head starts from the baseline's fit (a warm start): kept whole, it cannot learn anything its
    # output does not say; rebuilt or cut, a cold head on its features measured far below the baseline.
    program = loaded.format in ("torchscript", "export") and not recipe.head.hidden and not simplified and (
        isinstance(loaded.model, FrozenProgram) or inspection.head_out == 1)
    if warm_start_applies(recipe, inspection) or program:
        reg = regression_outputs(loaded.model, inspection.head, data.inputs("train"))
        if recipe.head.task == "binary":
            warm = warm_start_fit(reg[:, 0], data.labels("train"))
        elif recipe.head.task == "ordinal":
            warm = ordinal_warm_start(recipe.head.ordinal, data, reg[:, 0], fine)
        elif data.label_info["mode"] != "bins" and data.table.target.dtype.kind != "f" \
                and not recipe.data.classes:
            if recipe.head.warm_start == "on":
                raise DataError("a multiclass warm start needs ordered classes (quantile bins or numeric labels).",
                                "Turn warm start off for named classes, or give their order (class order).",
                                recipe.data.path)
        else:
            warm = softmax_warm_start_fit(reg[:, 0], data.labels("train"), len(data.classes))
    seed_everything(recipe.seed)
    model, head = convert(body, inspection, recipe.head.task, len(data.classes), recipe.head, warm,
                          fine.sizes if fine is not None else None)
    if (layer := ordinal_layer(model)) is not None:
        layer.choice = choice
    return model, head, inspection


def calibrate_run(run: Run, method: str) -> Run:
    """(Re)fit `method` ("auto": calibration_auto's pick; the recipe keeps "auto") and recompute the metrics."""
    n = len(run.data.classes)
    if method not in ("none", "auto") and not len(run.logits["cal"]):
        raise DataError("there is no calibration split to fit on.", "Give the calibration split a fraction above 0.")
    from workbench.core.evaluate.calibration_check import fit_and_check

    recipe = run.recipe.replace(calibration=method)  # a method that does not fit the task is a RecipeError
    run.calibration, run.calibration_check, run.calibration_auto = fit_and_check(
        method, recipe.head.task, n, run.logits["cal"], run.data.labels("cal"), recipe.data.splits[2], recipe.seed)
    run.recipe = recipe
    from workbench.core.workflow.decisions import estimate_prior

    estimate_prior(run)  # the probabilities changed, so an estimated deployment prior changes too
    evaluate_run(run)
    return run


def evaluate_run(run: Run) -> dict[str, Any]:
    from workbench.core.decide.decisions import fit_decisions
    from workbench.core.evaluate.metrics import evaluate
    from workbench.core.evaluate.scores import Decided

    y, probs, before = run.data.labels("test"), run.probabilities("test"), run.probabilities("test", False)
    ordinal = run.recipe.head.task == "ordinal"
    decided = fit_decisions(run)  # conformal sets, decision policy, abstention band, prior shift
    # The decision metrics (accuracy, F1, the confusion matrix, per-class precision and recall, the test rows Compare
    # pairs) are those of the decisions the export makes, its policy's (binary: the threshold it decides at), not
    # of the threshold the user last set or the most probable class
    threshold, after = decided.decision_threshold, decided.made(probs)  # after: a cost matrix's, or under a prior
    made = None if after is None else Decided(after, decided.made(before), decided.policy.rule(len(
        decided.classes)) + ("" if decided.weights is None else PRIOR_RULE))
    run.metrics = {
        "kind": run.kind,
        "classes": run.data.classes, "task": run.recipe.head.task,
        "calibration": run.calibration.method if run.calibration is not None else run.recipe.calibration,
        "calibration_requested": run.recipe.calibration, "calibration_auto": run.calibration_auto,  # what auto did
        "labels": run.data.label_info, "warnings": list(run.data.warnings),
        "calibration_check": run.calibration_check, "baseline_check": baseline_check.for_run(run, threshold),
        **run.extra_metrics,
        "model": model_metrics(run.recipe.model, run.inspection.simplified, run.model),
        "test": evaluate(probs, y, run.data.classes, before, threshold, run.recipe.reliability_bins,
                         run.recipe.binning, ordinal, ordered_classes(run), made),
        "training": {"best_epoch": run.training.best_epoch, "epochs_run": len(run.training.history),
                     "stopped_early": run.training.stopped_early, "cancelled": run.training.cancelled,
                     "device": run.training.device, "lr": run.training.lr, "epochs": run.training.epochs,
                     "patience": run.training.patience, "schedule": run.training.schedule,
                     "notes": list(run.training.notes), "lr_finder": run.training.lr_finder,  # no wall-clock times:
                     "history": [{k: v for k, v in h.items() if k not in ("elapsed", "eta")}  # same seed, same file
                                 for h in run.training.history],
                     "body_features": run.training.body_features, "processes": run.training.processes},
    }
    if threshold is not None:  # which threshold the decision metrics use, and why
        run.metrics["test"]["threshold_from"] = f"decision policy {decided.policy.name}" + (
            " (its threshold on the probabilities before the prior correction)" if decided.weights is not None else "")
    elif made is not None:  # which decisions they use (the rule is test.decision_rule)
        run.metrics["test"]["decisions_from"] = f"decision policy {decided.policy.name}"
    decisions = decided.metrics(probs, y)
    run.metrics["test"] |= decisions.pop("test")
    run.metrics |= decisions
    if probs.size <= TEST_ROWS_KEPT:  # what paired comparisons between runs on this split resample
        from workbench.core.evaluate.errors_list import sample_ids

        ids, id_name = sample_ids(run.data.table, run.data.splits["test"])
        if id_name == "file":  # relative to the image folder (the recipe names it): shorter, and no home paths
            root = Path(run.data.table.source)
            ids = [Path(p).relative_to(root).as_posix() if Path(p).is_relative_to(root) else p for p in ids]
        run.metrics["test_rows"] = {"y": y.tolist(), "probs": np.round(probs, 6).tolist(),
                                    "threshold": threshold, "ordinal": ordinal, id_name: ids}
        if made is not None:  # what Compare pairs: the export's decisions, not the threshold's or argmax's
            run.metrics["test_rows"]["decisions"] = made.after.tolist()
        if decided.weights is not None:  # kept uncorrected: the test metrics and Compare's pairs are computed on them
            run.metrics["test_rows"] |= {"prior_corrected": False, "probs_are": PROBS_BEFORE_PRIOR}
    if ordinal:
        run.metrics["ordinal"] = ordinal_summary(run) | ({} if made is None else {"decision_rule": made.rule})
    return run.metrics


PRIOR_RULE = ", on the probabilities corrected to the deployment prior (prior_shift.weights)"
PROBS_BEFORE_PRIOR = ("the calibrated probabilities before the deployment prior's correction, on which the test "
                      "metrics are computed; the exported program outputs them corrected: p[k] * weights[k], "
                      "renormalised (prior_shift.weights)")


def ordered_classes(run: Run) -> bool:
    """Whether the run's classes have an order (cut from a number, numeric labels, a given order): then the order
    metrics are reported for any head with more than two classes, so softmax and ordinal heads compare."""
    task = run.recipe.head.task
    return task == "ordinal" or (task != "binary" and bool(run.data.label_info.get("ordered_by")))


def ordinal_summary(run: Run) -> dict[str, Any]:
    """What an ordinal run's metrics say about its head: kind, class order and where it comes from, thresholds
    (CORAL, in score units, ordered), the warm start and the decision rule."""
    from workbench.core.train.ordinal import CoralLayer

    layer = ordinal_layer(run.model)
    out: dict[str, Any] = {"head": ordinal_kind(run.model), "classes": list(run.data.classes),
                           "ordered_by": run.data.label_info.get("ordered_by"),
                           "decision_rule": "the median class: the first class whose cumulative probability "
                                            "P(y <= k) reaches 0.5",
                           "warm_start": layer.warm_start if layer is not None else None,
                           "chosen_by": getattr(layer, "choice", None)}  # head.ordinal auto's pick and why
    fine = run.data.fine_bins() if isinstance(layer, HistogramLayer) else None
    if fine is not None:  # a histogram head's fine bins; its train loss is theirs, its val loss the classes'
        out["fine_bins"] = {**fine.describe(), "loss": HISTOGRAM_LOSS}
    if isinstance(layer, CoralLayer):
        with torch.no_grad():
            out["thresholds"] = [float(v) for v in layer.thresholds()]
    return out


def rebin_run(run: Run, binning: str) -> dict[str, Any]:
    """The run's metrics again with `binning` (width or mass) for its reliability diagram, ECE and their intervals;
    the run's recipe records it, so its export and report follow."""
    run.recipe = run.recipe.replace(binning=binning)  # a binning that is not one of BINNINGS is a RecipeError
    return evaluate_run(run)


def body_features(recipe: Recipe, model: nn.Module, head: str, data: PreparedData, stop: StopToken | None = None,
                  dist: Distributed | None = None) -> frozen_body.BodyFeatures | None:
    """The frozen body's outputs for every split, when nothing before the head trains and no augmentation changes
    the inputs from epoch to epoch (see frozen_body); None otherwise."""
    if recipe.data.augment == "on" or frozen_body.body_trains(model, head):
        return None
    device = dist.device if dist is not None else pick_device(recipe.train.device)
    return frozen_body.compute(model, head, data.inputs, {s: len(idx) for s, idx in data.splits.items()}, device,
                               lambda: bool(stop and stop.stopped), dist=dist)


def train_run(recipe: Recipe, loaded: LoadedModel, data: PreparedData, callbacks: Iterable[object] = (),
              stop: StopToken | None = None, dist: Distributed | None = None) -> Run:
    """Build and train the classifier, then (on rank 0 of a torchrun job, or alone) calibrate and evaluate it.
    Other ranks return the trained run without logits or metrics."""
    from workbench.core.decide.decisions import check_classes

    check_classes(recipe, len(data.classes))  # a cost matrix or prior of the wrong size, before training
    model, head, inspection = build_model(recipe, loaded, data)
    binary = recipe.head.task == "binary"
    head_only = not frozen_body.body_trains(model, head)
    if data.images:
        from workbench.core.data.image_norm import resolve_augment

        augment = resolve_augment(recipe.data.augment, body_trains=not head_only)
        data.augment = augment == "on"
        # The run's recipe records what auto chose, so it reproduces this model.
        recipe = recipe.replace(**{"data.normalize": data.normalize, "data.augment": augment,
                                   "data.resize": cast("ImageSamples", data.table.X).resize,
                                   **({"data.norm_mean": data.norm_values[0], "data.norm_std": data.norm_values[1]}
                                      if data.norm_values[0] else {})})
    elif recipe.data.standardize == "auto":  # the run's recipe records what auto chose, so it reproduces the model
        recipe = recipe.replace(**{"data.standardize": data.mean is not None})
    cache = body_features(recipe, model, head, data, stop, dist)
    try:
        # With the body's outputs cached, only the head trains; it is the model's own head module, so the model
        # (body and head) is what is evaluated and exported afterwards.
        trained = model.get_submodule(head) if cache is not None else model
        inputs = (lambda s: cache.splits[s]) if cache is not None else data.inputs
        result = train(trained, recipe.head.task, len(data.classes), inputs("train"), training_labels(model, data),
                       inputs("val"), data.labels("val"), recipe.train, recipe.seed, callbacks, stop,
                       head="" if cache is not None else head, dist=dist,
                       head_only=head_only)
        if cache is not None:
            result.body_features, result.seconds = cache.where, result.seconds + cache.seconds
        result.notes[:0] = data.scale_notes  # what auto chose for the inputs' scale, shown with the run
        result.notes += ordinal_notes(model)  # what head.ordinal auto chose; a histogram head's two losses
        model.cpu().eval()
        if dist is not None and not dist.is_main:
            return Run(recipe, loaded, data, inspection, model, head, result)
        logits = {s: predict_logits(trained, cache.splits[s].cpu() if cache is not None else data.model_inputs(s),
                                    binary).numpy() for s in data.splits}
    finally:
        if cache is not None:
            cache.close()
    if not result.cancelled:  # the run's recipe records what "auto" chose, so it reproduces this model
        recipe = recipe.replace(**{"train.lr": result.lr, "train.epochs": result.epochs, **ordinal_auto(recipe, model)})
    run = Run(recipe, loaded, data, inspection, model, head, result, logits)
    run.baseline_scores = baseline_check.scores_for(recipe.head.task, loaded.model, int(np.prod(
        inspection.output_shape)), data.model_inputs, {s: len(i) for s, i in data.splits.items()})
    return calibrate_run(run, recipe.calibration)


def calibrated_module(run: Run) -> export_mod.CalibratedClassifier:
    """Raw inputs -> the probabilities handed on (preprocessing, model, calibration and, with a deployment prior,
    its correction): the module the export writes and the notebook's scikit-learn view runs."""
    from workbench.core.workflow.decisions import export_metadata

    return export_metadata(run)[0]


def ordinal_export(run: Run) -> dict[str, Any]:
    """What an ordinal export's metadata says beyond the probabilities: the head, the classes' order and where it
    comes from, and how a plain-PyTorch user reads cumulative probabilities and contiguous sets."""
    summary = run.metrics.get("ordinal") or ordinal_summary(run)
    return {"head": summary["head"], "class_order": list(run.data.classes), "ordered_by": summary["ordered_by"],
            "thresholds": summary.get("thresholds"), "warm_start": summary["warm_start"],
            **({"fine_bins": summary["fine_bins"]} if summary.get("fine_bins") else {}),  # a histogram head's
            "cumulative": "P(y > classes[k]) = probability[:, k + 1:].sum(1), falling with k",
            "prediction_sets": "contiguous ranges of classes (ordinal adaptive prediction sets): "
                               "workbench.core.evaluate.ordinal_calibrate.contiguous_sets"}


def _input_shapes(run: Run) -> dict[str, tuple[int, ...]]:
    from workbench.core.open.multi_input import packed_of

    packed = packed_of(run.loaded.model)
    return packed.shapes() if packed is not None else {}


def export_run(run: Run, folder: str | Path, overwrite: bool = False, onnx: bool = False) -> export_mod.ExportResult:
    from workbench.core.workflow.decisions import export_metadata, input_norm

    d = run.data
    module, decided = export_metadata(run)  # the program, with the prior correction when one is set
    norm = input_norm(run)
    example = torch.as_tensor(d.table.X[d.splits["test"][:256]])
    with torch.no_grad():
        expected = module.eval()(example).numpy()
    several = several_inputs_export(d.table, _input_shapes(run))
    if several:  # the program takes the model's own inputs, as its forward did
        from workbench.core.export.export_read import program_inputs
        from workbench.core.open.multi_input import SeparateInputs

        program, examples = SeparateInputs(module), program_inputs(several, example)
    metadata = {
        "classes": d.classes, "task": run.recipe.head.task, "input_shape": list(d.input_shape),
        "output": "calibrated class probabilities, shape (N, K), columns in the order of 'classes'",
        **input_description(d, run.recipe, norm),
        "recipe": run.recipe.to_dict(), "calibration": run.calibration.params() if run.calibration else None,
        "head": run.head_name,
        "feature_names": d.table.feature_names if d.table.columns is not None else None,  # table files only
        **several,
        # decision_policy, conformal, abstention, prior_shift, shift_reference; decision_threshold and
        # decision_rule keep their earlier meaning (the exported binary threshold and its rule)
        **decided,
        "source": {"path": str(run.loaded.path), "sha256": run.loaded.sha256, "format": run.loaded.format},
        "data": data_description(run),  # the model card's data section
        # Wall time lives here, beside "created", not in metrics.json: the same recipe and seed give the same
        # metrics.json byte for byte.
        "training_seconds": run.training.seconds,
    }
    if run.ordinal:
        metadata["ordinal"] = ordinal_export(run)
    if several:
        return export_mod.export(folder, program, examples, expected, metadata, run.metrics, run.loaded.path,
                                 overwrite, onnx)
    return export_mod.export(folder, module, example, expected, metadata, run.metrics, run.loaded.path, overwrite,
                             onnx)
