"""Narrower layers: structured pruning of hidden units by magnitude, then the pruned units physically removed.

torch's `nn.utils.prune.ln_structured` picks the units (rows of a Linear's weight) with the smallest L2 norm and
masks them; `prune.remove` makes the mask permanent. The masked rows are then cut out: a smaller Linear replaces
the pruned one, and the next Linear (after any activations, dropout or batch norm, which are sliced alike) loses
the matching input columns, so the model and its export really have fewer parameters and compute the same
function as the masked model.

Pairs are found along nn.Sequential chains, nested ones read through (a model's own, or the one a cut makes); the
next Linear may be the regression head, which the new head replaces anyway: inside the chain, or outside it when
forward hands the chain's output straight to it (`head(self.body(x))`, checked on a probe batch by hooks).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

import torch
from torch import nn
from torch.nn.utils import prune

from workbench.core.errors import RecipeError

# Between two Linear layers, these keep one value per unit (so they can be sliced or pass through as they are).
PASS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Hardtanh,
        nn.Identity, nn.Dropout, nn.BatchNorm1d, nn.LayerNorm)


# A layer's place in a chain of nn.Sequential containers: (its container, its index there, its dotted name).
Slot = tuple[nn.Sequential, int, str]


def _slots(seq: nn.Sequential, prefix: str = "") -> list[Slot]:
    """The layers of `seq` in the order it runs them, with nested nn.Sequential containers read through."""
    out: list[Slot] = []
    for i, (name, child) in enumerate(seq.named_children()):
        full = f"{prefix}.{name}" if prefix else name
        out += _slots(child, full) if isinstance(child, nn.Sequential) else [(seq, i, full)]
    return out


def _tops(model: nn.Module) -> list[tuple[str, nn.Sequential]]:
    """Every outermost nn.Sequential of `model`, with its name."""
    outer = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Sequential)]
    return [(n, m) for n, m in outer if not any(n != o and (o == "" or n.startswith(o + ".")) for o, _ in outer)]


def _chains(model: nn.Module) -> list[list[Slot]]:
    """Every outermost nn.Sequential of `model` as one chain of layers."""
    return [_slots(m, n) for n, m in _tops(model)]


def _head_after(model: nn.Module, head: str, probe: torch.Tensor | None) -> dict[int, Slot]:
    """{index of a chain in `_chains`: the regression head's slot} for the chain whose output forward hands to the
    head unchanged (the head a Linear outside every chain, as in `self.head(self.body(x))`)."""
    if not head or probe is None or not isinstance(model.get_submodule(head), nn.Linear):
        return {}
    tops = _tops(model)
    if any(n == "" or head == n or head.startswith(n + ".") for n, _ in tops):
        return {}  # inside a chain: paired there
    parent_name, _, leaf = head.rpartition(".")
    parent = model.get_submodule(parent_name)
    seen: dict[str, Any] = {}
    hooks = [m.register_forward_hook(lambda _m, _i, out, n=n: seen.setdefault(n, out)) for n, m in tops]
    hooks.append(parent.get_submodule(leaf).register_forward_pre_hook(lambda _m, args: seen.setdefault("", args)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            try:
                model(probe)
            except (IndexError, RuntimeError):  # random rows are no valid codes for an nn.Embedding; zeros are
                seen.clear()
                model(torch.zeros_like(probe))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    given = seen.get("", (None,))[0]
    slot = cast(nn.Sequential, _Slot(parent, leaf))  # one slot, so the head's columns are cut like a next Linear's
    return {k: (slot, 0, head) for k, (n, _m) in enumerate(tops) if given is not None and seen.get(n) is given}


class _Slot:
    """A module's attribute seen as a container slot (`slot[0]` reads and `slot[0] = new` sets it)."""

    def __init__(self, parent: nn.Module, name: str) -> None:
        self.parent, self.name = parent, name

    def __getitem__(self, _index: int) -> nn.Module:
        return cast(nn.Module, getattr(self.parent, self.name))

    def __setitem__(self, _index: int, module: nn.Module) -> None:
        setattr(self.parent, self.name, module)


def _pairs(chain: list[Slot]) -> list[tuple[int, list[int], int]]:
    """(position of a Linear, positions of the unit-wise layers after it, position of the next Linear)."""
    layers = [seq[i] for seq, i, _name in chain]
    out = []
    for i, first in enumerate(layers):
        if not isinstance(first, nn.Linear):
            continue
        between: list[int] = []
        for j in range(i + 1, len(layers)):
            if isinstance(layers[j], nn.Linear):
                out.append((i, between, j))
                break
            if not isinstance(layers[j], PASS):
                break
            between.append(j)
    return out


def _rows(linear: nn.Linear, keep: torch.Tensor) -> nn.Linear:
    new = nn.Linear(linear.in_features, len(keep), bias=linear.bias is not None)
    with torch.no_grad():
        new.weight.copy_(linear.weight[keep])
        if linear.bias is not None:
            new.bias.copy_(linear.bias[keep])
    return new


def _columns(linear: nn.Linear, keep: torch.Tensor) -> nn.Linear:
    new = nn.Linear(len(keep), linear.out_features, bias=linear.bias is not None)
    with torch.no_grad():
        new.weight.copy_(linear.weight[:, keep])
        if linear.bias is not None:
            new.bias.copy_(linear.bias)
    return new


def _slice_unitwise(module: nn.Module, keep: torch.Tensor) -> nn.Module:
    if isinstance(module, nn.BatchNorm1d):
        new = nn.BatchNorm1d(len(keep), module.eps, module.momentum, module.affine, module.track_running_stats)
        new.load_state_dict({k: (v[keep] if v.dim() else v) for k, v in module.state_dict().items()})
        return new.train(module.training)
    if isinstance(module, nn.LayerNorm):
        raise RecipeError("a LayerNorm between two Linear layers mixes their units, so they cannot be pruned.",
                          "Set pruning to 0 for this model.", field="model.prune")
    return module


def prune_units(model: nn.Module, fraction: float, head: str = "", probe: torch.Tensor | None = None,
                only: Collection[str] | None = None) -> dict[str, list[int]]:
    """Remove `fraction` of the hidden units of every Linear followed by another Linear in a chain of nn.Sequential
    containers of `model` (in place), or by the regression head `head` that a chain's output goes to (checked by
    running `probe`); `only`: just these layers (a saved run's, pruned as it was). Returns {layer name: [units
    before, units after]}; RecipeError when there is none."""
    done: dict[str, list[int]] = {}
    heads = _head_after(model, head, probe)
    for k, chain in enumerate(_chains(model)):
        chain = chain + [heads[k]] if k in heads else chain
        for i, between, j in _pairs(chain):
            seq, at, name = chain[i]
            if only is not None and name not in only:
                continue
            linear = cast(nn.Linear, seq[at])
            prune.ln_structured(linear, "weight", amount=fraction, n=2, dim=0)
            mask = cast(torch.Tensor, linear.weight_mask)
            prune.remove(linear, "weight")
            keep = torch.nonzero(mask.sum(1) > 0).flatten()
            if not len(keep):  # at least one unit stays, the strongest
                keep = linear.weight.detach().norm(dim=1).argmax().reshape(1)
            seq[at] = _rows(linear, keep)
            for b in between:
                other, k, _n = chain[b]
                other[k] = _slice_unitwise(other[k], keep)
            nxt, k, _n = chain[j]
            nxt[k] = _columns(cast(nn.Linear, nxt[k]), keep)
            done[name] = [linear.out_features, len(keep)]
    if not done:
        raise RecipeError("there are no hidden units to prune: no nn.Linear followed by another in an nn.Sequential "
                          "of the model.", "Set pruning to 0 for this model, or attach the head at a layer (which "
                          "makes the body one chain).", field="model.prune")
    return done


def parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
