"""Factories for the command tests: a user's MLP with a model source and a table whose label is "risk", a
torchvision-shaped ResNet-18 state_dict, and a folder of tiny PNGs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ...conftest import make_table


def write_csv(path, n=240, n_features=4, label="target", seed=0):
    X, y = make_table(n, n_features, seed)
    lines = [",".join([f"f{i}" for i in range(n_features)] + [label])]
    lines += [",".join(f"{v:.6f}" for v in row) + f",{t:.6f}" for row, t in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def user_mlp(tmp_path, models_py):
    """(checkpoint, model source, model args, table) of a user's MLP regressor over 4 columns."""
    from workbench.core.open.model_source import build

    source = f"{models_py}:TinyRegressor"
    args = {"n_in": 4, "hidden": 6}
    model = build(source, args)
    ckpt = tmp_path / "mlp.pt"
    torch.save(model.state_dict(), ckpt)
    return ckpt, source, args, write_csv(tmp_path / "risk.csv", label="risk")


@pytest.fixture
def resnet_ckpt(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    model = torchvision.models.resnet18(weights=None)
    model.fc = torch.nn.Linear(512, 1)
    path = tmp_path / "resnet18.pt"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture
def image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path / "pets"
    for name, base in (("cat", 40), ("dog", 200)):
        (root / name).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(base + rng.normal(0, 20, (20, 24, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root
