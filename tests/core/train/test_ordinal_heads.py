"""Ordinal heads: probabilities that are probabilities, thresholds that stay ordered at any rate, losses equal to
coral-pytorch's, and a warm start that decides exactly as the regression output's cut."""

import numpy as np
import pytest
import torch

from workbench.core.data.data import make_labels
from workbench.core.data.samples import Table
from workbench.core.errors import RecipeError, TrainingError
from workbench.core.evaluate.scores import median_class, predict
from workbench.core.recipe import Recipe, TrainRecipe, problems
from workbench.core.train.ordinal import (
    CoralLayer,
    CornLayer,
    MultinomialLayer,
    OrdinalLoss,
    cut_classes,
    ordinal_warm_start_fit,
    output_cuts,
)
from workbench.core.train.train import train


def _cumulative(logp: torch.Tensor) -> torch.Tensor:
    return torch.flip(torch.cumsum(torch.flip(logp.exp(), [1]), 1), [1])[:, 1:]  # P(y > k)


@pytest.mark.parametrize("layer, width", [(CoralLayer(5), 1), (CornLayer(5), 4), (MultinomialLayer(5), 5)])
def test_class_probabilities_are_probabilities_and_cumulative_ones_fall(layer, width):
    x = torch.cat([torch.randn(200, width) * 3, torch.full((2, width), 1e3), torch.full((2, width), -1e3)])
    logp = layer(x)
    probs = logp.exp()
    assert logp.shape == (204, 5) and torch.isfinite(logp).all()
    assert (probs >= 0).all() and torch.allclose(probs.sum(1), torch.ones(204), atol=1e-5)
    above = _cumulative(logp)
    assert (above[:, 1:] <= above[:, :-1] + 1e-6).all()


def test_coral_probabilities_are_the_cumulative_logistic_model():
    layer = CoralLayer(4)
    layer.set_thresholds([-1.0, 0.5, 2.0])
    s = torch.linspace(-4, 4, 50)[:, None]
    expected = torch.sigmoid(s - torch.tensor([-1.0, 0.5, 2.0]))
    assert torch.allclose(_cumulative(layer(s)), expected, atol=1e-5)
    assert torch.allclose(layer.thresholds(), torch.tensor([-1.0, 0.5, 2.0]), atol=1e-5)


def test_thresholds_stay_ordered_whatever_the_parameters():
    layer = CoralLayer(6)
    with torch.no_grad():
        layer.gaps.copy_(torch.tensor([-1e4, 50.0, -80.0, 1e3]))
    t = layer.thresholds()
    assert (t[1:] >= t[:-1]).all()
    assert torch.isfinite(layer(torch.randn(10, 1))).all()


@pytest.mark.parametrize("optimizer, lr", [("sgd", 1e3), ("adam", 10.0), ("adamw", 1e2)])
def test_thresholds_stay_ordered_after_training_at_adversarial_rates(optimizer, lr):
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(300, 3, generator=gen)
    y = torch.bucketize(X[:, 0] + 0.3 * torch.randn(300, generator=gen), torch.tensor([-0.8, 0.0, 0.8]))
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1), CoralLayer(4))
    recipe = TrainRecipe(optimizer=optimizer, lr=lr, epochs=15, batch_size=32, schedule="none", patience=0)
    try:
        train(model, "ordinal", 4, X[:240], y[:240], X[240:], y[240:], recipe, seed=0)
    except TrainingError:
        pass  # a loss that blows up stops training with the last good weights; the order must hold either way
    t = model[-1].thresholds().detach()
    assert torch.isfinite(t).all() and (t[1:] >= t[:-1]).all()
    with torch.no_grad():
        above = _cumulative(model(X))
    assert (above[:, 1:] <= above[:, :-1] + 1e-6).all()


def test_the_losses_equal_coral_pytorchs():
    coral = pytest.importorskip("coral_pytorch.losses")
    gen = torch.Generator().manual_seed(1)
    y = torch.randint(0, 5, (64,), generator=gen)
    layer = CoralLayer(5)
    layer.set_thresholds([-1.5, -0.2, 0.4, 2.0])
    s = torch.randn(64, 1, generator=gen) * 2
    levels = (y[:, None] > torch.arange(4)).float()
    reference = coral.coral_loss(s - layer.thresholds(), levels)
    assert torch.allclose(OrdinalLoss("coral", 5)(layer(s), y), reference, atol=1e-5)
    f = torch.randn(64, 4, generator=gen) * 2
    reference = coral.corn_loss(f, y, 5)
    assert torch.allclose(OrdinalLoss("corn", 5)(CornLayer(5)(f), y), reference, atol=1e-5)
    # multinomial: cross-entropy plus CORAL's loss on the softmax's cumulative logits, logit P(y > k)
    z = torch.randn(64, 5, generator=gen) * 3
    above = _cumulative(torch.log_softmax(z, 1))
    reference = torch.nn.functional.cross_entropy(z, y) + coral.coral_loss(torch.logit(above.double()).float(), levels)
    assert torch.allclose(OrdinalLoss("multinomial", 5)(MultinomialLayer(5)(z), y), reference, atol=1e-4)


def test_the_multinomial_loss_charges_far_classes_more_than_cross_entropy_does():
    """Two predictions with the same probability on the true class: cross-entropy cannot tell them apart, the
    multinomial head's loss prefers the one whose wrong mass sits next to the truth."""
    near = torch.log(torch.tensor([[0.6, 0.4, 0.0001, 0.0001]]))
    far = torch.log(torch.tensor([[0.6, 0.0001, 0.0001, 0.4]]))
    y = torch.tensor([0])
    ce = torch.nn.functional.cross_entropy
    assert torch.isclose(ce(near, y), ce(far, y), atol=1e-3)
    loss = OrdinalLoss("multinomial", 4)
    assert loss(torch.log_softmax(far, 1), y) > loss(torch.log_softmax(near, 1), y) + 1.0


def test_the_multinomial_warm_start_ranks_classes_by_the_regression_output():
    rng = np.random.default_rng(0)
    r = rng.normal(size=400)
    y = np.digitize(r + rng.normal(scale=0.3, size=400), [-0.5, 0.2, 1.0])
    warm = ordinal_warm_start_fit(r, y, 4, "multinomial")
    scores = np.outer(r, warm.scale) + np.asarray(warm.offset)
    assert warm.kind == "multinomial" and len(warm.scale) == 4
    cut = cut_classes(r, output_cuts(r, y, 4))  # the class scores' largest follows the output as the cut does
    assert abs(float((scores.argmax(1) == y).mean()) - float((cut == y).mean())) < 0.03
    assert "class scores" in warm.describe()["fit"]


def test_the_median_decision_is_the_binary_rule_for_two_classes_and_the_cut_for_more():
    p1 = np.array([0.2, 0.5, 0.7])
    two = np.stack([1 - p1, p1], 1)
    assert (predict(two, None, ordinal=True) == predict(two)).all()
    probs = np.array([[0.45, 0.05, 0.05, 0.45], [0.1, 0.3, 0.2, 0.4], [0.6, 0.1, 0.1, 0.2]])
    assert median_class(probs).tolist() == [2, 2, 0]  # argmax would say 0, 3, 0 (ties at 0.5 go up, as binary)


def test_output_cuts_reproduce_the_train_proportions():
    rng = np.random.default_rng(0)
    r = rng.normal(size=400)
    y = np.digitize(r + rng.normal(scale=0.5, size=400), [-0.5, 0.2, 1.0])
    cuts = output_cuts(r, y, 4)
    assert cuts == sorted(cuts)
    assert np.bincount(cut_classes(r, cuts), minlength=4).tolist() == np.bincount(y, minlength=4).tolist()


def _table(target, names=None):
    return Table(np.zeros((len(target), 1), np.float32), np.asarray(target), ["x"], "t.csv", names)


def test_a_class_column_without_an_order_offers_no_ordinal_task():
    words = np.array(["red", "green", "blue", "red"] * 5)
    with pytest.raises(RecipeError) as caught:
        make_labels(_table(words), "column", "ordinal")
    assert caught.value.field == "head.task" and "order" in caught.value.problem
    y, classes, info = make_labels(_table(words), "column", "ordinal", classes=("blue", "green", "red"))
    assert classes == ["blue", "green", "red"] and info["ordered_by"] == "the class order given"
    _, classes, info = make_labels(_table(np.array([10.0, 2.0, 3.0] * 5)), "column", "ordinal")
    assert classes == ["2", "3", "10"] and info["ordered_by"] == "numeric labels"
    _, _, info = make_labels(_table(np.arange(20.0)), "bins", "ordinal", bins=4)
    assert info["ordered_by"] == "bins"
    _, _, info = make_labels(_table(words), "column", "multiclass")
    assert info["ordered_by"] is None  # a softmax head takes it, without order metrics


def test_recipe_problems_of_an_ordinal_head():
    base = Recipe().replace(**{"head.task": "ordinal", "data.label_mode": "bins"})
    assert not problems(base)
    assert [f for f, _ in problems(base.with_changes(**{"train.loss": "cross_entropy"}))] == ["train.loss"]
    assert [f for f, _ in problems(base.with_changes(calibration="matrix"))] == ["calibration"]
    assert "data.label_mode" in [f for f, _ in problems(base.with_changes(**{"data.label_mode": "threshold"}))]
    assert Recipe.replace(base, **{"head.ordinal": "corn"}).head.ordinal == "corn"
    with pytest.raises(RecipeError):
        base.replace(**{"head.ordinal": "softmax"})


@pytest.mark.parametrize("kind", ["coral", "multinomial"])
def test_classes_ordered_against_the_output_start_from_minus_the_output(kind):
    """Classes given high, medium, low on a model whose output rises with the value: the warm start flips the
    output's sign, so it decides as well as with the classes in the output's order (it ordered them backwards)."""
    from workbench.core.train.ordinal import direction, median_class, ordinal_warm_start_fit

    rng = np.random.default_rng(0)
    r = rng.normal(size=600)
    y = np.digitize(r + rng.normal(scale=0.3, size=600), [-0.5, 0.5])
    accuracies = []
    for labels in (y, 2 - y):  # low..high, then high..low
        warm = ordinal_warm_start_fit(r, labels, 3, kind)
        assert warm.direction == direction(r, labels) == (1.0 if labels is y else -1.0)
        scores = torch.as_tensor(np.outer(r, warm.scale) + np.asarray(warm.offset), dtype=torch.float32)
        if kind == "coral":
            layer = CoralLayer(3)
            layer.set_thresholds(warm.thresholds())
            logp = layer(scores)
        else:
            logp = torch.log_softmax(scores, 1)
        accuracies.append(float((median_class(logp).numpy() == labels).mean()))
    assert accuracies[0] > 0.8 and abs(accuracies[0] - accuracies[1]) < 0.02
