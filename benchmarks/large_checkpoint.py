"""Large checkpoints: a 45 MB ResNet-18 state_dict opens (architecture recognised, memory-mapped) and its
layer tree with output shapes is ready in under 2 s. Baseline: a plain torch.load of the same file.

    python benchmarks/large_checkpoint.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import median, parser, report, timed  # noqa: E402


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    args = p.parse_args()
    from torchvision.models import resnet18

    from workbench.core.open.layer_tree import inspect_model
    from workbench.core.open.load import load_checkpoint

    path = Path(tempfile.mkdtemp()) / "resnet18.pt"
    torch.save(resnet18(weights=None, num_classes=1).state_dict(), path)
    size_mb = path.stat().st_size / 1e6
    shape = (3, 64, 64) if args.quick else (3, 224, 224)

    def open_and_inspect():
        loaded = load_checkpoint(path)
        inspect_model(loaded.model, shape)

    ours = [timed(open_and_inspect) for _ in range(max(args.repeats, 1))]
    plain = [timed(lambda: torch.load(path, weights_only=True)) for _ in range(max(args.repeats, 1))]
    figures = {"checkpoint MB": size_mb, "workbench open + layer tree seconds": median(ours),
               "plain torch.load seconds": median(plain)}
    report("large_checkpoint", args, figures, {"workbench open + layer tree seconds": median(ours),
                                               "workbench / plain torch.load time": median(ours) / median(plain)},
           {"workbench open + layer tree seconds": ("<=", 2.0)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
