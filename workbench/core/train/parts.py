"""The trainer's pieces that do not depend on the loop: the stop token, callbacks, the result, the device, and
the forward helpers (logits, decisions, inputs moved to the device, mixed precision).

`train.py` re-exports every public name here, so `from workbench.core.train.train import StopToken` still works.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

import numpy as np
import torch
from torch import nn

from workbench.core import notes as N
from workbench.core.errors import RecipeError
from workbench.core.recipe import TrainRecipe
from workbench.core.train.losses import build_loss

if TYPE_CHECKING:
    from workbench.core.data.image_stream import ImageBatches

ArrayOrTensor = np.ndarray | torch.Tensor  # what train() accepts for X and y
Inputs: TypeAlias = "np.ndarray | torch.Tensor | ImageBatches"  # what train() accepts for X: an image folder's
# split comes as batches read on demand
OnDevice: TypeAlias = "torch.Tensor | ImageBatches"  # inputs moved to the training device

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

    def on_progress(self, info: dict[str, Any]) -> None: ...  # a slow step besides the epochs (core.progress)
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
    notes: list[N.Note] = field(default_factory=list)  # what the trainer chose in the recipe's place, and why


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

def shape_logits(out: torch.Tensor, binary: bool) -> torch.Tensor:
    return out.reshape(-1) if binary else out.reshape(out.shape[0], -1)


def task_loss(recipe: TrainRecipe, task: str, n_classes: int, model: nn.Module) -> nn.Module:
    """The recipe's loss; an ordinal task's is the one of the model's ordinal layer."""
    from workbench.core.train.ordinal import ordinal_kind, ordinal_layer

    return build_loss(recipe, task, n_classes, ordinal_kind(model) or "coral",
                      getattr(ordinal_layer(model), "sizes", None))


def decisions(logits: torch.Tensor, task: str) -> torch.Tensor:
    """The classes the metrics would report: p >= 0.5 (binary), argmax (multiclass), the median (ordinal)."""
    if task == "ordinal":
        from workbench.core.train.ordinal import median_class

        return median_class(logits)
    return (logits >= 0).long() if task == "binary" else logits.argmax(1)


def predict_logits(model: nn.Module, X: OnDevice, binary: bool, batch_size: int = 4096) -> torch.Tensor:
    """Logits for every row of X in eval mode, on X's device."""
    model.eval()
    chunks = X.batches(None, batch_size) if is_streamed(X) else \
        (X[i:i + batch_size] for i in range(0, len(X), batch_size))
    with torch.inference_mode():
        parts = [shape_logits(model(xb), binary) for xb in chunks]
    return torch.cat(parts) if parts else torch.empty(0)


def is_streamed(X: object) -> TypeGuard[ImageBatches]:
    """An image folder's split (data.image_stream.ImageBatches): batches made on demand, not one tensor."""
    return hasattr(X, "batches")


def on_device(X: Inputs, device: torch.device) -> OnDevice:
    return X.to(device) if is_streamed(X) else torch.as_tensor(X, dtype=torch.float32).to(device)


def autocast_for(device: torch.device, enabled: bool) -> tuple[torch.dtype | None, torch.amp.GradScaler | None]:
    """torch's autocast and gradient scaler for mixed precision on CUDA; no-ops elsewhere."""
    if not enabled or device.type != "cuda":
        return None, None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return dtype, scaler


def state_copy(model: nn.Module) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
