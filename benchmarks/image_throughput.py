"""Image training throughput: the workbench (image folder decoded once into memory) against a plain loop
with the same CNN, inputs and batch size, in the same run. Target: >= 0.9x the plain loop.

    python benchmarks/image_throughput.py      # 6,000 PNGs of 1x28x28 in 2 classes, 2 epochs

The plain loop is the common tutorial one: an ImageFolder-style Dataset that decodes each PNG with
Pillow on every access, under a DataLoader with shuffle; it is also timed over pre-decoded tensors.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, parser, report, timed  # noqa: E402


def make_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(32 * 7 * 7, 1))


class PngFolder(torch.utils.data.Dataset):
    def __init__(self, files):
        self.files = files

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        path, label = self.files[i]
        with Image.open(path) as img:
            x = torch.from_numpy(np.asarray(img.convert("L"), dtype=np.float32) / 255.0)[None]
        return x, torch.tensor(float(label))


def plain(loader_or_tensors, epochs, bs):
    model = make_model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        if isinstance(loader_or_tensors, tuple):
            X, y = loader_or_tensors
            perm = torch.randperm(len(X))
            batches = ((X[perm[i:i + bs]], y[perm[i:i + bs]]) for i in range(0, len(X), bs))
        else:
            batches = loader_or_tensors
        for xb, yb in batches:
            loss = loss_fn(model(xb).reshape(-1), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=6000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()
    if args.quick:
        args.images, args.epochs, args.repeats = 80, 1, 1
    from workbench.core.data import load_table
    from workbench.core.recipe import TrainRecipe
    from workbench.core.train import train

    root = Path(tempfile.mkdtemp()) / "imgs"
    rng = np.random.default_rng(0)
    files = []
    for i in range(args.images):
        label = i % 2
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        pixels = np.clip(rng.normal(90 + 60 * label, 40, (28, 28)), 0, 255).astype(np.uint8)
        path = root / str(label) / f"{i}.png"
        Image.fromarray(pixels).save(path)
        files.append((path, label))
    samples = args.images * args.epochs
    times = {"workbench (decode once + train)": [], "plain DataLoader decoding PNGs": [],
             "plain loop over pre-decoded tensors": [], "workbench trainer over pre-decoded tensors": []}
    for _ in range(args.repeats):
        def wb():
            table = load_table(str(root), input_shape=(1, 28, 28))
            train(make_model(), "binary", 2, table.X, table.target, table.X[:64], table.target[:64],
                  TrainRecipe(epochs=args.epochs, batch_size=args.batch_size, lr=1e-3, patience=0), seed=0)
        times["workbench (decode once + train)"].append(timed(wb))
        loader = torch.utils.data.DataLoader(PngFolder(files), batch_size=args.batch_size, shuffle=True)
        times["plain DataLoader decoding PNGs"].append(timed(lambda: plain(loader, args.epochs, args.batch_size)))
        X = torch.stack([PngFolder(files)[i][0] for i in range(len(files))])
        y = torch.tensor([float(label) for _, label in files])
        times["plain loop over pre-decoded tensors"].append(
            timed(lambda: plain((X, y), args.epochs, args.batch_size)))
        times["workbench trainer over pre-decoded tensors"].append(timed(lambda: train(
            make_model(), "binary", 2, X, y, X[:64], y[:64],
            TrainRecipe(epochs=args.epochs, batch_size=args.batch_size, lr=1e-3, patience=0), seed=0)))
    rate = {k: samples / median(v) for k, v in times.items()}
    figures = {f"{k} samples/s": v for k, v in rate.items()}
    wb_rate = rate["workbench (decode once + train)"]
    ratios = {"workbench / plain DataLoader": wb_rate / rate["plain DataLoader decoding PNGs"],
              "workbench / plain pre-decoded loop (ours incl. decoding)":
                  wb_rate / rate["plain loop over pre-decoded tensors"],
              "workbench trainer / plain loop, both pre-decoded": rate["workbench trainer over pre-decoded tensors"]
                  / rate["plain loop over pre-decoded tensors"]}
    report("image_throughput", args, figures, ratios, {"workbench / plain DataLoader": (">=", 0.9),
                                                       "workbench trainer / plain loop, both pre-decoded": (">=", 0.9)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
