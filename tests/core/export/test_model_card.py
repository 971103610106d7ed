"""The export's model card: README.md parsed by huggingface_hub's ModelCard (offline), its numbers checked against
metadata.json, its figures written, its load code run in a fresh interpreter without the workbench."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys

import pytest

from workbench.core.export import model_card
from workbench.core.open.load import load_checkpoint
from workbench.core.recipe import Recipe
from workbench.core.workflow.pipeline import export_run, prepare_data, train_run

huggingface_hub = pytest.importorskip("huggingface_hub")


@pytest.fixture
def exported(tutorial_ckpt, table_csv, models_py, tmp_path):
    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold",
                                 "data.standardize": True, "model_source": f"{models_py}:TinyRegressor",
                                 "train.epochs": 3, "calibration": "temperature"})
    loaded = load_checkpoint(tutorial_ckpt, recipe.model_source)
    run = train_run(recipe, loaded, prepare_data(recipe, loaded.input_shape))
    folder = export_run(run, tmp_path / "export").folder
    return folder, json.loads((folder / "metadata.json").read_text())


def test_the_card_parses_and_matches_the_metadata(exported):
    from huggingface_hub import ModelCard

    folder, meta = exported
    card = ModelCard.load(folder / "README.md")  # a local path: nothing is fetched
    data = card.data.to_dict()
    assert data["library_name"] == "pytorch" and "binary-classification" in data["tags"]
    test = meta["metrics"]["test"]
    results = {r.metric_name: r for r in card.data.eval_results}
    assert results["Test accuracy"].metric_value == pytest.approx(test["accuracy"], abs=1e-6)
    assert results["Test ROC AUC"].metric_value == pytest.approx(test["roc_auc"], abs=1e-6)
    assert results["Test accuracy"].metric_args["ci_95"] == pytest.approx(test["ci"]["accuracy"], abs=1e-6)
    assert results["Test ECE"].metric_args["ci_95"] == pytest.approx(test["ci"]["ece"], abs=1e-6)
    assert results["Test Brier score"].dataset_name == meta["data"]["file"] == "table.csv"
    assert {r.task_type for r in card.data.eval_results} == {"tabular-classification"}
    text = html.unescape(card.text)
    for cls in meta["classes"]:
        assert f"“{cls}”" in text  # the label's definition names every class in order
    assert meta["data"]["sha256"] in text and len(meta["data"]["sha256"]) == 64
    for split, n in meta["data"]["rows"].items():
        assert f"| {split} | {n} |" in text
    assert "**temperature**" in text and f"{meta['decision_threshold']}" in text
    # the schedule that ran: three epochs of a small table are too few steps for one-cycle, held constant (the
    # card said "schedule onecycle" above a note that the rate was held constant)
    assert meta["metrics"]["training"]["schedule"] == "none" and meta["recipe"]["train"]["schedule"] == "onecycle"
    assert "schedule a constant rate (onecycle asked: too few optimiser steps for it)" in text
    assert "![Reliability diagram on the test split](reliability.png)" in text
    for figure in ("reliability.png", "confusion.png"):
        assert (folder / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_cards_code_loads_the_export_without_the_workbench(exported, tmp_path):
    _run_the_cards_code(*exported)


def test_the_cards_code_runs_an_export_of_several_inputs(tmp_path):
    """forward(x_cat, x_cont): the card gives one tensor per input (int64 codes, float32 values), not one row."""
    from tests.core.workflow.several_inputs_models import tabular_checkpoint
    from workbench.core.workflow.journey import convert_checkpoint

    ckpt, source, args, csv = tabular_checkpoint(tmp_path)
    recipe = Recipe().with_changes(**{"model_source": source, "model_args": args, "data.path": str(csv),
                                      "data.label": "fare", "data.threshold": 0.5, "data.label_mode": "threshold",
                                      "train.epochs": 2})
    convert_checkpoint(ckpt, recipe, tmp_path / "export", trusted=True)
    meta = json.loads((tmp_path / "export" / "metadata.json").read_text())
    assert [i["dtype"] for i in meta["inputs"]] == ["int64", "float32"]
    _run_the_cards_code(tmp_path / "export", meta)


def _run_the_cards_code(folder, meta):
    code = re.search(r"```python\n(.*?)```", (folder / "README.md").read_text(), re.S).group(1)
    code += "\nprint(probs.shape[1], labels[0] in meta['classes'])\n"
    blocker = "import sys\nclass B:\n    def find_spec(self, n, p=None, t=None):\n        if n.split('.')[0] == " \
              "'workbench': raise ImportError(n)\nsys.meta_path.insert(0, B())\n"
    done = subprocess.run([sys.executable, "-I", "-c", blocker + code], cwd=folder, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(len(meta["classes"])), "True"]


def test_hostile_names_stay_text():
    meta = {"task": "multiclass", "classes": ["<script>x</script>", "a|b", "$x$"], "program": "model.pt2",
            "input_shape": [3], "recipe": {"data": {"label": "<img src=x onerror=alert(1)>", "path": "d.csv"}},
            "metrics": {"labels": {"mode": "column"}, "test": {"n": 3, "accuracy": 0.5,
                                                                "ci": {"accuracy": [0.1, 0.9]}}}}
    text = model_card.card_text(meta)
    assert "<script>" not in text and "<img" not in text.split("---", 2)[2]
    from huggingface_hub import ModelCard

    card = ModelCard(text)  # the front matter reads back whatever the names hold
    assert card.data.to_dict()["model-index"][0]["name"].endswith("of <img src=x onerror=alert(1)>")


def test_the_card_reads_as_written_in_plain_text():
    """Only what Markdown would take for markup is escaped: apostrophes and comparisons read as typed."""
    meta = {"task": "binary", "classes": ["low", "high"], "program": "model.pt2", "input_shape": [3],
            "recipe": {"data": {"label": "risk's level", "path": "d.csv"}},
            "metrics": {"labels": {"mode": "threshold", "threshold": -4.79}, "test": {"n": 3, "accuracy": 0.5}}}
    text = model_card.card_text(meta).split("---", 2)[2]
    assert "&#39;" not in text and "&lt;=" not in text and "risk's level" in text
    assert model_card.markdown_text("<b>x</b> & <= 2") == "&lt;b>x&lt;/b> & <= 2"


def test_a_run_left_uncalibrated_draws_one_reliability_curve_named_so():
    from workbench.core.evaluate.reliability_drawing import reliability_curves

    rel, before = {"count": [1], "confidence": [0.6], "accuracy": [0.5]}, {"count": [2]}
    metrics = {"calibration": "none", "test": {"reliability": rel, "reliability_before": before}}
    assert reliability_curves(metrics) == {"no calibration": rel}
    metrics["calibration"] = "platt"
    assert reliability_curves(metrics, after="as exported") == {"before calibration": before, "as exported": rel}
