"""Build demo regression checkpoints and data from scikit-learn's bundled sets, in seconds, with no network."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import torch

from . import demo_models
from .recipe import DataRecipe, HeadRecipe, Recipe, TrainRecipe


def _fit(model: torch.nn.Module, X: np.ndarray, y: np.ndarray, epochs: int, lr: float, seed: int) -> float:
    torch.manual_seed(seed)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(Xt), generator=gen).split(64):
            loss = torch.nn.functional.mse_loss(model(Xt[idx]).reshape(-1), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return loss.item()


def _copy_models(folder: Path) -> str:
    shutil.copyfile(demo_models.__file__, folder / "models.py")
    return str(folder / "models.py")


def build_diabetes(folder: Path, seed: int = 0, epochs: int = 150) -> tuple[Path, Recipe]:
    """A tutorial-style checkpoint of an MLP regressor, the data as CSV, and a recipe to convert it."""
    from sklearn.datasets import load_diabetes

    folder.mkdir(parents=True, exist_ok=True)
    bunch = load_diabetes()
    X, y = bunch.data.astype(np.float32), bunch.target.astype(np.float32)
    torch.manual_seed(seed)
    model = demo_models.DiabetesMLP()
    _fit(model, X, y / 100.0, epochs, 1e-2, seed)  # target in hundreds keeps the regression well scaled
    ckpt = folder / "diabetes_regressor.pt"
    torch.save({"model_state_dict": model.state_dict(), "epoch": epochs, "input_shape": [10],
                "target_scale": 100.0}, ckpt)
    with open(folder / "diabetes.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(bunch.feature_names) + ["progression"])
        writer.writerows([*map(float, row), float(t)] for row, t in zip(X, bunch.target))
    # 442 rows: a quarter for testing keeps the reported accuracy from swinging with a handful of samples.
    recipe = Recipe(data=DataRecipe(path=str(folder / "diabetes.csv"), label="progression", label_mode="threshold",
                                    splits=(0.5, 0.15, 0.1, 0.25)),
                    head=HeadRecipe(task="binary", dropout=0.3, freeze="body"),
                    train=TrainRecipe(epochs=60, lr=1e-2, weight_decay=1e-2, batch_size=32, patience=10),
                    calibration="temperature", seed=seed, model_source=f"{_copy_models(folder)}:DiabetesMLP")
    return ckpt, recipe


def build_digits(folder: Path, seed: int = 0, epochs: int = 15) -> tuple[Path, Recipe]:
    """A bare state_dict of a small CNN that regresses the digit's value, and a 10-class recipe."""
    from sklearn.datasets import load_digits

    folder.mkdir(parents=True, exist_ok=True)
    bunch = load_digits()
    X = (bunch.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    model = demo_models.DigitsCNN()
    _fit(model, X, bunch.target.astype(np.float32), epochs, 3e-3, seed)
    ckpt = folder / "digits_regressor.pt"
    torch.save(model.state_dict(), ckpt)
    recipe = Recipe(data=DataRecipe(path="sklearn:digits", label="target", label_mode="column"),
                    head=HeadRecipe(task="multiclass", dropout=0.2),
                    train=TrainRecipe(epochs=25, lr=2e-3, batch_size=64, patience=5),
                    calibration="temperature", seed=seed, model_source=f"{_copy_models(folder)}:DigitsCNN",
                    input_shape=(1, 8, 8))
    return ckpt, recipe
