"""Typed notes (kind, field, code) instead of wording matched by prefix, and the verdicts computed once: a
calibration's change, a paired comparison, the confusion matrix's normalisation."""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pytest
import torch

from workbench.core import notes as N
from workbench.core.evaluate.verdicts import (
    CONFUSION_MODES,
    calibration_verdict,
    change_text,
    normalised_confusion,
    verdict,
)


def test_a_note_is_its_text_and_keeps_its_kind_through_copies():
    note = N.warning("the test split has only 12 rows", "small_test_split", "data.splits")
    assert note == "the test split has only 12 rows" and note.startswith("the test")
    assert json.dumps({"notes": [note]}) == '{"notes": ["the test split has only 12 rows"]}'  # metrics.json keeps text
    for again in (copy.deepcopy(note), pickle.loads(pickle.dumps(note)), N.as_note(note)):
        assert (again.kind, again.field, again.code) == ("warning", "data.splits", "small_test_split")
    assert N.as_note("read back from a file", "warning").kind == "warning"
    with pytest.raises(ValueError):
        N.Note("x", kind="shouting")


def test_opening_a_model_says_what_it_did_in_typed_notes(tmp_path, models_py, tiny_model):
    from workbench.core.open.load import load_checkpoint

    plain = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    torch.save(plain.state_dict(), tmp_path / "bare.pt")
    note = load_checkpoint(tmp_path / "bare.pt").notes[0]
    assert (note.kind, note.code, note.field) == ("info", "mlp_rebuilt", "mlp_activation")
    torch.save(tiny_model.state_dict(), tmp_path / "tiny.pt")
    ran = load_checkpoint(tmp_path / "tiny.pt", f"{models_py}:TinyRegressor").notes
    assert [(n.kind, n.code) for n in ran] == [("safety", "source_ran")]
    assert [N.shown_on_command_line(n) for n in (note, ran[0])] == [False, True]


def test_the_demos_own_model_class_is_an_info_note_and_a_users_copy_of_it_stays_a_safety_note(tmp_path):
    import shutil

    from workbench.core.open.load import load_checkpoint
    from workbench.core.workflow import demo, demo_models

    torch.save(demo_models.DiabetesMLP().state_dict(), tmp_path / "demo.pt")
    own = load_checkpoint(tmp_path / "demo.pt", demo.model_source("DiabetesMLP")).notes
    assert [(n.kind, n.code) for n in own] == [("info", "source_ran")]
    assert "DiabetesMLP" in own[0].text and "demo_models.py" in own[0].text
    copy_py = tmp_path / "demo_models.py"  # the same code in a user's folder: still named as code that ran
    shutil.copy(demo_models.__file__, copy_py)
    ran = load_checkpoint(tmp_path / "demo.pt", f"{copy_py}:DiabetesMLP").notes
    assert [(n.kind, n.code) for n in ran] == [("safety", "source_ran")]


def test_data_and_calibration_warnings_name_their_field():
    from workbench.core.data.checks import leak_warnings, split_warnings
    from workbench.core.evaluate.calibration_check import check

    y = np.array([0, 1] * 10)
    small = split_warnings(y, {"test": np.arange(6)}, ["a", "b"])
    assert [(w.kind, w.field) for w in small] == [("warning", "data.splits")] * 2
    assert leak_warnings({"id": 1.0})[0].field == "data.features"
    rng = np.random.default_rng(0)
    found = check("temperature", "binary", 2, rng.normal(size=60), rng.integers(0, 2, 60), 0.1)
    assert {n.code for n in found["notes"]} >= {"small_calibration_split"}
    assert all(isinstance(n, N.Note) and n.kind == "warning" for n in found["notes"])


def test_the_calibration_verdict_is_the_paired_intervals():
    test = {"ece_before": 0.08, "ece": 0.05, "brier_before": 0.20, "brier": 0.21,
            "calibration_change": {"ece": {"low": -0.05, "high": -0.01, "within_noise": False},
                                   "brier": {"low": -0.01, "high": 0.03, "within_noise": True}}}
    ece = calibration_verdict(test, "ece")
    assert ece["verdict"] == "better" and ece["difference"] == pytest.approx(-0.03)
    assert calibration_verdict(test, "brier")["verdict"] == "within noise"
    test["calibration_change"]["ece"] = {"low": 0.01, "high": 0.04, "within_noise": False}
    assert calibration_verdict(test, "ece")["verdict"] == "worse"
    assert change_text(test, "ece") == "0.080 -> 0.050 (change -0.030, 95% CI [+0.010, +0.040], worse)"
    assert calibration_verdict({"ece": 0.1}, "ece") is None
    assert verdict({"low": 0.01, "high": 0.02, "within_noise": False}, higher_is_better=True) == "better"


def test_confusion_normalisation_by_true_and_by_predicted_class():
    from sklearn.metrics import confusion_matrix

    y, p = [0, 0, 0, 1, 1, 2], [0, 1, 1, 1, 1, 0]
    counts = confusion_matrix(y, p, labels=[0, 1, 2])
    for mode, norm in zip(CONFUSION_MODES, (None, "true", "pred")):
        expected = confusion_matrix(y, p, labels=[0, 1, 2], normalize=norm) if norm else counts
        assert np.allclose(normalised_confusion(counts, mode), np.nan_to_num(expected))
