"""Recurrent and convolutional training: the workbench trainer against a plain PyTorch loop, same model and data.

    python benchmarks/recurrent_conv.py      # a 2-layer LSTM on 900 sequences of 60 x 10, a small CNN on 600 RGB 32x32

The plain loop slices shuffled in-memory tensors with AdamW and BCE, as a hand-written loop does; the trainer runs
its defaults for the same epochs at a given rate (one-cycle schedule, validation on 128 rows each epoch, the
best epoch restored), with early stopping and the time budget off so both do the same number of steps.
Target: >= 0.9x the plain loop for each model.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import median, parser, plain_bce_loop, report, timed  # noqa: E402


class Recurrent(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, 64, num_layers=2, batch_first=True)
        self.head = nn.Linear(64, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0][:, -1])


def conv_net(channels: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 1))


def make(kind: str, shape: tuple[int, ...]) -> nn.Module:
    torch.manual_seed(0)
    return Recurrent(shape[-1]) if kind == "lstm" else conv_net(shape[0])


def plain(kind, X, y, epochs, bs, device):
    plain_bce_loop(make(kind, tuple(X.shape[1:])).to(device), X, y, epochs, bs, device)


def workbench(kind, X, y, epochs, bs, device):
    from workbench.core.recipe import TrainRecipe
    from workbench.core.train.train import train

    model = make(kind, tuple(X.shape[1:]))
    recipe = TrainRecipe(epochs=epochs, batch_size=bs, lr=1e-3, patience=0, time_budget=0, device=device)
    train(model, "binary", 2, X, y, X[:128], y[:128], recipe, seed=0)


def data(kind: str, quick: bool) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    if kind == "lstm":
        n, shape = (64, (12, 4)) if quick else (900, (60, 10))
    else:
        n, shape = (64, (3, 8, 8)) if quick else (600, (3, 32, 32))
    X = torch.randn(n, *shape, generator=g)
    y = (X.reshape(n, -1)[:, 0] > 0).float()
    return X, y


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    if args.quick:
        args.epochs, args.repeats = 1, 1
    figures, ratios, targets = {}, {}, {}
    for kind in ("lstm", "cnn"):
        X, y = data(kind, args.quick)
        for fn in (workbench, plain):  # warm-up: kernels and allocator stay out of the figures
            fn(kind, X[:128], y[:128], 1, args.batch_size, args.device)
        times: dict[str, list[float]] = {"workbench": [], "plain": []}
        for _ in range(args.repeats):  # interleaved, so drift (and other load) hits both alike
            times["workbench"].append(timed(lambda: workbench(kind, X, y, args.epochs, args.batch_size, args.device)))
            times["plain"].append(timed(lambda: plain(kind, X, y, args.epochs, args.batch_size, args.device)))
        rate = {k: len(X) * args.epochs / median(v) for k, v in times.items()}
        figures |= {f"{kind} {k} samples/s ({args.device})": v for k, v in rate.items()}
        name = f"{kind}: workbench / plain loop"
        ratios[name], targets[name] = rate["workbench"] / rate["plain"], (">=", 0.9)
    report("recurrent_conv", args, figures, ratios, targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
