"""One split of an image folder as the trainer's inputs: float32 batches on the training device, normalised
per channel and, for training batches, augmented (random resized crop and horizontal flip,
torchvision.transforms.v2 on 8-bit tensors, one draw per image).

Pixels kept in memory are sliced per batch (8-bit until they reach the device); a streamed folder is decoded
by a torch DataLoader's worker processes in the order the trainer asks for, a few batches ahead.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from workbench.core.data.images import ImageSamples, decode

AUGMENT_SCALE = (0.25, 1.0)  # the crop's share of the image; torchvision's ImageNet recipe uses 0.08, too harsh
# for the small sets a pretrained body is fine-tuned on
PREFETCH = 4  # batches each worker decodes ahead


def workers() -> int:
    """Decoding processes for a streamed folder: the cores but one for the training process, at most 8."""
    return max(1, min(8, (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
                          or 2) - 1))


def augmenter(shape: tuple[int, int, int]):
    from torchvision.transforms import v2

    return v2.Compose([v2.RandomResizedCrop(shape[1:], scale=AUGMENT_SCALE, antialias=True),
                       v2.RandomHorizontalFlip()])


class _Files(torch.utils.data.Dataset):
    """Decodes one file per item in a worker process (only paths travel to the workers)."""

    def __init__(self, files, shape, resize, augment: bool):
        self.files, self.shape, self.resize = files, shape, resize
        self.augment = augmenter(shape) if augment else None

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        x = torch.from_numpy(decode(self.files[i], *self.shape, self.resize))
        return self.augment(x) if self.augment is not None else x


class ImageBatches:
    """Rows `rows` of an image folder, read as float32 batches (N, C, H, W) on `device`."""

    def __init__(self, samples: ImageSamples, rows: np.ndarray, norm=None, augment: bool = False,
                 device: torch.device | str = "cpu", workers: int | None = None):
        self.samples, self.rows, self.norm, self.augment = samples, np.asarray(rows, dtype=np.int64), norm, augment
        self.device = torch.device(device)
        self.workers = workers
        self._stats = None if norm is None else tuple(torch.as_tensor(v, dtype=torch.float32) for v in norm)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.samples.sample_shape)

    def to(self, device) -> "ImageBatches":
        return ImageBatches(self.samples, self.rows, self.norm, self.augment, device, self.workers)

    def _finish(self, pixels: torch.Tensor) -> torch.Tensor:
        """8-bit pixels -> float32 in [0, 1] on the device -> normalised."""
        x = pixels.to(self.device, non_blocking=True).float().div_(255.0)
        if self._stats is not None:
            mean, std = (s.to(self.device) for s in self._stats)
            x = x.sub_(mean).div_(std)
        return x

    def __getitem__(self, key) -> torch.Tensor:
        """Rows by position (an index tensor, array or slice), never augmented: evaluation and the range test."""
        if hasattr(key, "cpu"):
            key = key.cpu().numpy()
        return self._finish(torch.from_numpy(self.samples.uint8(np.atleast_1d(self.rows[key]))))

    def __array__(self, dtype=None, copy=None):
        X = self[:].cpu().numpy()
        return X if dtype is None else X.astype(dtype)

    def batches(self, order=None, batch_size: int = 256):
        """Batches in `order` (positions into these rows), augmented when this split is; order None: every row
        in order, never augmented (evaluation)."""
        train = order is not None
        order = np.arange(len(self.rows)) if order is None else (
            order.cpu().numpy() if hasattr(order, "cpu") else np.asarray(order))
        chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        augment = train and self.augment
        if self.samples.in_memory:
            yield from self._from_memory(chunks, augment)
        else:
            yield from self._from_disk(chunks, augment)

    def _from_memory(self, chunks, augment: bool):
        aug = augmenter(self.samples.sample_shape) if augment else None
        for chunk in chunks:
            pixels = torch.from_numpy(self.samples.pixels[self.rows[chunk]])
            if aug is not None:  # one draw per image (a v2 transform on a batch draws once for all of it)
                pixels = torch.stack([aug(p) for p in pixels])
            yield self._finish(pixels)

    def _from_disk(self, chunks, augment: bool):
        data = _Files(self.samples.files, self.samples.sample_shape, self.samples.resize, augment)
        n = self.workers if self.workers is not None else workers()
        loader = torch.utils.data.DataLoader(
            data, batch_sampler=[self.rows[c].tolist() for c in chunks], num_workers=n,
            prefetch_factor=PREFETCH if n else None, pin_memory=self.device.type == "cuda")
        for pixels in loader:
            yield self._finish(pixels)
