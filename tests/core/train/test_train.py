import math

import numpy as np
import pytest
import torch
from torch import nn

from workbench.core.errors import TrainingError
from workbench.core.recipe import TrainRecipe
from workbench.core.train.losses import FocalLoss, build_loss
from workbench.core.train.train import Callback, StopToken, train

from ...conftest import make_table


def _data(n=300):
    X, t = make_table(n)
    return X, (t > np.median(t)).astype(np.int64)


class Recorder(Callback):
    def __init__(self):
        self.batches, self.epochs = [], []

    def on_batch_end(self, info):
        self.batches.append(info)

    def on_epoch_end(self, info):
        self.epochs.append(info)


def test_losses():
    logits, y = torch.tensor([2.0, -1.0]), torch.tensor([1.0, 0.0])
    bce = build_loss(TrainRecipe(loss="bce", pos_weight=3.0), "binary", 2)
    assert bce.pos_weight.item() == 3.0
    focal0 = FocalLoss(0.0, binary=True)
    assert torch.isclose(focal0(logits, y), nn.functional.binary_cross_entropy_with_logits(logits, y))
    ce = build_loss(TrainRecipe(loss="cross_entropy", class_weights=(1.0, 2.0, 3.0), label_smoothing=0.1),
                    "multiclass", 3)
    assert ce.label_smoothing == 0.1 and ce.weight.tolist() == [1.0, 2.0, 3.0]
    assert FocalLoss(2.0, binary=True)(logits, y) < focal0(logits, y)


def test_training_learns_and_reports():
    X, y = _data()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    rec = Recorder()
    train(model, "binary", 2, X[:200], y[:200], X[200:], y[200:],
                   TrainRecipe(epochs=15, lr=1e-2, batch_size=32, patience=0), seed=0, callbacks=[rec])
    assert len(rec.epochs) == 15 and len(rec.batches) == 15 * 7
    assert rec.epochs[-1]["val_accuracy"] > 0.85
    assert rec.epochs[-1]["train_loss"] < rec.epochs[0]["train_loss"]


def test_early_stopping_restores_best_epoch():
    X, y = _data()
    model = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 1))
    rec = Recorder()
    result = train(model, "binary", 2, X[:40], y[:40], X[200:], y[200:],
                   TrainRecipe(epochs=200, lr=3e-2, batch_size=8, patience=3, device="cpu"), seed=0, callbacks=[rec])
    assert result.stopped_early and len(result.history) < 200
    best = min(result.history, key=lambda h: h["val_loss"])
    assert result.best_epoch == best["epoch"]
    with torch.no_grad():
        loss = nn.functional.binary_cross_entropy_with_logits(
            model(torch.as_tensor(X[200:])).reshape(-1), torch.as_tensor(y[200:], dtype=torch.float32))
    assert math.isclose(float(loss), best["val_loss"], rel_tol=1e-4)


def _stopping_after(batches: int, stop: StopToken) -> Recorder:
    """A recorder that presses Stop once it has seen `batches` batches."""

    class StopAfter(Recorder):
        def on_batch_end(self, info):
            super().on_batch_end(info)
            if len(self.batches) == batches:
                stop.stop()

    return StopAfter()


def test_stop_token_stops_within_one_batch():
    X, y = _data()
    stop = StopToken()
    rec = _stopping_after(3, stop)
    result = train(nn.Linear(4, 1), "binary", 2, X, y, X[:10], y[:10],
                   TrainRecipe(epochs=50, batch_size=10, device="cpu"),
                   seed=0, callbacks=[rec], stop=stop)
    assert result.cancelled and len(rec.batches) == 3


def test_nan_loss_stops_with_message_and_keeps_good_weights():
    X, y = _data()
    model = nn.Linear(4, 1)
    before = model.weight.detach().clone()
    X = X.copy()
    X[150:] = 1e38  # overflows to inf in the first batch that touches these rows
    with pytest.raises(TrainingError, match="loss became") as err:
        train(model, "binary", 2, X, y, X[:10], y[:10], TrainRecipe(epochs=3, batch_size=300, device="cpu"), seed=0)
    assert "last good weights" in str(err.value)
    assert torch.equal(model.weight, before)


def test_same_seed_same_result():
    X, y = _data()
    runs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 1))
        runs.append(train(model, "binary", 2, X[:200], y[:200], X[200:], y[200:],
                          TrainRecipe(epochs=3), seed=5).history)
    assert runs[0] == [dict(h, elapsed=runs[0][i]["elapsed"], eta=runs[0][i]["eta"]) for i, h in enumerate(runs[1])]


def test_grouped_loss_read_back_reports_every_batch_in_order(monkeypatch):
    """On a GPU losses are read back in groups; callbacks must still see every batch, with the same losses."""
    import workbench.core.train.train as train_mod

    X, y = _data()
    runs = []
    for group in (1, 4):
        monkeypatch.setattr(train_mod, "CPU_READBACK", group)
        rec = Recorder()
        torch.manual_seed(0)
        train(nn.Linear(4, 1), "binary", 2, X[:200], y[:200], X[200:], y[200:],
              TrainRecipe(epochs=2, batch_size=30, patience=0, device="cpu"), seed=0, callbacks=[rec])
        runs.append(rec.batches)
    per_batch, grouped = runs
    assert [(b["epoch"], b["step"], b["samples"]) for b in grouped] == \
        [(b["epoch"], b["step"], b["samples"]) for b in per_batch]
    assert len(grouped) == 2 * 7 and grouped[-1]["samples"] == 400
    assert [b["loss"] for b in grouped] == pytest.approx([b["loss"] for b in per_batch], rel=1e-6)


def test_slow_batches_are_read_back_on_time_even_when_the_group_is_not_full(monkeypatch):
    import workbench.core.train.train as train_mod

    monkeypatch.setattr(train_mod, "CPU_READBACK", 1000)
    monkeypatch.setattr(train_mod, "READBACK_SECONDS", 0.0)  # every batch is "slow"
    X, y = _data()
    stop = StopToken()
    rec = _stopping_after(3, stop)
    train(nn.Linear(4, 1), "binary", 2, X, y, X[:10], y[:10], TrainRecipe(epochs=5, batch_size=10, device="cpu"),
          seed=0, callbacks=[rec], stop=stop)
    assert len(rec.batches) == 3, "each batch was reported as it finished, so the stop came at once"


def test_grouped_read_back_names_the_batch_where_the_loss_broke(monkeypatch):
    import workbench.core.train.train as train_mod

    X, y = _data()
    X = X.copy()
    X[100:] = 1e38  # some batch after the first few overflows
    messages = []
    for group in (1, 8):
        monkeypatch.setattr(train_mod, "CPU_READBACK", group)
        model = nn.Linear(4, 1)
        before = model.weight.detach().clone()
        with pytest.raises(TrainingError, match="loss became") as err:
            train(model, "binary", 2, X, y, X[:10], y[:10], TrainRecipe(epochs=2, batch_size=10, device="cpu"), seed=0)
        assert torch.equal(model.weight, before)
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "epoch 1, batch " in messages[0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="mixed precision is a GPU path")
def test_mixed_precision_on_cuda_learns_and_returns_float32_weights():
    X, y = _data()
    model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 1))
    result = train(model, "binary", 2, X[:200], y[:200], X[200:], y[200:],
                   TrainRecipe(epochs=15, lr=1e-2, batch_size=32, patience=0, device="cuda",
                               mixed_precision=True), seed=0)
    assert result.device.startswith("cuda") and result.history[-1]["val_accuracy"] > 0.85
    assert all(p.dtype == torch.float32 for p in model.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the GPU's grouped read-back")
def test_nan_on_cuda_is_caught_at_read_back_and_the_good_weights_kept():
    X, y = _data()
    X = X.copy()
    X[:] = 3e38
    model = nn.Linear(4, 1)
    before = model.weight.detach().clone()
    with pytest.raises(TrainingError, match="loss became"):
        train(model, "binary", 2, X, 1 - y * 0, X[:10], y[:10], TrainRecipe(epochs=2, batch_size=10, device="cuda"),
              seed=0)
    assert torch.equal(model.weight.detach().cpu(), before)


def test_mixed_precision_on_the_cpu_is_a_named_recipe_problem():
    from workbench.core.recipe import Recipe, problems

    recipe = Recipe().with_changes(**{"train.mixed_precision": True, "train.device": "cpu"})
    assert [name for name, _ in problems(recipe)] == ["train.mixed_precision"]
    assert problems(Recipe().with_changes(**{"train.mixed_precision": True})) == []  # auto: fine


def _short_budget_accuracy(seed: int) -> tuple[float, object]:
    """A random-bodied MLP given 5 epochs on 144 rows (15 steps at batch 64) with the default rate and schedule;
    accuracy on the whole 240-row table."""
    X, y = _data(240)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    result = train(model, "binary", 2, X[:144], y[:144], X[144:180], y[144:180], TrainRecipe(device="cpu", epochs=5),
                   seed=seed)
    with torch.no_grad():
        pred = (model(torch.as_tensor(X)).reshape(-1) >= 0).long().numpy()
    return float((pred == y).mean()), result


def test_a_short_explicit_budget_trains_at_a_constant_rate_and_learns():
    from workbench.core.train.train import SHORT_BUDGET

    scores = []
    for seed in range(6):
        accuracy, result = _short_budget_accuracy(seed)
        scores.append(accuracy)
        assert result.schedule == "none" and "15 optimiser steps" in result.notes[0]
        assert {round(e["lr"], 12) for e in result.history} == {round(result.lr, 12)}  # no warm-up, no decay
    # One-cycle over the same 15 steps spent most of them at small rates: a mean of 0.65 on these seeds (0.79 now).
    assert np.mean(scores) > 0.75, scores
    X, y = _data(300)
    long = train(nn.Linear(4, 1), "binary", 2, X, y, X[:50], y[:50],
                 TrainRecipe(device="cpu", epochs=SHORT_BUDGET // 5 + 1, lr=0.01, patience=0), seed=0)
    assert long.schedule == "onecycle" and not long.notes and len({round(e["lr"], 12) for e in long.history}) > 10
