"""Ordinal heads on the diabetes demo's quartiles: the warm start decides as the regression cut, the baseline is
that cut, and a trained ordinal head is at least as accurate as a softmax head with a smaller class distance
(the light version of benchmarks/ordinal.py: one seed)."""

import numpy as np
import pytest
import torch

from workbench.core.open.load import load_checkpoint
from workbench.core.train.ordinal import cut_classes, median_class, ordinal_layer
from workbench.core.train.train import predict_logits
from workbench.core.workflow import demo
from workbench.core.workflow.baseline import baseline_run
from workbench.core.workflow.pipeline import build_model, prepare_data, regression_outputs, train_run


@pytest.fixture(scope="module")
def quartiles(tmp_path_factory):
    ckpt, recipe = demo.build_diabetes(tmp_path_factory.mktemp("diabetes"))
    recipe = recipe.replace(**{"data.path": "sklearn:diabetes", "data.label": "target", "data.label_mode": "bins",
                               "data.bins": 4, "head.task": "ordinal"})
    loaded = load_checkpoint(ckpt, recipe.model_source)
    return recipe, loaded, prepare_data(recipe, loaded.input_shape)


def _cut(recipe, loaded, data, split):
    """The regression cut: the regression head's output against the warm start's cut points."""
    model, head, inspection = build_model(recipe, loaded, data)
    cuts = ordinal_layer(model).warm_start["cuts"]
    reg = regression_outputs(loaded.model, inspection.head, data.inputs(split))[:, 0]
    return model, cut_classes(reg, cuts)


def test_the_warm_started_head_decides_exactly_as_the_regression_cut(quartiles):
    recipe, loaded, data = quartiles
    for split in ("train", "test"):
        model, cut = _cut(recipe, loaded, data, split)
        logp = predict_logits(model, torch.as_tensor(data.inputs(split)), False)
        assert (median_class(logp).numpy() == cut).all()
        y = data.labels(split)
        head = float((median_class(logp).numpy() == y).mean())
        assert head == float((cut == y).mean())
    train_cut = _cut(recipe, loaded, data, "train")[1]
    assert np.bincount(train_cut).tolist() == np.bincount(data.labels("train")).tolist()


def test_the_ordinal_baseline_is_the_regression_cut_calibrated(quartiles):
    recipe, loaded, data = quartiles
    run = baseline_run(recipe.replace(**{"head.task": "multiclass"}), loaded, data)  # ordered classes suffice
    cut = _cut(recipe, loaded, data, "test")[1]
    assert run.kind == "baseline" and run.recipe.head.task == "ordinal" and not run.training.history
    assert run.metrics["test"]["accuracy"] == float((cut == data.labels("test")).mean())  # a temperature keeps it
    assert run.metrics["test"]["mae_classes"] == float(np.abs(cut - data.labels("test")).mean())
    warm = run.metrics["ordinal"]["warm_start"]
    assert "quantiles" in warm["cuts_from"] and warm["scale"][0] > 0
    # calibration auto (the default) chose among the ordinal maps; whichever it applied keeps the classes' order
    assert run.metrics["calibration_requested"] == "auto" and run.calibration.params()["ordinal"]
    assert run.metrics["calibration"] == run.metrics["calibration_auto"]["pick"]


def test_an_ordinal_head_keeps_accuracy_and_shortens_the_class_distance(quartiles):
    recipe, loaded, data = quartiles
    softmax = train_run(recipe.replace(**{"head.task": "multiclass"}), loaded, data).metrics["test"]
    ordinal = train_run(recipe, loaded, data)
    t = ordinal.metrics["test"]
    assert t["accuracy"] >= softmax["accuracy"] - 0.01
    assert t["mae_classes"] < softmax["mae_classes"]
    thresholds = ordinal.metrics["ordinal"]["thresholds"]
    assert thresholds == sorted(thresholds) and ordinal.metrics["ordinal"]["head"] == "coral"
    assert "mae_classes" in softmax and "qwk" in softmax["ci"]  # a softmax head on ordered classes is scored too
    corn = train_run(recipe.replace(**{"head.ordinal": "corn"}), loaded, data)
    assert corn.metrics["ordinal"]["head"] == "corn" and corn.metrics["test"]["mae_classes"] < 1
    multinomial = train_run(recipe.replace(**{"head.ordinal": "multinomial", "head.warm_start": "off"}), loaded,
                            data)
    assert multinomial.metrics["ordinal"]["head"] == "multinomial" and "thresholds" not in multinomial.metrics[
        "ordinal"] and multinomial.metrics["test"]["mae_classes"] < 1


def test_ordinal_auto_records_its_pick_in_the_run(quartiles):
    recipe, loaded, data = quartiles
    run = train_run(recipe.replace(**{"head.ordinal": "auto", "train.epochs": 2}), loaded, data)
    chosen = run.metrics["ordinal"]["chosen_by"]
    assert chosen["chosen"] in ("coral", "multinomial") and chosen["chosen"] == run.metrics["ordinal"]["head"]
    assert run.recipe.head.ordinal == chosen["chosen"]  # the run's recipe reproduces the model
    # multinomial is picked when the output orders worse than the features, so it does not start from that output
    assert run.recipe.head.warm_start == ("off" if chosen["chosen"] == "multinomial" else "on")
    assert (run.metrics["ordinal"]["warm_start"] is None) == (chosen["chosen"] == "multinomial")
    assert {"cut_distance", "probe_distance"} <= set(chosen)
