"""Compare says at which threshold a run's accuracy and F1 hold, and what differs between the recipes."""

from __future__ import annotations

from workbench.core.evaluate.compare import decision_threshold, thresholds_note
from workbench.core.evaluate.recipe_diff import THRESHOLD_LABEL, format_diff, recipe_diff
from workbench.core.recipe import Recipe


def test_recipe_diff_lists_only_what_differs_with_the_forms_labels():
    a = Recipe().to_dict()
    b = Recipe().replace(**{"head.dropout": 0.2, "train.lr": 0.01}).to_dict()
    diff = recipe_diff([{"name": "A", "recipe": a}, {"name": "B", "recipe": b}], [0.5, 0.246])
    fields = {d["field"]: d for d in diff["differs"]}
    assert set(fields) == {"threshold", "head.dropout", "train.lr"}
    assert fields["head.dropout"]["label"] == "Dropout before the head"
    assert fields["head.dropout"]["values"] == ["0", "0.2"]
    assert fields["threshold"]["label"] == THRESHOLD_LABEL and fields["threshold"]["values"] == ["0.5", "0.246"]
    assert "data.label" in {s["field"] for s in diff["shared"]}
    assert "Dropout before the head (head.dropout): 0 | 0.2" in format_diff(diff)
    same = recipe_diff([{"name": "A", "recipe": a}, {"name": "B", "recipe": a}], [0.5, 0.5])
    assert same["differs"] == [] and format_diff(same) == "The runs' recipes are the same."


def test_a_binary_runs_threshold_is_read_from_its_metrics():
    assert decision_threshold({"classes": ["a", "b"], "test": {"threshold": 0.246}}) == 0.246
    assert decision_threshold({"classes": ["a", "b"], "test": {}, "test_rows": {"threshold": 0.3}}) == 0.3
    assert decision_threshold({"classes": ["a", "b", "c"], "test": {"threshold": None}}) is None
    result = {"rows": [{"name": "A", "threshold": 0.5}, {"name": "B", "threshold": 0.246}],
              "columns": ["accuracy", "macro F1", "ECE"], "threshold_columns": [0, 1]}
    note = thresholds_note(result, {"name": "B", "against": "A"})
    assert note == "; accuracy and macro F1 at thresholds 0.246 vs 0.5"


def test_default_features_are_named_default_not_nothing():
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.run_names import auto_names

    a, b = Recipe().to_dict(), Recipe().with_changes(**{"data.features": ("a", "b")}).to_dict()
    diff = recipe_diff([{"name": "A", "recipe": a}, {"name": "B", "recipe": b}])
    assert diff["differs"][0]["values"] == ["default (numeric columns)", "a, b"]
    assert auto_names([(1, {"recipe": a}), (2, {"recipe": b})])[0].endswith("features default")


def test_a_run_with_the_head_at_the_end_is_named_so_beside_a_cut_one():
    """Run names between a cut run and one with the whole body: "head at 3" against "head at the end" (it read
    "cut at none")."""
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.run_names import auto_names

    a, b = Recipe().with_changes(**{"model.cut_at": "3"}).to_dict(), Recipe().to_dict()
    names = auto_names([(1, {"recipe": a}), (2, {"recipe": b})])
    assert names[0].endswith("head at 3") and names[1].endswith("head at the end"), names


def test_compare_lists_the_head_at_the_end_beside_a_cut_one():
    from workbench.core.recipe import Recipe

    a, b = Recipe().with_changes(**{"model.cut_at": "3"}).to_dict(), Recipe().to_dict()
    diff = recipe_diff([{"name": "A", "recipe": a}, {"name": "B", "recipe": b}])
    row = next(d for d in diff["differs"] if d["values"][0] == "3")
    assert row["values"] == ["3", "the end (the whole body)"]


def test_runs_made_from_different_checkpoints_say_so_first():
    """Two runs of one recipe on two checkpoints: the checkpoint is the first difference listed (Compare listed only
    a learning rate, and a user blamed it)."""
    from workbench.core.recipe import Recipe

    r = Recipe().to_dict()
    runs = [{"name": "A", "recipe": r, "source": "/m/mlp_state.pt", "source_sha256": "1d83f0938501aa"},
            {"name": "B", "recipe": r, "source": {"path": "/m/seq_tanh.pt", "sha256": "bd8f81c572cd00"}}]
    first = recipe_diff(runs)["differs"][0]
    assert first["label"] == "Regression checkpoint"
    assert first["values"] == ["mlp_state.pt (1d83f093)", "seq_tanh.pt (bd8f81c5)"]
    same = [{**runs[0], "name": "C"}, {**runs[0], "name": "D"}]
    assert recipe_diff(same)["differs"] == []


def test_a_cut_and_pruned_run_is_named_so_among_many_differences_and_a_threshold_run_names_no_bins():
    """Runs 3, 5 and 6 of a walk all read "trained · ordinal · target · data … · missing impute · bins 4 · …": the
    cut and the pruning came last in recipe order, past the three parts a name holds."""
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.run_names import auto_names

    base = {"data.path": "a.csv", "data.missing": "drop", "data.label_mode": "bins", "data.bins": 4,
            "head.task": "multiclass"}
    plain = Recipe().with_changes(**base).to_dict()
    cut = Recipe().with_changes(**{**base, "data.path": "b.csv", "data.missing": "impute", "data.bins": 5,
                                   "head.dropout": 0.2, "model.cut_at": "body", "model.prune": 0.5}).to_dict()
    threshold = Recipe().with_changes(**{"data.path": "a.csv", "data.label_mode": "threshold",
                                         "data.threshold": 1.0}).to_dict()
    names = auto_names([(1, {"recipe": plain}), (2, {"recipe": cut}), (3, {"recipe": threshold})])
    assert "head at body" in names[1] and "prune 0.5" in names[1], names
    names = auto_names([(1, {"recipe": plain}), (2, {"recipe": threshold})])
    assert "bins 4" in names[0] and "bins" not in names[1] and "label > 1" in names[1], names
