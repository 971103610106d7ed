"""Image folders: `root/<class>/*.png`, or pre-split `root/{train,val,valid,test}/<class>/*.png`.

Images are decoded with Pillow, fitted to the model's input (stretched, or resized and centre-cropped) and
kept as 8-bit pixels in memory when they fit (a quarter of float32); a folder too large for that is read
from disk again each epoch (`image_stream`). Either way the samples read as float32 pixels in [0, 1].
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from workbench.core import notes as N
from workbench.core import progress
from workbench.core.data.samples import IMAGE_SUFFIXES, Table
from workbench.core.errors import DataError
from workbench.core.safety.memory import available_memory

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

# Folder names of a pre-split layout and the split each gives.
SPLIT_FOLDERS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
RESIZES = ("resize", "crop")
CROP_FRACTION = 0.875  # crop: the shorter side is resized to size / 0.875, then centre-cropped (torchvision's 256/224)
MEMORY_SHARE = 0.5  # 8-bit pixels are kept in memory when they take at most this share of the free memory
# 16-bit and 32-bit greyscale: Pillow's convert("L") clips these at 255, which turns a 16-bit image white.
DEEP_GREY = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
FLOAT_SLACK = 1e-6  # float pixels this far outside [0, 1] are rounding, not another range


def _size(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


@dataclass
class FolderScan:
    classes: list[str]
    files: list[Path]
    codes: np.ndarray  # each file's class code
    given: dict[str, np.ndarray] | None  # rows of each split the folder gives (train, val, test), or None
    folders: dict[str, str]  # split -> the folder it came from ("val" -> "valid")


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def _class_files(folder: Path, name: str) -> list[Path]:
    found = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    others = [p for p in found if p.suffix.lower() not in IMAGE_SUFFIXES]
    if others:
        raise DataError(f"'{others[0].name}' in class folder '{name}' is not an image.",
                        "Move non-image files out of the class folders.", others[0])
    if not found:
        raise DataError(f"the class folder '{name}' is empty.", "Add images to it or remove it.", folder)
    return found


def scan_folder(root: Path) -> FolderScan:
    """The folder's classes and files, and its splits when it is laid out as train/ val/ test/."""
    dirs = _visible_dirs(root)
    if not dirs:
        raise DataError("the folder has no class sub-folders.",
                        "Arrange images as root/<class>/<image>.png, or root/train/<class>/<image>.png with "
                        "val/ and test/ beside train/.", root)
    split_dirs = [d for d in dirs if d.name.lower() in SPLIT_FOLDERS and _visible_dirs(d)]
    if not split_dirs:
        classes = [d.name for d in dirs]
        per_class = [_class_files(d, d.name) for d in dirs]
        files = [p for found in per_class for p in found]
        codes = np.concatenate([np.full(len(f), c, dtype=np.int64) for c, f in enumerate(per_class)])
        return FolderScan(classes, files, codes, None, {})
    others = [d.name for d in dirs if d not in split_dirs]
    if others:
        raise DataError(f"the folder mixes split folders ({', '.join(d.name + '/' for d in split_dirs)}) with other "
                        f"folders ({', '.join(o + '/' for o in others[:5])}).",
                        "Keep only train/, val/ (or valid/) and test/ at the top, each holding one folder per "
                        "class; or only class folders.", root)
    folders: dict[str, str] = {}
    for d in split_dirs:
        split = SPLIT_FOLDERS[d.name.lower()]
        if split in folders:
            raise DataError(f"the folder has both {folders[split]}/ and {d.name}/ as its {split} split.",
                            "Keep one of them.", root)
        folders[split] = d.name
    if "train" not in folders:
        raise DataError(f"the folder is split into {', '.join(n + '/' for n in folders.values())} but has no "
                        "train/ folder.", "Add train/<class>/ folders, or arrange images as root/<class>/.", root)
    per_split = {s: {d.name: d for d in _visible_dirs(root / name)} for s, name in folders.items()}
    classes = sorted(per_split["train"])
    for split, class_dirs in per_split.items():
        unknown = sorted(set(class_dirs) - set(classes))
        if unknown:
            raise DataError(f"{folders[split]}/ has class folder(s) {', '.join(unknown[:5])} that train/ lacks, so "
                            "the model could not learn them.", "Add them to train/ or remove them.",
                            root / folders[split])
    files = []
    split_codes: list[int] = []
    given: dict[str, np.ndarray] = {}
    for split in ("train", "val", "test"):
        if split not in per_split:
            continue
        start = len(files)
        for code, name in enumerate(classes):
            if name in per_split[split]:
                found = _class_files(per_split[split][name], f"{folders[split]}/{name}")
                files += found
                split_codes += [code] * len(found)
        given[split] = np.arange(start, len(files), dtype=np.int64)
    return FolderScan(classes, files, np.asarray(split_codes, dtype=np.int64), given, folders)


@contextlib.contextmanager
def reading(path: Path) -> Iterator[None]:
    """Pillow's many failure modes, as one message naming the file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DataError(f"the image is suspiciously large ({exc}).",
                        "Resize it before use; very large images can exhaust memory.", path) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"the image cannot be decoded ({exc}).", "Remove or replace the file.", path) from None


def _fit(img: PILImage, width: int, height: int, resize: str) -> PILImage:
    """Stretched to width x height, or (crop) resized to cover width/0.875 x height/0.875 and centre-cropped."""
    from PIL import Image

    if resize != "crop":
        return img.resize((width, height), Image.Resampling.BILINEAR)
    scale = max(width / img.width, height / img.height) / CROP_FRACTION
    w, h = max(width, round(img.width * scale)), max(height, round(img.height * scale))
    left, top = (w - width) // 2, (h - height) // 2
    return img.resize((w, h), Image.Resampling.BILINEAR).crop((left, top, left + width, top + height))


def _unit_floats(arr: np.ndarray, path: Path) -> np.ndarray:
    """A float image's pixels, kept when they lie in [0, 1]. Any other range is refused by name rather than
    guessed: a float image has no agreed white (1.0, 255 or its own maximum), and clipping turned it white."""
    if not np.isfinite(arr).all():
        raise DataError("the image stores floating-point pixels, some of them not finite (NaN or infinity).",
                        "Save it again with every pixel in [0, 1], or as an 8- or 16-bit image.", path)
    low, high = float(arr.min(initial=0.0)), float(arr.max(initial=0.0))
    if low < -FLOAT_SLACK or high > 1 + FLOAT_SLACK:
        raise DataError(f"the image stores floating-point pixels from {low:g} to {high:g}; a float image is read "
                        "only when its pixels lie in [0, 1], since no other range says which value is white.",
                        "Save the images with pixels scaled to [0, 1] (0-255 data divided by 255), or as 8- or "
                        "16-bit images.", path)
    return cast(np.ndarray, np.clip(arr, 0.0, 1.0))


def decode(path: Path, channels: int, height: int, width: int, resize: str = "resize", depth: int = 8) -> np.ndarray:
    """One image as 8-bit (or, with depth 16, 16-bit) pixels (channels, height, width); deep greyscale is
    scaled by its own bit depth first."""
    from PIL import Image

    with reading(path), Image.open(path) as img:
        img.load()
        if img.mode in DEEP_GREY:
            arr: np.ndarray = np.asarray(img, dtype=np.float32)
            if img.mode.startswith("I;16") or (img.mode == "I" and arr.max(initial=0) <= 65535
                                               and arr.min(initial=0) >= 0):
                arr = arr / 65535.0
            elif img.mode == "I":
                arr = arr / max(float(np.abs(arr).max(initial=0)), 1.0)
            else:
                arr = _unit_floats(arr, path)
            grey = np.asarray(_fit(Image.fromarray(arr, mode="F"), width, height, resize), dtype=np.float32)
            top = (1 << depth) - 1
            grey = np.clip(np.rint(grey * top), 0, top).astype(np.uint16 if depth == 16 else np.uint8)
            return grey[None] if channels == 1 else np.repeat(grey[None], 3, axis=0)
        arr = np.array(_fit(img.convert("L" if channels == 1 else "RGB"), width, height, resize), dtype=np.uint8)
    if depth == 16:
        arr = arr.astype(np.uint16) * np.uint16(257)  # 255 -> 65535
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def decode_many(paths: list[Path], shape: tuple[int, int, int], resize: str, depth: int = 8,
                reported: bool = False) -> np.ndarray:
    """8-bit (or 16-bit) pixels of `paths` in order, (len, C, H, W); the first broken file (in order) is named.
    `reported`: a progress step (core.progress) says how far decoding is (a whole folder, not a batch)."""
    channels, height, width = shape
    out = np.empty((len(paths), *shape), dtype=np.uint16 if depth == 16 else np.uint8)
    # Pillow releases the GIL while it decodes, so large images decode faster in threads; small ones are
    # bound by Pillow's Python-side work and decode slower in threads (measured: 6,000 28x28 PNGs 1.4 s
    # serial, 1.6 s in 2 threads; 600 224x224 JPEGs 0.55 s serial, 0.38 s in 2 threads).
    pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) \
        if width * height >= 128 * 128 and len(paths) > 1 else None
    one = (lambda p: decode(p, channels, height, width, resize, depth))  # noqa: E731
    step = progress.step("decode", f"Decoding {len(paths):,} images to {channels}x{height}x{width}", len(paths),
                         "images") if reported else contextlib.nullcontext(None)
    try:
        with step as told:
            for i, arr in enumerate(pool.map(one, paths) if pool else map(one, paths)):
                out[i] = arr
                if told is not None:
                    told.advance()
    finally:
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)  # a broken file is reported without decoding the rest
    return out


class ImageSamples:
    """An image folder's samples as an array-like of float32 pixels in [0, 1], shape (N, C, H, W).

    Indexing decodes only the rows asked for: from the 8-bit pixels kept in memory, or from the files when the
    folder is streamed. Nothing holds the whole folder as float32. A folder of 16-bit greyscale images (the
    first image decides) is kept at 16 bits, so that its range is not cut to 256 levels."""

    ndim = 4
    dtype = np.dtype(np.float32)

    def __init__(self, files: list[Path], shape: tuple[int, int, int], resize: str, pixels: np.ndarray | None,
                 depth: int = 8) -> None:
        self.files, self.resize, self.pixels = files, resize, pixels
        self.sample_shape = cast("tuple[int, int, int]", tuple(shape))
        self.depth = depth
        self.scale = float((1 << depth) - 1)  # the stored value of a white pixel

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.files), *self.sample_shape)

    @property
    def in_memory(self) -> bool:
        return self.pixels is not None

    def __len__(self) -> int:
        return len(self.files)

    def rows(self, key: Any) -> np.ndarray:
        if hasattr(key, "cpu"):  # a torch index tensor
            key = key.cpu().numpy()
        return cast(np.ndarray, np.arange(len(self.files))[key])

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """The stored (8- or 16-bit) pixels of `rows`."""
        if self.pixels is not None:
            return cast(np.ndarray, self.pixels[rows])
        return decode_many([self.files[i] for i in rows], self.sample_shape, self.resize, self.depth)

    def subset(self, rows: np.ndarray) -> "ImageSamples":
        rows = self.rows(rows)
        return ImageSamples([self.files[i] for i in rows], self.sample_shape, self.resize,
                            None if self.pixels is None else self.pixels[rows], self.depth)

    def __getitem__(self, key: Any) -> np.ndarray:
        rest = ()
        if isinstance(key, tuple):
            key, rest = key[0], key[1:]
        rows = self.rows(key)
        single = rows.ndim == 0
        X = self.raw(np.atleast_1d(rows)).astype(np.float32) / np.float32(self.scale)
        X = X[0] if single else X
        return X[(slice(None),) * (not single) + rest] if rest else X

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        X = self[:]
        return X if dtype is None else X.astype(dtype)


def load_image_folder(root: Path, input_shape: tuple[int, ...] | None, resize: str = "resize") -> Table:
    from PIL import Image

    scan = scan_folder(root)
    if input_shape is not None and len(input_shape) != 3:
        raise DataError(f"the model takes inputs of shape {tuple(input_shape)}, not images (channels, height, width).",
                        "Use a table or .npz for this model, or give --input-shape C,H,W.", root)
    with reading(scan.files[0]), Image.open(scan.files[0]) as img:
        depth = 16 if img.mode in DEEP_GREY else 8
        if input_shape is None:  # the first image sets the shape for all
            channels = 1 if img.mode in ("L", "1", "LA", *DEEP_GREY) else 3
            width, height = img.size
        else:
            channels, height, width = input_shape
    if channels not in (1, 3):
        raise DataError(f"the model takes {channels} channels; images can be given as 1 (grey) or 3 (RGB).",
                        "Check --input-shape.", root)
    shape = (channels, height, width)
    count = len(scan.files)
    need = count * channels * height * width * depth // 8
    free = available_memory()
    notes: list[str] = []
    if free is None or need <= MEMORY_SHARE * free:
        samples = ImageSamples(scan.files, shape, resize, decode_many(scan.files, shape, resize, depth, True), depth)
    else:
        for path in scan.files[:1]:  # a broken first file is named now, not in a training worker
            decode(path, *shape, resize, depth)
        samples = ImageSamples(scan.files, shape, resize, None, depth)
        notes.append(N.info(f"The {count:,} images decoded to {channels}x{height}x{width} would take {_size(need)} "
                            f"of memory and {_size(free)} is free: they are streamed from disk, decoded again each "
                            "epoch in worker processes.", "images_streamed"))
    if scan.given:
        notes.append(N.info("Splits from the folder's " + " ".join(f"{scan.folders[s]}/" for s in scan.given) + ".",
                            "folder_splits", "data.splits"))
    return Table(samples, scan.codes.astype(np.float64), [f"px{i}" for i in range(channels * height * width)],
                 str(root), scan.classes, notes=notes, given_splits=scan.given, split_folders=scan.folders,
                 pixels=True, paths=[str(p) for p in scan.files])
