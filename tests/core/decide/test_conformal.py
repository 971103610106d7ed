"""Conformal sets: the same sets as MAPIE and TorchCP on the same calibration scores, a hand-worked APS case,
coverage by simulation, and the warnings of a calibration split too small for the level."""

import math

import numpy as np
import pytest
import torch

from tests.core.decide.references import dirichlet_task, mapie_sets, mapie_uniforms, torchcp
from workbench.core.decide import conformal as cf


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2])
@pytest.mark.parametrize("score", ["lac", "aps"])
def test_sets_equal_mapies(alpha, score):
    rng = np.random.default_rng(int(alpha * 100))
    probs, y = dirichlet_task(rng, 600, 4)
    cal, test = slice(0, 350), slice(350, None)
    u_cal, u_test = mapie_uniforms(350, 250) if score == "aps" else (None, None)
    ours = cf.fit(probs[cal], y[cal], alpha, score, u=u_cal).sets(probs[test], u=u_test)
    ref = mapie_sets(probs[cal], y[cal], probs[test], alpha, score)
    assert ours.shape == ref.shape and (ours == ref).all()
    assert 0 < ours.sum(1).mean() < 4  # neither empty nor full: the comparison says something


@pytest.mark.filterwarnings("ignore:The 'temperature' parameter is deprecated:DeprecationWarning")
@pytest.mark.parametrize("class_conditional", [False, True])
@pytest.mark.parametrize("score", ["lac", "aps"])
def test_sets_equal_torchcps_without_randomisation(score, class_conditional):
    cp = torchcp()
    rng = np.random.default_rng(3)
    probs, y = dirichlet_task(rng, 900, 5)
    cal, test = slice(0, 600), slice(600, None)
    function = cp.APS(score_type="identity", randomized=False) if score == "aps" else cp.LAC(score_type="identity")
    predictor = (cp.ClassConditionalPredictor if class_conditional else cp.SplitPredictor)(function)
    predictor.calculate_threshold(torch.tensor(probs[cal]), torch.tensor(y[cal]), 0.1)
    ref = predictor.predict_with_logits(torch.tensor(probs[test])).numpy().astype(bool)
    ours = cf.fit(probs[cal], y[cal], 0.1, score, class_conditional).sets(probs[test])
    assert (ours == ref).all()


def test_aps_by_hand():
    """Three calibration rows at alpha = 0.25: k = ceil(4 * 0.75) = 3, the largest score. APS scores are the
    cumulative probability less 1: 0.9, 0.5, 1.0 become -0.1, -0.5, 0."""
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7]])
    y = np.array([1, 1, 0])
    assert cf.true_scores(probs, y, "aps") == pytest.approx([-0.1, -0.5, 0.0])
    fitted = cf.fit(probs, y, 0.25, "aps")
    assert fitted.thresholds == pytest.approx([0.0, 0.0, 0.0])
    fitted = cf.fit(np.r_[probs, probs], np.r_[y, y], 0.4, "aps")  # k = ceil(7 * 0.6) = 5 of [-.5,-.5,-.1,-.1,0,0]
    assert fitted.thresholds[0] == pytest.approx(0.0)
    new = np.array([[0.5, 0.35, 0.15]])  # cumulative 0.5, 0.85, 1.0: scores -0.5, -0.15, 0
    assert cf.fit(probs, y, 0.5, "aps").sets(new).tolist() == [[True, True, False]]  # k = 2: threshold -0.1


def test_aps_of_a_confident_model_is_the_exact_arithmetic_aps():
    """Probabilities whose tails vanish next to 1 (a confident softmax): summed from the top they round to 1.0 and
    tie every class at the threshold (the digits demo's sets held all ten classes); summed from the tail the sets
    are those of exact rational arithmetic."""
    from fractions import Fraction

    rng = np.random.default_rng(5)
    logits = rng.normal(0, 3, (60, 6))
    y = rng.integers(0, 6, 60)
    logits[np.arange(60), y] += 40
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)

    def exact_scores(rows):  # each row normalised exactly, then APS's cumulative sum
        out = []
        for row in rows:
            exact = [Fraction(v) for v in row]
            exact = [v / sum(exact) for v in exact]
            order = sorted(range(len(row)), key=lambda k: (-row[k], k))
            total, score = Fraction(0), [None] * len(row)
            for k in order:
                total += exact[k]
                score[k] = total
            out.append(score)
        return out

    cal, test = probs[:30], probs[30:]
    cal_scores = sorted(s[k] for s, k in zip(exact_scores(cal), y[:30]))
    q = cal_scores[int(np.ceil(31 * 0.9)) - 1]
    exact = np.array([[s <= q for s in row] for row in exact_scores(test)])
    ours = cf.fit(cal, y[:30], 0.1, "aps").sets(test)
    assert (ours == exact).all()
    naive = np.cumsum(np.sort(cal, 1)[:, ::-1], 1)
    assert (naive[:, 1:] == 1.0).any()  # the case is one where summing from the top saturates


def test_coverage_by_simulation_is_within_its_binomial_band():
    """200 calibration/test draws: pooled coverage lies in the binomial band of 1 - alpha (split conformal
    covers at least 1 - alpha and at most 1 - alpha + 1 / (n + 1) on average)."""
    rng = np.random.default_rng(0)
    alpha, n_cal, n_test, draws = 0.1, 200, 100, 200
    for score in ("lac", "aps"):
        hits = 0
        for _ in range(draws):
            probs, y = dirichlet_task(rng, n_cal + n_test, 4)
            sets = cf.fit(probs[:n_cal], y[:n_cal], alpha, score).sets(probs[n_cal:])
            hits += int(sets[np.arange(n_test), y[n_cal:]].sum())
        total = draws * n_test
        band = 3 * math.sqrt(alpha * (1 - alpha) / total) + 3 * 0.03 / math.sqrt(draws)  # binomial + threshold spread
        assert 1 - alpha - band <= hits / total <= 1 - alpha + 1 / (n_cal + 1) + band, score


def test_class_conditional_covers_every_class_and_marginal_may_not():
    rng = np.random.default_rng(1)
    hard = np.full(3, 1 / 3)  # class 2 rows are ambiguous, classes 0 and 1 easy
    easy = [np.array([0.9, 0.05, 0.05]), np.array([0.05, 0.9, 0.05])]

    def draw(n):
        y = rng.integers(0, 3, n)
        probs = np.array([hard if k == 2 else easy[k] for k in y]) + rng.normal(0, 0.01, (n, 3))
        probs = np.clip(probs, 1e-3, None)
        return probs / probs.sum(1, keepdims=True), np.where(y == 2, rng.integers(0, 3, n), y)

    probs, y = draw(3000)
    cal, test = slice(0, 1500), slice(1500, None)
    coverage = {}
    for class_conditional in (False, True):
        sets = cf.fit(probs[cal], y[cal], 0.1, "lac", class_conditional).sets(probs[test])
        out = cf.evaluate(sets, y[test], ["a", "b", "c"])
        coverage[class_conditional] = [v["coverage"] for v in out["per_class_coverage"].values()]
        assert out["coverage"] >= 0.87
    assert min(coverage[True]) >= 0.86
    assert min(coverage[False]) < 0.8  # the marginal level hides an under-covered class


def test_label_shift_weighted_sets_cover_at_the_deployment_prior():
    """Podkopaev & Ramdas: weighted thresholds cover at 1 - alpha on rows drawn at the new prior."""
    rng = np.random.default_rng(2)
    centres = np.array([-1.0, 1.0])

    def rows(n, prior):
        y = (rng.random(n) < prior[1]).astype(int)
        x = rng.normal(centres[y], 1.2)
        logit = 2 * x / 1.44  # the posterior at prior 0.5
        p1 = 1 / (1 + np.exp(-logit))
        return np.c_[1 - p1, p1], y

    probs_cal, y_cal = rows(2000, np.array([0.5, 0.5]))
    target = np.array([0.1, 0.9])
    weights = target / np.array([0.5, 0.5])
    hits = total = 0
    for _ in range(20):
        probs, y = rows(1000, target)
        sets = cf.fit(probs_cal, y_cal, 0.1, "lac", class_weights=weights).sets(probs)
        hits, total = hits + int(sets[np.arange(len(y)), y].sum()), total + len(y)
    assert abs(hits / total - 0.9) < 0.02
    plain = cf.fit(probs_cal, y_cal, 0.1, "lac")
    assert not plain.label_shift and cf.fit(probs_cal, y_cal, 0.1, "lac", class_weights=weights).label_shift


def test_a_calibration_split_too_small_for_the_level_is_a_typed_warning():
    rng = np.random.default_rng(4)
    probs, y = dirichlet_task(rng, 8, 3)
    fitted = cf.fit(probs, y, 0.1, "lac")  # needs 9 rows
    assert np.isinf(fitted.thresholds).all() and fitted.sets(probs).all()
    assert [n.code for n in fitted.notes] == ["conformal.small_calibration"]
    assert fitted.notes[0].field == "decide.conformal_alpha" and "9" in fitted.notes[0].text
    probs, y = dirichlet_task(rng, 60, 3)
    y[:] = np.r_[np.zeros(52, int), np.ones(5, int), np.full(3, 2)]
    notes = cf.calibration_notes(y, 3, 0.1, True, ["x", "y", "z"])
    assert [n.code for n in notes] == ["conformal.small_class"] and "y (5), z (3)" in notes[0].text
    assert cf.calibration_notes(y, 3, 0.1, False) == []


def test_evaluation_reports_intervals_histogram_and_per_class_coverage():
    sets = np.array([[True, False], [True, True], [False, True], [False, False]])
    y = np.array([0, 1, 0, 1])
    out = cf.evaluate(sets, y, ["no", "yes"])
    assert out["coverage"] == 0.5 and out["set_size_histogram"] == [1, 2, 1]
    assert out["mean_set_size"] == 1.0 and out["empty_sets"] == 0.25
    low, high = out["coverage_ci"]
    assert low < 0.5 < high
    assert out["per_class_coverage"] == {"no": {"coverage": 0.5, "n": 2, "ci": out["per_class_coverage"]["no"]["ci"]},
                                         "yes": {"coverage": 0.5, "n": 2, "ci": out["per_class_coverage"]["yes"]["ci"]}}


def test_contiguous_hook_fills_gaps_for_ordered_classes():
    sets = np.array([[True, False, True, False], [False, False, False, False], [False, True, False, False]])
    assert cf.contiguous(sets).tolist() == [[True, True, True, False], [False] * 4, [False, True, False, False]]
