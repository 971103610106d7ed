"""Where to cut: a linear probe at every layer a head can be attached at, from one pass of the body.

Forward hooks on every candidate layer (train.cut.candidates: the chain of named children before the regression
head) keep each layer's output, made one feature vector per row as a cut there would (global average pooling of a
feature map, a sequence's last step), for the train and validation splits in a single pass over the data; the pass
stops after the deepest candidate. A logistic regression on standardised features is fitted on the train split
per layer and scored on the validation split, with the Wilson interval of its accuracy. Each row also says what a
cut there keeps: parameters (body up to the layer and a linear head) and multiply-add FLOPs per sample.

Marked: the best layer (highest accuracy; the smaller on a tie), and the smallest layer within noise of it (the
fewest parameters among layers whose interval reaches the best's lower bound).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch
from torch import nn

from workbench.core.errors import DataError
from workbench.core.evaluate.uncertainty import wilson
from workbench.core.train.cut import candidates, cut_model, probe_input
from workbench.core.train.prune import parameters

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from workbench.core.data.image_stream import ImageBatches

BATCH = 256
SPLITS = ("train", "val")


class _Done(Exception):
    """Raised by the deepest candidate's hook: the rest of forward is not needed."""


@dataclass
class ProbeRow:
    layer: str
    depth: int  # position in forward's chain, from 1
    width: int  # features the head would read
    adapter: str  # "global average pooling", "last step", "flatten" or ""
    accuracy: float
    low: float
    high: float
    parameters: int  # body up to this layer plus a linear head
    flops: int  # per sample, body up to this layer (torch's flop counter)
    best: bool = False
    smallest_within_noise: bool = False


@dataclass
class ProbeSweep:
    rows: list[ProbeRow]
    n_val: int
    classes: list[str]
    body_seconds: float  # the one pass over train and validation rows
    fit_seconds: float  # the probes' fits and scores
    stopped_at: str = ""  # why layers after the last row are no candidates ("" when the chain reaches the head)
    full_parameters: int = 0  # the regression model's own parameters, for comparison
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> ProbeRow | None:
        return next((r for r in self.rows if r.best), None)

    @property
    def smallest(self) -> ProbeRow | None:
        return next((r for r in self.rows if r.smallest_within_noise), None)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["best"] = self.best.layer if self.best else None
        out["smallest_within_noise"] = self.smallest.layer if self.smallest else None
        return out


def probe_classifier() -> Pipeline:
    """The linear probe: standardised features, scikit-learn's logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def layer_features(model: nn.Module, adapters: dict[str, nn.Module | None], X: np.ndarray | ImageBatches,
                   device: torch.device, should_stop: Callable[[], bool] = lambda: False
                   ) -> dict[str, np.ndarray] | None:
    """Each named layer's output for X, one feature vector per row, from one pass (None when stopped)."""
    kept: dict[str, list[np.ndarray]] = {name: [] for name in adapters}
    last = list(adapters)[-1]
    modules = dict(model.named_modules())

    def hook_for(name: str) -> Callable[..., None]:
        adapter = adapters[name]

        def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
            got = adapter(out) if adapter is not None else out
            kept[name].append(got.detach().float().reshape(len(got), -1).cpu().numpy())
            if name == last:
                raise _Done
        return hook

    hooks = [modules[name].register_forward_hook(hook_for(name)) for name in adapters]
    model.to(device).eval()
    try:
        with torch.no_grad():
            for i in range(0, len(X), BATCH):
                if should_stop():
                    return None
                try:
                    model(torch.as_tensor(X[i:i + BATCH], dtype=torch.float32).to(device))
                except _Done:
                    pass
    finally:
        for h in hooks:
            h.remove()
    width = {n: (parts[0].shape[1] if parts else 0) for n, parts in kept.items()}
    return {n: np.concatenate(parts) if parts else np.zeros((0, width[n]), np.float32) for n, parts in kept.items()}


def _cost(cut: nn.Sequential, input_shape: tuple[int, ...]) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    body = nn.Sequential(*list(cut.children())[:-1])  # without the stand-in head
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        body(probe_input(cut, input_shape)[:1])
    return int(counter.get_total_flops()) // 2  # multiply-adds


def sweep(model: nn.Module, head: str, inputs: Callable[[str], np.ndarray | ImageBatches],
          labels: Callable[[str], np.ndarray], classes: list[str], input_shape: tuple[int, ...],
          device: torch.device | None = None, should_stop: Callable[[], bool] = lambda: False) -> ProbeSweep | None:
    """The probe table for `model` (its regression head `head`) on the train and validation splits."""
    if not len(labels("val")) or len(np.unique(labels("train"))) < 2:
        raise DataError("the probe sweep needs a validation split and at least two classes in the train split.",
                        "Give the validation split a fraction above 0.")
    device = device or torch.device("cpu")
    model.eval()
    names, stopped_at = candidates(model, head, probe_input(model, input_shape))
    if not names:
        raise DataError(f"no layer before the regression head can take the head ({stopped_at or 'none found'}).",
                        "The sweep needs a model whose forward is a chain of named children.")
    cuts = {n: cut_model(model, n, input_shape, head) for n in names}
    adapters = {n: dict(c.named_children()).get("pool_at_cut") for n, (c, _i) in cuts.items()}
    start = time.perf_counter()
    feats = {}
    for s in SPLITS:
        got = layer_features(model, adapters, inputs(s), device, should_stop)
        if got is None:
            return None
        feats[s] = got
    body_seconds = time.perf_counter() - start
    n_out = 1 if len(classes) == 2 else len(classes)
    y_train, y_val = labels("train"), labels("val")
    rows = []
    for depth, name in enumerate(names, 1):
        fit = probe_classifier().fit(feats["train"][name], y_train)
        right = int((fit.predict(feats["val"][name]) == y_val).sum())
        low, high = wilson(right, len(y_val))
        cut, info = cuts[name]
        kept = parameters(cut) - parameters(cut[-1]) + info.width * n_out + n_out
        rows.append(ProbeRow(name, depth, info.width, info.adapter, right / len(y_val), low, high, kept,
                             _cost(cut, input_shape)))
    _mark(rows)
    return ProbeSweep(rows, len(y_val), list(classes), body_seconds, time.perf_counter() - start - body_seconds,
                      stopped_at, parameters(model))


def _mark(rows: list[ProbeRow]) -> None:
    best = max(rows, key=lambda r: (r.accuracy, -r.parameters))
    best.best = True
    close = [r for r in rows if r.high >= best.low]
    min(close, key=lambda r: (r.parameters, r.depth)).smallest_within_noise = True


def format_table(result: ProbeSweep) -> str:
    """The sweep as the command line prints it."""
    width = max(12, *(len(r.layer) for r in result.rows))
    lines = [f"{'layer':{width}s}  {'depth':>5s}  {'features':>8s}  {'val acc':>7s}  {'95% interval':>15s}  "
             f"{'parameters':>11s}  {'MFLOPs':>9s}  mark"]
    for r in result.rows:
        mark = ", ".join(m for m, on in (("best", r.best), ("smallest within noise", r.smallest_within_noise)) if on)
        pooled = " (pooled)" if r.adapter == "global average pooling" else (" (last step)" if r.adapter == "last step"
                                                                           else "")
        lines.append(f"{r.layer:{width}s}  {r.depth:5d}  {r.width:8d}  {r.accuracy:7.3f}  "
                     f"[{r.low:.3f}, {r.high:.3f}]  {r.parameters:11,d}  {r.flops / 1e6:9.2f}  {mark}{pooled}")
    lines.append(f"{result.n_val} validation rows; the whole regression model has {result.full_parameters:,d} "
                 f"parameters. Body pass {result.body_seconds:.2f} s, probes {result.fit_seconds:.2f} s.")
    if result.stopped_at:
        lines.append(f"Later layers are no candidates: {result.stopped_at}")
    return "\n".join(lines)
