"""Shared fixtures: fresh settings and seeds for every test, and tiny model / data factories."""

from __future__ import annotations

import os
import random
import textwrap

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
import torch

MODELS_PY = textwrap.dedent('''
    import torch
    from torch import nn

    class TinyRegressor(nn.Module):
        def __init__(self, n_in=4, hidden=8):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU())
            self.head = nn.Linear(hidden, 1)
            self.act = nn.Softplus()

        def forward(self, x):
            return self.act(self.head(self.body(x)))
''')


@pytest.fixture(autouse=True)
def _fresh_settings(tmp_path_factory, monkeypatch):
    """Each test gets its own trust store, Qt settings, data and log folders, and fixed seeds."""
    config = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(config))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    # the MLflow store, the demo and the rotating log: never the real user's folders
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("WORKBENCH_LOG_DIR", str(tmp_path_factory.mktemp("logs")))
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture
def models_py(tmp_path):
    path = tmp_path / "tiny_models.py"
    path.write_text(MODELS_PY)
    return path


@pytest.fixture
def tiny_model(models_py):
    from workbench.core.open.model_source import build

    return build(f"{models_py}:TinyRegressor")


def make_table(n: int = 240, n_features: int = 4, seed: int = 0):
    """Features with a continuous target that a tiny model can learn."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features)).astype(np.float32)
    y = X @ np.linspace(1.0, -0.5, n_features) + 0.3 * rng.normal(size=n)
    return X, y


@pytest.fixture
def table_csv(tmp_path):
    X, y = make_table()
    path = tmp_path / "table.csv"
    lines = [",".join([f"f{i}" for i in range(X.shape[1])] + ["target"])]
    lines += [",".join(f"{v:.6f}" for v in row) + f",{t:.6f}" for row, t in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def tutorial_ckpt(tmp_path, tiny_model):
    path = tmp_path / "regressor.pt"
    torch.save({"model_state_dict": tiny_model.state_dict(), "epoch": 3, "optimizer_state_dict": {}}, path)
    return path
