"""A run cut at a layer and pruned reopens from a saved session with the same model (its cut and pruning made
again, its weights loaded strictly) and the same probabilities."""

from __future__ import annotations

import numpy as np

from workbench.core.workflow.commands import OpenModel, ReadData
from workbench.core.workflow.run_commands import Train
from workbench.core.workflow.session import SessionModel
from workbench.core.workflow.session_commands import OpenSession, SaveSession


def test_a_cut_and_pruned_run_reopens_live(tmp_path, user_mlp):
    ckpt, source, args, table = user_mlp
    s = SessionModel()
    OpenModel(s, ckpt, model_source=source, model_args=args).run()
    ReadData(s, table).run()
    s.update(**{"data.label_mode": "threshold", "train.epochs": 2, "train.lr": 0.01, "model.cut_at": "body.1",
                "model.prune": 0.5})
    run = Train(s).run()
    assert run.metrics["model"]["pruned_units"] == {"body.0": [6, 3]}
    assert [n for n, _ in run.model.named_children()] == ["body", "head"] and run.model.body[0].out_features == 3
    path = tmp_path / "work.json"
    SaveSession(s, path).run()
    fresh = SessionModel()
    OpenSession(fresh, path).run()
    entry = fresh.entries[0]
    assert entry.run is not None and not entry.note
    assert entry.run.model.body[0].out_features == 3 and entry.run.recipe.model.cut_at == "body.1"
    assert np.array_equal(entry.run.probabilities("test"), run.probabilities("test"))
