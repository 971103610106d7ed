"""TorchScript and torch.export programs become editable models and convert at least as well as the baseline."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from workbench.core.open.load import load_checkpoint
from workbench.core.open.program_modules import FrozenProgram
from workbench.core.recipe import Recipe
from workbench.core.workflow.journey import convert_checkpoint


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Dropout(0.5), nn.Linear(16, 8), nn.Tanh())
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        return self.head(self.body(x))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.3))
        self.fc = nn.Linear(4 * 4 * 4, 16)
        self.out = nn.Linear(16, 1)

    def forward(self, x):
        return nn.functional.softplus(self.out(torch.relu(self.fc(self.conv(x).flatten(1)))))


class Opaque(nn.Module):
    """No Linear at all: neither rebuilt nor cut, so it stays whole."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(6))

    def forward(self, x):
        return (x * self.w).sum(1, keepdim=True).tanh() * 3


def _save(model: nn.Module, kind: str, example: torch.Tensor, path, dynamic=True):
    model.train()  # saved while training, as people do: dropout on
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "torchscript":
            torch.jit.script(model).save(str(path))
        else:
            shapes = ({0: torch.export.Dim("batch")},) if dynamic else None
            torch.export.save(torch.export.export(model, (example,), dynamic_shapes=shapes), str(path))
    return path


def _data(model: nn.Module, shape, path, n=600):
    """Inputs and a noisy continuous target that the model's regression output predicts well."""
    gen = torch.Generator().manual_seed(1)
    X = torch.randn((n, *shape), generator=gen)
    with torch.no_grad():
        target = model.eval()(X).reshape(-1)
    target = target + 0.3 * target.std() * torch.randn(n, generator=gen)
    np.savez(path, X=X.numpy().astype(np.float32), y=target.numpy().astype(np.float32))
    return path


def _recipe(data):
    return Recipe().with_changes(**{"data.path": str(data), "data.label": "y", "data.label_mode": "threshold",
                                    "head.task": "binary", "train.epochs": 15})


CASES = [("torchscript", MLP, (6,), True), ("export", MLP, (6,), True), ("torchscript", CNN, (1, 8, 8), True),
         ("export", CNN, (1, 8, 8), True), ("export", CNN, (1, 8, 8), False), ("export", MLP, (6,), False)]


@pytest.mark.parametrize("kind,cls,shape,dynamic", CASES)
def test_a_program_opens_as_an_editable_model_and_converts(tmp_path, kind, cls, shape, dynamic):
    torch.manual_seed(0)
    model = cls()
    path = _save(model, kind, torch.randn(4, *shape), tmp_path / ("m.pt" if kind == "torchscript" else "m.pt2"),
                 dynamic)
    loaded = load_checkpoint(path, trusted=True)
    notes = " ".join(loaded.notes)
    assert not isinstance(loaded.model, FrozenProgram), notes
    assert "training mode" in notes and ("rebuilt" in notes or "cut before its last Linear" in notes)
    assert ("fixed batch of 4" in notes) == (not dynamic)
    assert loaded.input_shape == shape
    x = torch.randn(7, *shape)
    with torch.no_grad():
        assert torch.allclose(loaded.model(x).reshape(-1), model.eval()(x).reshape(-1), atol=1e-5)
        assert torch.equal(loaded.model(x), loaded.model(x)), "dropout is off"
    assert any(p.requires_grad for p in loaded.model.parameters()), "the rebuilt body is an ordinary, trainable module"
    data = _data(model, shape, tmp_path / "d.npz")
    base, _ = convert_checkpoint(path, _recipe(data), trusted=True, baseline=True)
    run, result = convert_checkpoint(path, _recipe(data), tmp_path / "out", trusted=True)
    assert run.metrics["test"]["accuracy"] >= base.metrics["test"]["accuracy"] - 0.02, (
        run.metrics["test"]["accuracy"], base.metrics["test"]["accuracy"])
    assert result is not None


def test_a_program_that_cannot_be_adapted_warm_starts_from_its_output(tmp_path):
    torch.manual_seed(0)
    model = Opaque()
    path = _save(model, "torchscript", torch.randn(4, 6), tmp_path / "m.pt")
    loaded = load_checkpoint(path, trusted=True)
    assert isinstance(loaded.model, FrozenProgram)
    assert any(n.startswith("Warning: the TorchScript program's body cannot be adapted") for n in loaded.notes)
    data = _data(model, (6,), tmp_path / "d.npz")
    base, _ = convert_checkpoint(path, _recipe(data), trusted=True, baseline=True)
    run, _ = convert_checkpoint(path, _recipe(data), trusted=True)
    assert run.metrics["test"]["accuracy"] >= base.metrics["test"]["accuracy"] - 0.02


class Residual(nn.Module):
    """Not a chain: no rebuild matches it, yet its output is its last Linear's, so it is cut at that layer."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 16)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        h = torch.tanh(self.fc1(x))
        return self.head(h + torch.relu(self.fc2(h)))


def _without_converter(monkeypatch):
    """As if this torch had no private TorchScript converter (torch._export.converter)."""
    import sys

    monkeypatch.setitem(sys.modules, "torch._export.converter", None)  # its import now raises ImportError


def test_torchscript_is_cut_at_its_last_linear_with_public_apis_alone(tmp_path, monkeypatch):
    _without_converter(monkeypatch)
    torch.manual_seed(0)
    model = Residual()
    path = _save(model, "torchscript", torch.randn(4, 6), tmp_path / "m.pt")
    loaded = load_checkpoint(path, trusted=True)
    notes = " ".join(loaded.notes)
    assert not isinstance(loaded.model, FrozenProgram), notes
    assert "cut at its last Linear (head)" in notes
    x = torch.randn(9, 6)
    with torch.no_grad():
        assert torch.allclose(loaded.model(x), model.eval()(x), atol=1e-5)
    assert isinstance(loaded.model.head, nn.Linear) and loaded.model.head.weight.requires_grad
    assert not loaded.model.body.script.head.weight.requires_grad, "the pass-through layer stays the identity"
    data = _data(model, (6,), tmp_path / "d.npz")
    base, _ = convert_checkpoint(path, _recipe(data), trusted=True, baseline=True)
    run, result = convert_checkpoint(path, _recipe(data), tmp_path / "out", trusted=True)
    assert run.head_name == "head" and result is not None
    assert run.metrics["test"]["accuracy"] >= base.metrics["test"]["accuracy"] - 0.02


def test_without_the_private_converter_a_graph_it_would_cut_is_kept_whole_and_warm_started(tmp_path, monkeypatch):
    _without_converter(monkeypatch)
    torch.manual_seed(0)
    model = CNN()  # a Softplus after its last Linear: only the converter's graph cut adapts it
    path = _save(model, "torchscript", torch.randn(4, 1, 8, 8), tmp_path / "m.pt")
    loaded = load_checkpoint(path, trusted=True)
    assert isinstance(loaded.model, FrozenProgram)
    warning = next(n for n in loaded.notes if n.startswith("Warning: the TorchScript program's body cannot be adapted"))
    assert "no TorchScript converter" in warning and "warm start" in warning
    data = _data(model, (1, 8, 8), tmp_path / "d.npz")
    base, _ = convert_checkpoint(path, _recipe(data), trusted=True, baseline=True)
    run, _ = convert_checkpoint(path, _recipe(data), trusted=True)
    assert run.metrics["test"]["accuracy"] >= base.metrics["test"]["accuracy"] - 0.02
