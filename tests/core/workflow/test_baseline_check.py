"""Every trained run is scored against the no-training baseline on the validation split, and says when training
did not beat it."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from workbench import cli
from workbench.core.evaluate import baseline_check
from workbench.core.open.load import load_checkpoint
from workbench.core.workflow import demo
from workbench.core.workflow.pipeline import prepare_data, train_run


def _split(rng, n):
    score = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-3 * score))).astype(int)
    return score, y


def test_a_head_that_learnt_nothing_is_worse_and_a_sharp_one_better():
    rng = np.random.default_rng(0)
    (cal, y_cal), (val, y_val) = _split(rng, 300), _split(rng, 300)
    scores = {"cal": cal, "val": val}
    noise = np.full((300, 2), 0.5)
    found = baseline_check.check(scores, noise, y_val, y_cal)
    assert found["applies"] and found["verdict"] == "worse"
    assert found["note"]["code"] == "training_below_baseline" and found["note"]["kind"] == "warning"
    reference = LogisticRegression(C=1e4, max_iter=1000).fit(cal.reshape(-1, 1), y_cal)
    expected = reference.predict_proba(val.reshape(-1, 1))
    assert found["metrics"]["accuracy"]["baseline"] == pytest.approx((expected.argmax(1) == y_val).mean())
    assert found["metrics"]["accuracy"]["trained"] == pytest.approx((y_val == 1).mean())  # p >= 0.5: positive
    sharp = np.eye(2)[y_val] * 0.98 + 0.01  # knows every label
    better = baseline_check.check(scores, sharp, y_val, y_cal)
    assert better["verdict"] == "better" and better["note"] is None
    m = better["metrics"]["brier"]
    assert m["low"] <= m["difference"] <= m["high"] < 0  # trained - baseline, lower is better


def test_multiclass_and_many_outputs_say_why_not():
    assert "multiclass" in baseline_check.scores_for("multiclass", None, 1, None, {})["why_not"]
    assert "2 outputs" in baseline_check.scores_for("binary", None, 2, None, {})["why_not"]
    assert baseline_check.check({"why_not": "x"}, None, None, None) == {"applies": False, "reason": "x"}


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    return demo.build_diabetes(tmp_path_factory.mktemp("diabetes"))


def test_every_trained_run_carries_the_check_and_the_cli_offers_the_baseline(diabetes):
    from workbench.core.workflow.baseline import baseline_run

    ckpt, recipe = diabetes
    loaded = load_checkpoint(ckpt, recipe.model_source)
    data = prepare_data(recipe, loaded.input_shape)
    run = train_run(recipe.replace(**{"train.epochs": 2}), loaded, data)
    found = run.metrics["baseline_check"]
    assert found["applies"] and found["split"] == "validation" and found["n"] == len(data.splits["val"])
    assert set(found["metrics"]) == {"accuracy", "brier", "roc_auc"}
    assert found["verdict"] in ("better", "worse", "mixed", "within noise")
    assert baseline_run(recipe, loaded, data).metrics["baseline_check"]["applies"] is False
    # what the command line says when training lost to the baseline
    rng = np.random.default_rng(0)
    (cal, y_cal), (val, y_val) = _split(rng, 300), _split(rng, 300)
    metrics = {**run.metrics, "baseline_check": baseline_check.check({"cal": cal, "val": val}, np.full((300, 2), 0.5),
                                                                     y_val, y_cal)}
    text = cli._summary(metrics)
    assert "warning: on the validation split the trained head scored below the no-training baseline" in text
    assert "--baseline" in text


def test_the_warning_names_the_metrics_lost_on_first():
    """'scored below the baseline on some metric: accuracy 0.782 vs 0.749 (better); brier ... (worse)' read as if
    accuracy were below; the metrics lost on come first, the others after them."""
    from workbench.core.evaluate.baseline_check import _note

    metrics = {"accuracy": {"trained": 0.782, "baseline": 0.749, "verdict": "better"},
               "brier": {"trained": 0.170, "baseline": 0.150, "verdict": "worse"}}
    text = str(_note("mixed", metrics))
    assert "scored below the no-training baseline (the regression output, Platt-calibrated) on brier 0.170 vs " \
           "0.150 (worse) (elsewhere: accuracy 0.782 vs 0.749 (better))." in text
