"""The fields a recipe's other choices ignore, and why (what the window greys)."""

from workbench.core.recipe import Recipe
from workbench.core.recipe_unused import loss_name, unused_fields


def _head_and_train(unused):
    return {k for k in unused if not k.startswith(("data.", "decide."))}


def test_each_field_is_unused_exactly_where_its_task_or_loss_ignores_it():
    binary = Recipe()
    assert _head_and_train(unused_fields(binary)) == {"head.ordinal", "train.label_smoothing", "train.focal_gamma"}
    multi = binary.replace(**{"head.task": "multiclass"})
    assert _head_and_train(unused_fields(multi)) == {"head.ordinal", "train.pos_weight", "train.focal_gamma"}
    focal = multi.replace(**{"train.loss": "focal"})
    assert "train.focal_gamma" not in unused_fields(focal) and "train.label_smoothing" in unused_fields(focal)
    ordinal = binary.replace(**{"head.task": "ordinal", "data.label_mode": "bins"})
    assert _head_and_train(unused_fields(ordinal)) == {"train.pos_weight", "train.label_smoothing", "train.focal_gamma",
                                           "train.loss"}
    assert "ordinal task" in unused_fields(multi)["head.ordinal"]
    assert {"data.threshold"} <= set(unused_fields(ordinal)) and "data.bins" not in unused_fields(ordinal)
    threshold = binary.replace(**{"data.label_mode": "threshold"})
    assert "data.bins" in unused_fields(threshold) and "data.threshold" not in unused_fields(threshold)
    # a loss other than auto on an ordinal task stays open: the user must be able to set it back
    assert "train.loss" not in unused_fields(ordinal.with_changes(**{"train.loss": "focal"}))


def test_the_loss_each_task_trains_with():
    r = Recipe()
    assert loss_name(r.train, "binary") == "bce" and loss_name(r.train, "multiclass") == "cross_entropy"
    assert loss_name(r.train, "ordinal") == "ordinal"


def test_decision_fields_their_policy_ignores():
    plain = Recipe()
    assert {"decide.min_recall", "decide.costs", "decide.risk_delta"} <= set(unused_fields(plain))
    cost = plain.replace(**{"decide.policy": "cost", "decide.costs": (0, 1, 5, 0), "decide.risk_epsilon": 0.1})
    assert "decide.costs" not in unused_fields(cost) and "decide.risk_delta" not in unused_fields(cost)
    assert "precision_at_recall" in unused_fields(cost)["decide.min_recall"]
    recall = plain.replace(**{"decide.policy": "precision_at_recall"})
    assert "decide.min_recall" not in unused_fields(recall)
