"""The probe sweep against one plain body pass, in the same run: a linear probe at each of ResNet-18's main blocks
costs about one pass of the body plus small fits. Target: the sweep within 3x one body pass.

    python benchmarks/probe_sweep.py     # torchvision resnet18 (weights=None), 1,400 3x64x64 images

The baseline is the textbook feature extraction: the model in eval mode under no_grad over the same train and
validation images, batch by batch. The sweep (evaluate.probe_sweep.sweep) checks the chain of children, captures
every candidate's output in one pass (stopping after the deepest), counts FLOPs per candidate and fits a
scikit-learn logistic regression per layer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import median, parser, report, timed  # noqa: E402


def regressor() -> torch.nn.Module:
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None, num_classes=1).eval()


def body_pass(model: torch.nn.Module, X: np.ndarray, device: torch.device) -> None:
    model.to(device).eval()
    with torch.no_grad():
        for i in range(0, len(X), 256):
            model(torch.as_tensor(X[i:i + 256]).to(device))


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=1400, help="train and validation images together")
    p.add_argument("--size", type=int, default=64, help="image side in pixels")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    if args.quick:
        args.images, args.size, args.repeats = 40, 32, 1
    from workbench.core.evaluate.probe_sweep import sweep

    device = torch.device(args.device)
    rng = np.random.default_rng(0)
    y = np.arange(args.images) % 2
    X = (rng.random((args.images, 3, args.size, args.size)) + 0.2 * y[:, None, None, None]).astype(np.float32)
    n_val = max(4, args.images // 7)
    splits = {"train": slice(n_val, None), "val": slice(0, n_val)}
    model = regressor()
    times: dict[str, list[float]] = {"one body pass": [], "probe sweep": []}
    found = None
    for _ in range(args.repeats):
        times["one body pass"].append(timed(lambda: body_pass(model, X, device)))

        def run() -> None:
            nonlocal found
            found = sweep(model, "fc", lambda s: X[splits[s]], lambda s: y[splits[s]], ["0", "1"],
                          (3, args.size, args.size), device)
        times["probe sweep"].append(timed(run))
    assert found is not None
    figures = {f"{k} seconds ({args.device}, {args.images} images {args.size}x{args.size})": median(v)
               for k, v in times.items()}
    figures["layers probed"] = len(found.rows)
    figures["sweep's own body pass seconds"] = found.body_seconds
    figures["sweep's probe fits seconds"] = found.fit_seconds
    ratios = {"probe sweep / one body pass": median(times["probe sweep"]) / median(times["one body pass"])}
    report("probe_sweep", args, figures, ratios, {"probe sweep / one body pass": ("<=", 3.0)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
