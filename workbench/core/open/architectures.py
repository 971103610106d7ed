"""Recover an architecture from a bare state_dict: a torchvision model matched exactly, or an MLP."""

from __future__ import annotations

import sys
from typing import Any

import torch
from torch import nn

from workbench.core.errors import CheckpointError

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid, "silu": nn.SiLU,
               "leaky_relu": nn.LeakyReLU, "elu": nn.ELU}

# Which torchvision builders to try, by a key that only that family has; the final layer's name.
TORCHVISION_FAMILIES = [
    ("layer4.0.conv1.weight", ["resnet18", "resnet34", "resnet50", "resnet101"], "fc"),
    ("features.1.conv.0.0.weight", ["mobilenet_v2"], "classifier.1"),
    ("features.0.0.weight", ["mobilenet_v3_small", "mobilenet_v3_large"], "classifier.3"),
    ("features.1.0.block.0.0.weight", ["efficientnet_b0", "efficientnet_b1"], "classifier.1"),
    ("features.0.weight", ["vgg11", "vgg13", "vgg16", "vgg11_bn", "vgg16_bn"], "classifier.6"),
]

_INSTALL_TORCHVISION = (
    "This standalone build has no torchvision: open the file with the workbench installed by pip with its window "
    "extras ('.[gui]', which include torchvision), or name the model's class as its model source."
    if getattr(sys, "frozen", False) else
    "Install it (pip install torchvision; the window's extras '.[gui]' include it), then open the file again.")


def mlp_from_state_dict(state: dict[str, Any], activation: str = "relu") -> nn.Sequential | None:
    """A plain chain of Linear layers, in the state_dict's order, as an `nn.Sequential`."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation}; choose one of {', '.join(ACTIVATIONS)}")
    layers: dict[str, dict[str, Any]] = {}
    for key, value in state.items():
        prefix, _, leaf = key.rpartition(".")
        if leaf not in ("weight", "bias"):
            return None
        layers.setdefault(prefix, {})[leaf] = value
    shapes = []
    for parts in layers.values():
        weight, bias = parts.get("weight"), parts.get("bias")
        if weight is None or weight.ndim != 2 or (bias is not None and bias.shape != weight.shape[:1]):
            return None
        shapes.append((weight.shape[1], weight.shape[0], bias is not None))
    if not shapes or any(a[1] != b[0] for a, b in zip(shapes, shapes[1:])):
        return None
    modules: list[nn.Module] = []
    for i, (n_in, n_out, has_bias) in enumerate(shapes):
        if i:
            modules.append(ACTIVATIONS[activation]())
        modules.append(nn.Linear(n_in, n_out, bias=has_bias))
    model = nn.Sequential(*modules)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for linear, parts in zip(linears, layers.values()):
            linear.weight.copy_(parts["weight"])
            if linear.bias is not None:
                linear.bias.copy_(parts["bias"])
    return model


def torchvision_from_state_dict(state: dict[str, Any], path: object = None) -> nn.Module | None:
    """A torchvision model whose keys and shapes match `state` exactly, with the weights loaded. Without
    torchvision, weights with a torchvision family's convolution keys raise a CheckpointError saying to install
    it (`path` names the file in that message), rather than failing later as an unknown architecture."""
    families = [f for f in TORCHVISION_FAMILIES if f[0] in state and f"{f[2]}.weight" in state]
    if not families:
        return None  # checked before importing torchvision, which takes seconds
    try:
        from torchvision import models
    except ImportError:
        conv = [f for f in families if getattr(state[f[0]], "ndim", 0) == 4]  # a Linear stack may share the names
        if not conv:
            return None
        raise CheckpointError(
            f"the weights look like a torchvision model ({' / '.join(conv[0][1])}: key {conv[0][0]}), but "
            "torchvision is not installed here, so that architecture cannot be rebuilt.",
            _INSTALL_TORCHVISION, path) from None
    for _marker, names, last in families:
        out_features = state[f"{last}.weight"].shape[0]
        for name in names:
            model: nn.Module = getattr(models, name)(weights=None, num_classes=out_features)
            reference = model.state_dict()
            if reference.keys() == state.keys() and all(reference[k].shape == state[k].shape for k in state):
                model.load_state_dict(state)
                model._workbench_arch = name  # type: ignore[assignment]  # a plain attribute, read by the loader
                return model
    return None
