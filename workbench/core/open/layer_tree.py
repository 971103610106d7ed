"""Inspect a model: the layer tree with output shapes from a probe forward pass, and its regression head."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from workbench.core.errors import ModelError
from workbench.core.open.program_modules import FrozenProgram

# Modules that may follow the regression head and are dropped with it.
HEAD_TAIL = (nn.ReLU, nn.Softplus, nn.Sigmoid, nn.Tanh, nn.ELU, nn.GELU, nn.LeakyReLU, nn.SiLU, nn.ReLU6,
             nn.Hardtanh, nn.Identity, nn.Dropout, nn.Flatten, nn.Unflatten)


@dataclass
class Layer:
    name: str
    type: str
    depth: int
    output_shape: tuple[int, ...] | None
    params: int
    trainable: bool
    role: str = ""  # "head", "head activation" (removed on conversion), "new head"


@dataclass
class Inspection:
    layers: list[Layer]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    head: str  # qualified name of the regression head's Linear, "" for a frozen program
    head_in: int
    head_out: int
    tail: list[str] = field(default_factory=list)  # activations after the head, removed on conversion
    inputs: list[dict[str, Any]] = field(default_factory=list)  # a forward of several tensors: each one, in order
    simplified: dict[str, Any] = field(default_factory=dict)  # a cut and pruning made before (train.simplify)

    def freezable(self) -> list[str]:
        """The layers a user may freeze one by one (or freeze up to): with parameters, inside the body (not the
        model itself), neither the head it replaces nor what follows the head."""
        return [layer.name for layer in self.layers if layer.params and layer.depth and not layer.role]

    def to_dict(self) -> dict[str, Any]:
        return {"input_shape": list(self.input_shape), "output_shape": list(self.output_shape),
                "head": self.head, "head_in_features": self.head_in, "head_out_features": self.head_out,
                "head_tail": self.tail, "inputs": self.inputs,
                **({"simplified": self.simplified} if self.simplified else {}),
                "layers": [{**vars(layer), "output_shape": list(layer.output_shape) if layer.output_shape
                            else None} for layer in self.layers]}


def _shape(out: object) -> tuple[int, ...] | None:
    if isinstance(out, torch.Tensor):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return tuple(out[0].shape)
    return None


SHAPE_WORDS = ("shape", "size", "dimension", "expected", "mat1", "must match", "input_size", "channels")
INPUT_SHAPE_FIX = ("Give the model's real input shape per sample (--input-shape, e.g. 10 or 1,8,8; in the window, "
                   "the Model tab's Input shape field), or data whose columns match the model.")


def check_finite(model: nn.Module, path: object = None) -> None:
    """Refuse weights holding NaN or inf, naming the layers and how many values."""
    bad = []
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if not tensor.is_floating_point() and not tensor.is_complex():
            continue
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            nan = int(torch.isnan(tensor).sum())
            inf = int((~finite).sum()) - nan
            parts = [f"{nan} NaN" if nan else "", f"{inf} inf" if inf else ""]
            bad.append(f"'{name}' has {' and '.join(p for p in parts if p)} of {tensor.numel()} values")
    if bad:
        more = f" (and {len(bad) - 3} more tensors)" if len(bad) > 3 else ""
        raise ModelError(f"the weights are not finite: {'; '.join(bad[:3])}{more}. A model with such weights "
                         "outputs NaN for every input.",
                         "The checkpoint was probably saved after training diverged: open an earlier checkpoint, "
                         "or retrain with a lower learning rate.", path)


def _recurrent(model: nn.Module) -> nn.RNNBase | None:
    return next((m for m in model.modules() if isinstance(m, nn.RNNBase)), None)


def recurrent_input_size(model: nn.Module) -> int | None:
    """Features per time step that a recurrent model's first recurrent layer takes (None: not recurrent)."""
    rnn = _recurrent(model)
    return int(rnn.input_size) if rnn is not None else None


def recurrent_problem(model: nn.Module, input_shape: tuple[int, ...]) -> ModelError | None:
    """A recurrent model takes a sequence per sample: (sequence length, features). (A model of several inputs is fed
    flat rows, its sequence input cut from them by its packing: multi_input.PackedInputs.)"""
    from workbench.core.open.multi_input import packed_of

    rnn = _recurrent(model)
    if rnn is None or packed_of(model) is not None:
        return None
    size = rnn.input_size
    if len(input_shape) == 2 and input_shape[1] == size:
        return None
    return ModelError(f"the model is recurrent ({type(rnn).__name__} with input_size {size}): each sample is a "
                      f"sequence of shape (sequence length, {size}), but the input shape is {tuple(input_shape)}.",
                      f"Give the input shape per sample as sequence length,{size} (--input-shape, e.g. 20,{size}; "
                      "in the window, the Model tab's Input shape field), with data whose samples have that shape "
                      f"(an .npz whose X is (N, sequence length, {size}), or a table whose rows hold the steps one "
                      f"after another: sequence length x {size} feature columns).")


def _probe_error(model: nn.Module, input_shape: tuple[int, ...], batch: int, exc: Exception) -> ModelError:
    from workbench.core.open.archives import missing_op

    if isinstance(exc, ModelError):  # said already, in the workbench's own words (multi_input.PackedInputs)
        return exc
    text = str(exc).splitlines()[0][:300] if str(exc) else ""
    op = missing_op(str(exc))
    if op:
        return ModelError(f"the model calls the custom operator {op}, which is not registered here "
                          f"({type(exc).__name__}).",
                          "Install or load the library that defines it (torch.ops.load_library) before opening the "
                          "model, or save the model without it.")
    recurrent = recurrent_problem(model, input_shape)
    if recurrent is not None:
        return recurrent
    fixed = re.search(r"Guard failed: (\w+)\.size\(\)\[0\] == (\d+)", text)
    if fixed:  # torch.export specialised the batch dimension to its example's size
        return ModelError(f"the torch.export program takes batches of exactly {fixed.group(2)} rows only (it was "
                          f"exported with a fixed batch size: its guard {fixed.group(1)}.size()[0] == "
                          f"{fixed.group(2)}), so it cannot run the workbench's batches.",
                          "Export it again with a dynamic batch dimension: torch.export.export(model, args, "
                          "dynamic_shapes=...) giving each input's first dimension torch.export.Dim('batch'), or save "
                          "the model's state_dict and open it with its class.")
    if isinstance(exc, (RuntimeError, ValueError, IndexError)) and any(w in text.lower() for w in SHAPE_WORDS):
        return ModelError(f"a probe forward pass on a batch of shape {(batch, *input_shape)} failed: "
                          f"{type(exc).__name__}: {text}", INPUT_SHAPE_FIX)
    return ModelError(f"the model's forward failed on a probe batch of shape {(batch, *input_shape)} with "
                      f"{type(exc).__name__}: {text}. This does not look like a wrong input shape.",
                      "The error is inside the model's own code: check its forward (or the model source and its "
                      "arguments); if the input shape is wrong after all, give it (--input-shape; in the window, the "
                      "Model tab's Input shape field).")


def probe(model: nn.Module, input_shape: tuple[int, ...], batch: int = 2
          ) -> tuple[torch.Tensor, dict[str, Any], list[str]]:
    """Run one forward pass; return (output, {name: output}, leaf names in call order)."""
    outputs: dict[str, Any] = {}
    order: list[str] = []
    leaves = {name for name, m in model.named_modules() if not list(m.children())}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, torch.jit.ScriptModule):
            continue  # compiled code takes no hooks; it is shown as one opaque layer
        def hook(_m: nn.Module, _inp: object, out: object, name: str = name) -> None:
            outputs.setdefault(name, out)
            if name in leaves:
                order.append(name)
        hooks.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next((p.device for p in model.parameters()), torch.device("cpu"))
            out = model(torch.zeros((batch, *input_shape), device=device))
    except Exception as exc:  # noqa: BLE001 - reported by its cause: shape, custom operator or the model's code
        raise _probe_error(model, input_shape, batch, exc) from None
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise ModelError(f"the model returns a {type(out).__name__}, not a tensor.",
                         "Wrap it so that forward returns the regression output tensor.")
    return out, outputs, order


def _forward_of(model: nn.Module) -> str:
    """'Regressor.forward (models2.py)': which code to change, named as the user wrote it."""
    import inspect
    from pathlib import Path

    try:
        where = f" ({Path(inspect.getfile(type(model))).name})"
    except (TypeError, OSError):  # a class with no file (built in a notebook cell, a program)
        where = ""
    return f"{type(model).__name__}.forward{where}"


def find_head(model: nn.Module, input_shape: tuple[int, ...]
              ) -> tuple[str, list[str], torch.Tensor, dict[str, Any]]:
    """Return (head name, activations after it, probe output, {name: output})."""
    out, outputs, order = probe(model, input_shape)
    modules = dict(model.named_modules())
    linear_calls = [i for i, name in enumerate(order) if isinstance(modules[name], nn.Linear)]
    if not linear_calls:
        raise ModelError("the model has no Linear layer, so there is no regression head to replace.",
                         "The workbench converts models whose output comes from an nn.Linear.")
    last = linear_calls[-1]
    head = order[last]
    if order.count(head) > 1:
        raise ModelError(f"the head '{head}' is called more than once in forward, so it cannot be replaced.",
                         "Give the output layer its own nn.Linear.")
    tail = order[last + 1:]
    for name in tail:
        module = modules[name]
        if not isinstance(module, HEAD_TAIL) or any(True for _ in module.parameters()):
            raise ModelError(f"the regression head is not a Linear layer: '{name}' ({type(module).__name__}) "
                             f"comes after the last Linear '{head}'.",
                             "The workbench replaces a final nn.Linear (optionally followed by an activation); "
                             "wrap the model so that it ends in one.")
        if order.count(name) > 1:
            raise ModelError(f"the activation '{name}' after the head is also used elsewhere in the model, "
                             "so removing it would change the body.", "Give the output its own activation module.")
    expected = outputs[head]
    with torch.no_grad():
        for name in tail:
            expected = modules[name](expected)
    if expected.numel() != out.numel() or not torch.allclose(expected.reshape(out.shape), out, atol=1e-6):
        raise ModelError(f"{_forward_of(model)} changes the output of the head '{head}' with something that is not "
                         "a module (for example F.softplus or a scale inside forward), so it cannot be removed "
                         "cleanly.",
                         "Make that step an nn.Module (such as nn.Softplus) or remove it from forward.")
    return head, tail, out, outputs


def inspect_model(model: nn.Module, input_shape: tuple[int, ...]) -> Inspection:
    input_shape = tuple(int(v) for v in input_shape)
    check_finite(model)
    recurrent = recurrent_problem(model, input_shape)
    if recurrent is not None:
        raise recurrent
    if isinstance(model, FrozenProgram):
        out, outputs, _ = probe(model, input_shape)
        tail: list[str] = []
        head, head_in, head_out = "", out.shape[1], out.shape[1]
    else:
        head, tail, out, outputs = find_head(model, input_shape)
        linear = model.get_submodule(head)
        assert isinstance(linear, nn.Linear)  # find_head names the last Linear
        head_in, head_out = linear.in_features, linear.out_features
    roles = {head: "head", **{name: "head activation" for name in tail}}
    from workbench.core.open.multi_input import described_inputs

    return Inspection(layer_rows(model, outputs, roles), input_shape, tuple(out.shape[1:]), head, head_in,
                      head_out, tail, described_inputs(model))


def shown_type(module: nn.Module) -> str:
    from workbench.core.open.multi_input import PackedInputs

    return type(module.inner if isinstance(module, PackedInputs) else module).__name__


def layer_rows(model: nn.Module, outputs: dict[str, Any], roles: dict[str, str]) -> list[Layer]:
    """One row per module, in tree order; `roles` marks names (and everything under them)."""
    rows = []
    for name, module in model.named_modules():
        params = list(module.parameters())
        role = next((r for n, r in roles.items() if n and (name == n or name.startswith(n + "."))), "")
        rows.append(Layer(name or "(model)", shown_type(module), name.count(".") + 1 if name else 0,
                          _shape(outputs.get(name)), sum(p.numel() for p in params),
                          bool(params) and all(p.requires_grad for p in params), role))
    return rows


def converted_rows(model: nn.Module, input_shape: tuple[int, ...], head: str, removed: list[str]) -> list[Layer]:
    """The layer tree after conversion, with the new head and the removed activations marked."""
    _, outputs, _ = probe(model, input_shape)
    return layer_rows(model, outputs, {head: "new head", **{n: "removed" for n in removed}})
