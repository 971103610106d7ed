"""The no-training baseline, warm-started heads, imbalance proposals, comparison and reports."""

import json
import re

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from workbench import cli
from workbench.core.evaluate.compare import format_table, table
from workbench.core.open.load import load_checkpoint
from workbench.core.train.losses import imbalance_proposal
from workbench.core.workflow import demo
from workbench.core.workflow.baseline import baseline_run
from workbench.core.workflow.pipeline import prepare_data, train_run

SVG = 'src="data:image/svg+xml;base64,'  # figures are embedded, as images (no script runs in one)


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    return demo.build_diabetes(tmp_path_factory.mktemp("diabetes"))


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return demo.build_digits(tmp_path_factory.mktemp("digits"))


def _open(ckpt, recipe):
    loaded = load_checkpoint(ckpt, recipe.model_source)
    return loaded, prepare_data(recipe, recipe.input_shape or loaded.input_shape)


def test_baseline_matches_a_scikit_learn_logistic_fit_on_the_scores(diabetes):
    ckpt, recipe = diabetes
    loaded, data = _open(ckpt, recipe)
    run = baseline_run(recipe, loaded, data)
    assert run.kind == "baseline" and run.metrics["kind"] == "baseline" and not run.training.history
    # what standardize auto chose is recorded, as a trained run records it (Compare then shows no auto | no)
    assert recipe.data.standardize == "auto" and run.recipe.data.standardize is (data.mean is not None)
    reference = LogisticRegression(C=1e4, max_iter=1000).fit(run.logits["cal"].reshape(-1, 1), data.labels("cal"))
    expected = reference.predict_proba(run.logits["test"].reshape(-1, 1))[:, 1]
    assert np.allclose(run.probabilities("test")[:, 1], expected, atol=1e-5)
    assert run.metrics["test"]["roc_auc"] > 0.75  # the regression output already ranks well


def test_baseline_exports_and_compares_from_the_cli(diabetes, tmp_path, capsys):
    ckpt, recipe = diabetes
    recipe_file = tmp_path / "r.json"
    recipe.save(recipe_file)
    # the recipe names a model source: the first run trusts it (its hash), the second then runs it unasked
    assert cli.main(["convert", str(ckpt), "--recipe", str(recipe_file), "--baseline", "--out",
                     str(tmp_path / "baseline"), "--report", str(tmp_path / "baseline.html"), "--quiet",
                     "--trust"]) == 0
    assert cli.main(["convert", str(ckpt), "--recipe", str(recipe_file), "--out", str(tmp_path / "trained"),
                     "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["compare", str(tmp_path / "baseline"), str(tmp_path / "trained"), "--json",
                     "--report", str(tmp_path / "compare.html")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["kind"] for r in result["rows"]] == ["baseline", "trained"] and result["same_test_split"]
    page = (tmp_path / "compare.html").read_text()
    assert SVG in page and "<script" not in page and "<link" not in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page), "no network or external files"
    assert SVG in (tmp_path / "baseline.html").read_text()
    capsys.readouterr()
    assert cli.main(["compare", str(tmp_path / "trained")]) == 2  # one folder is no comparison
    assert "a comparison needs two or more export folders" in capsys.readouterr().err


def _epoch1_val_loss(ckpt, recipe, warm: bool | None) -> float:
    """After one epoch, warm-started (True), not (False), or as the recipe says (None)."""
    loaded, data = _open(ckpt, recipe)
    choice = recipe.head.warm_start if warm is None else ("on" if warm else "off")
    recipe = recipe.replace(**{"head.warm_start": choice, "train.epochs": 1, "head.dropout": 0.0})
    return train_run(recipe, loaded, data).training.history[0]["val_loss"]


@pytest.mark.parametrize("task", ["binary", "tertiles"])
def test_warm_start_beats_a_random_head_at_epoch_one_on_diabetes(diabetes, task):
    ckpt, recipe = diabetes
    if task == "tertiles":
        recipe = recipe.replace(**{"head.task": "multiclass", "data.label_mode": "bins", "data.bins": 3})
    assert _epoch1_val_loss(ckpt, recipe, warm=True) < _epoch1_val_loss(ckpt, recipe, warm=False)


def test_warm_start_beats_a_random_head_at_epoch_one_on_digits(digits):
    ckpt, recipe = digits
    recipe = recipe.replace(**{"head.freeze": "body"})
    assert _epoch1_val_loss(ckpt, recipe, warm=True) < _epoch1_val_loss(ckpt, recipe, warm=False)


def test_imbalance_proposal():
    assert imbalance_proposal([50, 50], "binary") is None
    assert imbalance_proposal([90, 10], "binary") == {"pos_weight": 9.0}
    weights = imbalance_proposal([60, 30, 10], "multiclass")["class_weights"]
    assert weights[2] > weights[1] > weights[0] and np.isclose(np.dot(weights, [60, 30, 10]), 100, atol=0.01)


def test_comparison_table_marks_the_best_per_column():
    def run(name, acc, ece, auc=None, seed=0):
        test = {"accuracy": acc, "macro_f1": acc, "ece": ece, "brier": ece, **({"roc_auc": auc} if auc else {})}
        recipe = {"seed": seed, "data": {"path": "d.csv", "label": "y", "label_mode": "threshold",
                                         "threshold": None, "bins": 3, "splits": [0.6, 0.15, 0.1, 0.15]}}
        return {"name": name, "metrics": {"test": test}, "recipe": recipe}

    result = table([run("a", 0.8, 0.10, 0.9), run("b", 0.7, 0.05, 0.95), run("c", 0.75, 0.2)])
    assert result["best"][:5] == [[0], [0], [1], [1], [1]] and result["same_test_split"]
    assert result["best"][5:] == [[], []]  # no ordered classes here: no class-distance or kappa values
    tied = table([run("a", 0.8, 0.1), run("b", 0.8, 0.2)])
    assert tied["best"][0] == [0, 1], "ties are all marked"
    text = format_table(result)
    assert "0.8000*" in text and "0.0500*" in text and "—" in text
    assert not table([run("a", 0.8, 0.1), run("b", 0.7, 0.1, seed=1)])["same_test_split"]
    assert table([run("a", 0.8, 0.1)])["best"] == [[]] * len(result["best"])  # one run alone is best at nothing


def test_warm_start_auto_is_on_for_binary_heads_only(diabetes, digits, tmp_path):
    from workbench.core import recipe as rc
    from workbench.core.workflow.pipeline import build_model, warm_start_applies

    ckpt, recipe = diabetes
    loaded, data = _open(ckpt, recipe)
    _model, _head, inspection = build_model(recipe, loaded, data)
    assert recipe.head.warm_start == "auto" and warm_start_applies(recipe, inspection)
    for changes in ({"head.warm_start": "off"}, {"head.hidden": 8},
                    {"head.task": "multiclass", "data.label_mode": "bins", "data.bins": 3}):
        assert not warm_start_applies(recipe.replace(**changes), inspection), changes
    assert warm_start_applies(recipe.replace(**{"head.task": "multiclass", "data.label_mode": "bins",
                                                "head.warm_start": "on"}), inspection)
    # auto trains exactly what "on" trains for a binary head, and what "off" trains for the digits' softmax head
    assert _epoch1_val_loss(ckpt, recipe, warm=None) == _epoch1_val_loss(ckpt, recipe, warm=True)
    ckpt, recipe = digits
    recipe = recipe.replace(**{"head.freeze": "body"})
    assert _epoch1_val_loss(ckpt, recipe, warm=None) == _epoch1_val_loss(ckpt, recipe, warm=False)
    # A recipe written before auto keeps what its true/false said, and a missing one stays off.
    path = tmp_path / "v3.json"
    for written, read in ((True, "on"), (False, "off"), (None, "off")):
        head = {} if written is None else {"warm_start": written}
        path.write_text(json.dumps({"version": 3, "head": head}))
        assert rc.load(path).head.warm_start == read
    assert rc.Recipe().head.warm_start == "auto"
