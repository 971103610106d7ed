"""Image training throughput: the workbench (image folder decoded once into memory as 8-bit pixels) against a plain loop
with the same CNN, inputs and batch size, in the same run. Target: >= 0.9x the plain loop.

    python benchmarks/image_throughput.py      # 6,000 PNGs of 1x28x28 in 2 classes, 2 epochs
    python benchmarks/image_throughput.py --model resnet18 --size 64 --mixed-precision   # a GPU workload

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
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import median, parser, report, timed  # noqa: E402


def make_model(seed=0, name="cnn", channels=1, size=28):
    torch.manual_seed(seed)
    if name == "resnet18":
        import torchvision

        model = torchvision.models.resnet18(num_classes=1)
        if channels != 3:
            model.conv1 = nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
        return model
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(32 * (size // 4) ** 2, 1))


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


def plain(loader_or_tensors, epochs, bs, args):
    """The plain loop: batches moved to the device as they come; torch autocast when asked (bfloat16)."""
    device = torch.device(args.device)
    model = make_model(name=args.model, size=args.size).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    amp = args.mixed_precision and device.type == "cuda"
    for _ in range(epochs):
        if isinstance(loader_or_tensors, tuple):
            X, y = loader_or_tensors
            perm = torch.randperm(len(X), device=X.device)
            batches = ((X[perm[i:i + bs]], y[perm[i:i + bs]]) for i in range(0, len(X), bs))
        else:
            batches = loader_or_tensors
        for xb, yb in batches:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                loss = loss_fn(model(xb).reshape(-1).float(), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=6000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--size", type=int, default=28, help="image side in pixels")
    p.add_argument("--model", choices=["cnn", "resnet18"], default="cnn")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--mixed-precision", action="store_true", help="autocast on a GPU, for both sides")
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers for the plain loop")
    args = p.parse_args()
    if args.quick:
        args.images, args.epochs, args.repeats = 80, 1, 1
    from workbench.core.data.data import load_table
    from workbench.core.data.image_stream import ImageBatches
    from workbench.core.recipe import TrainRecipe
    from workbench.core.train.train import train

    root = Path(tempfile.mkdtemp()) / "imgs"
    rng = np.random.default_rng(0)
    files = []
    for i in range(args.images):
        label = i % 2
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        pixels = np.clip(rng.normal(90 + 60 * label, 40, (args.size, args.size)), 0, 255).astype(np.uint8)
        path = root / str(label) / f"{i}.png"
        Image.fromarray(pixels).save(path)
        files.append((path, label))
    samples = args.images * args.epochs
    times = {"workbench (decode once + train)": [], "plain DataLoader decoding PNGs": [],
             "plain loop over pre-decoded tensors": [], "workbench trainer over pre-decoded tensors": []}
    recipe = TrainRecipe(epochs=args.epochs, batch_size=args.batch_size, lr=1e-3, patience=0, device=args.device,
                         mixed_precision=args.mixed_precision and args.device == "cuda")
    model = lambda: make_model(name=args.model, size=args.size)  # noqa: E731
    for _ in range(args.repeats):
        def wb():  # 8-bit pixels in memory, batches made as the pipeline makes them (ImageBatches)
            table = load_table(str(root), input_shape=(1, args.size, args.size))
            rows = np.arange(len(table.X))
            train(model(), "binary", 2, ImageBatches(table.X, rows), table.target, ImageBatches(table.X, rows[:64]),
                  table.target[:64], recipe, seed=0)
        times["workbench (decode once + train)"].append(timed(wb))
        loader = torch.utils.data.DataLoader(PngFolder(files), batch_size=args.batch_size, shuffle=True,
                                             num_workers=args.workers, pin_memory=args.device == "cuda")
        times["plain DataLoader decoding PNGs"].append(timed(lambda: plain(loader, args.epochs, args.batch_size,
                                                                             args)))
        X = torch.stack([PngFolder(files)[i][0] for i in range(len(files))])
        y = torch.tensor([float(label) for _, label in files])
        Xd, yd = X.to(args.device), y.to(args.device)  # resident on the device, as the workbench keeps them
        times["plain loop over pre-decoded tensors"].append(
            timed(lambda: plain((Xd, yd), args.epochs, args.batch_size, args)))
        times["workbench trainer over pre-decoded tensors"].append(timed(lambda: train(
            model(), "binary", 2, Xd, yd, Xd[:64], yd[:64], recipe, seed=0)))
    rate = {k: samples / median(v) for k, v in times.items()}
    figures = {f"{k} samples/s ({args.device})": v for k, v in rate.items()}
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
