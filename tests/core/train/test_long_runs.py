"""Long runs that finish and speak: progress before the first epoch, a time budget that follows the measured cost,
and early stopping that can end a run whose validation loss stopped improving early."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from workbench.core.recipe import TrainRecipe
from workbench.core.train.budget import EARLY_EVIDENCE, may_stop_early, timed_epochs
from workbench.core.train.train import Callback, train


class _Seq(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(3, 8, num_layers=2, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0][:, -1])


class _Events(Callback):
    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def on_progress(self, info):
        self.events.append(("progress", info))

    def on_train_begin(self, info):
        self.events.append(("begin", info))

    def on_epoch_end(self, info):
        self.events.append(("epoch", info))


def _sequences(n=160, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 12, 3)).astype(np.float32)
    return X, rng.integers(0, 2, n).astype(np.float32)  # labels unrelated to the inputs: nothing to learn


def test_an_lstm_whose_validation_loss_stopped_improving_stops_before_half_the_one_cycle_budget():
    X, y = _sequences()
    torch.manual_seed(0)
    recipe = TrainRecipe(epochs=60, lr=1e-2, patience=3, batch_size=32, schedule="onecycle", device="cpu")
    result = train(_Seq(), "binary", 2, X[:120], y[:120], X[120:], y[120:], recipe, seed=0)
    assert result.stopped_early and result.patience == 6
    assert len(result.history) < 30, "stopped before one-cycle's settle point (half of 60 epochs)"
    assert len(result.history) - result.best_epoch >= EARLY_EVIDENCE * result.patience


def test_the_early_rule_needs_more_evidence_before_the_settle_point():
    assert not may_stop_early(5, 5, epoch=10, settle_epochs=30)
    assert may_stop_early(10, 5, epoch=12, settle_epochs=30)
    assert may_stop_early(5, 5, epoch=31, settle_epochs=30)
    assert not may_stop_early(100, 0, epoch=50, settle_epochs=0)  # patience 0: never


def test_progress_shows_before_the_first_epoch_and_old_callbacks_still_work():
    X, y = _sequences(96)

    class Old:  # written before on_progress existed
        def on_train_begin(self, info): ...
        def on_batch_end(self, info): ...
        def on_epoch_end(self, info): ...
        def on_train_end(self, info): ...

    rec = _Events()
    train(_Seq(), "binary", 2, X[:64], y[:64], X[64:], y[64:], TrainRecipe(epochs=1, device="cpu"), seed=0,
          callbacks=[Old(), rec])
    kinds = [k for k, _ in rec.events]
    assert kinds[0] == "progress" and rec.events[0][1]["step"] == "preparing"
    first_begin = kinds.index("begin")
    steps = [info["step"] for k, info in rec.events[:first_begin]]
    assert "lr_range_test" in steps  # the range test (lr auto) reports while it runs
    assert steps[-1] == "preparing" and rec.events[first_begin - 1][1]["finished"]  # ends as the epochs begin
    done = [info for k, info in rec.events if k == "progress" and info["step"] == "lr_range_test"]
    assert done[-1]["finished"] and done[-1]["done"] == done[-1]["total"]


def test_a_time_budget_cuts_the_planned_epochs_at_the_measured_cost_and_says_so():
    X, y = _sequences()
    rec = _Events()
    recipe = TrainRecipe(epochs=200, time_budget=1e-6, patience=0, device="cpu")
    result = train(_Seq(), "binary", 2, X[:120], y[:120], X[120:], y[120:], recipe, seed=0, callbacks=[rec])
    assert result.epochs == 3 and len(result.history) == 1  # cut at plan time, then stopped by the clock
    assert [n.code for n in result.notes].count("time_budget") == 2
    assert all(n.field == "train.time_budget" for n in result.notes if n.code == "time_budget")
    begin = next(info for k, info in rec.events if k == "begin")
    assert begin["epochs"] == 3


def test_no_time_limit_trains_the_whole_budget():
    X, y = _sequences(64)
    recipe = TrainRecipe(epochs=4, lr=1e-3, time_budget=0, patience=0, device="cpu")
    result = train(_Seq(), "binary", 2, X[:48], y[:48], X[48:], y[48:], recipe, seed=0)
    assert len(result.history) == 4 and "time_budget" not in [n.code for n in result.notes]
    assert timed_epochs(100, 10.0, 600.0) == 60 and timed_epochs(100, 10.0, float("inf")) == 100
