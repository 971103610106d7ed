"""One split of an image folder as the trainer's inputs: float32 batches on the training device, normalised
per channel and, for training batches, augmented (random resized crop and horizontal flip,
torchvision.transforms.v2 on 8-bit tensors, one draw per image).

Pixels kept in memory are sliced per batch (8-bit until they reach the device); a streamed folder is decoded,
and training batches are augmented, by a torch DataLoader's worker processes in the order the trainer asks
for, a few batches ahead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from workbench.core.data.images import ImageSamples, decode

AUGMENT_SCALE = (0.25, 1.0)  # the crop's share of the image; torchvision's ImageNet recipe uses 0.08, too harsh
# for the small sets a pretrained body is fine-tuned on
PREFETCH = 4  # batches each worker decodes ahead
GPU_SHARE = 0.5  # a split's kept pixels move to the GPU when they take at most this share of its free memory
Augment = Callable[[torch.Tensor], torch.Tensor]  # a torchvision v2 transform


def workers() -> int:
    """Decoding processes for a streamed folder: the cores but one for the training process, at most 8."""
    return max(1, min(8, (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
                          or 2) - 1))


def augmenter(shape: tuple[int, int, int]) -> Augment:
    from torchvision.transforms import v2

    return cast(Augment, v2.Compose([v2.RandomResizedCrop(shape[1:], scale=AUGMENT_SCALE, antialias=True),
                                     v2.RandomHorizontalFlip()]))


def _augmented(aug: Augment, pixels: torch.Tensor) -> torch.Tensor:
    """One draw per image (a v2 transform on a batch draws once for all of it); 16-bit pixels, which the
    resize kernels do not take, are augmented as float32 of the same scale."""
    if pixels.dtype != torch.uint8:
        pixels = pixels.float()
    return torch.stack([aug(p) for p in pixels])


class _Files(torch.utils.data.Dataset[torch.Tensor]):
    """Decodes one file per item in a worker process (only paths travel to the workers)."""

    def __init__(self, files: list[Path], shape: tuple[int, int, int], resize: str, depth: int,
                 augment: bool) -> None:
        self.files, self.shape, self.resize, self.depth = files, shape, resize, depth
        self.augment = augmenter(shape) if augment else None

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        x = torch.from_numpy(decode(self.files[i], *self.shape, self.resize, self.depth))
        return _augmented(self.augment, x[None])[0] if self.augment is not None else x


class _Pixels(torch.utils.data.Dataset[torch.Tensor]):
    """Augments one image of the pixels kept in memory per item, in a worker process (forked workers share
    the array; augmenting in the training process measured 5x slower than in workers)."""

    def __init__(self, pixels: np.ndarray, shape: tuple[int, int, int]) -> None:
        self.pixels, self.augment = pixels, augmenter(shape)

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, i: int) -> torch.Tensor:
        return _augmented(self.augment, torch.from_numpy(self.pixels[i:i + 1]))[0]


class ImageBatches:
    """Rows `rows` of an image folder, read as float32 batches (N, C, H, W) on `device`."""

    def __init__(self, samples: ImageSamples, rows: np.ndarray, norm: tuple[np.ndarray, np.ndarray] | None = None,
                 augment: bool = False, device: torch.device | str = "cpu", workers: int | None = None) -> None:
        self.samples, self.rows, self.norm, self.augment = samples, np.asarray(rows, dtype=np.int64), norm, augment
        self.device = torch.device(device)
        self.workers = workers
        self._stats = None if norm is None else tuple(torch.as_tensor(v, dtype=torch.float32) for v in norm)
        self._resident: torch.Tensor | None = None  # the split's kept pixels on a GPU, when they fit there

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.samples.sample_shape)

    def to(self, device: torch.device | str) -> "ImageBatches":
        """On a GPU, the split's kept pixels move there once (at their stored 8 or 16 bits) when they take at
        most half its free memory: batches are then sliced on the GPU, as the trainer does with tensors."""
        moved = ImageBatches(self.samples, self.rows, self.norm, self.augment, device, self.workers)
        if moved.device.type == "cuda" and self.samples.in_memory:
            assert self.samples.pixels is not None
            need = len(self.rows) * int(np.prod(self.samples.sample_shape)) * self.samples.pixels.itemsize
            if need <= GPU_SHARE * torch.cuda.mem_get_info(moved.device)[0]:
                moved._resident = torch.from_numpy(self.samples.pixels[self.rows]).to(moved.device)
        return moved

    def _finish(self, pixels: torch.Tensor) -> torch.Tensor:
        """Stored pixels -> float32 in [0, 1] on the device -> normalised."""
        x = pixels.to(self.device, non_blocking=True).float().div_(self.samples.scale)
        if self._stats is not None:
            mean, std = (s.to(self.device) for s in self._stats)
            x = x.sub_(mean).div_(std)
        return x

    def __getitem__(self, key: Any) -> torch.Tensor:
        """Rows by position (an index tensor, array or slice), never augmented: evaluation and the range test."""
        if hasattr(key, "cpu"):
            key = key.cpu().numpy()
        return self._finish(torch.from_numpy(self.samples.raw(np.atleast_1d(self.rows[key]))))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        X = self[:].cpu().numpy()
        return X if dtype is None else X.astype(dtype)

    def batches(self, order: torch.Tensor | np.ndarray | None = None, batch_size: int = 256,
                sizes: list[int] | None = None) -> Iterator[torch.Tensor]:
        """Batches in `order` (positions into these rows), augmented when this split is; order None: every row
        in order, never augmented (evaluation). `sizes`: each batch's length instead of `batch_size` (a torchrun
        rank's share of every global batch, so that it decodes only its own rows)."""
        train = order is not None
        order = np.arange(len(self.rows)) if order is None else (
            order.cpu().numpy() if hasattr(order, "cpu") else np.asarray(order))
        if sizes is None:
            chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        else:
            cuts = np.cumsum([0, *sizes])
            chunks = [order[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
        augment = train and self.augment
        s = self.samples
        if self._resident is not None and not augment:
            for chunk in chunks:
                yield self._finish(self._resident[torch.as_tensor(chunk, device=self.device)])
            return
        if s.in_memory and not augment:  # slices of the kept pixels: no worker would be faster
            assert s.pixels is not None
            for chunk in chunks:
                yield self._finish(torch.from_numpy(s.pixels[self.rows[chunk]]))
            return
        data = _Pixels(cast(np.ndarray, s.pixels), s.sample_shape) if s.in_memory else \
            _Files(s.files, s.sample_shape, s.resize, s.depth, augment)
        yield from self._from_workers(data, chunks)

    def _from_workers(self, data: torch.utils.data.Dataset[torch.Tensor], chunks: list[np.ndarray]
                      ) -> Iterator[torch.Tensor]:
        n = self.workers if self.workers is not None else workers()
        loader = torch.utils.data.DataLoader(
            data, batch_sampler=[self.rows[c].tolist() for c in chunks], num_workers=n,
            prefetch_factor=PREFETCH if n else None, pin_memory=self.device.type == "cuda")
        for pixels in loader:
            yield self._finish(pixels)
