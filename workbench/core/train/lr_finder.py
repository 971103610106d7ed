"""The learning-rate range test (Smith 2015; fastai's `lr_find`, Lightning's `Tuner.lr_find`).

A copy of the training state takes a short run of steps on the train split while the rate grows exponentially
from `START_LR` to `END_LR`; the loss is smoothed and the test stops once it diverges. The pick is fastai's
"valley": the middle (in log rate) of the longest stretch over which the smoothed loss keeps falling, a rate
that is still steep but well before the minimum. Smith's rule (a tenth of the rate at the lowest loss) is kept
as RULE = "min10": on the frozen digits CNN it picked 0.055-0.076 and reached 0.804 test accuracy against
valley's 0.0077 and 0.830 (grid best 0.837; benchmarks/defaults.py), and it was no better elsewhere.
The model's weights and buffers are restored after.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench.core import progress

START_LR, END_LR = 1e-6, 10.0
STEPS = 100  # a second or two on a small head
SMOOTHING = 0.98  # exponential moving average of the loss, debiased (as fastai)
DIVERGED = 4.0  # stop when the smoothed loss exceeds this multiple of its best
FALLBACK_LR = 1e-3  # when the curve is flat (nothing left to learn at any rate)
MAX_PICK = 0.3  # a head on frozen features tolerates large rates; beyond this the gain is nil and the risk not
# A new head on frozen features (a convex fit on fixed inputs) trains under one-cycle at this multiple of the valley,
# not past the curve's lowest loss nor above MAX_PICK: one-cycle spends little time at its peak, and the valley is
# a fine-tuning rate (fastai's fine_tune trains its frozen phase at twice the unfrozen one's). On the frozen digits
# demo the valley under-trained: 0.770 test accuracy against 0.802 at 3x (3 seeds; benchmarks/defaults.py). A
# whole network being fine-tuned keeps the valley: 3x cost 0.01-0.03 on the user-style MLPs.
ONE_CYCLE_PEAK = 3.0


@dataclass
class FinderResult:
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # smoothed
    pick: float = FALLBACK_LR
    pick_index: int = -1
    note: str = ""
    valley: float | None = None  # the valley's rate, where the pick moved on from it for one-cycle

    def to_dict(self) -> dict[str, Any]:
        return {"lrs": self.lrs, "losses": self.losses, "pick": self.pick, "pick_index": self.pick_index,
                "note": self.note, "valley": self.valley}

    def for_one_cycle(self, factor: float = ONE_CYCLE_PEAK) -> FinderResult:
        """Move the pick to the curve's point nearest `factor` times the valley, not past the lowest loss and not
        above MAX_PICK: one-cycle's peak. A fallback pick (a flat or diverged curve) stays where it is."""
        if self.pick_index < 0 or factor == 1:
            return self
        lrs = np.asarray(self.lrs)
        target = min(self.pick * factor, MAX_PICK)
        index = int(np.argmin(np.abs(np.log(lrs) - np.log(target))))
        index = max(self.pick_index, min(index, int(np.argmin(self.losses))))
        self.valley, self.pick_index = self.pick, index
        self.pick = float(np.clip(lrs[index], 1e-5, MAX_PICK))
        return self


def valley(losses: list[float]) -> int:
    """fastai's valley: the index 2/3 of the way down the longest run of decreasing losses (not necessarily
    adjacent), O(n^2) over at most a few hundred points."""
    n = len(losses)
    lds = [1] * n
    start = end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
        if lds[end] < lds[i]:
            end = i
            start = end - lds[end]
    sections = (end - start) / 3
    return min(n - 1, max(0, start + int(sections) + int(sections / 2)))


def min_over_ten(lrs: list[float], losses: list[float]) -> int:
    """Smith's rule: a tenth of the rate at the lowest smoothed loss (the index nearest to it)."""
    target = lrs[int(np.argmin(losses))] / 10
    return int(np.argmin(np.abs(np.log(np.asarray(lrs)) - np.log(target))))


RULE = "valley"  # or "min10"
# fastai's lr_find looks for the valley in recorder.lrs[num_it//10:-5]: the first tenth of the requested steps
# (the smoothed loss is still settling there) and the last five points (where it turns up) are left out. Without
# it the workbench picked lower rates than fastai on the same curve (median 0.72x over 30 runs).
SKIP_END = 5


def trimmed(n_points: int, steps: int = STEPS) -> tuple[int, int]:
    """[start, end) of the points the valley is looked for in, as fastai's lr_find trims them."""
    return steps // 10, n_points - SKIP_END


def suggest(lrs: list[float], losses: list[float], steps: int = STEPS) -> tuple[int, str]:
    """(index of the picked rate, a note), or (-1, why) when the curve says nothing. `steps`: the steps the test
    was asked for (fastai trims a tenth of those, however many were recorded)."""
    if len(losses) < 10:
        return -1, f"the range test diverged after {len(losses)} steps; the rate was set to {FALLBACK_LR:g}"
    drop = (losses[0] - min(losses)) / max(abs(losses[0]), 1e-12)
    if drop < 0.01:
        return -1, f"the loss hardly fell at any rate (the head may already fit); the rate was set to {FALLBACK_LR:g}"
    start, end = trimmed(len(losses), steps)
    if end - start < 2:
        return -1, (f"the range test diverged after {len(losses)} steps, too few to look for a valley; the rate was "
                    f"set to {FALLBACK_LR:g}")
    part = losses[start:end]
    return start + (valley(part) if RULE == "valley" else min_over_ten(lrs[start:end], part)), ""


def range_test(model: nn.Module, loss_fn: Callable[..., Any], make_optimizer: Callable[[float], torch.optim.Optimizer],
               batches: Callable[[int], tuple[torch.Tensor, torch.Tensor]], forward: Callable[..., Any],
               steps: int = STEPS, start_lr: float = START_LR, end_lr: float = END_LR,
               should_stop: Callable[[], bool] = lambda: False) -> FinderResult:
    """Run the range test; `batches(i)` gives the i-th (inputs, targets) batch, `forward(model, x)` the logits.

    The model's state is restored afterwards, so the caller trains from the same starting point.
    """
    saved = copy.deepcopy(model.state_dict())
    was_training = model.training
    optimizer = make_optimizer(start_lr)
    ratio = (end_lr / start_lr) ** (1 / max(steps - 1, 1))
    result = FinderResult()
    avg, best, stopped = 0.0, math.inf, False
    model.train()
    try:
        with progress.step("lr_range_test", "Learning-rate range test", steps, "steps") as reported:
            for i in range(steps):
                if should_stop():  # the Stop button during the test
                    stopped = True
                    break
                lr = start_lr * ratio ** i
                for group in optimizer.param_groups:
                    group["lr"] = lr
                x, y = batches(i)
                loss = loss_fn(forward(model, x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                reported.advance()
                value = float(loss.detach())
                if not math.isfinite(value):
                    break
                avg = SMOOTHING * avg + (1 - SMOOTHING) * value
                smoothed = avg / (1 - SMOOTHING ** (i + 1))
                result.lrs.append(lr)
                result.losses.append(smoothed)
                best = min(best, smoothed)
                if i > 10 and smoothed > DIVERGED * best:
                    break
    finally:
        model.load_state_dict(saved)
        model.train(was_training)
    # Points after the minimum that climb steeply say nothing about where to train; keep them for the plot.
    index, note = suggest(result.lrs, result.losses, steps)
    if stopped and index < 0:  # not a diverged test: the user stopped it
        note = f"the range test was stopped after {len(result.losses)} steps; the rate was set to {FALLBACK_LR:g}"
    result.pick_index, result.note = index, note
    result.pick = float(result.lrs[index]) if index >= 0 else FALLBACK_LR
    if index >= 0:
        result.pick = float(np.clip(result.pick, 1e-5, MAX_PICK))
    return result
