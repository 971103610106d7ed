"""The decide/refer band: the error among decided cases stays under epsilon in at least 1 - delta of calibration
draws (by simulation), the curve trades coverage for error, and a split too small certifies nothing."""

import numpy as np
import pytest

from workbench.core.decide import risk


def draw(rng, n):
    """Calibrated binary probabilities: p(positive) uniform-ish, labels drawn from them."""
    p1 = rng.beta(0.6, 0.6, n)
    return p1, (rng.random(n) < p1).astype(int)


def test_the_error_among_decided_stays_under_epsilon_with_the_stated_confidence():
    rng = np.random.default_rng(0)
    epsilon, delta, violations, widths = 0.1, 0.1, 0, []
    big_p, big_y = draw(rng, 200_000)  # the population: the band's true error among decided
    for seed in range(100):
        p1, y = draw(rng, 1000)
        band = risk.fit(p1, y, epsilon, delta, 0.5, seed)
        if band.lam is None:
            continue  # refusing everything never violates the target
        decision = band.decide(big_p)
        decided = decision >= 0
        violations += (decision[decided] != big_y[decided]).mean() > epsilon
        widths.append(decided.mean())
    assert violations / 100 <= delta + 0.07  # at most delta of the draws, with the simulation's binomial slack
    assert len(widths) >= 85 and np.mean(widths) > 0.4  # and it does decide: most draws certify a wide band


def test_band_respects_the_decision_threshold_and_the_curve_trades_coverage_for_error():
    rng = np.random.default_rng(1)
    p1, y = draw(rng, 3000)
    band = risk.fit(p1, y, 0.1, 0.1, threshold=0.3, seed=0)
    assert band.lower <= 0.3 <= band.upper
    out = risk.evaluate(band, p1, y)
    assert out["error"] <= 0.1 + 0.02 and 0 < out["coverage"] < 1
    curve = out["curve"]
    assert curve["coverage"][0] < curve["coverage"][-1] == 1.0  # lambda 1 refers nearly all, lambda 0 decides all
    assert curve["error"][-1] > curve["error"][len(curve["error"]) // 4]
    low, high = out["error_ci"]
    assert low <= out["error"] <= high


def test_a_calibration_split_too_small_certifies_nothing_and_refers_everything():
    rng = np.random.default_rng(2)
    p1, y = draw(rng, 30)
    band = risk.fit(p1, y, 0.01, 0.05)
    assert band.lam is None and (band.decide(p1) == -1).all()
    assert [n.code for n in band.notes] == ["abstention.none_certified"]
    assert band.notes[0].field == "decide.risk_epsilon" and band.metadata()["certified"] is False


@pytest.mark.parametrize("errors,n,expected", [(0, 45, 0.95 ** 45), (3, 100, None)])
def test_p_values_are_binomial_tails(errors, n, expected):
    from scipy.stats import binom

    got = risk.p_values(np.array([n]), np.array([errors]), 0.05)[0]
    assert got == pytest.approx(expected if expected is not None else binom.cdf(errors, n, 0.05))
