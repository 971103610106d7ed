"""Evaluation speed: metrics, reliability bins and confusion matrix for 1,000,000 predictions over 10
classes. Target: under 2 s. The plain baseline is scikit-learn's accuracy + confusion matrix alone.

    python benchmarks/evaluation.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import median, parser, report, timed  # noqa: E402


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--classes", type=int, default=10)
    args = p.parse_args()
    if args.quick:
        args.n, args.repeats = 5000, 1
    from sklearn.metrics import accuracy_score, confusion_matrix

    from workbench.core.evaluate.metrics import evaluate

    rng = np.random.default_rng(0)
    y = rng.integers(0, args.classes, args.n)
    logits = rng.normal(size=(args.n, args.classes)).astype(np.float32)
    logits[np.arange(args.n), y] += 2
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    classes = [str(i) for i in range(args.classes)]
    full = [timed(lambda: evaluate(probs, y, classes, before=probs)) for _ in range(args.repeats)]
    plain = [timed(lambda: (accuracy_score(y, probs.argmax(1)), confusion_matrix(y, probs.argmax(1))))
             for _ in range(args.repeats)]
    figures = {"workbench evaluate (before+after) seconds": median(full),
               "sklearn accuracy+confusion seconds": median(plain)}
    report("evaluation", args, figures, {"workbench evaluate seconds": median(full),
                                         "workbench / sklearn time": median(full) / median(plain)},
           {"workbench evaluate seconds": ("<=", 2.0)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
