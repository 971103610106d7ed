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
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

import numpy as np
import torch
from torch import nn

from workbench.core.errors import RecipeError, TrainingError
from workbench.core.recipe import TrainRecipe
from workbench.core.train.distributed import Distributed, share
from workbench.core.train.frozen_body import body_trains, hold_body_in_eval
from workbench.core.train.losses import build_loss

if TYPE_CHECKING:
    from workbench.core.data.image_stream import ImageBatches
    from workbench.core.train.lr_finder import FinderResult

ArrayOrTensor = np.ndarray | torch.Tensor  # what train() accepts for X and y
Inputs: TypeAlias = "np.ndarray | torch.Tensor | ImageBatches"  # what train() accepts for X: an image folder's
# split comes as batches read on demand
OnDevice: TypeAlias = "torch.Tensor | ImageBatches"  # inputs moved to the training device

GPU_READBACK = 32  # batches per host read-back of losses on a GPU; about 10 ms of work for a small head
CPU_READBACK = 1  # on the cpu a read-back costs nothing, so callbacks see each batch at once
READBACK_SECONDS = 0.1  # and at least this often, so that slow batches of a large model still show live
# The automatic budget: small data gets enough optimiser steps to converge (a few hundred rows at batch 64 would
# otherwise stop after ~150 steps), large data at least MIN_EPOCHS passes; early stopping ends it sooner.
TARGET_STEPS, MIN_EPOCHS, MAX_EPOCHS = 1000, 20, 300
WARMUP = 0.25  # the one-cycle schedule's warm-up fraction
# Early stopping waits for this fraction of a one-cycle budget: the validation loss at the peak rate is noisy,
# and the annealing phase is where one-cycle gains (stopping at the peak kept 0.80 instead of 0.82 on digits).
SETTLE = 0.5
# Below this many optimiser steps one-cycle trains at a constant rate instead: its warm-up and annealing leave a
# short budget mostly at small rates. On the 240-row test table (144 train rows, batch 64, the picked rate; mean
# of 5 seeds) one-cycle against constant: 15 steps 0.62 / 0.81 test accuracy, 45 steps 0.86 / 0.91, 120 steps
# 0.93 / 0.92, 300 steps 0.92 / 0.92.
SHORT_BUDGET = 100


class StopToken:
    """Cooperative stop and pause, checked between batches; safe to set from any thread."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self.reason = ""

    def stop(self, reason: str = "stopped by the user") -> None:
        self.reason = self.reason or reason
        self._stop.set()
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> None:
        self._running.wait()


class Callback:
    """No-op hooks; subclass and override what you need. Each receives the event as a dict."""

    def on_train_begin(self, info: dict[str, Any]) -> None: ...
    def on_batch_end(self, info: dict[str, Any]) -> None: ...
    def on_epoch_end(self, info: dict[str, Any]) -> None: ...
    def on_train_end(self, info: dict[str, Any]) -> None: ...


@dataclass
class TrainResult:
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    cancelled: bool = False
    device: str = "cpu"
    seconds: float = 0.0
    samples_per_second: float = 0.0
    lr: float = 0.0  # the rate trained with (the range test's pick when the recipe says auto)
    epochs: int = 0  # the budget trained with (resolved when the recipe says auto)
    patience: int = 0  # the patience applied
    lr_finder: dict[str, Any] | None = None  # the range test's curve and pick, when it ran
    body_features: str = ""  # "memory" or "disk" when a frozen body ran once and the head trained on its outputs
    processes: int = 1  # ranks that trained together (torchrun)
    schedule: str = ""  # the schedule applied: the recipe's, or "none" where a budget is too short for one-cycle
    notes: list[str] = field(default_factory=list)  # what the trainer chose in the recipe's place, and why


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise RecipeError("device is 'cuda' but no CUDA GPU is available here.", "Choose auto or cpu.")
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)


def available_devices() -> list[str]:
    return ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    return torch.Generator().manual_seed(seed)


def _optimizer(train: TrainRecipe, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
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


def _schedule(train: TrainRecipe, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int,
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


def shape_logits(out: torch.Tensor, binary: bool) -> torch.Tensor:
    return out.reshape(-1) if binary else out.reshape(out.shape[0], -1)


def task_loss(recipe: TrainRecipe, task: str, n_classes: int, model: nn.Module) -> nn.Module:
    """The recipe's loss; an ordinal task's is the one of the model's ordinal layer (coral or corn)."""
    from workbench.core.train.ordinal import ordinal_kind

    return build_loss(recipe, task, n_classes, ordinal_kind(model) or "coral")


def decisions(logits: torch.Tensor, task: str) -> torch.Tensor:
    """The classes the metrics would report: p >= 0.5 (binary), argmax (multiclass), the median (ordinal)."""
    if task == "ordinal":
        from workbench.core.train.ordinal import median_class

        return median_class(logits)
    return (logits >= 0).long() if task == "binary" else logits.argmax(1)


def predict_logits(model: nn.Module, X: OnDevice, binary: bool, batch_size: int = 4096) -> torch.Tensor:
    """Logits for every row of X in eval mode, on X's device."""
    model.eval()
    chunks = X.batches(None, batch_size) if _streamed(X) else \
        (X[i:i + batch_size] for i in range(0, len(X), batch_size))
    with torch.inference_mode():
        parts = [shape_logits(model(xb), binary) for xb in chunks]
    return torch.cat(parts) if parts else torch.empty(0)


def _streamed(X: object) -> TypeGuard[ImageBatches]:
    """An image folder's split (data.image_stream.ImageBatches): batches made on demand, not one tensor."""
    return hasattr(X, "batches")


def _on_device(X: Inputs, device: torch.device) -> OnDevice:
    return X.to(device) if _streamed(X) else torch.as_tensor(X, dtype=torch.float32).to(device)


def _autocast(device: torch.device, enabled: bool) -> tuple[torch.dtype | None, torch.amp.GradScaler | None]:
    """torch's autocast and gradient scaler for mixed precision on CUDA; no-ops elsewhere."""
    if not enabled or device.type != "cuda":
        return None, None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return dtype, scaler


def _state_copy(model: nn.Module) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _find_lr(model: nn.Module, loss_fn: nn.Module, recipe: TrainRecipe, params: list[nn.Parameter], Xt: OnDevice,
             yt: torch.Tensor, binary: bool, seed: int, stop: StopToken,
             hold: Callable[[], None] = lambda: None) -> FinderResult:
    """The range test on shuffled train batches (see lr_finder)."""
    from workbench.core.train.lr_finder import range_test

    n, bs = len(Xt), min(recipe.batch_size, len(Xt))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 1)).to(Xt.device)

    def batches(i: int) -> tuple[torch.Tensor, torch.Tensor]:
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
        return range_test(model, loss_fn, lambda lr: _optimizer(recipe, params, lr), batches, forward,
                          should_stop=lambda: stop.stopped)


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
    stop = stop or StopToken()
    device = dist.device if dist is not None else pick_device(recipe.device)
    generator = seed_everything(seed)
    binary = task == "binary"
    target_dtype = torch.float32 if binary else torch.long
    Xt = _on_device(X_train, device)
    yt = torch.as_tensor(y_train).to(device, target_dtype)
    Xv = _on_device(X_val, device)
    yv = torch.as_tensor(y_val).to(device, target_dtype)
    model.to(device)
    loss_fn = task_loss(recipe, task, n_classes, model).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise RecipeError("every layer is frozen, so there is nothing to train.", "Unfreeze at least the head.")
    frozen_body = bool(head) and not body_trains(model, head)

    def hold() -> None:
        if frozen_body:
            hold_body_in_eval(model, head)

    rank, world = (dist.rank, dist.world_size) if dist is not None else (0, 1)
    n, bs = len(Xt), recipe.batch_size
    steps = max(1, math.ceil(n / bs))
    result = TrainResult(device=str(device), processes=world)
    result.epochs = auto_epochs(steps) if recipe.epochs == "auto" else int(recipe.epochs)
    result.patience = effective_patience(recipe, result.epochs)
    epochs = result.epochs
    result.schedule = applied_schedule(recipe.schedule, epochs * steps)
    if recipe.lr == "auto":
        if rank == 0:  # the others wait for its pick: every rank must train at the same rate
            found = _find_lr(model, loss_fn, recipe, params, Xt, yt, binary, seed, stop, hold)
            if result.schedule == "onecycle" and head_only:
                found.for_one_cycle()
            result.lr, result.lr_finder = found.pick, found.to_dict()
        if dist is not None:
            result.lr = dist.broadcast([result.lr])[0]
    else:
        result.lr = float(recipe.lr)
    # Wrapped after the range test, which runs on rank 0 alone: DDP's gradient hooks would wait for the others.
    net = dist.wrap(model) if dist is not None else model  # forward through DDP; weights read from `model`
    optimizer = _optimizer(recipe, params, result.lr)
    scheduler, when = _schedule(recipe, optimizer, steps, result.epochs, result.lr)
    if result.schedule != recipe.schedule:
        result.notes.append(f"{epochs * steps} optimiser steps are too few for one-cycle's warm-up and decay "
                            f"(under {SHORT_BUDGET}); the rate was held constant")
    settle_epochs = math.ceil(SETTLE * epochs) if result.schedule == "onecycle" else 0
    amp_dtype, scaler = _autocast(device, recipe.mixed_precision)
    autocast = torch.autocast(device.type, dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()
    readback = CPU_READBACK if device.type == "cpu" else GPU_READBACK
    best_loss, best_state, bad_epochs = math.inf, _state_copy(model), 0
    start = last_read = time.perf_counter()
    seen = 0
    total = 0.0  # the epoch's loss summed over rows (reset each epoch); read_back adds to it

    def notify(hook: str, info: dict[str, Any]) -> None:
        for cb in callbacks:
            getattr(cb, hook)(info)

    notify("on_train_begin", {"epochs": epochs, "steps_per_epoch": steps, "device": str(device),
                              "n_train": n, "n_val": len(Xv), "lr": result.lr, "lr_finder": result.lr_finder,
                              "processes": world})
    pending: list[tuple[int, int, int, torch.Tensor]] = []  # (step, rows, rows of all ranks, loss) not read back

    def read_back() -> None:
        nonlocal seen, total, last_read
        values = [float(pending[0][3])] if len(pending) == 1 else torch.stack(
            [loss for *_, loss in pending]).tolist()
        for (step, rows, batch_rows, _), value in zip(pending, values):
            if not math.isfinite(value):
                model.load_state_dict(best_state)
                raise TrainingError(f"the training loss became {value} at epoch {epoch}, batch {step + 1}.",
                                    "Training stopped and the last good weights were kept. Lower the "
                                    "learning rate, check the data for extreme values, or standardise "
                                    "the features.")
            seen += batch_rows
            total += value * rows
            notify("on_batch_end", {"epoch": epoch, "step": step + 1, "steps": steps, "loss": value,
                                    "elapsed": time.perf_counter() - start, "samples": seen})
        pending.clear()
        last_read = time.perf_counter()

    try:
        for epoch in range(1, epochs + 1):
            net.train()
            hold()
            order = torch.randperm(n, generator=generator).to(device)  # the same on every rank: one seed
            total = 0.0  # the epoch's loss summed over rows, from the read-back values
            streamed = None
            if _streamed(Xt):  # decoded (and augmented) ahead; under torchrun only this rank's share of each batch
                mine = [share(s * bs, min((s + 1) * bs, n), rank, world)[:2] for s in range(steps)] \
                    if world > 1 else [(0, n)]
                streamed = Xt.batches(torch.cat([order[a:b] for a, b in mine]), bs,
                                      [b - a for a, b in mine] if world > 1 else None)
            for step in range(steps):
                if pending and stop.paused:
                    read_back()  # a paused run shows every batch it has done
                stop.wait_while_paused()
                if stop.stopped:
                    break
                first, end = step * bs, min((step + 1) * bs, n)
                first, end, scale = share(first, end, rank, world) if world > 1 else (first, end, 1.0)
                idx = order[first:end]
                xb = next(streamed) if streamed is not None else Xt[idx]
                yb = yt[idx]
                with autocast:
                    logits = shape_logits(net(xb), binary)
                    loss = loss_fn(logits.float() if amp_dtype else logits, yb)
                optimizer.zero_grad(set_to_none=True)
                scaled = loss * scale if scale != 1.0 else loss
                if scaler is not None:
                    scaler.scale(scaled).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    scaled.backward()
                    optimizer.step()
                if when == "batch":
                    scheduler.step()
                pending.append((step, len(idx) if scale else 0, min((step + 1) * bs, n) - step * bs, loss.detach()))
                if len(pending) >= readback or time.perf_counter() - last_read >= READBACK_SECONDS:
                    read_back()
            if pending:
                read_back()
            if stop.stopped:
                result.cancelled = True
                break
            if dist is not None:  # the train loss over every rank's rows
                total = dist.all_sum([total])[0]
            val_logits = predict_logits(model, Xv, binary)
            val_loss = float(loss_fn(val_logits, yv)) if len(Xv) else float(total / n)
            val_pred = decisions(val_logits, task)
            val_acc = float((val_pred == yv.long()).float().mean()) if len(Xv) else float("nan")
            if dist is not None:  # rank 0's numbers decide, so that every rank stops at the same epoch
                val_loss, val_acc = dist.broadcast([val_loss, val_acc])
            if when == "epoch":
                scheduler.step()
            elif when == "plateau":
                scheduler.step(val_loss)
            if val_loss < best_loss - 1e-7 or not result.patience:
                # Without early stopping the user asked for every epoch: the last one is kept.
                best_loss, best_state, bad_epochs, result.best_epoch = val_loss, _state_copy(model), 0, epoch
            else:
                bad_epochs += 1
            elapsed = time.perf_counter() - start
            info = {"epoch": epoch, "epochs": epochs, "train_loss": float(total / n), "val_loss": val_loss,
                    "val_accuracy": val_acc, "lr": optimizer.param_groups[0]["lr"], "elapsed": elapsed,
                    "eta": elapsed / epoch * (epochs - epoch), "best_epoch": result.best_epoch}
            result.history.append(info)
            notify("on_epoch_end", info)
            if result.patience and bad_epochs >= result.patience and epoch > settle_epochs:
                result.stopped_early = True
                break
    except torch.cuda.OutOfMemoryError:
        model.load_state_dict(best_state)
        raise TrainingError("the GPU ran out of memory.", "Lower the batch size, or train on the cpu.") from None
    model.load_state_dict(best_state)
    model.eval()
    result.seconds = time.perf_counter() - start
    result.samples_per_second = seen / result.seconds if result.seconds else 0.0
    notify("on_train_end", {"best_epoch": result.best_epoch, "cancelled": result.cancelled,
                            "stopped_early": result.stopped_early, "seconds": result.seconds})
    return result
