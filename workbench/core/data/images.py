"""Image folders (`root/<class>/*.png`): decoded once with Pillow, resized to the model's input."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from workbench.core.data.samples import IMAGE_SUFFIXES, Table
from workbench.core.errors import DataError
from workbench.core.safety.memory import available_memory

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage


def _size(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def _check_fits(count: int, shape: tuple[int, int, int], root: Path) -> None:
    """Decoded images are kept in memory (that is what makes training fast); the splits copy them once
    more, so refuse up front, with numbers, when that would not fit rather than swap or be killed."""
    need = count * int(np.prod(shape)) * 4
    free = available_memory()
    if free is not None and 2 * need > free:
        c, h, w = shape
        raise DataError(f"the {count} images decoded to {c}x{h}x{w} need {_size(need)} of memory, twice that "
                        f"while the splits are made, and {_size(free)} is free. The workbench keeps decoded "
                        "images in memory so that training does not decode them again every epoch.",
                        "Give a smaller --input-shape (images are resized to it), train on a subset of the "
                        "folder, or close other programs.", root)


# 16-bit and 32-bit greyscale: Pillow's convert("L") clips these at 255, which turns a 16-bit image white.
DEEP_GREY = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def _deep_grey(img: PILImage, channels: int, width: int, height: int) -> np.ndarray:
    """A 16-bit (or 32-bit) greyscale image scaled to [0, 1] by its bit depth, not clipped at 8 bits."""
    from PIL import Image

    arr = np.asarray(img, dtype=np.float32)
    if img.mode.startswith("I;16") or (img.mode == "I" and arr.max(initial=0) <= 65535 and arr.min(initial=0) >= 0):
        arr = arr / 65535.0
    elif img.mode == "I":
        arr = arr / max(float(np.abs(arr).max(initial=0)), 1.0)
    resized = Image.fromarray(arr, mode="F").resize((width, height), Image.Resampling.BILINEAR)
    grey = np.asarray(resized, dtype=np.float32)
    return grey[None] if channels == 1 else np.repeat(grey[None], 3, axis=0)


def load_image_folder(root: Path, input_shape: tuple[int, ...] | None) -> Table:
    from PIL import Image, UnidentifiedImageError

    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError("the folder has no class sub-folders.", "Arrange images as root/<class>/<image>.png.", root)
    files: list[tuple[Path, int]] = []
    for code, name in enumerate(classes):
        found = sorted(p for p in (root / name).iterdir() if p.is_file() and not p.name.startswith("."))
        others = [p for p in found if p.suffix.lower() not in IMAGE_SUFFIXES]
        if others:
            raise DataError(f"'{others[0].name}' in class folder '{name}' is not an image.",
                            "Move non-image files out of the class folders.", others[0])
        if not found:
            raise DataError(f"the class folder '{name}' is empty.", "Add images to it or remove it.", root / name)
        files += [(p, code) for p in found]
    if input_shape is not None and len(input_shape) != 3:
        raise DataError(f"the model takes inputs of shape {tuple(input_shape)}, not images (channels, height, width).",
                        "Use a table or .npz for this model, or give --input-shape C,H,W.", root)
    channels, height, width = input_shape or (None, None, None)

    @contextlib.contextmanager
    def reading(path: Path) -> Iterator[None]:
        """Pillow's many failure modes, as one message naming the file."""
        try:
            yield
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise DataError(f"the image cannot be decoded ({exc}).", "Remove or replace the file.", path) from None
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise DataError(f"the image is suspiciously large ({exc}).",
                            "Resize it before use; very large images can exhaust memory.", path) from None

    def decode(path: Path) -> np.ndarray:
        assert channels and width and height  # known before the first image is decoded
        with reading(path), Image.open(path) as img:
            img.load()
            if img.mode in DEEP_GREY:
                return _deep_grey(img, channels, width, height)
            small = img.convert("L" if channels == 1 else "RGB").resize((width, height), Image.Resampling.BILINEAR)
            arr = np.asarray(small, dtype=np.float32) / 255.0
        return arr[None] if channels == 1 else arr.transpose(2, 0, 1)

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        if channels is None:  # the first image sets the shape for all
            with reading(files[0][0]), Image.open(files[0][0]) as img:
                channels = 1 if img.mode in ("L", "1", "LA", *DEEP_GREY) else 3
                width, height = img.size
        assert height is not None and width is not None  # from input_shape, or from the first image
        if channels not in (1, 3):
            raise DataError(f"the model takes {channels} channels; images can be given as 1 (grey) or 3 (RGB).",
                            "Check --input-shape.", root)
        _check_fits(len(files), (channels, height, width), root)
        X = np.empty((len(files), channels, height, width), dtype=np.float32)
        paths = [path for path, _ in files]
        # Pillow releases the GIL while it decodes, so large images decode faster in threads; small ones are
        # bound by Pillow's Python-side work and decode slower in threads (measured: 6,000 28x28 PNGs 1.4 s
        # serial, 1.6 s in 2 threads; 600 224x224 JPEGs 0.55 s serial, 0.38 s in 2 threads). map keeps
        # the folder order, so the first broken file is the one named.
        pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) if width * height >= 128 * 128 else None
        try:
            for i, arr in enumerate(pool.map(decode, paths) if pool else map(decode, paths)):
                X[i] = arr
        finally:
            if pool:
                pool.shutdown(wait=True, cancel_futures=True)  # a broken file is reported without decoding the rest
    target = np.array([code for _, code in files], dtype=np.float64)
    return Table(X, target, [f"px{i}" for i in range(int(np.prod(X.shape[1:])))], str(root), classes,
                 paths=[str(p) for p in paths])
