"""A frozen body runs once: the head trains on cached features and ends where the slow path ends."""

import tempfile
import textwrap

import numpy as np
import pytest
import torch

from tests.conftest import make_table
from workbench.core.export.export_read import probabilities, read_metadata
from workbench.core.recipe import Recipe
from workbench.core.train import frozen_body
from workbench.core.workflow import pipeline
from workbench.core.workflow.journey import convert_checkpoint

MODELS = textwrap.dedent('''
    import torch
    from torch import nn

    class NormedRegressor(nn.Module):
        """A body with batch norm and dropout: both behave differently in train mode."""
        def __init__(self, noisy=False):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3))
            self.head = nn.Linear(16, 1)
            self.noisy = noisy

        def forward(self, x):
            h = self.body(x)
            if self.noisy:  # a body that is not a fixed function of its input: its outputs cannot be cached
                h = h + torch.randn_like(h)
            return self.head(h)
''')


@pytest.fixture
def setup(tmp_path):
    source = tmp_path / "normed.py"
    source.write_text(MODELS)
    from workbench.core.open.model_source import build

    model = build(f"{source}:NormedRegressor")
    with torch.no_grad():  # running statistics that differ from the data's, so a drifting body would show
        model.body[1].running_mean.fill_(0.5)
        model.body[1].running_var.fill_(2.0)
    ckpt = tmp_path / "normed.pt"
    torch.save(model.state_dict(), ckpt)
    X, y = make_table(300)
    data = tmp_path / "table.npz"
    np.savez(data, X=X, y=y)
    recipe = Recipe().replace(**{
        "data.path": str(data), "data.label_mode": "threshold", "head.freeze": "body", "head.dropout": 0.2,
        "head.hidden": 8, "train.epochs": 6, "train.lr": 0.01, "train.batch_size": 32, "seed": 3,
        "model_source": f"{source}:NormedRegressor", "calibration": "platt"})
    return ckpt, recipe


def _slow(monkeypatch):
    monkeypatch.setattr(pipeline.frozen_body, "compute", lambda *a, **k: None)


def _head(run):
    return {k: v.clone() for k, v in run.model.get_submodule(run.head_name).state_dict().items()}


def test_cached_and_uncached_heads_agree(setup, monkeypatch, tmp_path):
    ckpt, recipe = setup
    fast, export = convert_checkpoint(ckpt, recipe, tmp_path / "fast", trusted=True)
    assert fast.training.body_features == "memory"
    with monkeypatch.context() as m:
        _slow(m)
        slow, _ = convert_checkpoint(ckpt, recipe, trusted=True)
    assert slow.training.body_features == ""
    for name, value in _head(slow).items():
        torch.testing.assert_close(_head(fast)[name], value, rtol=1e-4, atol=1e-5)
    for split in ("train", "val", "cal", "test"):
        np.testing.assert_allclose(fast.logits[split], slow.logits[split], rtol=1e-4, atol=1e-5)
    assert fast.metrics["test"]["accuracy"] == slow.metrics["test"]["accuracy"]
    assert [h["val_loss"] for h in fast.training.history] == pytest.approx(
        [h["val_loss"] for h in slow.training.history], rel=1e-4)
    # The body was not touched: batch-norm statistics as loaded; the export holds body and head.
    assert fast.model.body[1].running_mean.eq(0.5).all()
    X = fast.data.table.X[fast.data.splits["test"]]
    meta = read_metadata(export.folder)
    np.testing.assert_allclose(probabilities(export.folder, meta, X), fast.probabilities("test"), atol=1e-5)


def test_features_go_to_a_temporary_folder_when_memory_is_short(setup, monkeypatch, tmp_path):
    ckpt, recipe = setup
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    in_memory, _ = convert_checkpoint(ckpt, recipe, trusted=True)
    monkeypatch.setattr(frozen_body, "available_memory", lambda: 1000)
    on_disk, _ = convert_checkpoint(ckpt, recipe, trusted=True)
    assert on_disk.training.body_features == "disk"
    np.testing.assert_allclose(on_disk.logits["test"], in_memory.logits["test"], rtol=1e-6, atol=1e-7)
    assert list(scratch.iterdir()) == []  # the cache removed what it wrote


def test_a_body_that_is_not_a_fixed_function_trains_the_slow_way(setup, tmp_path):
    ckpt, recipe = setup
    recipe = recipe.replace(model_args={"noisy": True})
    run, _ = convert_checkpoint(ckpt, recipe, trusted=True)
    assert run.training.body_features == ""


def test_a_training_body_or_augmentation_is_not_cached(setup, monkeypatch):
    ckpt, recipe = setup
    run, _ = convert_checkpoint(ckpt, recipe.replace(**{"head.freeze": "none"}), trusted=True)
    assert run.training.body_features == ""
    augmenting = recipe.replace(**{"data.augment": "on"})
    run, _ = convert_checkpoint(ckpt, augmenting, trusted=True)
    assert run.training.body_features == ""


def test_a_frozen_body_stays_in_eval_mode_on_the_slow_path_too(setup, monkeypatch):
    ckpt, recipe = setup
    _slow(monkeypatch)
    run, _ = convert_checkpoint(ckpt, recipe, trusted=True)
    assert run.model.body[1].running_mean.eq(0.5).all()  # batch norm did not drift towards the new data
