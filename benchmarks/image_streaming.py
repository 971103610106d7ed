"""Image streaming throughput: an image folder read from disk each epoch (the path taken when its decoded
pixels do not fit in memory) against a plain torchvision ImageFolder + DataLoader loop on the same folder,
with the same workers, batch size and output (float32 batches on the device). Target: >= 0.9x.

    python benchmarks/image_streaming.py                  # 3,000 JPEGs of 160x120 RGB, read at 3x112x112
    python benchmarks/image_streaming.py --augment        # both sides add a random resized crop and a flip

Both sides decode with Pillow in worker processes; the plain loop is torchvision's tutorial one
(ImageFolder with Resize + ToTensor, shuffle). The workbench's in-memory path (8-bit pixels kept) is timed
too, for scale.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import median, parser, report, timed  # noqa: E402


def make_folder(root: Path, count: int, width: int, height: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(count):
        cls = f"class{i % 4}"
        (root / cls).mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 255, (height // 8, width // 8, 3), dtype=np.uint8)  # blocky: JPEG-like content
        pixels = np.kron(base, np.ones((8, 8, 1), dtype=np.uint8))
        Image.fromarray(pixels).save(root / cls / f"{i:05d}.jpg", quality=90)


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=3000)
    p.add_argument("--width", type=int, default=160)
    p.add_argument("--height", type=int, default=120)
    p.add_argument("--size", type=int, default=112, help="side the images are read at")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=None, help="decoding processes, both sides (default: the "
                                                               "workbench's choice, the cores but one)")
    p.add_argument("--augment", action="store_true")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    if args.quick:
        args.images, args.repeats, args.width, args.height, args.size = 64, 1, 40, 30, 24
    from torchvision import datasets
    from torchvision.transforms import v2

    from workbench.core.data.image_stream import AUGMENT_SCALE, ImageBatches, workers
    from workbench.core.data.images import ImageSamples, load_image_folder

    root = Path(tempfile.mkdtemp()) / "imgs"
    make_folder(root, args.images, args.width, args.height)
    n_workers = workers() if args.workers is None else args.workers
    device = torch.device(args.device)
    shape = (3, args.size, args.size)
    steps = [v2.PILToTensor(), v2.Resize(shape[1:], antialias=True)]
    if args.augment:
        steps += [v2.RandomResizedCrop(shape[1:], scale=AUGMENT_SCALE, antialias=True), v2.RandomHorizontalFlip()]
    plain_set = datasets.ImageFolder(str(root), transform=v2.Compose([*steps, v2.ToDtype(torch.float32, scale=True)]))
    table = load_image_folder(root, shape)  # in memory: 8-bit pixels
    streamed = ImageBatches(ImageSamples(table.X.files, shape, "resize", None), np.arange(args.images),
                            augment=args.augment, device=device, workers=n_workers)
    in_memory = ImageBatches(table.X, np.arange(args.images), augment=args.augment, device=device)

    def plain():
        loader = torch.utils.data.DataLoader(plain_set, batch_size=args.batch_size, shuffle=True,
                                             num_workers=n_workers, pin_memory=device.type == "cuda")
        for xb, yb in loader:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)

    def epoch(batches):
        def run():
            for xb in batches.batches(torch.randperm(args.images), args.batch_size):
                pass
        return run

    times = {"plain ImageFolder + DataLoader": [], "workbench streamed from disk": [],
             "workbench 8-bit pixels in memory": []}
    for _ in range(args.repeats):  # interleaved, so that a busy machine slows every variant alike
        times["plain ImageFolder + DataLoader"].append(timed(plain))
        times["workbench streamed from disk"].append(timed(epoch(streamed)))
        times["workbench 8-bit pixels in memory"].append(timed(epoch(in_memory)))
    rate = {k: args.images / median(v) for k, v in times.items()}
    figures = {f"{k} images/s ({args.device}, {n_workers} workers)": v for k, v in rate.items()}
    ratios = {"streamed / plain ImageFolder": rate["workbench streamed from disk"]
              / rate["plain ImageFolder + DataLoader"],
              "in memory / plain ImageFolder": rate["workbench 8-bit pixels in memory"]
              / rate["plain ImageFolder + DataLoader"]}
    report("image_streaming", args, figures, ratios, {"streamed / plain ImageFolder": (">=", 0.9)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
