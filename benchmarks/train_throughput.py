"""Tabular training throughput: the workbench trainer against two plain PyTorch loops, same work, same run.

    python benchmarks/train_throughput.py            # 200,000 x 64, MLP(128), batch 256, 2 epochs

Plain loops: the textbook `DataLoader(TensorDataset(...), shuffle=True)` and a hand-written loop that
slices shuffled in-memory tensors. Targets: >= 2.0x the first and >= 0.9x the second.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import median, parser, plain_bce_loop, report, timed  # noqa: E402


def make_model(features: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(features, 128), nn.ReLU(), nn.Linear(128, 1))


def textbook(X, y, epochs, bs, device):
    model = make_model(X.shape[1]).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=bs, shuffle=True)
    for _ in range(epochs):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = loss_fn(model(xb).reshape(-1), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()


def sliced(X, y, epochs, bs, device):
    plain_bce_loop(make_model(X.shape[1]).to(device), X, y, epochs, bs, device)


def workbench(X, y, epochs, bs, device):
    from workbench.core.recipe import TrainRecipe
    from workbench.core.train.train import train

    model = make_model(X.shape[1])
    recipe = TrainRecipe(epochs=epochs, batch_size=bs, lr=1e-3, patience=0, device=device)
    # A 256-row validation set: the trainer always validates; that is part of its work.
    train(model, "binary", 2, X, y, X[:256], y[:256], recipe, seed=0)


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    if args.quick:
        args.rows, args.features, args.epochs, args.repeats = 2000, 8, 1, 1
    g = torch.Generator().manual_seed(0)
    X = torch.randn(args.rows, args.features, generator=g)
    y = (X[:, 0] + 0.5 * torch.randn(args.rows, generator=g) > 0).float()
    samples = args.rows * args.epochs
    times = {name: [] for name in ("workbench", "textbook_dataloader", "sliced_tensors")}
    for fn in (workbench, textbook, sliced):  # warm-up: CUDA context, kernels and allocator stay out of the figures
        fn(X[:5000], y[:5000], 1, args.batch_size, args.device)
    for _ in range(args.repeats):  # interleaved, so drift hits all three alike
        times["workbench"].append(timed(lambda: workbench(X, y, args.epochs, args.batch_size, args.device)))
        times["textbook_dataloader"].append(timed(lambda: textbook(X, y, args.epochs, args.batch_size, args.device)))
        times["sliced_tensors"].append(timed(lambda: sliced(X, y, args.epochs, args.batch_size, args.device)))
    rate = {k: samples / median(v) for k, v in times.items()}
    figures = {f"{k} samples/s ({args.device})": v for k, v in rate.items()}
    ratios = {"workbench / textbook DataLoader": rate["workbench"] / rate["textbook_dataloader"],
              "workbench / sliced tensors": rate["workbench"] / rate["sliced_tensors"]}
    report("train_throughput", args, figures, ratios,
           {"workbench / textbook DataLoader": (">=", 2.0), "workbench / sliced tensors": (">=", 0.9)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
