"""What an image model expects: the per-channel normalisation its body was trained with, and whether training
images are augmented. `auto` is resolved here against the model, and the run's recipe records the result."""

from __future__ import annotations

import numpy as np
from torch import nn

from workbench.core.errors import DataError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# torchvision's classifier architectures (torchvision.models.*): bodies trained on ImageNet-normalised pixels.
TORCHVISION_ARCHITECTURES = {
    "AlexNet", "ConvNeXt", "DenseNet", "EfficientNet", "GoogLeNet", "Inception3", "MaxVit", "MNASNet",
    "MobileNetV2", "MobileNetV3", "RegNet", "ResNet", "ShuffleNetV2", "SqueezeNet", "SwinTransformer", "VGG",
    "VisionTransformer",
}


def torchvision_architecture(model: nn.Module) -> str | None:
    """The torchvision architecture class the model is or wraps (e.g. "ResNet"), or None."""
    for module in model.modules():
        cls = type(module)
        if cls.__module__.startswith("torchvision.models.") and cls.__name__ in TORCHVISION_ARCHITECTURES:
            return cls.__name__
    return None


def resolve_normalize(choice: str, model: nn.Module | None) -> str:
    """auto and architecture: imagenet for a recognised torchvision architecture, none otherwise (auto then reads
    the model's evidence: see workflow.prepared); other choices as they are."""
    if choice not in ("auto", "architecture"):
        return choice
    return "imagenet" if model is not None and torchvision_architecture(model) else "none"


def channel_stats(name: str, channels: int, mean: tuple[float, ...] = (), std: tuple[float, ...] = (),
                  source: str = "") -> tuple[np.ndarray, np.ndarray] | None:
    """Per-channel (mean, std) of shape (C, 1, 1) for a resolved normalisation, or None for none."""
    if name == "none":
        return None
    if name == "imagenet":
        mean, std = IMAGENET_MEAN, IMAGENET_STD
        if channels == 1:  # a grey model on ImageNet statistics: the luminance-weighted channel average
            weights = np.array([0.299, 0.587, 0.114])
            mean, std = (float(weights @ np.array(mean)),), (float(weights @ np.array(std)),)
    if len(mean) == 1 and channels > 1:
        mean, std = mean * channels, std * channels
    if len(mean) != channels or len(std) != channels:
        raise DataError(f"the custom normalisation gives {len(mean)} mean and {len(std)} std value(s) for images of "
                        f"{channels} channel(s).", "Give one value per channel (or one for all).", source)
    shape = (channels, 1, 1)
    return (np.asarray(mean, dtype=np.float32).reshape(shape), np.asarray(std, dtype=np.float32).reshape(shape))


def resolve_augment(choice: str, body_trains: bool) -> str:
    """auto: on when a layer before the head trains (a frozen body's features do not change with the pixels'
    crop the way a learning body's do, and its feature cache would be invalid), off otherwise."""
    if choice != "auto":
        return choice
    return "on" if body_trains else "off"
