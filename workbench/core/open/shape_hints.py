"""What a checkpoint says about its input and its architecture beyond the weights: the input shape from its own
args or hyper-parameters (`img_size` with the first convolution's channels, `input_shape`, a sequence length
with the recurrent layer's features), the example of an input shape that fits the model's kind, and the class
a Hugging Face config.json names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from workbench.core.open.ctor_args import recorded_args

IMAGE_SIZE_KEYS = ("img_size", "image_size", "input_resolution", "img_res", "resolution", "crop_size")
SEQUENCE_KEYS = ("seq_len", "sequence_length", "seq_length", "window", "window_size", "lookback", "n_steps")
FEATURE_KEYS = ("input_dim", "in_features", "n_features", "num_features", "input_features", "in_dim")


def _int_tuple(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) and v > 0 for v in value):
        return tuple(value)
    return None


def _first(model: nn.Module) -> nn.Module | None:
    """The first layer that reads the input: a Linear, a convolution or a recurrent layer."""
    for module in model.modules():
        if isinstance(module, (nn.RNNBase, nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            return module
    return None


def input_shape_hint(obj: object, model: nn.Module) -> tuple[int, ...] | None:
    """One sample's shape as the checkpoint's own record and the first layer determine it, or None."""
    first = _first(model)
    if isinstance(obj, Mapping):
        args = recorded_args(obj)
        for key in ("input_shape", "input_size"):
            found = _int_tuple(args.get(key))
            if found:
                return found
        if isinstance(first, nn.Conv2d):
            side = next((args[k] for k in IMAGE_SIZE_KEYS if k in args), None)
            sides = _int_tuple(side) or ((side, side) if isinstance(side, int) and side > 0 else None)
            if sides and len(sides) == 2:
                return (first.in_channels, *sides)
        length = next((args[k] for k in SEQUENCE_KEYS if isinstance(args.get(k), int) and args[k] > 0), None)
        if isinstance(first, nn.RNNBase):
            return (length, first.input_size) if length else None
        if isinstance(first, nn.Conv1d) and length:
            return (first.in_channels, length)
    if isinstance(first, nn.Linear):
        return (first.in_features,)
    return None  # a convolution's image size or a sequence's length is not in the weights


def shape_example(model: nn.Module | None) -> str:
    """How to write an input shape for this kind of model, with what the weights already say."""
    first = _first(model) if model is not None else None
    if isinstance(first, nn.RNNBase):
        return f"sequence length,features per step, e.g. 60,{first.input_size}"
    if isinstance(first, nn.Conv2d):
        return f"channels,height,width, e.g. {first.in_channels},224,224"
    if isinstance(first, nn.Conv1d):
        return f"channels,length, e.g. {first.in_channels},128"
    if isinstance(first, nn.Conv3d):
        return f"channels,depth,height,width, e.g. {first.in_channels},16,112,112"
    if isinstance(first, nn.Linear):
        return f"features, e.g. {first.in_features}"
    return "per sample, e.g. 10 for a table's features or 3,224,224 for images"


def named_architecture(config: Mapping[str, Any]) -> str:
    """What a Hugging Face config.json beside the weights names, and the package that builds it; "" for none."""
    names = config.get("architectures")
    arch = names[0] if isinstance(names, list) and names and isinstance(names[0], str) else ""
    cls = config.get("_class_name") if isinstance(config.get("_class_name"), str) else ""
    if "_diffusers_version" in config and cls:
        return (f"config.json beside the weights names the diffusers class {cls}, which the diffusers package "
                f"provides (pip install diffusers; {cls}.from_pretrained(folder)).")
    if not arch:
        kind = config.get("model_type")
        return (f"config.json beside the weights is a Hugging Face configuration of model_type '{kind}', which the "
                "transformers package provides (pip install transformers; AutoModel.from_pretrained(folder)).") \
            if isinstance(kind, str) and kind else ""
    return (f"config.json beside the weights names the Hugging Face class {arch}, which the transformers package "
            f"provides (pip install transformers; {arch}.from_pretrained(folder)); a model source wrapping it "
            "builds it here.")
