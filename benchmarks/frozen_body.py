"""Head training with a frozen body: the workbench (body run once, head trained on its outputs) against the
textbook frozen-backbone loop, which runs the body under no_grad on every batch of every epoch, in the same run.
Target: >= 10x the textbook loop's samples per second.

    python benchmarks/frozen_body.py      # torchvision resnet18 (weights=None), 1,400 3x32x32 images, 20 epochs

Both sides train the same binary head (a Linear on the 512 pooled features) with AdamW at batch 64 on the same
images. The workbench's time includes its body pass over the train and validation rows, and its per-epoch
validation; the textbook loop validates nothing. The workbench trainer without the cache (the body on every
batch, as before) is timed too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import median, parser, report, timed  # noqa: E402


def regressor(seed: int = 0) -> nn.Module:
    import torchvision

    torch.manual_seed(seed)
    return torchvision.models.resnet18(weights=None, num_classes=1)


def textbook(X, y, epochs: int, bs: int, device: torch.device) -> None:
    """The tutorial loop: backbone in eval mode under no_grad every batch, only the new fc trains."""
    model = regressor().to(device)
    model.fc = nn.Linear(512, 1).to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.fc.parameters():
        p.requires_grad_(True)
    body = nn.Sequential(*list(model.children())[:-1]).eval()
    opt = torch.optim.AdamW(model.fc.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        perm = torch.randperm(len(X), device=device)
        for i in range(0, len(X), bs):
            idx = perm[i:i + bs]
            with torch.no_grad():
                features = torch.flatten(body(X[idx]), 1)
            loss = loss_fn(model.fc(features).reshape(-1), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


def workbench(X, y, Xv, yv, epochs: int, bs: int, device: torch.device, cached: bool) -> str:
    """What train_run does for a frozen body: convert, then (cached) the body once and the head on its outputs."""
    from workbench.core.open.layer_tree import inspect_model
    from workbench.core.recipe import HeadRecipe, TrainRecipe
    from workbench.core.train import frozen_body
    from workbench.core.train.heads import convert
    from workbench.core.train.train import train

    model, head = convert(regressor(), inspect_model(regressor(), tuple(X.shape[1:])), "binary", 2,
                          HeadRecipe(freeze="body"))
    recipe = TrainRecipe(epochs=epochs, batch_size=bs, lr=1e-3, patience=0, schedule="none", device=device.type)
    if not cached:
        train(model, "binary", 2, X, y, Xv, yv, recipe, seed=0, head=head)
        return ""
    inputs = {"train": X, "val": Xv}
    cache = frozen_body.compute(model, head, inputs.__getitem__, {s: len(v) for s, v in inputs.items()}, device)
    assert cache is not None, "resnet18's split into body and fc should be clean"
    try:
        train(model.get_submodule(head), "binary", 2, cache.splits["train"], y, cache.splits["val"], yv, recipe,
              seed=0)
    finally:
        cache.close()
    return cache.where


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=1400)
    p.add_argument("--val", type=int, default=200, help="validation images the workbench scores every epoch")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--size", type=int, default=32, help="image side in pixels")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--skip-uncached", action="store_true", help="do not time the trainer without the cache")
    args = p.parse_args()
    if args.quick:
        args.images, args.val, args.epochs, args.repeats = 32, 8, 2, 1
    device = torch.device(args.device)
    generator = torch.Generator().manual_seed(0)
    y = (torch.arange(args.images + args.val) % 2).float()
    X = torch.rand(args.images + args.val, 3, args.size, args.size, generator=generator) + 0.2 * y[:, None, None, None]
    X, y = X.to(device), y.to(device)
    Xt, yt, Xv, yv = X[:args.images], y[:args.images], X[args.images:], y[args.images:]
    times: dict[str, list[float]] = {"textbook frozen-backbone loop": [], "workbench, body once": []}
    if not args.skip_uncached:
        times["workbench, body every batch (no cache)"] = []
    for _ in range(args.repeats):
        times["textbook frozen-backbone loop"].append(timed(lambda: textbook(Xt, yt, args.epochs, args.batch_size,
                                                                              device)))
        times["workbench, body once"].append(timed(lambda: workbench(Xt, yt, Xv, yv, args.epochs, args.batch_size,
                                                                     device, True)))
        if not args.skip_uncached:
            times["workbench, body every batch (no cache)"].append(timed(lambda: workbench(
                Xt, yt, Xv, yv, args.epochs, args.batch_size, device, False)))
    samples = args.images * args.epochs
    rate = {k: samples / median(v) for k, v in times.items()}
    figures = {f"{k} samples/s ({args.device})": v for k, v in rate.items()}
    figures.update({f"{k} seconds for {args.epochs} epochs": median(v) for k, v in times.items()})
    ratios = {"workbench body once / textbook loop": rate["workbench, body once"]
              / rate["textbook frozen-backbone loop"]}
    if not args.skip_uncached:
        ratios["workbench body once / workbench without the cache"] = rate["workbench, body once"] / rate[
            "workbench, body every batch (no cache)"]
    report("frozen_body", args, figures, ratios, {"workbench body once / textbook loop": (">=", 10.0)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
