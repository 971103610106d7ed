"""The run's decision threshold is one number: with a decision policy other than `threshold`, the decision metrics
(metrics.json `test.accuracy`, macro F1, the confusion matrix, per-class scores, the test rows Compare pairs,
`test_samples`) are those of the policy's threshold, the one the export writes; threshold-free metrics do not move.
A threshold the user sets afterwards replaces the policy's pick, so the metrics, `as_sklearn().predict` and the
export decide at it alike."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from workbench.core.evaluate.compare import table
from workbench.core.workflow import journey
from workbench.core.workflow.decision_commands import SetDecisions
from workbench.core.workflow.notebook import RunView
from workbench.core.workflow.run_commands import Export, Train


def _session(tutorial_ckpt, table_csv, models_py, **decide):
    from workbench.core.recipe import Recipe

    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold",
                                 "model_source": f"{models_py}:TinyRegressor", "train.epochs": 3,
                                 "data.splits": (0.5, 0.1, 0.25, 0.15),
                                 **{f"decide.{k}": v for k, v in decide.items()}})
    model = journey.open_session(tutorial_ckpt, recipe, False, None)
    Train(model).run()
    return model


def _agree(run):
    """The top-level decision metrics are the policy's on the test split."""
    test, policy = run.metrics["test"], run.metrics["test"]["decision_policy"]
    assert test["accuracy"] == pytest.approx(policy["test"]["accuracy"])
    assert test["macro_f1"] == pytest.approx(policy["test"]["macro_f1"])
    assert test["confusion_matrix"] == policy["test"]["confusion_matrix"]
    assert run.metrics["test_rows"]["threshold"] == test["threshold"] == run.decision_threshold
    assert test["threshold_from"].startswith(f"decision policy {policy['policy']}")
    samples = run.test_samples()
    assert (np.asarray(samples.predicted) == np.asarray(samples.y)).mean() == pytest.approx(test["accuracy"])
    return test


def test_a_policy_s_threshold_is_what_the_decision_metrics_use(tutorial_ckpt, table_csv, models_py):
    model = _session(tutorial_ckpt, table_csv, models_py, policy="precision_at_recall", min_recall=0.99)
    run = model.run
    test = _agree(run)
    t = run.metrics["test"]["decision_policy"]["threshold"]
    assert t != pytest.approx(0.5) and test["threshold"] == pytest.approx(t)
    free = {k: test[k] for k in ("ece", "brier", "roc_auc")}
    row = table([model.entries[0].summary])["rows"][0]
    assert row["threshold"] == pytest.approx(t)

    SetDecisions(model, policy="threshold").run()  # back to 0.5: only the decision metrics move
    plain = run.metrics["test"]
    assert plain["threshold"] == 0.5 and plain["threshold_from"] == "decision policy threshold"
    assert {k: plain[k] for k in free} == free
    assert plain["confusion_matrix"] == plain["decision_policy"]["test"]["confusion_matrix"]


def test_under_a_prior_the_metrics_decide_as_the_export_does(tutorial_ckpt, table_csv, models_py):
    model = _session(tutorial_ckpt, table_csv, models_py, policy="f1", prior=(0.2,))
    test = _agree(model.run)
    prior = model.run.metrics["prior_shift"]
    assert test["threshold"] == pytest.approx(prior["threshold_before_correction"])
    from workbench.core.decide.decisions import fit_policy, uncorrected_threshold

    # one threshold: the run's, its decisions' and its fitted policy's, read before the correction
    assert model.run.decision_threshold == uncorrected_threshold(fit_policy(model.run), np.asarray(prior["weights"]))


def test_a_threshold_set_replaces_the_policy_in_the_metrics_predict_and_the_export(tutorial_ckpt, table_csv,
                                                                                   models_py, tmp_path):
    model = _session(tutorial_ckpt, table_csv, models_py, policy="f1")
    view = RunView(model, model.current)
    view.set_threshold(0.4)
    run = view.run
    assert run.recipe.decide.policy == "threshold" and model.recipe.decide.policy == "threshold"
    assert run.metrics["test"]["threshold"] == 0.4 and run.decision_threshold == 0.4
    _agree(run)

    Export(model, tmp_path / "out").run()
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    assert meta["decision_threshold"] == 0.4 and meta["decision_policy"]["policy"] == "threshold"
    clf = view.as_sklearn()
    X = pd.read_csv(table_csv)[meta["feature_names"]]
    program = torch.export.load(str(tmp_path / "out" / "model.pt2")).module()
    p = program(torch.tensor(X.values, dtype=torch.float32)).detach().numpy()
    exported = np.asarray(meta["classes"])[(p[:, 1] >= meta["decision_threshold"]).astype(int)]
    assert clf.threshold_ == 0.4
    assert (clf.predict(X) == exported).all()


def test_under_a_prior_a_threshold_set_reads_back_on_the_scale_it_was_set(tutorial_ckpt, table_csv, models_py,
                                                                          tmp_path):
    """`test.threshold` (the slider's scale) is on the calibrated probabilities before the prior correction; a
    threshold set is read on that scale, so setting what the slider shows does not move it, and the export states
    the corrected equivalent, deciding the same rows."""
    from workbench.core.decide.decisions import after_correction, before_correction
    from workbench.core.workflow.export_summary import decision_lines

    model = _session(tutorial_ckpt, table_csv, models_py, prior=(0.2,))
    view = RunView(model, model.current)
    view.set_threshold(0.4)
    run = view.run
    assert run.metrics["test"]["threshold"] == pytest.approx(0.4) and run.decision_threshold == pytest.approx(0.4)
    view.set_threshold(run.metrics["test"]["threshold"])  # the slider let go where it shows: it stays there
    assert view.run.metrics["test"]["threshold"] == pytest.approx(0.4)
    w = np.asarray(run.metrics["prior_shift"]["weights"])
    corrected = after_correction(0.4, w)
    assert corrected != pytest.approx(0.4, abs=0.05) and before_correction(corrected, w) == pytest.approx(0.4)

    Export(model, tmp_path / "out").run()
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    assert meta["decision_threshold"] == pytest.approx(corrected)
    summary = " ".join(decision_lines(view.run))
    assert f"{corrected:.3g}" in summary and "before the correction" in summary and "0.4" in summary
    X = pd.read_csv(table_csv)[meta["feature_names"]]
    program = torch.export.load(str(tmp_path / "out" / "model.pt2")).module()
    p = program(torch.tensor(X.values, dtype=torch.float32)).detach().numpy()
    exported = (p[:, 1] >= meta["decision_threshold"]).astype(int)
    from workbench.core.workflow.decisions import new_probabilities

    uncorrected = new_probabilities(view.run, X.values.astype(np.float32))
    assert 0 < exported.sum() < len(exported)
    assert (exported == (uncorrected[:, 1] >= 0.4)).mean() > 0.995  # float32 ties at the edge aside
    assert (view.as_sklearn().predict(X) == np.asarray(meta["classes"])[exported]).all()
