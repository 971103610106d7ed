import errno
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from workbench.core.errors import ExportError
from workbench.core.open.load import load_checkpoint
from workbench.core.recipe import Recipe
from workbench.core.workflow.pipeline import export_run, prepare_data, train_run

FRESH = textwrap.dedent('''
    import json, sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name == "workbench" or name.startswith("workbench."):
                raise ImportError("workbench must not be needed to load an export")
    sys.meta_path.insert(0, Block())
    import numpy as np, torch
    folder = sys.argv[1]
    meta = json.load(open(folder + "/metadata.json"))
    program = torch.export.load(folder + "/" + meta["program"]).module()
    X = torch.as_tensor(np.load(folder + "/../inputs.npy"))
    with torch.no_grad():
        probs = program(X).numpy()
    from safetensors.torch import load_file
    load_file(folder + "/weights.safetensors")
    np.save(folder + "/../fresh.npy", probs)
    print(meta["classes"])
''')


@pytest.fixture
def run(tutorial_ckpt, table_csv, models_py):
    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold",
                                 "data.standardize": True, "model_source": f"{models_py}:TinyRegressor",
                                 "train.epochs": 5, "calibration": "isotonic"})
    loaded = load_checkpoint(tutorial_ckpt, recipe.model_source)
    return train_run(recipe, loaded, prepare_data(recipe, loaded.input_shape))


def test_export_loads_in_a_fresh_interpreter_without_workbench(run, tmp_path):
    result = export_run(run, tmp_path / "export")
    assert sorted(result.files) == ["README.md", "confusion.png", "metadata.json", "metrics.json", "model.pt2",
                                    "recipe.json", "reliability.png", "weights.safetensors"]
    X = run.data.table.X[run.data.splits["test"]]
    np.save(tmp_path / "inputs.npy", X)
    script = tmp_path / "fresh.py"
    script.write_text(FRESH)
    done = subprocess.run([sys.executable, "-I", str(script), str(tmp_path / "export")], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    fresh = np.load(tmp_path / "fresh.npy")
    assert fresh.shape == (len(X), 2) and np.allclose(fresh.sum(1), 1, atol=1e-6)
    assert np.abs(fresh - run.probabilities("test")).max() <= 1e-5
    meta = json.loads((tmp_path / "export" / "metadata.json").read_text())
    assert meta["source"]["sha256"] == run.loaded.sha256 and meta["calibration"]["method"] == "isotonic"
    assert meta["metrics"]["test"]["accuracy"] == run.metrics["test"]["accuracy"]
    assert meta["recipe"]["data"]["standardize"] is True


def test_export_never_overwrites_and_never_writes_beside_the_source(run, tmp_path, tutorial_ckpt):
    before = tutorial_ckpt.read_bytes()
    with pytest.raises(ExportError, match="source checkpoint's own folder"):
        export_run(run, tutorial_ckpt.parent)
    export_run(run, tmp_path / "out")
    with pytest.raises(ExportError, match="already holds an export"):
        export_run(run, tmp_path / "out")
    export_run(run, tmp_path / "out", overwrite=True)
    assert tutorial_ckpt.read_bytes() == before


def test_disk_full_leaves_nothing_behind(run, tmp_path, monkeypatch):
    import safetensors.torch

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_model", full)
    with pytest.raises(ExportError, match="disk is full"):
        export_run(run, tmp_path / "out")
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".out")], "the staging folder was removed"
    assert not (tmp_path / "out").exists()


def test_optional_onnx_export_matches_the_workbench(run, tmp_path):
    import onnxruntime

    result = export_run(run, tmp_path / "with-onnx", onnx=True)
    assert "model.onnx" in result.files
    meta = json.loads((tmp_path / "with-onnx" / "metadata.json").read_text())
    assert meta["onnx"]["round_trip_max_abs_diff"] <= 1e-4
    session = onnxruntime.InferenceSession(str(tmp_path / "with-onnx" / "model.onnx"))
    X = run.data.table.X[run.data.splits["test"]]
    probs = session.run(None, {session.get_inputs()[0].name: X})[0]
    assert probs.shape == (len(X), 2) and np.abs(probs - run.probabilities("test")).max() <= 1e-4


def test_onnx_without_its_packages_is_a_clear_error(run, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed
    with pytest.raises(ExportError, match=r"pip install -e '\.\[onnx\]'"):
        export_run(run, tmp_path / "out", onnx=True)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))
