"""Build demo regression checkpoints and data from scikit-learn's bundled sets, in seconds, with no network.

The demo folder may be one the user already uses: a file is written only where none of that name exists
or where it is one an earlier demo wrote (listed with its sha256 in `.workbench-demo.json`).

That list proves nothing about who wrote the folder: anyone can write one, with the build key too. So the
demo never runs code from its folder: the model is built from the package's own `demo_models` (the folder's
models.py is a copy to read), and what an earlier build is reused for, the checkpoint and the CSV, is read
as data (the checkpoint with `weights_only`, like any other).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.core.errors import ExportError
from workbench.core.recipe import DataRecipe, HeadRecipe, Recipe, TrainRecipe
from workbench.core.safety.atomic import write_bytes_atomic, write_text_atomic
from workbench.core.safety.csv_cells import csv_text
from workbench.core.safety.trust import sha256_of
from workbench.core.workflow import demo_models


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


MARKER = ".workbench-demo.json"
FILES = {"diabetes": ("diabetes_regressor.pt", "diabetes.csv", "models.py", "recipe.json"),
         "digits": ("digits_regressor.pt", "models.py", "recipe.json")}


def _written(folder: Path) -> dict[str, Any]:
    try:
        listed = json.loads((folder / MARKER).read_text()).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return listed if isinstance(listed, dict) else {}


def claim(folder: Path, names: Iterable[str]) -> None:
    """Refuse a demo folder where a file of the demo's names exists that an earlier demo did not write."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ExportError("a file of that name exists.", "Choose a new folder for the demo.", folder)
    listed = _written(folder)
    taken = [n for n in names if (folder / n).exists() or (folder / n).is_symlink()]
    foreign = [n for n in taken if (folder / n).is_symlink() or not (folder / n).is_file()
               or listed.get(n) != sha256_of(folder / n)]
    if foreign:
        raise ExportError(f"the folder already holds {', '.join(foreign)}, which the demo would overwrite.",
                          "Choose a new or empty folder for the demo; nothing was changed.", folder)


def record(folder: Path, names: Iterable[str], build: dict[str, Any] | None = None) -> None:
    listed = _written(folder) | {n: sha256_of(folder / n) for n in names}
    content = {"tool": "conversion-workbench", "files": listed}
    if build is not None:
        content["build"] = build
    write_text_atomic(folder / MARKER, json.dumps(content, indent=1))


def _build_key(kind: str, seed: int, epochs: int) -> dict[str, Any]:
    """What a demo build depends on: the same key means the same files, so an earlier build can be reused."""
    import hashlib

    code = hashlib.sha256(Path(__file__).read_bytes() + Path(demo_models.__file__).read_bytes()).hexdigest()
    return {"demo": kind, "seed": seed, "epochs": epochs, "code": code, "torch": torch.__version__}


def _reusable(folder: Path, names: Iterable[str], build: dict[str, Any]) -> bool:
    """An earlier demo build of the same key whose files are all there, unchanged (the window opens it at once
    instead of training the regressor again)."""
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    listed = marker.get("files", {}) if isinstance(marker, dict) else {}
    return marker.get("build") == build and all(
        (folder / n).is_file() and not (folder / n).is_symlink() and listed.get(n) == sha256_of(folder / n)
        for n in names)


def save_recipe(folder: Path, recipe: Recipe) -> Path:
    claim(folder, ["recipe.json"])
    recipe.save(folder / "recipe.json")
    record(folder, ["recipe.json"])
    return folder / "recipe.json"


def _copy_models(folder: Path) -> None:
    """A copy of the demo's model classes beside its checkpoints, to read; the demo never runs it."""
    write_bytes_atomic(folder / "models.py", Path(demo_models.__file__).read_bytes())


def model_source(class_name: str) -> str:
    """The demo's model class, from the package's own file, never from the demo folder, which someone else may
    have written."""
    return f"{Path(demo_models.__file__).resolve()}:{class_name}"


def _save(obj: object, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def build_diabetes(folder: Path, seed: int = 0, epochs: int = 150) -> tuple[Path, Recipe]:
    """A tutorial-style checkpoint of an MLP regressor, the data as CSV, and a recipe to convert it."""
    folder = Path(folder)
    build = _build_key("diabetes", seed, epochs)
    if _reusable(folder, FILES["diabetes"][:3], build):
        return folder / "diabetes_regressor.pt", _diabetes_recipe(folder, seed)
    # Only a new build needs scikit-learn's data: importing it (with scipy) costs seconds of a reused demo's start.
    from sklearn.datasets import load_diabetes

    claim(folder, FILES["diabetes"])
    folder.mkdir(parents=True, exist_ok=True)
    bunch = load_diabetes()
    X, y = bunch.data.astype(np.float32), bunch.target.astype(np.float32)
    torch.manual_seed(seed)
    model = demo_models.DiabetesMLP()
    _fit(model, X, y / 100.0, epochs, 1e-2, seed)  # target in hundreds keeps the regression well scaled
    ckpt = folder / "diabetes_regressor.pt"
    _save({"model_state_dict": model.state_dict(), "epoch": epochs, "input_shape": [10],
           "target_scale": 100.0}, ckpt)
    rows = [[*map(float, row), float(t)] for row, t in zip(X, bunch.target)]
    write_text_atomic(folder / "diabetes.csv", csv_text([[*bunch.feature_names, "progression"], *rows]))
    _copy_models(folder)
    record(folder, FILES["diabetes"][:3], build)
    return ckpt, _diabetes_recipe(folder, seed)


def _diabetes_recipe(folder: Path, seed: int) -> Recipe:
    # 442 rows: a quarter for testing keeps the reported accuracy from swinging with a handful of samples.
    return Recipe(data=DataRecipe(path=str(folder / "diabetes.csv"), label="progression", label_mode="threshold",
                                  splits=(0.5, 0.15, 0.1, 0.25)),
                  head=HeadRecipe(task="binary", dropout=0.3, freeze="body"),
                  train=TrainRecipe(epochs=60, lr=1e-2, weight_decay=1e-2, batch_size=32, patience=10),
                  calibration="auto", seed=seed, model_source=model_source("DiabetesMLP"))


def build_digits(folder: Path, seed: int = 0, epochs: int = 15) -> tuple[Path, Recipe]:
    """A bare state_dict of a small CNN that regresses the digit's value, and a 10-class recipe."""
    from sklearn.datasets import load_digits

    folder = Path(folder)
    claim(folder, FILES["digits"])
    folder.mkdir(parents=True, exist_ok=True)
    bunch = load_digits()
    X = (bunch.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    torch.manual_seed(seed)  # the initial weights too: the same seed builds the same checkpoint
    model = demo_models.DigitsCNN()
    _fit(model, X, bunch.target.astype(np.float32), epochs, 3e-3, seed)
    ckpt = folder / "digits_regressor.pt"
    _save(model.state_dict(), ckpt)
    _copy_models(folder)
    recipe = Recipe(data=DataRecipe(path="sklearn:digits", label="target", label_mode="column"),
                    head=HeadRecipe(task="multiclass", dropout=0.2),
                    train=TrainRecipe(epochs=25, lr=2e-3, batch_size=64, patience=5),
                    calibration="auto", seed=seed, model_source=model_source("DigitsCNN"),
                    input_shape=(1, 8, 8))
    record(folder, FILES["digits"][:2])
    return ckpt, recipe
