"""A frozen body run once: when no layer before the head trains, the head's inputs are computed for every split
in one pass and the head trains on them, instead of the body running on every batch of every epoch.

The split is clean when the head is called once, on one tensor, and the model's output is the head's output:
checked on real rows before the features are trusted (a forward that mixes the head's input with anything else
falls back to training the whole model). A frozen body runs in eval mode on both paths (batch-norm statistics
and dropout fixed), so cached and uncached training give the same head within float rounding. The head's own
dropout still applies to the cached features, batch by batch.

Features live in memory, or in memory-mapped files in a temporary folder when they would take more than a share
of the available memory; the folder is removed when training is done.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch
from torch import nn

from workbench.core import progress
from workbench.core.safety.memory import available_memory
from workbench.core.train.distributed import Distributed

if TYPE_CHECKING:
    from workbench.core.data.image_stream import ImageBatches

BATCH = 256  # rows per body pass: large enough to keep a GPU busy, small enough for a 224x224 ResNet on a laptop
MEMORY_SHARE = 0.5  # features stay in memory when they need at most this share of the available memory
CHECK_ROWS = 8  # rows on which head(features) is compared with the model's own output before trusting the split


class _Captured(Exception):
    """Raised by the head's pre-hook: the body's work is done, the head need not run."""


def in_head(name: str, head: str) -> bool:
    return name == head or name.startswith(head + ".")


def body_trains(model: nn.Module, head: str) -> bool:
    """Whether any parameter outside the head trains."""
    return any(p.requires_grad for name, p in model.named_parameters() if not in_head(name, head))


def hold_body_in_eval(model: nn.Module, head: str) -> None:
    """Put every module outside the head (and not containing it) in eval mode; the head keeps its mode."""

    def walk(module: nn.Module, prefix: str) -> None:
        for name, child in module.named_children():
            full = prefix + name
            if full == head:
                continue
            if head.startswith(full + "."):
                walk(child, full + ".")
            else:
                child.eval()

    walk(model, "")


def _head_input(model: nn.Module, head: nn.Module, xb: torch.Tensor) -> torch.Tensor | None:
    """The tensor the head receives for `xb`, or None when it is not exactly one tensor per row."""
    got: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def pre(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        got.append((args, kwargs))
        raise _Captured

    hook = head.register_forward_pre_hook(pre, with_kwargs=True)
    try:
        model(xb)
    except _Captured:
        pass
    finally:
        hook.remove()
    if not got:
        return None
    args, kwargs = got[0]
    if kwargs or len(args) != 1 or not isinstance(args[0], torch.Tensor) or args[0].shape[:1] != xb.shape[:1]:
        return None
    return args[0]


@dataclass
class BodyFeatures:
    """The head's inputs per split, and where they are kept ("memory" or "disk")."""

    splits: dict[str, torch.Tensor]
    where: str
    seconds: float
    folder: Path | None = None
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Remove the temporary folder this cache wrote (nothing else)."""
        self.splits.clear()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def clean_split(model: nn.Module, head: str, sample: torch.Tensor) -> bool:
    """Whether head(features) reproduces the model's output on `sample` (eval mode, float tolerance)."""
    module = model.get_submodule(head)
    model.eval()
    with torch.no_grad():
        features = _head_input(model, module, sample)
        if features is None:
            return False
        whole = model(sample)
        if not isinstance(whole, torch.Tensor):
            return False
        direct = module(features)
    return whole.numel() == direct.numel() and bool(torch.allclose(whole.reshape(-1).float(),
                                                                   direct.reshape(-1).float(),
                                                                   rtol=1e-4, atol=1e-5))


def _row_shape(model: nn.Module, module: nn.Module, head: str, sample: torch.Tensor) -> tuple[int, ...] | None:
    """The shape of the head's input per row, or None when the split into body and head is not clean."""
    if not clean_split(model, head, sample):
        return None
    with torch.no_grad():
        probe = _head_input(model, module, sample[:1])
    return None if probe is None else tuple(probe.shape[1:])


def _where(rows: dict[str, int], row_shape: tuple[int, ...], memory: int | None) -> str:
    """"memory", "disk" (a share of the available memory would not hold them), or "" (nor would the disk)."""
    need = sum(rows.values()) * int(np.prod(row_shape, dtype=np.int64)) * 4
    memory = available_memory() if memory is None else memory
    if memory is None or need <= MEMORY_SHARE * memory:
        return "memory"
    # neither memory nor disk holds them: the body runs on every batch as before
    return "disk" if shutil.disk_usage(tempfile.gettempdir()).free >= need * 1.1 else ""


def compute(model: nn.Module, head: str, inputs: Callable[[str], np.ndarray | ImageBatches], rows: dict[str, int],
            device: torch.device, should_stop: Callable[[], bool] = lambda: False,
            memory: int | None = None, dist: Distributed | None = None) -> BodyFeatures | None:
    """Run the frozen body once over every split (`rows`: split name -> row count; `inputs(split)` its inputs).
    None when the split into body and head is not clean, or the run was stopped. `memory` overrides the
    available memory (bytes) the cache is checked against. With `dist` and features in memory, each rank runs
    the body on its part of the rows and the parts are gathered, so the body runs once across all ranks."""
    start = time.perf_counter()
    probed = next((s for s, n in rows.items() if n), None)
    if probed is None:
        return None
    model.to(device).eval()
    module = model.get_submodule(head)
    sample = torch.as_tensor(inputs(probed)[:CHECK_ROWS], dtype=torch.float32).to(device)
    row_shape = _row_shape(model, module, head, sample)
    where = "" if row_shape is None else _where(rows, row_shape, memory)
    if dist is not None:  # rank 0's choice for all: the ranks run the same collectives, or none
        where = ("", "memory", "disk")[int(dist.broadcast([("", "memory", "disk").index(where)])[0])]
    if not where or row_shape is None:
        return None
    on_disk = where == "disk"
    folder = Path(tempfile.mkdtemp(prefix="workbench-features-")) if on_disk else None
    cache = BodyFeatures({}, where, 0.0, folder)
    reported = progress.step("features", f"Running the frozen body once over the data (features kept in {where})",
                             sum(rows.values()), "rows")
    try:
        with reported:
            _fill(cache, model, module, head, inputs, rows, device, should_stop, dist, row_shape, sample, reported)
    except BaseException:
        cache.close()
        raise
    if cache.splits.keys() != rows.keys():  # stopped
        return None
    cache.seconds = time.perf_counter() - start
    return cache


def _fill(cache: BodyFeatures, model: nn.Module, module: nn.Module, head: str,
          inputs: Callable[[str], np.ndarray | ImageBatches], rows: dict[str, int], device: torch.device,
          should_stop: Callable[[], bool], dist: Distributed | None, row_shape: tuple[int, ...],
          sample: torch.Tensor, reported: progress.Step) -> None:
    """The body's outputs of every split into `cache` (left incomplete when stopped)."""
    on_disk, folder = cache.where == "disk", cache.folder
    for s, n in rows.items():
        if on_disk:
            assert folder is not None
            out = torch.from_numpy(np.lib.format.open_memmap(folder / f"{s}.npy", mode="w+", dtype=np.float32,
                                                             shape=(n, *row_shape)))
        else:
            out = torch.empty((n, *row_shape), dtype=torch.float32, device=device)
        X = inputs(s) if n else np.empty((0, *sample.shape[1:]), dtype=np.float32)
        shared = dist is not None and not on_disk
        first, end = dist.rows(n) if dist is not None and shared else (0, n)
        with torch.no_grad():
            for i in range(first, end, BATCH):
                if should_stop() and dist is None:  # ranks stop together or not at all (collectives follow)
                    cache.close()
                    return
                xb = torch.as_tensor(X[i:min(i + BATCH, end)], dtype=torch.float32).to(device)
                got = _head_input(model, module, xb)
                assert got is not None
                out[i:i + len(xb)] = got.float().to(out.device)
                reported.advance(len(xb), s)
        if shared:
            assert dist is not None
            out = dist.gather_rows(out[first:end], n)
        cache.splits[s] = out
