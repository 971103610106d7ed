"""Inputs on another scale than the model was trained on, with default settings: a regressor trained on
standardised features given the raw table is standardised (auto), a CNN trained on (0.5, 0.5)-normalised images
gets that normalisation, and each says why; a model trained on its own raw scale is left alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from workbench.core.data.input_scale import choose_standardize, rank_correlation
from workbench.core.recipe import DataRecipe, Recipe
from workbench.core.workflow.journey import convert_checkpoint


def _fit(net: nn.Module, X: np.ndarray, y: np.ndarray, steps: int, lr: float) -> nn.Module:
    torch.manual_seed(0)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr)
    for _ in range(steps):
        opt.zero_grad()
        ((net(Xt).squeeze(1) - yt) ** 2).mean().backward()
        opt.step()
    return net.eval()


def _house(n=500, d=6):
    """House-price-like columns (means 1e3..1e5, spreads 1e2..1e4) and a price from their standardised values."""
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(n, d))
    y = Z @ rng.normal(size=d) + 0.5 * np.sin(2 * Z[:, 0]) + 0.3 * rng.normal(size=n)
    X = Z * 10 ** rng.uniform(2, 4, size=d) + 10 ** rng.uniform(3, 5, size=d)
    return X.astype(np.float32), y.astype(np.float32)


def _mlp(d):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1))


def _csv(path, X, y):
    header = ",".join([f"f{i}" for i in range(X.shape[1])] + ["price"])
    path.write_text(header + "\n" + "\n".join(",".join(map(repr, [*map(float, r), float(t)])) for r, t in zip(X, y)))


def test_a_model_trained_on_standardised_inputs_given_raw_columns_is_standardised_by_default(tmp_path):
    X, y = _house()
    net = _fit(_mlp(X.shape[1]), (X - X.mean(0)) / X.std(0), y, 300, 1e-2)
    torch.save(net.state_dict(), tmp_path / "house.pt")
    _csv(tmp_path / "house.csv", X, y)
    recipe = Recipe(data=DataRecipe(path=str(tmp_path / "house.csv"), label="price", label_mode="threshold"))
    auto, _ = convert_checkpoint(tmp_path / "house.pt", recipe)
    raw, _ = convert_checkpoint(tmp_path / "house.pt", recipe.replace(**{"data.standardize": False}))
    note = next(n for n in auto.training.notes if n.code == "standardized_auto")
    assert note.field == "data.standardize" and note.kind == "info" and "pre-activations" in note
    assert auto.recipe.data.standardize is True  # the run's recipe records what auto chose
    assert auto.metrics["test"]["accuracy"] >= 0.9
    assert auto.metrics["test"]["accuracy"] >= raw.metrics["test"]["accuracy"] + 0.04


def test_the_baseline_says_it_standardised_the_inputs_as_a_trained_run_does(tmp_path):
    """--baseline on the same model and table standardises too (auto): the note is with the run, in the export's
    metadata and in its card, as for a trained run."""
    import json

    X, y = _house()
    net = _fit(_mlp(X.shape[1]), (X - X.mean(0)) / X.std(0), y, 300, 1e-2)
    torch.save(net.state_dict(), tmp_path / "house.pt")
    _csv(tmp_path / "house.csv", X, y)
    recipe = Recipe(data=DataRecipe(path=str(tmp_path / "house.csv"), label="price", label_mode="threshold"))
    run, _ = convert_checkpoint(tmp_path / "house.pt", recipe, tmp_path / "out", baseline=True)
    assert run.kind == "baseline" and run.recipe.data.standardize is True
    assert [n.code for n in run.training.notes] == ["standardized_auto"]
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    assert any("Inputs standardised" in n for n in meta["metrics"]["training"]["notes"])
    assert "likely trained on standardised inputs" in (tmp_path / "out" / "README.md").read_text()


def test_a_model_trained_on_its_raw_scale_keeps_it():
    X, y = _house(300)
    A = np.c_[X, np.ones(len(X))].astype(np.float64)
    coef = np.linalg.lstsq(A, y.astype(np.float64), rcond=None)[0]  # a least-squares fit on the raw columns
    fitted = nn.Linear(X.shape[1], 1)
    with torch.no_grad():
        fitted.weight.copy_(torch.as_tensor(coef[:-1][None], dtype=torch.float32))
        fitted.bias.fill_(float(coef[-1]))
    choice = choose_standardize(fitted, X, y, X.mean(0), X.std(0), ordered=True)
    assert choice.chosen == "off" and choice.note is not None and choice.note.code == "standardize_kept_off"


def test_unit_scale_columns_are_not_questioned():
    X = np.random.default_rng(1).normal(size=(200, 4)).astype(np.float32)
    choice = choose_standardize(nn.Linear(4, 1), X, X[:, 0], X.mean(0), X.std(0), ordered=True)
    assert (choice.chosen, choice.note) == ("off", None)


def test_rank_correlation_matches_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(2)
    a, b = rng.normal(size=80), rng.integers(0, 3, 80)
    assert rank_correlation(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)


class _AgeNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.features(x), 1))


AGE_NET = '''
import torch
from torch import nn
class AgeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(8, 1)
    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))
'''


def test_a_cnn_trained_on_half_normalised_images_gets_that_normalisation_by_default(tmp_path):
    rng = np.random.default_rng(0)
    n, side = 120, 8
    # The target (distance of the brightness from mid-grey) is read through ReLUs whose kinks sit at 0 of the
    # (0.5, 0.5)-normalised pixels: on 0..1 pixels the model's output hardly orders it.
    imgs = np.clip(rng.uniform(0.1, 0.9, (n, 1, 1, 1)) + 0.1 * rng.normal(size=(n, 3, side, side)), 0, 1)
    imgs = (np.round(imgs * 255) / 255).astype(np.float32)
    target = np.abs(imgs.mean(axis=(1, 2, 3)) - 0.5)
    net = _fit(_AgeNet(), (imgs - 0.5) / 0.5, target, 300, 1e-2)
    torch.save(net.state_dict(), tmp_path / "age.pt")
    (tmp_path / "models.py").write_text(AGE_NET)
    median = np.median(target)
    for i, (im, t) in enumerate(zip(imgs, target)):
        folder = tmp_path / "faces" / ("far" if t > median else "near")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((im.transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(folder / f"{i}.png")
    recipe = Recipe(data=DataRecipe(path=str(tmp_path / "faces")), model_source=f"{tmp_path / 'models.py'}:AgeNet",
                    input_shape=(3, side, side))
    run, _ = convert_checkpoint(tmp_path / "age.pt", recipe.replace(**{"train.epochs": 10}))
    note = next(n for n in run.training.notes if n.code == "normalize_auto")
    assert note.field == "data.normalize" and "mean 0.5 and std 0.5" in note
    d = run.recipe.data
    assert (d.normalize, d.norm_mean, d.norm_std) == ("custom", (0.5,) * 3, (0.5,) * 3)
    assert run.metrics["test"]["accuracy"] >= 0.85
