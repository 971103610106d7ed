"""What the Export dialog says before writing comes from core and matches what the export writes."""

from __future__ import annotations

import json

from workbench.core.workflow.commands import OpenModel, ReadData
from workbench.core.workflow.export_summary import export_summary
from workbench.core.workflow.run_commands import Export, SetThreshold, Train
from workbench.core.workflow.session import SessionModel


def _trained(user_mlp, **changes):
    ckpt, source, args, table = user_mlp
    s = SessionModel()
    OpenModel(s, ckpt, model_source=source, model_args=args).run()
    ReadData(s, table).run()
    s.update(**{"data.label_mode": "threshold", "train.epochs": 2, "train.lr": 0.01, **changes})
    Train(s).run()
    return s


def test_the_summary_states_the_threshold_that_the_export_writes(user_mlp, tmp_path):
    s = _trained(user_mlp)
    SetThreshold(s, 0.246).run()
    lines = export_summary(s, folder=tmp_path / "out", onnx=False)
    text = "\n".join(lines)
    assert lines[0].startswith("Run: ") and s.current_entry.name in lines[0]
    assert "Decision threshold: 0.246" in text and "decision_threshold" in text
    assert "Calibration: " in text and "Decision policy: threshold" in text
    assert "Conformal sets: level 90%" in text
    assert "ONNX: not written" in text and f"Folder: {tmp_path / 'out'}" in text
    result = Export(s, tmp_path / "out").run()
    meta = json.loads((result.folder / "metadata.json").read_text())
    assert meta["decision_threshold"] == 0.246
    assert f"Calibration: {meta['calibration']['method'] if meta['calibration'] else 'none'}" in text


def test_a_policy_and_conformal_level_are_said(user_mlp, tmp_path):
    s = _trained(user_mlp, **{"decide.policy": "youden", "decide.conformal_alpha": 0.2})
    text = "\n".join(export_summary(s, onnx=True))
    assert "Decision policy: youden: the threshold maximising youden on the calibration split" in text
    assert "Conformal sets: level 80% (alpha 0.2)" in text
    assert "ONNX: model.onnx too" in text


def test_no_run_says_so():
    assert "No run is picked" in export_summary(SessionModel())[0]
