"""Class-prior shift: EM within 0.03 of the true prevalence on synthetic shifted samples, BBSE close, the
correction equal to the posterior at the new prior, and the shift tests telling label shift from input shift."""

import numpy as np
import pytest
import torch

from workbench.core.decide import prior_shift as ps
from workbench.core.errors import RecipeError

CENTRES = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.5]])


def sample(rng, n, prior, shift=0.0):
    """Gaussian classes (unit variance) and their exact posteriors at `source`: calibrated by construction."""
    k = len(prior)
    y = rng.choice(k, size=n, p=prior)
    x = CENTRES[:k][y] + rng.normal(size=(n, 2)) + shift
    return x, y


def posterior(x, source):
    k = len(source)
    log = -0.5 * ((x[:, None, :] - CENTRES[:k][None]) ** 2).sum(-1) + np.log(source)[None]
    p = np.exp(log - log.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


@pytest.mark.parametrize("source,target", [([0.5, 0.5], [0.2, 0.8]), ([0.5, 0.5], [0.9, 0.1]),
                                           ([0.3, 0.3, 0.4], [0.6, 0.1, 0.3])])
def test_em_estimates_the_shifted_prevalence_within_0_03(source, target):
    rng = np.random.default_rng(len(source) + int(target[0] * 10))
    source, target = np.array(source), np.array(target)
    for _ in range(5):
        x, _ = sample(rng, 3000, target)
        prior, iterations, converged = ps.em_prior(posterior(x, source), source)
        assert converged and np.abs(prior - target).max() < 0.03


def test_bbse_estimates_the_shifted_prevalence():
    rng = np.random.default_rng(7)
    source, target = np.array([0.3, 0.3, 0.4]), np.array([0.6, 0.1, 0.3])
    x_cal, y_cal = sample(rng, 4000, source)
    x_new, _ = sample(rng, 4000, target)
    found = ps.bbse_prior(posterior(x_cal, source), y_cal, posterior(x_new, source))
    assert np.abs(found - target).max() < 0.05


def test_the_correction_is_the_posterior_at_the_new_prior_and_the_program_applies_it():
    rng = np.random.default_rng(1)
    x, _ = sample(rng, 50, [0.5, 0.5, 0.0][:2])
    source, target = np.array([0.5, 0.5]), np.array([0.1, 0.9])
    assert ps.adjust(posterior(x, source), source, target) == pytest.approx(posterior(x, target))
    calibration = torch.nn.Softmax(dim=1)
    module = ps.PriorCorrection(calibration, target / source)
    logits = torch.randn(6, 2)
    expected = ps.adjust(torch.softmax(logits, 1).numpy(), source, target)
    assert module(logits).numpy() == pytest.approx(expected, abs=1e-6)


def test_a_binary_prior_may_be_the_positive_share_alone():
    assert ps.normalise_prior((0.2,), 2).tolist() == pytest.approx([0.8, 0.2])
    with pytest.raises(RecipeError) as err:
        ps.normalise_prior((0.2, 0.3), 3)
    assert err.value.field == "decide.prior"


def test_shift_tests_tell_a_change_of_class_shares_from_a_change_of_inputs():
    rng = np.random.default_rng(3)
    source = np.array([0.5, 0.5])
    x_cal, y_cal = sample(rng, 3000, source)
    ref = ps.score_summary(posterior(x_cal, source))
    same, _ = sample(rng, 2000, source)
    shares, _ = sample(rng, 2000, [0.15, 0.85])
    inputs = sample(rng, 2000, source)[0] * np.array([0.3, 1.0])  # squeezed towards the boundary: new inputs

    def check(x):
        probs = posterior(x, source)
        prior, _, _ = ps.em_prior(probs, source)
        return ps.exchangeability(ref, y_cal, ps.score_summary(probs), source, prior)

    out, notes = check(same)
    assert out["plain"]["exchangeable"] and out["label_shift"]["explained"] and notes == []
    out, notes = check(shares)
    assert not out["plain"]["exchangeable"] and out["label_shift"]["explained"]
    assert [n.code for n in notes] == ["shift.not_exchangeable"]
    out, notes = check(inputs)
    assert not out["label_shift"]["explained"] and "shift.not_label_shift" in [n.code for n in notes]
