"""The probe sweep: one body pass, a scikit-learn logistic regression per layer, the marks, the command line."""

import json

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tests.core.train.cut_models import overfitted_deep
from workbench.cli import main
from workbench.core.evaluate.uncertainty import wilson
from workbench.core.recipe import Recipe
from workbench.core.workflow.journey import open_session
from workbench.core.workflow.probe_command import Probe

LAYERS = ["layer1", "act1", "layer2", "act2", "layer3", "act3", "layer4", "act4", "layer5", "act5"]


@pytest.fixture
def deep_session(tmp_path):
    ckpt, source, data = overfitted_deep(tmp_path)
    recipe = Recipe().replace(**{"data.path": str(data), "data.label_mode": "threshold", "data.threshold": 0.0,
                                 "model_source": source, "seed": 2})
    return open_session(ckpt, recipe, trusted=True), (ckpt, source, data)


def _chain(model, upto, X):
    """The layers up to `upto`, called one after another by hand (no hooks)."""
    x = torch.as_tensor(X)
    with torch.no_grad():
        for name, child in model.named_children():
            x = child(x)
            if name == upto:
                return x.numpy()
    raise AssertionError(upto)


def test_probe_accuracies_equal_scikit_learns_on_the_same_features(deep_session):
    session, _ = deep_session
    events = []
    session.events.probe.connect(events.append)
    result = Probe(session).run()
    assert events == [result] and session.probe_sweep is result
    assert [r.layer for r in result.rows] == LAYERS and result.stopped_at == ""
    data, model = session.data, session.loaded.model.eval()
    y_train, y_val = data.labels("train"), data.labels("val")
    for row in result.rows:
        reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        reference.fit(_chain(model, row.layer, data.inputs("train")), y_train)
        right = int((reference.predict(_chain(model, row.layer, data.inputs("val"))) == y_val).sum())
        assert row.accuracy == right / len(y_val)
        assert [row.low, row.high] == wilson(right, len(y_val))
    by = {r.layer: r for r in result.rows}
    # Layer 2 keeps x0; the over-fitted layers after it lost it. The smallest layer within noise is layer 1.
    assert by["layer2"].accuracy > 0.9 > by["act5"].accuracy + 0.2
    assert result.best.layer in ("layer1", "act1", "layer2", "act2")
    assert result.smallest.layer == "layer1" and by["layer1"].parameters == 10 * 10 + 10 + 10 + 1
    assert by["layer1"].flops == 100 and by["layer2"].flops == 200
    assert [r.parameters for r in result.rows] == sorted(r.parameters for r in result.rows)


def test_workbench_probe_prints_the_table_and_json(deep_session, capsys):
    _, (ckpt, source, data) = deep_session
    args = ["probe", str(ckpt), "--model-source", source, "--trust", "--data", str(data), "--threshold", "0"]
    assert main(args + ["--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [r["layer"] for r in found["rows"]] == LAYERS and found["smallest_within_noise"] == "layer1"
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "smallest within noise" in out and "--cut-at layer1" in out


def test_a_model_without_a_chain_has_no_candidates(tmp_path):
    from workbench.core.errors import DataError
    from workbench.core.evaluate.probe_sweep import sweep

    class Mixed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.head = torch.nn.Linear(4, 4), torch.nn.Linear(4, 1)

        def forward(self, x):
            return self.head(self.a(x * 2))

    X = np.zeros((20, 4), np.float32)
    y = np.arange(20) % 2
    with pytest.raises(DataError, match="forward does arithmetic between the input and child 'a'"):
        sweep(Mixed(), "head", lambda s: X, lambda s: y, ["0", "1"], (4,))
