"""Flat rows feed a recurrent model: a table with steps x features columns, an .npz of rows or of sequences."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

from workbench.core.data.columns import WidthMismatchError
from workbench.core.data.data import SequenceShapeError
from workbench.core.recipe import Recipe
from workbench.core.workflow.journey import convert_checkpoint

STEPS, FEATURES = 6, 3
LSTM_SRC = textwrap.dedent('''
    from torch import nn
    class SeqReg(nn.Module):
        def __init__(self, n_features=3, hidden=12):
            super().__init__()
            self.rnn = nn.LSTM(n_features, hidden, batch_first=True)
            self.head = nn.Linear(hidden, 1)
        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])
''')


def _target(X: torch.Tensor) -> torch.Tensor:
    """What the regressor learns: the mean of the first feature over the sequence, plus the last step's second."""
    return X[:, :, 0].mean(1) + X[:, -1, 1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small LSTM regressor trained briefly, its weights and model source, and sequences with targets."""
    from workbench.core.open.model_source import build

    folder = tmp_path_factory.mktemp("lstm")
    src = folder / "seq.py"
    src.write_text(LSTM_SRC)
    torch.manual_seed(0)
    model = build(f"{src}:SeqReg")
    X = torch.randn(600, STEPS, FEATURES)
    y = _target(X)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X).reshape(-1), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.1, loss.item()
    weights = folder / "seq.pt"
    torch.save(model.state_dict(), weights)
    return f"{src}:SeqReg", weights, X.numpy(), y.numpy()


def _csv(path, X, y, extra=0):
    columns = {f"t{t}_f{f}": X[:, t, f] for t in range(X.shape[1]) for f in range(X.shape[2])}
    for k in range(extra):
        columns[f"extra{k}"] = np.linspace(0, 1, len(X)) * (k + 1)
    pd.DataFrame({"id": np.arange(len(X)), **columns, "y": y}).to_csv(path, index=False)
    return path


def _recipe(source, data, **changes):
    return Recipe().replace(**{"data.path": str(data), "data.label": "y", "data.label_mode": "threshold",
                               "head.task": "binary", "train.epochs": 2, "train.lr": 0.01, "model_source": source,
                               **changes})


def test_a_table_of_flattened_sequences_feeds_an_lstm(tmp_path, trained):
    source, weights, X, y = trained
    data = _csv(tmp_path / "seq.csv", X, y)
    # Steps from the width (18 columns / 3 features); the head starts from the regression output's fit.
    run, _ = convert_checkpoint(weights, _recipe(source, data, **{"head.warm_start": "on"}))
    assert run.data.input_shape == (STEPS, FEATURES) and run.inspection.input_shape == (STEPS, FEATURES)
    assert any("sequence of 6 steps of 3 features" in n for n in run.data.table.notes)
    np.testing.assert_allclose(run.data.table.X[5], X[5], rtol=1e-6)  # step by step, not feature by feature
    assert run.metrics["test"]["accuracy"] > 0.8, run.metrics["test"]["accuracy"]
    given, _ = convert_checkpoint(weights, _recipe(source, data, input_shape=(STEPS, FEATURES)))
    assert given.data.input_shape == (STEPS, FEATURES)


def test_an_npz_of_rows_or_of_sequences_feeds_an_lstm(tmp_path, trained):
    source, weights, X, y = trained
    flat, cube = tmp_path / "flat.npz", tmp_path / "cube.npz"
    np.savez(flat, X=X.reshape(len(X), -1), y=y)
    np.savez(cube, X=X, y=y)
    for data in (flat, cube):
        run, _ = convert_checkpoint(weights, _recipe(source, data))
        assert run.data.input_shape == (STEPS, FEATURES), data


def test_rows_that_are_not_whole_steps_are_refused_clearly(tmp_path, trained):
    source, weights, X, y = trained
    data = _csv(tmp_path / "odd.csv", X, y, extra=1)  # 19 numeric features: not a multiple of 3
    with pytest.raises(SequenceShapeError) as caught:
        convert_checkpoint(weights, _recipe(source, data))
    assert "3 features per time step" in caught.value.problem and "19" in caught.value.problem
    assert "--input-shape" in caught.value.fix
    with pytest.raises(WidthMismatchError) as caught:  # the shape given: the columns must match it
        convert_checkpoint(weights, _recipe(source, data, input_shape=(STEPS, FEATURES)))
    assert "sequences of 6 steps of 3 features (18 columns" in caught.value.problem
    features = tuple(f"t{t}_f{f}" for t in range(STEPS) for f in range(FEATURES))
    run, _ = convert_checkpoint(weights, _recipe(source, data, **{"data.features": features}))
    assert run.data.input_shape == (STEPS, FEATURES)


def test_the_cli_converts_a_sequence_table_and_names_the_flag_when_it_cannot(tmp_path, trained, capsys):
    from workbench import cli

    source, weights, X, y = trained
    data = _csv(tmp_path / "seq.csv", X, y)
    common = ["convert", str(weights), "--model-source", source, "--data", str(data), "--label", "y",
              "--threshold", "median", "--epochs", "1", "--quiet"]
    assert cli.main([*common, "--input-shape", "6,3", "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert cli.main([*common, "--input-shape", "9,2", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "input_size 3" in err and "Traceback" not in err
