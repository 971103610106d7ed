"""Peak memory while training: the workbench trainer against the hand-written sliced-tensor loop on the
same data, each in its own fresh process (peak RSS from getrusage). Target: at most 1.5x.

    python benchmarks/memory.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import median, parser, report  # noqa: E402

CHILD = r'''
import json, resource, sys, torch
from torch import nn
rows, features, epochs, variant = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
g = torch.Generator().manual_seed(0)
X = torch.randn(rows, features, generator=g)
y = (X[:, 0] > 0).float()
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(features, 128), nn.ReLU(), nn.Linear(128, 1))
if variant == "workbench":
    from workbench.core.recipe import TrainRecipe
    from workbench.core.train.train import train
    train(model, "binary", 2, X, y, X[:256], y[:256], TrainRecipe(epochs=epochs, batch_size=256, patience=0, lr=1e-3),
          seed=0)
else:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        perm = torch.randperm(rows)
        for i in range(0, rows, 256):
            idx = perm[i:i + 256]
            loss = loss_fn(model(X[idx]).reshape(-1), y[idx])
            opt.zero_grad(); loss.backward(); opt.step()
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def peak(variant: str, rows: int, features: int, epochs: int) -> float:
    done = subprocess.run([sys.executable, "-c", CHILD, str(rows), str(features), str(epochs), variant],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["peak_rss_mb"]


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--epochs", type=int, default=1)
    args = p.parse_args()
    if args.quick:
        args.rows, args.features, args.repeats = 2000, 8, 1
    ours = [peak("workbench", args.rows, args.features, args.epochs) for _ in range(args.repeats)]
    plain = [peak("plain", args.rows, args.features, args.epochs) for _ in range(args.repeats)]
    figures = {"workbench peak RSS MB": median(ours), "plain loop peak RSS MB": median(plain)}
    report("memory", args, figures, {"workbench / plain peak RSS": median(ours) / median(plain)},
           {"workbench / plain peak RSS": ("<=", 1.5)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
