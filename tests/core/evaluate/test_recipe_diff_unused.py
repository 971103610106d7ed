"""Compare's recipe differences leave out what a run's other choices ignore, and no run is marked best among runs
that predict different classes."""

from workbench.core.evaluate.compare import table
from workbench.core.evaluate.recipe_diff import recipe_diff
from workbench.core.recipe import Recipe


def test_fields_a_run_ignores_are_dashes_not_differences():
    threshold = Recipe().replace(**{"data.label_mode": "threshold", "data.bins": 3}).to_dict()
    bins = Recipe().replace(**{"data.label_mode": "bins", "data.bins": 4, "head.task": "multiclass"}).to_dict()
    diff = recipe_diff([{"name": "a", "recipe": threshold}, {"name": "b", "recipe": bins}])
    row = next(d for d in diff["differs"] if d["field"] == "data.bins")
    assert row["values"] == ["—", "4"]  # it said 3 | 4: the threshold run uses no bins


def _run(name, classes, brier):
    return {"name": name, "recipe": Recipe().to_dict(),
            "metrics": {"classes": classes, "test": {"accuracy": 0.8, "brier": brier}}}


def test_no_run_is_best_among_runs_over_other_classes():
    mixed = table([_run("binary", ["no", "yes"], 0.2), _run("four", ["a", "b", "c", "d"], 0.5)])
    assert not mixed["same_classes"] and all(not best for best in mixed["best"])
    same = table([_run("one", ["no", "yes"], 0.2), _run("two", ["no", "yes"], 0.3)])
    assert same["same_classes"] and same["best"][3] == [0]  # Brier: lower is better


def test_a_baseline_trains_nothing_so_its_training_fields_do_not_differ():
    from workbench.core.recipe import Recipe

    trained = Recipe().with_changes(**{"train.lr": 0.00179}).to_dict()
    baseline = Recipe().to_dict()
    diff = recipe_diff([{"name": "B", "recipe": baseline, "metrics": {"kind": "baseline"}},
                        {"name": "T", "recipe": trained, "metrics": {"kind": "trained"}}])
    assert not any(d["field"].startswith(("train.", "head.")) for d in diff["differs"])  # no 20 lines of noise
    assert next(d for d in diff["shared"] if d["field"] == "train.lr")["value"] == "0.00179 (not used by a baseline)"
    ordinal = Recipe().with_changes(**{"head.task": "ordinal", "head.ordinal": "coral"}).to_dict()
    diff = recipe_diff([{"name": "B", "recipe": ordinal, "metrics": {"kind": "baseline"}},
                        {"name": "T", "recipe": Recipe().with_changes(**{"head.task": "multiclass"}).to_dict()}])
    assert next(d for d in diff["differs"] if d["field"] == "head.task")["values"] == ["ordinal", "multiclass"]
    other = Recipe().with_changes(**{"train.lr": 0.01}).to_dict()
    diff = recipe_diff([{"name": "B", "recipe": baseline, "metrics": {"kind": "baseline"}},
                        {"name": "T", "recipe": trained, "metrics": {"kind": "trained"}},
                        {"name": "U", "recipe": other, "metrics": {"kind": "trained"}}])
    lr = next(d for d in diff["differs"] if d["field"] == "train.lr")
    assert lr["values"] == ["—", "0.00179", "0.01"]  # trained runs that differ: the baseline's shown as unused
