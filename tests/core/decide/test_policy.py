"""Decision policies: the Bayes decision equals a brute-force minimum, the binary Bayes threshold makes the same
decisions, and each named objective's threshold is the best of every possible cut."""

import itertools

import numpy as np
import pytest
from sklearn import metrics as skm

from tests.core.decide.references import dirichlet_task
from workbench.core.decide import policy as pol
from workbench.core.errors import RecipeError


@pytest.mark.parametrize("n_classes", [2, 3, 4])
def test_bayes_decision_equals_the_brute_force_minimum(n_classes):
    rng = np.random.default_rng(n_classes)
    probs, _ = dirichlet_task(rng, 40, n_classes)
    costs = rng.integers(0, 10, (n_classes, n_classes)).astype(float)
    ours = pol.bayes_decisions(probs, costs)
    for row, choice in zip(probs, ours):
        expected = [sum(row[i] * costs[i, j] for i in range(n_classes)) for j in range(n_classes)]
        assert expected[choice] == pytest.approx(min(expected))
    # and over the whole table: no other assignment of decisions has a lower expected total cost
    small = probs[:5]
    best = min(itertools.product(range(n_classes), repeat=5),
               key=lambda d: sum(small[r] @ costs[:, d[r]] for r in range(5)))
    assert sum(small[r] @ costs[:, best[r]] for r in range(5)) == pytest.approx(
        sum(small[r] @ costs[:, c] for r, c in enumerate(ours[:5])))


def test_binary_bayes_threshold_makes_the_bayes_decisions():
    rng = np.random.default_rng(0)
    probs, y = dirichlet_task(rng, 500, 2)
    costs = np.array([[0.0, 1.0], [5.0, 0.0]])  # a missed positive costs five false alarms
    t = pol.bayes_threshold(costs)
    assert t == pytest.approx(1 / 6)
    fitted = pol.fit("cost", probs, y, costs=tuple(costs.ravel()))
    assert fitted.threshold == pytest.approx(1 / 6)
    assert (fitted.decide(probs) == pol.bayes_decisions(probs, costs)).all()
    assert "expected cost" in fitted.rule(2) or "threshold" not in fitted.rule(2)


@pytest.mark.parametrize("objective", ["f1", "balanced_accuracy", "youden"])
def test_objective_threshold_is_the_best_cut(objective):
    rng = np.random.default_rng(1)
    probs, y = dirichlet_task(rng, 300, 2, concentration=1.5)
    fitted = pol.fit(objective, probs, y)
    score = {"f1": lambda p: skm.f1_score(y, p), "balanced_accuracy": lambda p: skm.balanced_accuracy_score(y, p),
             "youden": lambda p: 2 * skm.balanced_accuracy_score(y, p) - 1}[objective]
    best = max(score((probs[:, 1] >= t).astype(int)) for t in np.r_[np.unique(probs[:, 1]), 1.01])
    assert score(fitted.decide(probs)) == pytest.approx(best)
    assert fitted.value == pytest.approx(best)


def test_youden_and_balanced_accuracy_pick_the_same_threshold():
    rng = np.random.default_rng(2)
    probs, y = dirichlet_task(rng, 200, 2)
    assert pol.fit("youden", probs, y).threshold == pol.fit("balanced_accuracy", probs, y).threshold


def test_precision_at_minimum_recall_keeps_the_recall():
    rng = np.random.default_rng(3)
    probs, y = dirichlet_task(rng, 400, 2, concentration=1.2)
    fitted = pol.fit("precision_at_recall", probs, y, min_recall=0.8)
    pred = fitted.decide(probs)
    assert skm.recall_score(y, pred) >= 0.8
    feasible = [skm.precision_score(y, (probs[:, 1] >= t).astype(int), zero_division=0)
                for t in np.unique(probs[:, 1]) if skm.recall_score(y, (probs[:, 1] >= t).astype(int)) >= 0.8]
    assert skm.precision_score(y, pred) == pytest.approx(max(feasible))


def test_weights_move_the_threshold_as_a_prior_shift_would():
    rng = np.random.default_rng(4)
    probs, y = dirichlet_task(rng, 400, 2, concentration=1.2)
    plain = pol.fit("f1", probs, y).threshold
    rare = pol.fit("f1", probs, y, weights=np.where(y == 1, 0.2, 1.0)).threshold  # positives 5x rarer
    assert rare > plain


def test_threshold_policy_keeps_the_runs_threshold_and_a_bad_cost_matrix_is_a_recipe_error():
    probs = np.array([[0.7, 0.3], [0.4, 0.6]])
    assert pol.fit("threshold", probs, np.array([0, 1]), 0.65).decide(probs).tolist() == [0, 0]
    assert pol.fit("threshold", probs, np.array([0, 1]), None).decide(probs).tolist() == [0, 1]
    with pytest.raises(RecipeError) as err:
        pol.fit("cost", np.full((2, 3), 1 / 3), np.array([0, 1]), costs=(0, 1, 1, 0))
    assert err.value.field == "decide.costs"


def test_evaluation_of_a_policy():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    y = np.array([0, 1, 1, 0])
    out = pol.evaluate(pol.Policy("threshold", 0.5, np.array([[0, 1], [5, 0]])), probs, y, ["no", "yes"])
    assert out["accuracy"] == 0.5 and out["confusion_matrix"] == [[1, 1], [1, 1]]
    assert out["recall"] == 0.5 and out["precision"] == 0.5
    # a binary policy decides by its threshold; the costs price those decisions: a missed positive (row 2) costs 5,
    # a false alarm (row 3) 1
    assert out["mean_cost"] == pytest.approx((0 + 0 + 5 + 1) / 4)
