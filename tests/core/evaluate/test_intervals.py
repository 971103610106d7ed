"""Intervals that say what they cover: Wilson intervals for proportions (against SciPy's), the real number of
bootstrap resamples, and the ECE's upward bias estimated and bounded (against a simulation)."""

import numpy as np
import pytest
from scipy.stats import binomtest

from workbench.core.evaluate import ece_bias, metrics, uncertainty


@pytest.mark.parametrize("k, n", [(85, 85), (0, 40), (17, 20), (1, 3), (500, 1000)])
def test_wilson_matches_scipy(k, n):
    reference = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert uncertainty.wilson(k, n) == pytest.approx([reference.low, reference.high], abs=1e-12)


def test_an_all_correct_split_gets_an_interval_that_is_not_degenerate():
    y = np.array([0] * 40 + [1] * 45)
    probs = np.where(np.eye(2)[y] > 0, 0.9, 0.1)
    out = metrics.evaluate(probs, y, ["a", "b"])
    low, high = out["ci"]["accuracy"]
    assert out["accuracy"] == 1.0 and high == 1.0 and 0.95 < low < 0.96  # 85 of 85: Wilson [0.957, 1]
    assert out["per_class"]["b"]["recall_ci"][0] == pytest.approx(uncertainty.wilson(45, 45)[0])
    assert out["per_class"]["a"]["precision_ci"][0] < 1.0
    assert out["ci_methods"]["accuracy"] == "wilson" and out["ci_methods"]["brier"] == "bootstrap"


def test_ci_method_names_the_resamples_drawn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60_000)
    probs = np.c_[np.full(len(y), 0.4), np.full(len(y), 0.6)]
    out = metrics.evaluate(probs, y, ["a", "b"])
    assert out["ci_resamples"] == 200 and "200 resamples" in out["ci_method"] and "400" not in out["ci_method"]


def _draw(rng, n, temperature):
    """Binary scores whose true probability is sigmoid(z); the model reports sigmoid(temperature * z)."""
    z = 2 * rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    q = 1 / (1 + np.exp(-temperature * z))
    return np.c_[1 - q, q], y


def _simulate(temperature, n=200, trials=200):
    rng = np.random.default_rng(3)
    raw, debiased, within = [], [], 0
    for _ in range(trials):
        probs, y = _draw(rng, n, temperature)
        out = metrics.evaluate(probs, y, ["a", "b"])
        raw.append(out["ece"])
        debiased.append(out["ece_debiased"])
        within += out["ece"] <= out["ece_if_calibrated"]["high"]
    return np.mean(raw), np.mean(debiased), within / trials


def test_a_calibrated_model_is_within_what_calibration_shows_and_the_bias_shrinks():
    raw, debiased, within = _simulate(temperature=1.0)
    assert 0.9 <= within <= 0.99  # the 95% bound holds for a perfectly calibrated model
    assert raw > 0.04 and abs(debiased) < 0.6 * raw  # the plug-in ECE is far from 0; the debiased one nearer


def test_a_miscalibrated_models_debiased_ece_is_nearer_the_truth():
    rng = np.random.default_rng(4)
    probs, y = _draw(rng, 400_000, 2.0)
    truth = metrics.reliability(probs, y, 13)["ece"]  # 200 rows get 13 bins; on 400,000 rows the noise is gone
    raw, debiased, within = _simulate(temperature=2.0)
    assert abs(debiased - truth) < 0.5 * abs(raw - truth)
    assert within < 0.2  # overconfidence at T = 2 is seen past the calibrated bound


def test_the_debiased_estimator_matches_kumar_et_al_on_a_fixed_binning():
    # their normal_debiased_ce: 2 * plug-in - mean over normal draws of each bin's accuracy (one bin here)
    confidence = np.full(50, 0.8)
    correct = np.array([1] * 35 + [0] * 15)
    edges = np.array([0.0, 1.0])
    acc, spread = 0.7, np.sqrt(0.7 * 0.3 / 50)
    draws = np.random.default_rng(ece_bias.SEED).normal(acc, spread, size=(ece_bias.DRAWS, 1))
    expected = 2 * 0.1 - np.abs(draws - 0.8).mean()
    assert ece_bias.debiased(confidence, correct, edges) == pytest.approx(expected)


def test_what_the_ece_interval_covers_reads_as_a_number_not_a_key():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([1, 1], size=200)
    text = ece_bias.summary(probs, rng.integers(0, 2, 200), np.linspace(0, 1, 11))
    high = text["ece_if_calibrated"]["high"]
    assert f"shows up to {high:.3f} on these rows" in text["ece_interval_covers"]
    assert "ece_if_calibrated" not in text["ece_interval_covers"]


def test_the_ece_interval_holds_the_ece_and_covers_the_bins_population_ece_better_than_plain_percentiles():
    from workbench.core.evaluate.scores import auto_bins, bin_edges

    rng = np.random.default_rng(7)
    big, y_big = _draw(rng, 400_000, 2.0)
    trials, shifted, plain = 100, 0, 0
    for _ in range(trials):
        probs, y = _draw(rng, 200, 2.0)
        edges = bin_edges(probs.max(1), auto_bins(len(y)))
        truth = metrics.reliability(big, y_big, edges=edges)["ece"]
        point = metrics.reliability(probs, y, edges=edges)["ece"]
        low, high = uncertainty.intervals(probs, y, ("ece",), edges=edges)["ece"]
        assert low <= point <= high  # the unshifted interval misses it on some splits
        shifted += low <= truth <= high
        low, high = uncertainty.interval(uncertainty.replicates(probs, y, ["ece"], edges=edges)["ece"])
        plain += low <= truth <= high
    assert shifted / trials >= 0.88 and shifted > plain, (shifted, plain)
