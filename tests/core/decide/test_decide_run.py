"""The decision step on a real run: metrics.json's sections, the export's metadata (new keys and the old ones),
the program's prior correction, the README's five lines forming the same sets, `workbench evaluate` on labelled and
unlabelled rows, and the deployment prior estimated from an unlabelled file."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench import cli
from workbench.core.decide.decisions import abstention_of, conformal_of, fit_decisions, policy_of
from workbench.core.open.load import load_checkpoint
from workbench.core.recipe import Recipe
from workbench.core.workflow.pipeline import export_run, prepare_data, train_run


def convert(tutorial_ckpt, table_csv, models_py, **decide):
    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold",
                                 "data.standardize": True, "model_source": f"{models_py}:TinyRegressor",
                                 "train.epochs": 5, "data.splits": (0.5, 0.1, 0.25, 0.15),
                                 **{f"decide.{k}": v for k, v in decide.items()}})
    loaded = load_checkpoint(tutorial_ckpt, recipe.model_source)
    return train_run(recipe, loaded, prepare_data(recipe, loaded.input_shape))


def unlabelled_csv(table_csv, path, positive_share=0.8, seed=0):
    """Rows of the table without the label, resampled so that `positive_share` of them lie above the median."""
    lines = table_csv.read_text().splitlines()
    rows = [line.split(",") for line in lines[1:]]
    target = np.array([float(r[-1]) for r in rows])
    above = np.flatnonzero(target > np.median(target))
    below = np.flatnonzero(target <= np.median(target))
    rng = np.random.default_rng(seed)
    pick = np.r_[rng.choice(above, int(400 * positive_share)), rng.choice(below, int(400 * (1 - positive_share)))]
    path.write_text("\n".join([",".join(lines[0].split(",")[:-1])] + [",".join(rows[i][:-1]) for i in pick]) + "\n")
    return path


def test_a_runs_decisions_in_its_metrics_its_export_and_evaluate(tutorial_ckpt, table_csv, models_py, tmp_path,
                                                                  capsys):
    run = convert(tutorial_ckpt, table_csv, models_py, conformal_method="aps", conformal_alpha=0.2, policy="f1",
                  risk_epsilon=0.3, prior=(0.3,))
    t = run.metrics["test"]
    assert {"alpha", "method", "coverage", "coverage_ci", "mean_set_size", "per_class_coverage"} <= set(t["conformal"])
    assert t["conformal"]["alpha"] == 0.2 and t["conformal"]["method"] == "aps"
    assert t["decision_policy"]["policy"] == "f1" and 0 < t["decision_policy"]["threshold"] < 1
    assert t["abstention"]["epsilon"] == 0.3 and "curve" in t["abstention"]["test"]
    assert run.metrics["prior_shift"]["prior"] == pytest.approx([0.7, 0.3])
    assert sum(t["conformal"]["set_size_histogram"]) == t["n"]

    # one line each for a command or a notebook, without changing the run
    assert conformal_of(run, alpha=0.4)["mean_set_size"] <= t["conformal"]["mean_set_size"]
    assert policy_of(run, "cost", costs=(0, 1, 4, 0))["policy"] == "cost"
    assert abstention_of(run, 0.4)["epsilon"] == 0.4 and run.recipe.decide.risk_epsilon == 0.3

    result = export_run(run, tmp_path / "export")
    meta = json.loads((result.folder / "metadata.json").read_text())
    decisions = fit_decisions(run)
    assert meta["decision_policy"]["policy"] == "f1" and meta["decision_policy"]["prior_corrected"]
    assert meta["decision_threshold"] == pytest.approx(decisions.policy.threshold)  # the old keys say the same
    assert meta["decision_rule"] == decisions.policy.rule(2)
    assert meta["abstention"]["lower"] <= meta["decision_threshold"] <= meta["abstention"]["upper"]
    assert meta["prior_shift"]["prior"] == pytest.approx([0.7, 0.3])
    metrics = json.loads((result.folder / "metrics.json").read_text())
    assert metrics["test"]["conformal"]["coverage"] == t["conformal"]["coverage"]

    # the program's probabilities are corrected to the deployment prior
    program = torch.export.load(str(result.folder / meta["program"])).module()
    X = torch.as_tensor(run.data.table.X[run.data.splits["test"]])
    with torch.no_grad():
        probs = program(X).numpy()
    assert probs == pytest.approx(decisions.corrected(run.probabilities("test")), abs=1e-5)

    # the README's five lines form the sets the workbench forms
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    snippet = readme.split("holds the thresholds and the rule:\n\n```python\n", 1)[1].split("```", 1)[0]
    scope = {"meta": meta, "model": program, "x": X, "torch": torch}
    with torch.no_grad():
        exec(snippet, scope)
    assert (scope["sets"].numpy() == decisions.conformal.sets(decisions.corrected(run.probabilities("test")))).all()

    # evaluate honours the stated decisions and reports coverage on labelled rows and the prior of unlabelled ones
    assert cli.main(["evaluate", str(result.folder), "--data", str(table_csv), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["decisions"]["decision_policy"]["threshold"] == pytest.approx(meta["decision_threshold"])
    assert 0 < report["decisions"]["conformal"]["coverage"] <= 1 and "per_class_coverage" in report["decisions"][
        "conformal"]
    assert report["decisions"]["abstention"]["upper"] == meta["abstention"]["upper"]
    new = unlabelled_csv(table_csv, tmp_path / "new.csv", positive_share=0.8)
    assert cli.main(["evaluate", str(result.folder), "--unlabelled", str(new)]) == 0
    out = capsys.readouterr().out
    assert "prevalence by EM" in out and "prevalence by BBSE" in out and "calibration split" in out
    # the deployment prior the program corrects to is said as such, not as the calibration split's shares
    cal = np.bincount(run.data.labels("cal"), minlength=2) / len(run.data.labels("cal"))
    classes = run.data.classes
    assert f"calibration split: {classes[0]} {cal[0]:.3f}, {classes[1]} {cal[1]:.3f}" in out
    assert f"corrected to its deployment prior: {classes[0]} 0.700, {classes[1]} 0.300" in out


def test_the_deployment_prior_is_estimated_from_an_unlabelled_file(tutorial_ckpt, table_csv, models_py, tmp_path,
                                                                     capsys):
    new = unlabelled_csv(table_csv, tmp_path / "new.csv", positive_share=0.85)
    run = convert(tutorial_ckpt, table_csv, models_py, prior_from=str(new))
    assert run.prior_estimate["method"] == "em" and run.prior_estimate["converged"]
    estimated = run.recipe.decide.prior  # the run's recipe records the estimate
    assert len(estimated) == 2 and estimated[1] > 0.65  # most of the new rows are positive
    assert run.metrics["prior_shift"]["prior"] == pytest.approx(list(estimated), abs=1e-6)
    result = export_run(run, tmp_path / "export")
    meta = json.loads((result.folder / "metadata.json").read_text())
    assert meta["prior_shift"]["estimate"]["from"] == str(new)
    assert "corrected" in meta["output"]
    # evaluate on the same unlabelled rows: the program's outputs already assume this prior, so EM stays there
    assert cli.main(["evaluate", str(result.folder), "--unlabelled", str(new), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["estimated_prior"]["em"]["prior"] == pytest.approx(list(estimated), abs=0.03)


def test_decision_flags_are_generated_from_the_recipe_and_checked(capsys):
    args = cli.build_parser().parse_args(["convert", "m.pt", "--data", "d.csv", "--out", "o", "--conformal-alpha",
                                          "0.2", "--conformal-method", "aps", "--class-conditional",
                                          "--decision-policy", "cost", "--costs", "0,1,5,0", "--risk-epsilon", "0.1",
                                          "--prior", "0.3"])
    c = cli._recipe_from_args(args).decide
    assert (c.conformal_alpha, c.conformal_method, c.class_conditional, c.policy, c.costs, c.risk_epsilon,
            c.prior) == (0.2, "aps", True, "cost", (0, 1, 5, 0), 0.1, (0.3,))
    for bad in (["--conformal-alpha", "1.5"], ["--decision-policy", "cost", "--costs", "1,2,3"],
                ["--task", "multiclass", "--bins", "3", "--decision-policy", "f1"]):
        assert cli.main(["convert", "m.pt", "--data", "d.csv", "--out", "o", *bad]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and ("--conformal-alpha" in err or "--costs" in err or "--decision-policy" in err)


def test_the_default_policy_exports_what_earlier_versions_did(tutorial_ckpt, table_csv, models_py, tmp_path):
    run = convert(tutorial_ckpt, table_csv, models_py)
    meta = json.loads((export_run(run, tmp_path / "a").folder / "metadata.json").read_text())
    assert meta["decision_threshold"] == 0.5 and meta["decision_policy"]["policy"] == "threshold"
    assert meta["decision_rule"] == "class 1 when probability[:, 1] >= 0.5, else class 0"
    assert meta["abstention"] is None and meta["prior_shift"] is None and meta["conformal"]["alpha"] == 0.1
    run.threshold = 0.3  # the slider moved: what is exported follows, as before
    meta = json.loads((export_run(run, tmp_path / "b").folder / "metadata.json").read_text())
    assert meta["decision_threshold"] == 0.3 and meta["decision_policy"]["threshold"] == 0.3


def test_a_cost_matrix_of_the_wrong_size_stops_before_training(tutorial_ckpt, table_csv, models_py, monkeypatch):
    from workbench.core.errors import RecipeError
    from workbench.core.workflow import pipeline

    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "bins", "data.bins": 3,
                                 "head.task": "multiclass", "model_source": f"{models_py}:TinyRegressor",
                                 "decide.policy": "cost", "decide.costs": (0, 1, 1, 0)})  # 2 x 2 for 3 classes
    loaded = load_checkpoint(tutorial_ckpt, recipe.model_source)
    monkeypatch.setattr(pipeline, "train", lambda *a, **k: pytest.fail("trained before the check"))
    with pytest.raises(RecipeError) as err:
        train_run(recipe, loaded, prepare_data(recipe, loaded.input_shape))
    assert err.value.field == "decide.costs" and "3 classes need 9" in str(err.value)
