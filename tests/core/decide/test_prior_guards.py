"""Guards on the deployment prior: an estimate that EM did not settle on, or that empties a class the model still
predicts, is said to be unreliable by `evaluate --unlabelled` and never applied by convert; a prior of 0, a missing
--prior-from file (checked before training) and --prior beside --prior-from are refused with one message; under a
prior, metrics.json test_rows say that their probabilities are the uncorrected ones the test metrics use."""

import json

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from workbench import cli
from workbench.cli.decisions import shift_lines
from workbench.core.decide import exported
from workbench.core.decide import prior_shift as ps
from workbench.core.errors import DataError, RecipeError

CENTRES = np.array([-1.0, 1.0])


def underconfident(n=1000, positive=0.1, temperature=2.0, seed=0):
    """Two Gaussian classes whose posteriors (at a 50/50 prior) are flattened by `temperature`: miscalibrated the
    way a weak model's are. The rows hold `positive` of class 1."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < positive).astype(int)
    x = CENTRES[y] + rng.normal(size=n)
    log = -0.5 * (x[:, None] - CENTRES[None]) ** 2 / temperature
    p = np.exp(log - log.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def test_em_on_underconfident_probabilities_runs_to_the_edge_as_the_likelihood_does_and_is_marked():
    probs, source = underconfident(), np.array([0.5, 0.5])
    found = ps.estimate("em", probs, source)
    # The reference: the label-shift log-likelihood maximised over the simplex by scipy. Its maximum lies on the
    # edge too, so EM's empty class is the likelihood's, not a bug of the iteration; the probabilities are at fault.
    best = minimize(lambda q: -np.log(probs @ (np.array([1 - q[0], q[0]]) / source)).sum(), [0.5],
                    bounds=[(0.0, 1.0)], method="L-BFGS-B")
    assert best.x[0] < 1e-3 and found["prior"][1] < 1e-3
    assert found["mean_probability"][1] > 0.3  # the model still gives class 1 a third of these rows
    assert found["near_zero"] == [1] and not found["reliable"]
    text = ps.unreliable_text(found, ["low", "high"])
    assert "0.000 on high" in text and "unreliable" in text


@pytest.mark.parametrize("positive", [0.2, 0.5, 0.8])
def test_em_on_calibrated_probabilities_is_reliable(positive):
    found = ps.estimate("em", underconfident(3000, positive, temperature=1.0, seed=1), np.array([0.5, 0.5]))
    assert found["reliable"] and found["near_zero"] == [] and abs(found["prior"][1] - positive) < 0.04


def test_evaluate_unlabelled_says_plainly_that_the_estimate_is_unreliable():
    probs = underconfident()
    rng = np.random.default_rng(2)
    meta = {"classes": ["low", "high"],
            "shift_reference": {"scores": rng.random(200).tolist(), "labels": (rng.random(200) < 0.5).astype(int)
                                .tolist(), "prior": [0.5, 0.5], "joint": [[0.4, 0.1], [0.1, 0.4]]}}
    report, notes = exported.shift_report(meta, probs)
    assert not report["estimated_prior"]["em"]["reliable"] and report["estimated_prior"]["bbse"]["reliable"]
    unreliable = [n for n in notes if n.code == "shift.em_unreliable"]
    assert len(unreliable) == 1 and "Do not apply it" in unreliable[0].text and "bbse" in unreliable[0].text
    lines = shift_lines({**report, "notes": [n.to_dict() for n in notes]})
    assert any("prevalence by EM" in line and "UNRELIABLE" in line for line in lines)
    assert any(line.startswith("mean predicted probability") for line in lines)


def test_convert_refuses_to_apply_an_unreliable_estimate(tutorial_ckpt, table_csv, models_py, tmp_path,
                                                         monkeypatch):
    from tests.core.decide.test_decide_run import convert, unlabelled_csv
    from workbench.core.workflow import decisions

    new = unlabelled_csv(table_csv, tmp_path / "new.csv", positive_share=0.1)
    # the run's program on the new rows, replaced by underconfident probabilities: a weak model's
    monkeypatch.setattr(decisions, "new_probabilities", lambda run, X: underconfident(len(X)))
    with pytest.raises(DataError) as err:
        convert(tutorial_ckpt, table_csv, models_py, prior_from=str(new))
    text = str(err.value)
    assert err.value.path == str(new) and "was not applied" in text and "unreliable" in text
    assert "--prior" in text
    window = f"{err.value.window_problem} {err.value.window_fix}"  # the window names its own controls, no command
    assert "--" not in window and "workbench evaluate" not in window and "in the window" not in window
    assert "Deployment prior field" in err.value.window_fix


def test_a_class_prior_must_be_strictly_between_0_and_1(capsys):
    for bad in (["--prior", "0"], ["--prior", "1"], ["--bins", "3", "--prior", "0.5,0.5,0"]):
        assert cli.main(["convert", "m.pt", "--data", "d.csv", "--out", "o", *bad]) == 2
        err = capsys.readouterr().err
        assert "--prior" in err and "above 0 and below 1" in err and "Traceback" not in err
    with pytest.raises(RecipeError):
        ps.normalise_prior((0.0, 1.0), 2)


@pytest.mark.parametrize("values, k, said", [
    ((0.5, 0.5, 0.0), 3, "gives class 3 of 3 a share of 0;"),
    ((1.0,), 2, "positive share 1 leaves a class a share of 0;"),
    ((0.3, 0.7), 3, "has 2 value(s);"),
    ((0.3, 0.3), 2, "shares sum to 0.6;")])
def test_a_bad_prior_is_refused_for_what_is_wrong_with_it(values, k, said):
    with pytest.raises(RecipeError) as err:
        ps.normalise_prior(values, k)
    assert said in err.value.problem and "value(s) summing to" not in err.value.problem


def test_prior_and_prior_from_together_are_refused(capsys, tmp_path):
    assert cli.main(["convert", "m.pt", "--data", "d.csv", "--out", "o", "--prior", "0.3",
                     "--prior-from", "unl.csv"]) == 2
    err = capsys.readouterr().err
    assert "--prior and --prior-from both set the deployment prior" in err and "Give one of them" in err
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"data": {"path": "d.csv"}, "decide": {"prior_from": "unl.csv"}}))
    assert cli.main(["convert", "m.pt", "--recipe", str(recipe), "--out", "o", "--prior", "0.3"]) == 2
    assert "recipe file's decide.prior_from" in capsys.readouterr().err


def test_a_missing_prior_from_file_is_refused_before_training(tutorial_ckpt, table_csv, models_py, tmp_path,
                                                              monkeypatch):
    from workbench.core.workflow import repeats

    trained = []
    monkeypatch.setattr(repeats, "train_run", lambda *a, **k: trained.append(1))
    missing = tmp_path / "no_such_file.csv"
    with pytest.raises(DataError) as err:
        cli_args = ["convert", str(tutorial_ckpt), "--model-source", f"{models_py}:TinyRegressor", "--data",
                    str(table_csv), "--threshold", "median", "--prior-from", str(missing), "--out",
                    str(tmp_path / "o")]
        from workbench.cli.options import _recipe_from_args
        from workbench.core.workflow.journey import convert_checkpoint

        args = cli.build_parser().parse_args(cli_args)
        convert_checkpoint(args.checkpoint, _recipe_from_args(args), args.out)
    assert trained == [] and err.value.path == str(missing)
    assert "--prior-from" in str(err.value) and "deployment prior" in str(err.value)


def test_metrics_test_rows_say_their_probabilities_are_before_the_prior_correction(tutorial_ckpt, table_csv,
                                                                                   models_py):
    from tests.core.decide.test_decide_run import convert
    from workbench.core.decide.decisions import fit_decisions
    from workbench.core.workflow.decisions import program

    run = convert(tutorial_ckpt, table_csv, models_py, prior=(0.8,))
    rows = run.metrics["test_rows"]
    assert rows["prior_corrected"] is False and "before the deployment prior" in rows["probs_are"]
    probs = np.array(rows["probs"])
    assert probs == pytest.approx(run.probabilities("test"), abs=1e-6)  # what the test metrics use
    # what the key says: the exported program's outputs are these, corrected by prior_shift.weights
    with torch.no_grad():
        exported = program(run, fit_decisions(run)).eval()(torch.as_tensor(
            np.asarray(run.data.table.X[run.data.splits["test"]], np.float32))).double().numpy()
    w = np.array(run.metrics["prior_shift"]["weights"])
    assert np.abs(exported - probs).max() > 0.01  # the correction matters here
    assert probs * w / (probs * w).sum(1, keepdims=True) == pytest.approx(exported, abs=1e-5)
    plain = convert(tutorial_ckpt, table_csv, models_py)
    assert "prior_corrected" not in plain.metrics["test_rows"]  # without a prior they are the export's


def _with_a_gap(table_csv, path):
    """Unlabelled rows with one feature cell left empty."""
    from tests.core.decide.test_decide_run import unlabelled_csv

    lines = unlabelled_csv(table_csv, path).read_text().splitlines()
    cells = lines[3].split(",")
    cells[0] = ""
    path.write_text("\n".join(lines[:3] + [",".join(cells)] + lines[4:]) + "\n")
    return path


def test_prior_from_rows_with_a_missing_value_are_refused_before_training(tutorial_ckpt, table_csv, models_py,
                                                                          tmp_path, monkeypatch):
    from workbench.core.recipe import Recipe
    from workbench.core.workflow import journey, repeats
    from workbench.core.workflow.run_commands import Train

    gap = _with_a_gap(table_csv, tmp_path / "new.csv")
    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold",
                                 "model_source": f"{models_py}:TinyRegressor", "decide.prior_from": str(gap)})
    model = journey.open_session(tutorial_ckpt, recipe, False, None)
    trained = []
    monkeypatch.setattr(repeats, "train_run", lambda *a, **k: trained.append(1))
    with pytest.raises(DataError) as err:
        Train(model)
    assert trained == [] and err.value.path == str(gap)
    text = str(err.value)
    assert "deployment prior" in text and "1 row(s)" in text
    assert "training data" in err.value.fix  # --missing also changes how the training rows are handled: said
    window = err.value.window_fix
    assert "Missing values on the Data tab" in window and "--" not in window and "training data" in window


def test_prior_from_rows_dropped_under_missing_drop_are_said(tutorial_ckpt, table_csv, models_py, tmp_path):
    from workbench.core.open.load import load_checkpoint
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.decisions import export_metadata
    from workbench.core.workflow.pipeline import prepare_data, train_run

    gap = _with_a_gap(table_csv, tmp_path / "new.csv")
    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold", "data.missing": "drop",
                                 "model_source": f"{models_py}:TinyRegressor", "train.epochs": 2,
                                 "decide.prior_from": str(gap)})
    loaded = load_checkpoint(tutorial_ckpt, recipe.model_source)
    run = train_run(recipe, loaded, prepare_data(recipe, loaded.input_shape))
    said = run.prior_estimate["notes"]
    assert len(said) == 1 and "1 row(s) with missing feature values were dropped" in said[0]
    assert export_metadata(run)[1]["prior_shift"]["estimate"]["notes"] == said
    from workbench.core.decide.decisions import summary_lines

    assert any("were dropped" in line for line in summary_lines(run))


def test_a_typed_prior_replaces_an_estimate_file_in_the_notebook_and_the_window_s_command(tutorial_ckpt, table_csv,
                                                                                        models_py, tmp_path):
    """One core rule (options.typed_prior) for the notebook's options and the window's decision fields: prior= and
    prior_from= together are refused; a prior typed after a file clears the file, whose estimate would otherwise
    replace the typed shares at the next run."""
    import workbench as wb
    from workbench.core.workflow.decision_commands import SetDecisions

    s = wb.open(tutorial_ckpt, model_source=f"{models_py}:TinyRegressor")
    s.read_data(table_csv, threshold="median")
    with pytest.raises(RecipeError, match="prior and prior_from both set"):
        s.set(prior=(0.3,), prior_from=str(table_csv))
    s.set(prior_from=str(table_csv))
    s.set(prior=(0.3,))
    assert s.recipe.decide.prior == (0.3,) and s.recipe.decide.prior_from == ""
    run = s.train(epochs=1, calibration="none")
    assert run.metrics["prior_shift"]["prior"][1] == pytest.approx(0.3)  # the typed share, not an estimate
    with pytest.raises(RecipeError) as err:
        SetDecisions(s.model, prior=(0.2,), prior_from=str(table_csv))
    assert "--" not in err.value.window_fix and "Deployment prior" in err.value.window_fix
    SetDecisions(s.model, prior_from=str(table_csv)).run()
    SetDecisions(s.model, prior=(0.2,)).run()
    assert s.recipe.decide.prior == (0.2,) and s.recipe.decide.prior_from == ""
