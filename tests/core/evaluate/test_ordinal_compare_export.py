"""An ordinal run exports probabilities like every head, says it is ordinal and in which class order, and Compare
shows it beside a softmax run on the same classes."""

import json

import numpy as np
import pytest
import torch

from workbench import cli
from workbench.core.evaluate.compare import load_run_dir, table
from workbench.core.workflow import demo
from workbench.core.workflow.journey import convert_checkpoint


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ordinal")
    ckpt, recipe = demo.build_diabetes(folder / "demo", epochs=60)
    recipe = recipe.replace(**{"data.path": "sklearn:diabetes", "data.label": "target", "data.label_mode": "bins",
                               "data.bins": 4, "train.epochs": 8, "head.task": "ordinal"})
    out = {}
    for task in ("multiclass", "ordinal"):
        run, _ = convert_checkpoint(ckpt, recipe.replace(**{"head.task": task}), folder / task)
        out[task] = (run, folder / task)
    return out


def test_the_export_outputs_class_probabilities_and_says_ordinal(two_runs):
    run, folder = two_runs["ordinal"]
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["task"] == "ordinal" and meta["ordinal"]["class_order"] == meta["classes"] == run.data.classes
    assert meta["ordinal"]["ordered_by"] == "bins" and meta["ordinal"]["head"] == "coral"
    assert "median" in meta["decision_rule"] and meta["metrics"]["test"]["mae_classes"] >= 0
    program = torch.export.load(str(folder / "model.pt2")).module()
    X = torch.as_tensor(run.data.inputs("test"), dtype=torch.float32)
    with torch.no_grad():
        probs = program(X).numpy()
    assert probs.shape == (len(X), 4) and (probs >= 0).all() and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert np.allclose(probs, run.probabilities("test"), atol=1e-5)


def test_evaluate_rescores_an_ordinal_export(two_runs, capsys):
    _, folder = two_runs["ordinal"]
    assert cli.main(["evaluate", str(folder), "--data", "sklearn:diabetes", "--json",
                     "--trust"]) == 0  # trusted when written, but under the module fixture's settings
    result = json.loads(capsys.readouterr().out)
    assert result["decision_rule"].startswith("the median class") and "qwk" in result["ci"]


def test_compare_shows_softmax_and_ordinal_runs_side_by_side(two_runs, capsys):
    folders = [str(two_runs[t][1]) for t in ("multiclass", "ordinal")]
    result = table([load_run_dir(f) for f in folders])
    column = result["columns"].index("class dist.")
    assert [r["task"] for r in result["rows"]] == ["multiclass", "ordinal"]
    assert all(r["values"][column] is not None for r in result["rows"]) and result["same_test_split"]
    cell = result["paired"][0]["columns"][column]
    assert cell is not None and cell["low"] <= cell["difference"] <= cell["high"]
    assert cli.main(["compare", *folders]) == 0
    printed = capsys.readouterr().out
    assert "class dist." in printed and "QWK" in printed and "ordinal" in printed


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_an_ordinal_head_and_its_calibration_export_to_a_program_and_to_onnx(method, tmp_path):
    pytest.importorskip("onnxruntime")
    from workbench.core.evaluate import calibrate
    from workbench.core.export.export import CalibratedClassifier, _onnx, _program
    from workbench.core.train.ordinal import CoralLayer

    model = torch.nn.Sequential(torch.nn.Linear(3, 1), CoralLayer(4))
    X = torch.randn(200, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logp = model(X).numpy()
    cal = calibrate.fit(method, "ordinal", 4, logp, np.random.default_rng(0).integers(0, 4, 200))
    module = CalibratedClassifier(model, cal, False).eval()
    with torch.no_grad():
        expected = module(X[:16]).numpy()
    assert _program(module, X[:16], tmp_path)[1] == "torch.export"
    with torch.no_grad():
        got = torch.export.load(str(tmp_path / "model.pt2")).module()(X[:16]).numpy()
    assert np.allclose(got, expected, atol=1e-6)
    assert _onnx(module, X[:16], expected, tmp_path, tmp_path)["round_trip_max_abs_diff"] < 1e-4
