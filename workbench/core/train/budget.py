"""How long and how fast to train: the automatic budget, patience, the schedule, the optimiser, and the range test
that picks the rate (lr_finder) run on the training batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from workbench.core.recipe import TrainRecipe
from workbench.core.train.parts import OnDevice, StopToken, shape_logits

if TYPE_CHECKING:
    from workbench.core.train.lr_finder import FinderResult

# The automatic budget: small data gets enough optimiser steps to converge (a few hundred rows at batch 64 would
# otherwise stop after ~150 steps), large data at least MIN_EPOCHS passes; early stopping ends it sooner.
TARGET_STEPS, MIN_EPOCHS, MAX_EPOCHS = 1000, 20, 300
WARMUP = 0.25  # the one-cycle schedule's warm-up fraction
# Early stopping needs more evidence before this fraction of a one-cycle budget (EARLY_EVIDENCE): the validation
# loss at the peak rate is noisy, and the annealing phase is where one-cycle gains (stopping at the peak kept 0.80
# instead of 0.82 on digits).
SETTLE = 0.5
# Below this many optimiser steps one-cycle trains at a constant rate instead: its warm-up and annealing leave a
# short budget mostly at small rates. On the 240-row test table (144 train rows, batch 64, the picked rate; mean
# of 5 seeds) one-cycle against constant: 15 steps 0.62 / 0.81 test accuracy, 45 steps 0.86 / 0.91, 120 steps
# 0.93 / 0.92, 300 steps 0.92 / 0.92.
SHORT_BUDGET = 100
# The automatic time budget: a planned budget that would train longer than this, at the cost per step the range
# test measured, is cut to the epochs that fit (the LSTM of issue 28 planned 67 epochs at ~11 s each).
LONG_RUN = 600.0
MIN_TIMED_EPOCHS = 3  # a cut budget still trains this many epochs
# Before one-cycle's settle point, early stopping needs this many times the patience without improvement: a run
# whose validation loss stopped improving early ends, while the noisy peak-rate phase alone does not end one.
EARLY_EVIDENCE = 2

def build_optimizer(train: TrainRecipe, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    if train.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=train.weight_decay)
    cls = torch.optim.Adam if train.optimizer == "adam" else torch.optim.AdamW
    return cls(params, lr=lr, weight_decay=train.weight_decay)


def auto_epochs(steps_per_epoch: int) -> int:
    """Epochs for about TARGET_STEPS optimiser steps, within [MIN_EPOCHS, MAX_EPOCHS]."""
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / max(steps_per_epoch, 1)))))


def effective_patience(train: TrainRecipe, epochs: int) -> int:
    """The recipe's patience, and at least a tenth of a long budget (validation loss on a small split is noisy)."""
    return max(train.patience, epochs // 10) if train.patience else 0


def applied_schedule(schedule: str, total_steps: int) -> str:
    """The schedule trained with: one-cycle becomes a constant rate below SHORT_BUDGET steps (which also keeps
    OneCycleLR from dividing by zero on a budget too short for its two phases)."""
    return "none" if schedule == "onecycle" and total_steps < SHORT_BUDGET else schedule


def build_schedule(train: TrainRecipe, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int,
              lr: float) -> tuple[Any, str]:  # (a torch scheduler or None, when it steps)
    schedule = applied_schedule(train.schedule, epochs * steps_per_epoch)
    if schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch,
                                                   pct_start=WARMUP, anneal_strategy="cos"), "batch"
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch), "batch"
    if schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1), "epoch"
    if schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2), "plateau"
    return None, ""

def time_limit(budget: float | str) -> float:
    """The seconds a run may train: the recipe's number (0: no limit), LONG_RUN under auto."""
    seconds = LONG_RUN if budget == "auto" else float(budget)
    return seconds if seconds > 0 else math.inf


def timed_epochs(epochs: int, seconds_per_epoch: float, limit: float) -> int:
    """The epochs of `epochs` that fit in `limit` seconds at `seconds_per_epoch` (at least MIN_TIMED_EPOCHS)."""
    if not math.isfinite(limit) or seconds_per_epoch <= 0 or epochs * seconds_per_epoch <= limit:
        return epochs
    return max(min(MIN_TIMED_EPOCHS, epochs), int(limit // seconds_per_epoch))


def may_stop_early(bad_epochs: int, patience: int, epoch: int, settle_epochs: int) -> bool:
    """Early stopping: `patience` epochs without improvement, or EARLY_EVIDENCE times that before the settle point."""
    if not patience:
        return False
    return bad_epochs >= (patience if epoch > settle_epochs else EARLY_EVIDENCE * patience)


def find_lr(model: nn.Module, loss_fn: nn.Module, recipe: TrainRecipe, params: list[nn.Parameter], Xt: OnDevice,
             yt: torch.Tensor, binary: bool, seed: int, stop: StopToken,
             hold: Callable[[], None] = lambda: None, tick: Callable[[int], None] = lambda i: None) -> FinderResult:
    """The range test on shuffled train batches (see lr_finder)."""
    from workbench.core.train.lr_finder import range_test

    n, bs = len(Xt), min(recipe.batch_size, len(Xt))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 1)).to(Xt.device)

    def batches(i: int) -> tuple[torch.Tensor, torch.Tensor]:
        tick(i)  # progress from the first second: the test is the run's first slow step
        start = (i * bs) % max(n - bs + 1, 1)
        idx = order[start:start + bs]
        return Xt[idx], yt[idx]

    # The test draws from its own random streams (dropout included), so training afterwards is exactly what the
    # recipe with the picked rate written in it gives: the run's saved recipe reproduces the model.
    def forward(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
        hold()  # a frozen body stays in eval mode, as in training
        return shape_logits(m(x), binary)

    devices = [Xt.device] if Xt.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        return range_test(model, loss_fn, lambda lr: build_optimizer(recipe, params, lr), batches, forward,
                          should_stop=lambda: stop.stopped)
