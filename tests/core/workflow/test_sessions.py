"""Sessions that continue: a saved session reopens with its model, its data and live runs (same probabilities,
export, drill-down, recalibration); a moved or changed input is named and can be located; weights are never
unpickled; code a session names is asked about again; old files and runs of another model stay listed."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from workbench.core.errors import UntrustedFileError
from workbench.core.evaluate.errors_list import cell, rows
from workbench.core.workflow.commands import OpenModel, ReadData
from workbench.core.workflow.run_commands import Calibrate, Export, SetThreshold, Train
from workbench.core.workflow.session import SessionModel
from workbench.core.workflow.session_commands import OpenSession, SaveSession
from workbench.core.workflow.session_store import SessionInputError


@pytest.fixture
def saved(tmp_path, user_mlp):
    """A session with two runs (the second with dropout and a threshold), saved in its own folder."""
    ckpt, source, args, table = user_mlp
    s = SessionModel()
    OpenModel(s, ckpt, model_source=source, model_args=args).run()
    ReadData(s, table).run()
    s.update(**{"data.label_mode": "threshold", "train.epochs": 2, "train.lr": 0.01})
    Train(s).run()
    s.update(**{"head.dropout": 0.3})
    second = Train(s).run()
    SetThreshold(s, 0.4).run()
    path = tmp_path / "sessions" / "work.json"
    path.parent.mkdir()
    SaveSession(s, path).run()
    return s, second, path


def test_a_reopened_session_continues_with_live_runs(saved, tmp_path):
    old, second, path = saved
    s = SessionModel()
    OpenSession(s, path).run()
    assert s.loaded is not None and s.data is not None and s.recipe.model_args == {"n_in": 4, "hidden": 6}
    assert [e.name for e in s.entries] == [e.name for e in old.entries] and s.unsaved_runs() == []
    entry = s.entries[1]
    run = entry.run
    assert run is not None and not entry.note and s.current == entry.id
    assert run.threshold == 0.4 and run.recipe.head.dropout == 0.3
    assert np.array_equal(run.probabilities("test"), second.probabilities("test"))
    result = Export(s, tmp_path / "export", entry.id).run()
    from workbench.core.export.export_read import probabilities, read_metadata

    meta = read_metadata(result.folder)
    X = run.data.table.X[run.data.splits["test"]]
    assert np.allclose(probabilities(result.folder, meta, X), second.probabilities("test"), atol=1e-5)
    assert meta["decision_threshold"] == 0.4
    samples = run.test_samples()
    shown = repr(samples)  # a notebook's print says what it holds (it printed every array)
    assert shown.startswith(f"<SplitSamples: {len(samples)} test samples by row, 2 classes") and "[" not in shown
    listed = rows(samples, cell(samples, 1, 1))
    assert listed and {r["row"] for r in listed} <= set(samples.ids)
    Calibrate(s, "platt", entry.id).run()  # recalibrated like a fresh run, threshold kept
    assert run.recipe.calibration == "platt" and run.threshold == 0.4
    # the file stores the model source relative to itself; what Compare reads names the file as a new run does
    assert not json.loads(path.read_text())["runs"][0]["recipe"]["model_source"].startswith("/")
    third = Train(s).run()
    from workbench.core.evaluate.compare import table

    sources = {r["recipe"]["model_source"] for r in s.runs}
    assert sources == {third.recipe.model_source}
    differs = table(s.runs[:1] + s.runs[2:])["recipe_diff"]["differs"]
    assert "model_source" not in [row["field"] for row in differs]


def test_weights_live_beside_the_session_as_safetensors_listed_with_their_hashes(saved):
    _s, _run, path = saved
    doc = json.loads(path.read_text())
    files = [r["weights"]["file"] for r in doc["runs"]]
    assert all(f.startswith("work.runs/") and f.endswith(".safetensors") for f in files)
    assert doc["inputs"]["model-1"]["path"] == "../mlp.pt" and len(doc["inputs"]["model-1"]["sha256"]) == 64
    weights = path.parent / files[1]
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(SessionInputError) as caught:
        OpenSession(SessionModel(), path).run()
    assert caught.value.role == "weights" and caught.value.reason == "changed"


def test_a_moved_data_file_is_named_and_can_be_located(saved, tmp_path):
    _s, second, path = saved
    moved = tmp_path / "elsewhere.csv"
    shutil.move(tmp_path / "risk.csv", moved)
    with pytest.raises(SessionInputError) as caught:
        OpenSession(SessionModel(), path).run()
    error = caught.value
    assert error.role == "data" and error.reason == "missing" and "risk.csv" in str(error)
    s = SessionModel()
    job = OpenSession(s, path).located(error.original, moved)
    job.run()
    assert s.recipe.data.path == str(moved) and s.entries[1].run is not None
    assert np.array_equal(s.entries[1].run.probabilities("test"), second.probabilities("test"))


def test_a_changed_checkpoint_is_refused_unless_chosen(saved, tmp_path):
    _s, _run, path = saved
    ckpt = tmp_path / "mlp.pt"
    ckpt.write_bytes(ckpt.read_bytes() + b"\0")
    with pytest.raises(SessionInputError) as caught:
        OpenSession(SessionModel(), path).run()
    assert caught.value.role == "model" and caught.value.reason == "changed"


def test_code_a_session_names_is_asked_about_again(saved, tmp_path, monkeypatch):
    _s, _run, path = saved
    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(tmp_path / "another-machine"))  # nothing trusted here
    s = SessionModel()
    job = OpenSession(s, path)
    with pytest.raises(UntrustedFileError):
        job.run()
    job.retry_trusted().run()
    assert s.entries[0].run is not None


def test_an_old_session_file_opens_for_comparison_and_its_runs_can_be_picked(saved, tmp_path):
    s, _run, path = saved
    from workbench.core.workflow.session_files import save_session

    old = tmp_path / "old.json"
    save_session(old, [{k: v for k, v in r.items() if k != "weights"} for r in json.loads(path.read_text())["runs"]])
    fresh = SessionModel()
    OpenSession(fresh, old).run()
    assert all(e.run is None and "comparison only" in e.note for e in fresh.entries)
    fresh.select(fresh.entries[0].id)
    assert fresh.current == fresh.entries[0].id and fresh.current_entry.note


def test_runs_of_another_model_stay_usable_after_opening_a_checkpoint(saved, resnet_ckpt):
    s, second, _path = saved
    OpenModel(s, resnet_ckpt).run()
    entry = s.entry_of(second)
    assert "made with mlp.pt" in entry.note
    s.select(entry.id)
    assert s.run is second  # picked, live: evaluate and export still work
    SetThreshold(s, 0.6).run()
    assert second.threshold == 0.6


def test_a_session_opened_over_another_open_model_keeps_its_layer_choices(tmp_path, user_mlp, resnet_ckpt):
    """The window's usual case: a model is open, then a session is opened. The session's freeze up to a layer and
    its ticked frozen layers are its model's, so they are kept (they were dropped as the old model's)."""
    ckpt, source, args, table = user_mlp
    s = SessionModel()
    OpenModel(s, ckpt, model_source=source, model_args=args).run()
    ReadData(s, table).run()
    s.update(**{"data.label_mode": "threshold", "train.epochs": 1, "head.freeze": "upto:body.0",
                "head.frozen_layers": ("body.0",)})
    Train(s).run()
    path = tmp_path / "frozen.json"
    SaveSession(s, path).run()
    other = SessionModel()
    OpenModel(other, resnet_ckpt).run()  # another model is open when the session is opened
    OpenSession(other, path).run()
    assert other.recipe.head.freeze == "upto:body.0" and other.recipe.head.frozen_layers == ("body.0",)
    OpenModel(other, resnet_ckpt).run()  # a new model by the user: the session's layer names are not its own
    assert other.recipe.head.freeze == "none" and other.recipe.head.frozen_layers == ()


def test_a_frozen_layer_the_model_lacks_is_refused_by_name(user_mlp):
    """A recipe's ticked frozen layer that the model has no parameters under (a recipe of another model) is
    refused, naming the layers there are; it trained unfrozen without a word."""
    from workbench.core.errors import RecipeError

    ckpt, source, args, table = user_mlp
    s = SessionModel()
    OpenModel(s, ckpt, model_source=source, model_args=args).run()
    ReadData(s, table).run()
    s.update(**{"data.label_mode": "threshold", "train.epochs": 1, "head.frozen_layers": ("layer3",)})
    with pytest.raises(RecipeError, match="frozen layer 'layer3'.*body.0"):
        Train(s).run()
