"""Order metrics against scikit-learn, ordinal calibration that keeps the order, per-threshold reliability and
contiguous prediction sets."""

import numpy as np
import pytest
import torch
from sklearn.metrics import cohen_kappa_score

from workbench.core.evaluate import calibrate, ordinal_metrics
from workbench.core.evaluate.metrics import evaluate
from workbench.core.evaluate.ordinal_calibrate import (
    OrdinalCalibration,
    contiguous_hull,
    contiguous_scores,
    contiguous_sets,
    fit,
)
from workbench.core.evaluate.scores import median_class
from workbench.core.train.ordinal import CoralLayer


def _ordinal_logits(n=600, k=5, seed=0, sharpness=3.0):
    """Log class probabilities of a CORAL head `sharpness` times sharper than the model its labels follow (an
    overconfident head, as a trained one often is)."""
    rng = np.random.default_rng(seed)
    layer = CoralLayer(k)
    cuts = np.linspace(-1.5, 1.5, k - 1)
    layer.set_thresholds((sharpness * cuts).tolist())
    r = rng.normal(size=n)
    y = np.searchsorted(cuts, r + rng.logistic(size=n))  # P(y > k) = sigmoid(r - cut_k)
    with torch.no_grad():
        logp = layer(torch.as_tensor(sharpness * r, dtype=torch.float32)[:, None]).numpy()
    return logp, y


def test_order_metrics_equal_scikit_learn_and_numpy():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 5, 300)
    pred = np.clip(y + rng.integers(-2, 3, 300), 0, 4)
    got = ordinal_metrics.order_metrics(y, pred)
    assert got["qwk"] == pytest.approx(cohen_kappa_score(y, pred, labels=list(range(5)), weights="quadratic"))
    assert got["mae_classes"] == pytest.approx(np.abs(y - pred).mean())
    assert got["within_one"] == pytest.approx((np.abs(y - pred) <= 1).mean())
    ci = ordinal_metrics.order_intervals(y, pred)
    for name in ("mae_classes", "qwk", "within_one"):
        assert ci[name][0] <= got[name] <= ci[name][1]
    assert ordinal_metrics.distance_counts(y, pred, 5) == np.bincount(np.abs(y - pred), minlength=5).tolist()


def test_run_metrics_of_an_ordinal_head_use_the_median_and_carry_order_metrics():
    logp, y = _ordinal_logits()
    probs = calibrate.fit("none", "ordinal", 5, logp, y).probabilities(logp)
    classes = [f"c{i}" for i in range(5)]
    m = evaluate(probs, y, classes, probs, ordinal=True)
    pred = median_class(probs)
    assert m["accuracy"] == pytest.approx((pred == y).mean())
    assert m["mae_classes"] == pytest.approx(np.abs(pred - y).mean()) and "mae_classes" in m["ci"]
    assert m["decision_rule"] == ordinal_metrics.MEDIAN_RULE and sum(m["distance_counts"]) == len(y)
    tables = m["reliability_thresholds"]
    assert len(tables) == 4 and all(sum(t["count"]) == len(y) for t in tables)
    above_1 = probs[:, 2:].sum(1)
    top = above_1 > tables[1]["edges"][-2]
    assert tables[1]["accuracy"][-1] == pytest.approx((y[top] > 1).mean())
    assert "mae_classes" not in evaluate(probs, y, classes)  # unordered classes: no order metrics


@pytest.mark.parametrize("method", ["none", "temperature", "platt", "isotonic"])
def test_ordinal_calibration_keeps_the_order_and_the_simplex(method):
    logp, y = _ordinal_logits(seed=1)
    fitted = calibrate.fit(method, "ordinal", 5, logp[:300], y[:300])
    assert isinstance(fitted, OrdinalCalibration) and fitted.params()["method"] == method
    probs = fitted.probabilities(logp[300:])
    assert (probs >= 0).all() and np.allclose(probs.sum(1), 1, atol=1e-5)
    above = ordinal_metrics.above(probs)
    assert (above[:, 1:] <= above[:, :-1] + 1e-6).all()
    again = OrdinalCalibration(method, 5, fitted.params()).probabilities(logp[300:])
    assert np.allclose(again, probs)


def test_temperature_fixes_an_overconfident_head_without_moving_its_decisions():
    logp, y = _ordinal_logits(n=2000, seed=2, sharpness=3.0)
    raw = calibrate.fit("none", "ordinal", 5, logp[:1000], y[:1000]).probabilities(logp[1000:])
    fitted = calibrate.fit("temperature", "ordinal", 5, logp[:1000], y[:1000])
    tuned = fitted.probabilities(logp[1000:])
    nll = lambda p: -np.log(p[np.arange(1000), y[1000:]] + 1e-12).mean()  # noqa: E731
    assert fitted.params()["temperature"] > 1.5 and nll(tuned) < nll(raw)
    assert (median_class(tuned) == median_class(raw)).all()


def test_isotonic_thresholds_that_cross_are_made_monotone():
    cal = OrdinalCalibration("isotonic", 3, {"knots_x": [[0.0, 1.0], [0.0, 1.0]],
                                             "knots_y": [[0.0, 0.2], [0.5, 1.0]]})  # P(y > 1) above P(y > 0)
    probs = cal.probabilities(np.log(np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])))
    assert (probs >= 0).all() and np.allclose(probs.sum(1), 1)


def test_contiguous_sets_are_ranges_that_grow_with_tau_and_cover_at_the_conformal_level():
    logp, y = _ordinal_logits(n=4000, seed=4)
    probs = np.exp(logp)
    low, high = contiguous_sets(probs, 0.0)
    assert (low == probs.argmax(1)).all() and (high == low).all()
    previous = (low, high)
    for tau in (0.5, 0.8, 0.95, 1.0):
        low, high = contiguous_sets(probs, tau)
        mass = np.array([probs[i, a:b + 1].sum() for i, (a, b) in enumerate(zip(low, high))])
        assert (mass >= tau - 1e-6).all() and (low <= previous[0]).all() and (high >= previous[1]).all()
        previous = (low, high)
    scores = contiguous_scores(probs[:2000], y[:2000])
    low, high = contiguous_sets(probs[:2000], scores)
    assert ((low <= y[:2000]) & (y[:2000] <= high)).all()  # each row's own score just holds its label
    alpha = 0.1
    tau = np.quantile(scores, np.ceil(2001 * (1 - alpha)) / 2000, method="higher")
    low, high = contiguous_sets(probs[2000:], tau)
    assert ((low <= y[2000:]) & (y[2000:] <= high)).mean() >= 1 - alpha - 0.02


def test_contiguous_hull_fills_the_gaps_of_any_set():
    members = np.array([[True, False, True, False], [False, False, False, True], [False] * 4])
    assert contiguous_hull(members).tolist() == [[True, True, True, False], [False, False, False, True],
                                                 [False] * 4]


def test_fit_refuses_matrix_scaling_for_an_ordinal_head():
    logp, y = _ordinal_logits(n=50)
    with pytest.raises(ValueError):
        fit("matrix", 5, logp, y)
