"""Every head's decision metrics are the decisions its export makes: under a cost matrix (the least expected cost)
or a deployment prior (any rule on the corrected probabilities), a multiclass or ordinal run's metrics.json
`test.accuracy`, macro F1, confusion matrix, per-class scores, their intervals, the order metrics, the test rows
Compare pairs and a confusion-matrix cell's listing are those of `policy.decide(corrected(probs))`, as the export
and `as_sklearn().predict` decide; not of the most probable or the median class of the uncorrected probabilities."""

import copy
import json

import numpy as np
import pandas as pd
import pytest
import torch

from workbench.core.decide.decisions import fit_decisions
from workbench.core.decide.exported import export_policy
from workbench.core.evaluate import ordinal_metrics
from workbench.core.evaluate import uncertainty as U
from workbench.core.evaluate.scores import predict
from workbench.core.workflow import journey
from workbench.core.workflow.decision_commands import SetDecisions
from workbench.core.workflow.notebook import RunView
from workbench.core.workflow.run_commands import Export, Train

# rows: true class, columns: decision; deciding the top class is cheap, missing it dear: not the argmax's decisions
COSTS = (0, 1, 1,
         4, 0, 1,
         8, 4, 0)


def _session(tutorial_ckpt, table_csv, models_py, task, **decide):
    from workbench.core.recipe import Recipe

    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "bins", "data.bins": 3,
                                 "head.task": task, "model_source": f"{models_py}:TinyRegressor",
                                 "train.epochs": 3, "data.splits": (0.5, 0.1, 0.25, 0.15),
                                 **{f"decide.{k}": v for k, v in decide.items()}})
    model = journey.open_session(tutorial_ckpt, recipe, False, None)
    Train(model).run()
    return model


def _exported(model, tmp_path, table_csv):
    """The export's decisions on the test rows, from its program and the policy its metadata states."""
    Export(model, tmp_path / "out").run()
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    run = model.run
    X = pd.read_csv(table_csv)[meta["feature_names"]].to_numpy(np.float32)[run.data.splits["test"]]
    program = torch.export.load(str(tmp_path / "out" / "model.pt2")).module()
    with torch.no_grad():
        probs = program(torch.as_tensor(X)).numpy()
    return meta, X, export_policy(meta).decide(probs)


def _agree(model, tmp_path, table_csv):
    run = model.run
    test, y = run.metrics["test"], np.asarray(run.data.labels("test"))
    meta, X, decided = _exported(model, tmp_path, table_csv)
    # the export's decisions are not the most probable (or median) class here: the check below means something
    assert (decided != predict(run.probabilities("test"), None, run.ordinal)).any()
    assert test["accuracy"] == pytest.approx(test["decision_policy"]["test"]["accuracy"])
    assert test["accuracy"] == pytest.approx(float((decided == y).mean()))
    assert test["macro_f1"] == pytest.approx(test["decision_policy"]["test"]["macro_f1"])
    assert test["confusion_matrix"] == test["decision_policy"]["test"]["confusion_matrix"]
    k = len(run.data.classes)
    assert test["confusion_matrix"] == np.bincount(y * k + decided, minlength=k * k).reshape(k, k).tolist()
    assert test["ci"]["accuracy"] == pytest.approx(U.wilson(float((decided == y).sum()), len(y)))
    assert test["decision_rule"] == meta["decision_rule"] and "least expected cost" in test["decision_rule"]
    assert test["decisions_from"] == "decision policy cost" and "threshold_from" not in test
    assert run.metrics["test_rows"]["decisions"] == decided.tolist()
    assert (np.asarray(run.test_samples().predicted) == decided).all()  # a clicked cell lists these decisions
    clf = RunView(model, model.current).as_sklearn()
    assert (clf.predict(X) == np.asarray(meta["classes"])[decided]).all()
    return run, y, decided


def test_a_multiclass_run_under_a_cost_matrix_reports_the_export_s_decisions(tutorial_ckpt, table_csv, models_py,
                                                                             tmp_path):
    model = _session(tutorial_ckpt, table_csv, models_py, "multiclass", policy="cost", costs=COSTS)
    run, y, decided = _agree(model, tmp_path, table_csv)
    test = run.metrics["test"]
    assert test["mae_classes"] == pytest.approx(float(np.abs(decided - y).mean()))  # bins have an order
    before = fit_decisions(run).made(run.probabilities("test", False))
    assert test["accuracy_before"] == pytest.approx(float((before == y).mean()))
    cost = copy.deepcopy(run.metrics)

    # Compare pairs each run under its own decisions: the same probabilities, decided by argmax, differ from them
    SetDecisions(model, policy="threshold").run()
    plain = model.run.metrics
    assert "decisions" not in plain["test_rows"] and "decisions_from" not in plain["test"]
    assert plain["test"]["decision_rule"] == "the most probable class"
    probs = np.asarray(cost["test_rows"]["probs"])
    assert U.compare_runs(cost, plain) == U.paired_difference(probs, probs, y, pred_a=decided)
    argmax = probs.argmax(1)
    if ((decided == y) != (argmax == y)).any():  # the argmax of both would pair as no difference at all
        assert U.compare_runs(cost, plain)["accuracy"] != {"low": 0.0, "high": 0.0, "within_noise": True}
    order, counts = ordinal_metrics.paired(cost, plain), U.resample_counts(y, U.resamples_for(len(y)))
    a, b = (ordinal_metrics._per_resample(counts, y, d)["mae_classes"] for d in (decided, argmax))
    assert [order["mae_classes"]["low"], order["mae_classes"]["high"]] == U.interval(b - a)


def test_an_ordinal_run_under_a_cost_matrix_reports_the_export_s_decisions(tutorial_ckpt, table_csv, models_py,
                                                                           tmp_path):
    model = _session(tutorial_ckpt, table_csv, models_py, "ordinal", policy="cost", costs=COSTS)
    run, y, decided = _agree(model, tmp_path, table_csv)
    test = run.metrics["test"]
    assert test["mae_classes"] == pytest.approx(float(np.abs(decided - y).mean()))
    assert test["within_one"] == pytest.approx(float((np.abs(decided - y) <= 1).mean()))
    assert test["distance_counts"] == np.bincount(np.abs(decided - y), minlength=3).tolist()
    assert run.metrics["ordinal"]["decision_rule"] == test["decision_rule"]


def test_a_multiclass_run_under_a_prior_decides_on_the_corrected_probabilities(tutorial_ckpt, table_csv,
                                                                               models_py):
    model = _session(tutorial_ckpt, table_csv, models_py, "multiclass", prior=(0.05, 0.15, 0.8))
    run = model.run
    test, y = run.metrics["test"], np.asarray(run.data.labels("test"))
    decided = fit_decisions(run)
    made = decided.policy.decide(decided.corrected(run.probabilities("test")))
    assert test["accuracy"] == pytest.approx(test["decision_policy"]["test"]["accuracy"])
    assert test["confusion_matrix"] == test["decision_policy"]["test"]["confusion_matrix"]
    assert test["accuracy"] == pytest.approx(float((made == y).mean()))
    assert test["decision_rule"].startswith("the class of the largest probability, on the probabilities corrected")
    assert run.metrics["test_rows"]["decisions"] == made.tolist()
    assert (np.asarray(run.test_samples().predicted) == made).all()


def test_a_cell_lists_the_decisions_the_metrics_were_computed_at(tutorial_ckpt, table_csv, models_py):
    """A session saved before the metrics followed the policy keeps its metrics at the old threshold: the cell's
    listing follows them, not a policy fitted again."""
    from workbench.core.recipe import Recipe

    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold",
                                 "model_source": f"{models_py}:TinyRegressor", "train.epochs": 3,
                                 "decide.policy": "f1"})
    model = journey.open_session(tutorial_ckpt, recipe, False, None)
    Train(model).run()
    run = model.run
    run.metrics["test"]["threshold"] = 0.3  # as an earlier version computed them
    samples = run.test_samples()
    assert run.decision_threshold != pytest.approx(0.3)
    assert (samples.predicted == (samples.probs[:, 1] >= 0.3)).all()


def test_workbench_evaluate_scores_a_cost_export_by_its_least_expected_cost(tutorial_ckpt, table_csv, models_py,
                                                                             tmp_path):
    """`workbench evaluate` on a multiclass export under a cost matrix: its accuracy and confusion matrix are those
    of the export's decisions (they were the most probable class's, beside a decisions section that was not)."""
    from workbench.core.workflow.evaluate_data import evaluate_export

    model = _session(tutorial_ckpt, table_csv, models_py, "multiclass", policy="cost", costs=COSTS)
    Export(model, tmp_path / "out").run()
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    X = pd.read_csv(table_csv)[meta["feature_names"]].to_numpy(np.float32)
    with torch.no_grad():
        probs = torch.export.load(str(tmp_path / "out" / "model.pt2")).module()(torch.as_tensor(X)).numpy()
    decided = export_policy(meta).decide(probs)
    assert (decided != probs.argmax(1)).any()
    found = evaluate_export(tmp_path / "out", str(table_csv)).metrics
    edges = meta["metrics"]["labels"]["edges"]  # the export's bins, cut from the label column again
    y = np.digitize(pd.read_csv(table_csv)[meta["recipe"]["data"]["label"]].to_numpy(), edges[1:-1], right=True)
    k = len(meta["classes"])
    assert found["confusion_matrix"] == np.bincount(y * k + decided, minlength=k * k).reshape(k, k).tolist()
    assert found["accuracy"] == pytest.approx(float((decided == y).mean()))
    assert "least expected cost" in found["decision_rule"]
