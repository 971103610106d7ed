"""The trainer: a plain function over in-memory tensors that reports through callbacks and a stop token.

Batches are slices of a shuffled index into tensors that already live on the training device, which is
what makes it faster than a DataLoader over a TensorDataset. An image folder's split comes instead as batches
made on demand (`data.image_stream.ImageBatches`: 8-bit pixels or files decoded by DataLoader workers,
augmented there), taken in the same shuffled order. Early stopping, the Stop button and closing
the window all set the same token; the best epoch's weights are restored at the end.

On a GPU, reading a loss back to the host waits for the GPU to finish; the per-batch losses are therefore
read back in groups (every `GPU_READBACK` batches or `READBACK_SECONDS`, at a pause and at the end of an
epoch), so the host keeps queueing work ahead of the device. Callbacks still see every batch, a little
later. Mixed precision is torch's own autocast (bfloat16 where the GPU has it, else float16 with a gradient
scaler); it is a GPU-only option.

The pieces that do not depend on the loop live in `parts` (stop token, callbacks, result, forward helpers) and
`budget` (budget, patience, schedule, optimiser, range test); this module re-exports their public names.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from workbench.core import notes as N
from workbench.core import progress
from workbench.core.errors import RecipeError, TrainingError
from workbench.core.recipe import TrainRecipe
from workbench.core.train.budget import (
    MAX_EPOCHS,
    MIN_EPOCHS,
    SETTLE,
    SHORT_BUDGET,
    TARGET_STEPS,
    WARMUP,
    applied_schedule,
    auto_epochs,
    build_optimizer,
    build_schedule,
    effective_patience,
    find_lr,
    may_stop_early,
    time_limit,
    timed_epochs,
)
from workbench.core.train.distributed import Distributed, share
from workbench.core.train.frozen_body import body_trains, hold_body_in_eval
from workbench.core.train.parts import (
    ArrayOrTensor,
    Callback,
    Inputs,
    OnDevice,
    StopToken,
    TrainResult,
    autocast_for,
    available_devices,
    decisions,
    is_streamed,
    on_device,
    pick_device,
    predict_logits,
    seed_everything,
    shape_logits,
    state_copy,
    task_loss,
)

__all__ = ["MAX_EPOCHS", "MIN_EPOCHS", "SETTLE", "SHORT_BUDGET", "TARGET_STEPS", "WARMUP", "ArrayOrTensor", "Callback",
           "Inputs", "OnDevice", "StopToken", "TrainResult", "applied_schedule", "auto_epochs", "available_devices",
           "decisions", "effective_patience", "pick_device", "predict_logits", "seed_everything", "shape_logits",
           "task_loss", "train"]

GPU_READBACK = 32  # batches per host read-back of losses on a GPU; about 10 ms of work for a small head
CPU_READBACK = 1  # on the cpu a read-back costs nothing, so callbacks see each batch at once
READBACK_SECONDS = 0.1  # and at least this often, so that slow batches of a large model still show live


def train(model: nn.Module, task: str, n_classes: int, X_train: Inputs, y_train: ArrayOrTensor,
          X_val: Inputs, y_val: ArrayOrTensor, recipe: TrainRecipe, seed: int,
          callbacks: Iterable[object] = (), stop: StopToken | None = None, head: str = "",
          dist: Distributed | None = None, head_only: bool = False) -> TrainResult:
    """Train `model` in place; X/y are tensors or arrays. Returns the history; raises TrainingError.

    `head`: the qualified name of the new head; when nothing before it trains, the body stays in eval mode (its
    batch-norm statistics do not drift and its dropout is off), as when its outputs are cached (frozen_body).
    `dist`: train as one of several processes (see distributed); every rank returns the same weights.
    `head_only`: only a new head on frozen features trains, so an automatic rate under one-cycle takes its peak
    above the valley (see lr_finder.ONE_CYCLE_PEAK); a body being fine-tuned keeps the valley.
    """
    if dist is None:
        pick_device(recipe.device)  # a device refused is said before any progress line
    callbacks = list(callbacks)
    # Progress from the first second: "Preparing training" until the first epoch (moving the data, the range
    # test's own step inside it); the callbacks hear the steps deep in core too (core.progress).
    with progress.reporting(callbacks):
        with progress.step("preparing", "Preparing training"):
            loop = _Loop(model, task, n_classes, X_train, y_train, X_val, y_val, recipe, seed, callbacks,
                         stop or StopToken(), head, dist)
            loop.plan(head_only)
        return loop.run()


class _Loop:
    """One training run, step by step: set up (`__init__`), choose the rate and budget (`plan`), then epochs of
    batches with host read-backs of the losses, validation, early stopping and the best epoch restored (`run`)."""

    def __init__(self, model: nn.Module, task: str, n_classes: int, X_train: Inputs, y_train: ArrayOrTensor,
                 X_val: Inputs, y_val: ArrayOrTensor, recipe: TrainRecipe, seed: int, callbacks: Iterable[object],
                 stop: StopToken, head: str, dist: Distributed | None) -> None:
        self.model, self.recipe, self.seed, self.stop, self.dist = model, recipe, seed, stop, dist
        self.callbacks = list(callbacks)
        self.device = device = dist.device if dist is not None else pick_device(recipe.device)  # (may refuse)
        self.generator = seed_everything(seed)
        self.binary = binary = task == "binary"
        target_dtype = torch.float32 if binary else torch.long
        self.Xt, self.yt = on_device(X_train, device), torch.as_tensor(y_train).to(device, target_dtype)
        self.Xv, self.yv = on_device(X_val, device), torch.as_tensor(y_val).to(device, target_dtype)
        model.to(device)
        self.task = task
        self.loss_fn = task_loss(recipe, task, n_classes, model).to(device)
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise RecipeError("every layer is frozen, so there is nothing to train.", "Unfreeze at least the head.")
        self.frozen_body = bool(head) and not body_trains(model, head)
        self.head = head
        self.rank, self.world = (dist.rank, dist.world_size) if dist is not None else (0, 1)
        self.n, self.bs = len(self.Xt), recipe.batch_size
        self.steps = max(1, math.ceil(self.n / self.bs))
        self.result = TrainResult(device=str(device), processes=self.world)

    def hold(self) -> None:
        if self.frozen_body:
            hold_body_in_eval(self.model, self.head)

    def notify(self, hook: str, info: dict[str, Any]) -> None:
        for cb in self.callbacks:
            method = getattr(cb, hook, None)  # a callback written before a hook existed lacks it
            if method is not None:
                method(info)

    def plan(self, head_only: bool) -> None:
        """The budget, patience and schedule, the rate (the range test's pick under auto), the optimiser."""
        recipe, result, steps = self.recipe, self.result, self.steps
        result.epochs = auto_epochs(steps) if recipe.epochs == "auto" else int(recipe.epochs)
        result.patience = effective_patience(recipe, result.epochs)
        result.schedule = applied_schedule(recipe.schedule, result.epochs * steps)
        if recipe.lr == "auto":
            if self.rank == 0:  # the others wait for its pick: every rank must train at the same rate
                began = time.perf_counter()
                found = find_lr(self.model, self.loss_fn, recipe, self.params, self.Xt, self.yt, self.binary,
                                self.seed, self.stop, self.hold)
                if result.schedule == "onecycle" and head_only:
                    found.for_one_cycle()
                result.lr, result.lr_finder = found.pick, found.to_dict()
                self.fit_time((time.perf_counter() - began) / max(len(found.lrs), 1))
            if self.dist is not None:
                result.lr, epochs = self.dist.broadcast([result.lr, float(result.epochs)])
                result.epochs = int(epochs)
        else:
            result.lr = float(recipe.lr)
        result.patience = effective_patience(recipe, result.epochs)
        result.schedule = applied_schedule(recipe.schedule, result.epochs * steps)
        # Wrapped after the range test, which runs on rank 0 alone: DDP's gradient hooks would wait for the others.
        self.net = self.dist.wrap(self.model) if self.dist is not None else self.model  # weights read from `model`
        self.optimizer = build_optimizer(recipe, self.params, result.lr)
        self.scheduler, self.when = build_schedule(recipe, self.optimizer, steps, result.epochs, result.lr)
        if result.schedule != recipe.schedule:
            result.notes.append(N.info(f"{result.epochs * steps} optimiser steps are too few for one-cycle's warm-up "
                                       f"and decay (under {SHORT_BUDGET}); the rate was held constant",
                                       "constant_rate", "train.schedule"))
        self.settle_epochs = math.ceil(SETTLE * result.epochs) if result.schedule == "onecycle" else 0
        self.amp_dtype, self.scaler = autocast_for(self.device, recipe.mixed_precision)
        self.readback = CPU_READBACK if self.device.type == "cpu" else GPU_READBACK

    def fit_time(self, seconds_per_step: float) -> None:
        """Cut the budget to the recipe's time limit at the cost per step the range test measured (a validation
        pass costs about a third of a training step per row)."""
        result, recipe = self.result, self.recipe
        per_epoch = seconds_per_step * (self.steps + len(self.Xv) / max(self.bs, 1) / 3)
        limit = time_limit(recipe.time_budget)
        epochs = timed_epochs(result.epochs, per_epoch, limit)
        if epochs < result.epochs:
            result.notes.append(N.info(
                f"{result.epochs} epochs would train for about {result.epochs * per_epoch / 60:.0f} min at "
                f"{per_epoch:.1f} s per epoch (measured by the range test); the budget was cut to {epochs} epochs to "
                f"fit the time budget of {limit / 60:.0f} min (train.time_budget: a number of seconds, or 0 for no "
                "limit)", "time_budget", "train.time_budget"))
            result.epochs = epochs

    def out_of_time(self, epoch_seconds: float) -> bool:
        """Another epoch would end past the recipe's time limit (rank 0's clock decides, so every rank agrees)."""
        elapsed = time.perf_counter() - self.start
        if self.dist is not None:
            elapsed = self.dist.broadcast([elapsed])[0]
        if elapsed + epoch_seconds <= time_limit(self.recipe.time_budget):
            return False
        self.result.notes.append(N.info(f"Training stopped after {self.epoch} epochs ({elapsed / 60:.1f} min): another "
                                        "would pass the time budget (train.time_budget: a number of seconds, or 0 for "
                                        "no limit)", "time_budget", "train.time_budget"))
        return True

    def run(self) -> TrainResult:
        result, model, epochs = self.result, self.model, self.result.epochs
        self.best_loss, self.best_state, self.bad_epochs = math.inf, state_copy(model), 0
        self.start = self.last_read = time.perf_counter()
        self.seen, self.total = 0, 0.0
        self.pending: list[tuple[int, int, int, torch.Tensor]] = []  # (step, rows, rows of all ranks, loss)
        self.notify("on_train_begin", {"epochs": epochs, "steps_per_epoch": self.steps, "device": str(self.device),
                                       "n_train": self.n, "n_val": len(self.Xv), "lr": result.lr,
                                       "lr_finder": result.lr_finder, "processes": self.world})
        try:
            for epoch in range(1, epochs + 1):
                self.epoch = epoch
                began = time.perf_counter()
                self.train_epoch()
                if self.stop.stopped:
                    result.cancelled = True
                    break
                if self.validate(epoch) or (epoch < epochs and self.out_of_time(time.perf_counter() - began)):
                    result.stopped_early = True
                    break
        except torch.cuda.OutOfMemoryError:
            model.load_state_dict(self.best_state)
            raise TrainingError("the GPU ran out of memory.", "Lower the batch size, or train on the cpu.") from None
        model.load_state_dict(self.best_state)
        model.eval()
        result.seconds = time.perf_counter() - self.start
        result.samples_per_second = self.seen / result.seconds if result.seconds else 0.0
        self.notify("on_train_end", {"best_epoch": result.best_epoch, "cancelled": result.cancelled,
                                     "stopped_early": result.stopped_early, "seconds": result.seconds})
        return result

    def read_back(self) -> None:
        """The pending losses to the host (one sync for many batches on a GPU), each checked and reported."""
        pending = self.pending
        values = [float(pending[0][3])] if len(pending) == 1 else torch.stack(
            [loss for *_, loss in pending]).tolist()
        for (step, rows, batch_rows, _), value in zip(pending, values):
            if not math.isfinite(value):
                self.model.load_state_dict(self.best_state)
                raise TrainingError(f"the training loss became {value} at epoch {self.epoch}, batch {step + 1}.",
                                    "Training stopped and the last good weights were kept. Lower the "
                                    "learning rate, check the data for extreme values, or standardise "
                                    "the features.")
            self.seen += batch_rows
            self.total += value * rows
            self.notify("on_batch_end", {"epoch": self.epoch, "step": step + 1, "steps": self.steps, "loss": value,
                                         "elapsed": time.perf_counter() - self.start, "samples": self.seen})
        pending.clear()
        self.last_read = time.perf_counter()

    def train_epoch(self) -> None:
        n, bs, steps, rank, world = self.n, self.bs, self.steps, self.rank, self.world
        self.net.train()
        self.hold()
        order = torch.randperm(n, generator=self.generator).to(self.device)  # the same on every rank: one seed
        self.total = 0.0  # the epoch's loss summed over rows, from the read-back values
        streamed = None
        if is_streamed(self.Xt):  # decoded (and augmented) ahead; under torchrun only this rank's share of each batch
            mine = [share(s * bs, min((s + 1) * bs, n), rank, world)[:2] for s in range(steps)] \
                if world > 1 else [(0, n)]
            streamed = self.Xt.batches(torch.cat([order[a:b] for a, b in mine]), bs,
                                       [b - a for a, b in mine] if world > 1 else None)
        for step in range(steps):
            if self.pending and self.stop.paused:
                self.read_back()  # a paused run shows every batch it has done
            self.stop.wait_while_paused()
            if self.stop.stopped:
                break
            first, end = step * bs, min((step + 1) * bs, n)
            first, end, scale = share(first, end, rank, world) if world > 1 else (first, end, 1.0)
            idx = order[first:end]
            xb = next(streamed) if streamed is not None else self.Xt[idx]
            self.step(xb, self.yt[idx], scale)
            self.pending.append((step, len(idx) if scale else 0, min((step + 1) * bs, n) - step * bs,
                                 self.last_loss))
            if len(self.pending) >= self.readback or time.perf_counter() - self.last_read >= READBACK_SECONDS:
                self.read_back()
        if self.pending:
            self.read_back()

    def step(self, xb: torch.Tensor, yb: torch.Tensor, scale: float) -> None:
        """One optimiser step on a batch (under autocast and its gradient scaler when asked for)."""
        autocast = torch.autocast(self.device.type, dtype=self.amp_dtype) if self.amp_dtype \
            else contextlib.nullcontext()
        with autocast:
            logits = shape_logits(self.net(xb), self.binary)
            loss = self.loss_fn(logits.float() if self.amp_dtype else logits, yb)
        self.optimizer.zero_grad(set_to_none=True)
        scaled = loss * scale if scale != 1.0 else loss
        if self.scaler is not None:
            self.scaler.scale(scaled).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            scaled.backward()
            self.optimizer.step()
        if self.when == "batch":
            self.scheduler.step()
        self.last_loss = loss.detach()

    def validate(self, epoch: int) -> bool:
        """The epoch's validation loss and accuracy, the best weights so far; True when early stopping ends it."""
        result, n = self.result, self.n
        total = self.dist.all_sum([self.total])[0] if self.dist is not None else self.total  # over every rank's rows
        val_logits = predict_logits(self.model, self.Xv, self.binary)
        val_loss = float(self.loss_fn(val_logits, self.yv)) if len(self.Xv) else float(total / n)
        val_pred = decisions(val_logits, self.task)  # p >= 0.5 (binary), as everywhere
        val_acc = float((val_pred == self.yv.long()).float().mean()) if len(self.Xv) else float("nan")
        if self.dist is not None:  # rank 0's numbers decide, so that every rank stops at the same epoch
            val_loss, val_acc = self.dist.broadcast([val_loss, val_acc])
        if self.when == "epoch":
            self.scheduler.step()
        elif self.when == "plateau":
            self.scheduler.step(val_loss)
        if val_loss < self.best_loss - 1e-7 or not result.patience:
            # Without early stopping the user asked for every epoch: the last one is kept.
            self.best_loss, self.best_state, self.bad_epochs = val_loss, state_copy(self.model), 0
            result.best_epoch = epoch
        else:
            self.bad_epochs += 1
        elapsed = time.perf_counter() - self.start
        info = {"epoch": epoch, "epochs": result.epochs, "train_loss": float(total / n), "val_loss": val_loss,
                "val_accuracy": val_acc, "lr": self.optimizer.param_groups[0]["lr"], "elapsed": elapsed,
                "eta": elapsed / epoch * (result.epochs - epoch), "best_epoch": result.best_epoch}
        result.history.append(info)
        self.notify("on_epoch_end", info)
        return may_stop_early(self.bad_epochs, result.patience, epoch, self.settle_epochs)
