"""Attach the head at any layer: the regression body cut after a named layer, the layers after it dropped.

A cut is safe only where forward is a chain of named children up to that layer: each child receives exactly what
the one before it returned (or the model's input, for the first). That is checked on a probe batch, by hooks on
the children, before any cut is made; a forward that does arithmetic (or calls a function) between two children
is refused by name. A flatten between two children is the one step outside the children that is kept, as an
nn.Flatten, since torchvision's and many users' models flatten before their Linear layers.

The cut layer's output becomes the head's input: a feature map through global average pooling, a sequence at its
last step, anything else flattened. The cut model is a flat nn.Sequential of the kept children under their own
names, the adapter ("pool_at_cut") and a stand-in regression head ("head") of the right width, which `heads.convert`
replaces as it replaces any regression head.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from workbench.core.errors import RecipeError

FIELD = "model.cut_at"
# Layers whose (N, C, L) outputs are feature maps along L (pooled), not sequences of steps (the last one kept).
MAP_1D = (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d)


class LastStep(nn.Module):
    """A sequence's last step: (N, T, F) -> (N, F); a recurrent layer's (output, state) -> its output's last step."""

    def __init__(self, batch_first: bool = True) -> None:
        super().__init__()
        self.batch_first = batch_first

    def forward(self, x: Any) -> torch.Tensor:
        out: torch.Tensor = x[0] if isinstance(x, (tuple, list)) else x
        return out[:, -1] if self.batch_first else out[-1]


@dataclass
class Call:
    """One child's first call in forward: what it received and returned."""

    name: str
    module: nn.Module
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    output: Any
    times: int = 1


@dataclass
class CutInfo:
    """Where the head was attached and what that did to the model, for the recipe's run, its metrics and the tree."""

    layer: str
    adapter: str  # "global average pooling", "last step", "flatten" or ""
    width: int
    dropped: list[str] = field(default_factory=list)  # top-level children after the cut

    def to_dict(self) -> dict[str, Any]:
        return {"cut_at": self.layer, "adapter": self.adapter, "width": self.width, "dropped": list(self.dropped)}


def calls(module: nn.Module, *inputs: Any) -> list[Call]:
    """The direct children of `module` in the order forward first calls them, with their inputs and outputs."""
    found: dict[str, Call] = {}
    hooks = []
    for name, child in module.named_children():
        def hook(m: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any, name: str = name) -> None:
            if name in found:
                found[name].times += 1
            else:
                found[name] = Call(name, m, args, kwargs, out)
        hooks.append(child.register_forward_hook(hook, with_kwargs=True))
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        for h in hooks:
            h.remove()
    return list(found.values())


def _same(a: Any, b: Any) -> str:
    """"same", "flatten" (b is a flattened per row), or "" (not the same tensor)."""
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        return "same" if a is b else ""
    if a.shape == b.shape:
        return "same" if a is b or torch.equal(a, b) else ""
    if b.dim() == 2 and a.dim() > 2 and a.shape[0] == b.shape[0] and torch.equal(a.flatten(1), b):
        return "flatten"
    return ""


def _step(before: str, after: Call, given: Any) -> str:
    """How `after` gets `given` (the previous child's output, or the model's input); RecipeError when it does not."""
    if after.times > 1:
        raise RecipeError(f"forward calls the child '{after.name}' {after.times} times, so a cut at or after it "
                          "cannot be made safely.", "Attach the head at a layer before it.", field=FIELD)
    how = "" if after.kwargs or len(after.args) != 1 else _same(given, after.args[0])
    if not how:
        between = f"children '{before}' and '{after.name}'" if before else f"the input and child '{after.name}'"
        raise RecipeError(f"forward does arithmetic between {between} (what '{after.name}' receives is not what "
                          f"{'that child returned' if before else 'the model was given'}); a cut there cannot be "
                          "made safely.", f"Attach the head at a layer before '{after.name}', or make that step a "
                                          "named nn.Module child of the model.", field=FIELD)
    return how


def chain(module: nn.Module, upto: str, x: torch.Tensor) -> nn.Sequential:
    """`module`'s children up to and including `upto` (a dotted path below it), as the chain forward runs them."""
    part, _, rest = upto.partition(".")
    children = dict(module.named_children())
    if part not in children:
        known = ", ".join(list(children)[:20])
        inner = next((f"{name}.{sub}" for name, child in children.items() for sub, _ in child.named_children()), "")
        inside = f"; a layer inside one by its dotted name, e.g. {inner}" if inner else ""
        raise RecipeError(f"the model has no layer '{part}'{' here' if rest else ''} to attach the head at.",
                          f"Name a layer of the layer tree{f' (here: {known}{inside})' if known else ''}.",
                          field=FIELD)
    order = calls(module, x)
    names = [c.name for c in order]
    if part not in names:
        raise RecipeError(f"forward never calls the layer '{part}', so the head cannot be attached there.",
                          "Name a layer that forward uses.", field=FIELD)
    out = nn.Sequential()
    given: Any = x
    before = ""
    for c in order[:names.index(part) + 1]:
        if _step(before, c, given) == "flatten":
            out.add_module(f"flatten_before_{c.name}", nn.Flatten(1))
        if c.name == part and rest:
            out.add_module(c.name, chain(c.module, rest, c.args[0]))
        else:
            out.add_module(c.name, c.module)
        given, before = c.output, c.name
    return out


def adapter_for(body: nn.Sequential, output: Any) -> tuple[nn.Module | None, str]:
    """What turns the cut layer's output into one feature vector per row, and its name in words."""
    last = _last_leaf(body)
    if isinstance(last, nn.RNNBase):
        return LastStep(bool(last.batch_first)), "last step"
    if isinstance(output, (tuple, list)):
        return LastStep(True), "last step"
    dims = output.dim() if isinstance(output, torch.Tensor) else 0
    if dims == 2:
        return None, ""
    if dims in (4, 5) or (dims == 3 and any(isinstance(m, MAP_1D) for m in body.modules())):
        pool = {3: nn.AdaptiveAvgPool1d(1), 4: nn.AdaptiveAvgPool2d(1), 5: nn.AdaptiveAvgPool3d(1)}[dims]
        return nn.Sequential(pool, nn.Flatten(1)), "global average pooling"
    if dims == 3:
        return LastStep(True), "last step"
    return nn.Flatten(1), "flatten"


def _last_leaf(module: nn.Module) -> nn.Module:
    children = list(module.children())
    if not children or isinstance(module, nn.RNNBase):
        return module
    return _last_leaf(children[-1])


def probe_input(model: nn.Module, input_shape: tuple[int, ...]) -> torch.Tensor:
    """Two random rows (seeded): zeros could hide arithmetic between children (a ReLU's zeros add up unseen)."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    return torch.randn((2, *input_shape), generator=torch.Generator().manual_seed(0)).to(device)


def cut_model(model: nn.Module, cut_at: str, input_shape: tuple[int, ...], head_name: str = ""
              ) -> tuple[nn.Sequential, CutInfo]:
    """The body up to `cut_at`, its adapter and a stand-in regression head ("head") of the right width. Its modules
    are `model`'s own (not copies): `heads.convert` copies the model it converts."""
    if head_name and (cut_at == head_name or head_name.startswith(cut_at + ".")):
        raise RecipeError(f"'{cut_at}' is (or holds) the regression head: attaching the head there is no cut.",
                          "Leave it empty to keep the whole body, or name a layer before the head.", field=FIELD)
    was_training = model.training
    model.eval()
    try:
        x = probe_input(model, input_shape)
        body = chain(model, cut_at, x)
        with torch.no_grad():
            output = body(x)
            adapter, words = adapter_for(body, output)
            features = adapter(output) if adapter is not None else output
    finally:
        model.train(was_training)
    width = int(features.shape[1]) if isinstance(features, torch.Tensor) and features.dim() == 2 else 0
    if not width:
        raise RecipeError(f"the output of '{cut_at}' cannot be made one feature vector per row.",
                          "Attach the head at another layer.", field=FIELD)
    top = cut_at.partition(".")[0]
    names = [n for n, _ in model.named_children()]
    dropped = names[names.index(top) + 1:] if top in names else []
    cut = nn.Sequential()
    for name, child in body.named_children():
        cut.add_module(name, child)
    if adapter is not None:
        cut.add_module("pool_at_cut", adapter)
    cut.add_module("head" if "head" not in dict(cut.named_children()) else "new_head", nn.Linear(width, 1))
    return cut, CutInfo(cut_at, words, width, dropped)


def _inside(module: nn.Module, name: str) -> list[str]:
    """A chain child's candidate names: an nn.Sequential of plain layers (an MLP's body) offers each of its layers
    (the last one's output is the Sequential's); any other child, itself."""
    children = list(module.named_children())
    if isinstance(module, nn.Sequential) and children and not any(list(c.children()) for _n, c in children):
        return [f"{name}.{n}" for n, _c in children]
    return [name]


def candidates(model: nn.Module, head: str, x: torch.Tensor) -> tuple[list[str], str]:
    """The layers a head can be attached at, in forward's order, before the regression head: the top-level chain
    (with the layers of an nn.Sequential of plain layers in it), and the chain inside the child that holds the head.
    Also why the list stops early ("" when it does not)."""
    out: list[str] = []
    module, prefix, given = model, "", x
    while True:
        order = calls(module, given)
        before, previous = "", given
        inner: Call | None = None
        for c in order:
            full = prefix + c.name
            if full == head:
                return out, ""
            try:
                _step(before, c, previous)
            except RecipeError as exc:
                return out, exc.problem
            if head.startswith(full + "."):
                inner = c
                break
            out += _inside(c.module, full)
            before, previous = c.name, c.output
        if inner is None:
            return out, ""
        module, prefix, given = inner.module, prefix + inner.name + ".", inner.args[0]


def cut_roles(layers: list[Any], cut_at: str) -> dict[str, str]:
    """What a cut at `cut_at` does to each row of an inspection's layer tree (layer_tree.Layer, in tree order): the
    cut layer's role says how its output reaches the head; the layers after it are dropped. {} without a cut or
    when no row has that name."""
    names = [layer.name for layer in layers]
    if not cut_at or cut_at not in names:
        return {}
    at = names.index(cut_at)
    row = layers[at]
    shape = tuple(row.output_shape or ())
    rnn = row.type in ("LSTM", "GRU", "RNN") or row.type.startswith("Transformer")
    if rnn:
        how = "last step"
    elif len(shape) in (4, 5) or (len(shape) == 3 and row.type in {t.__name__ for t in MAP_1D}):
        how = "global average pooling"
    else:
        how = "last step" if len(shape) == 3 else ""
    roles = {cut_at: "head attached here" + (f" (through {how})" if how else "")}
    for name in names[at + 1:]:
        if name != "(model)" and not name.startswith(cut_at + ".") and not cut_at.startswith(name + "."):
            roles[name] = "dropped by the cut"
    return roles
