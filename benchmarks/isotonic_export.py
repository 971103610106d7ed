"""Isotonic calibration and export with thousands of classes: seconds for the fit, the probabilities and the export
folder (program, weights and JSON with a K x K confusion matrix), each against the plain way in the same run:
one scikit-learn IsotonicRegression per class, and indented JSON. Target: the 5,000-class export in seconds.

    python benchmarks/isotonic_export.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import median, parser, report, timed  # noqa: E402


def sklearn_knots(probs: np.ndarray, y: np.ndarray, k: int) -> None:
    from sklearn.isotonic import IsotonicRegression

    for c in range(k):
        IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(probs[:, c], y == c)


def main() -> int:
    import torch
    from torch import nn

    from workbench.core.evaluate.calibrate import Calibration, fit, isotonic_knots
    from workbench.core.export.export import CalibratedClassifier, export

    args = parser(__doc__.splitlines()[0]).parse_args()
    k, n = (40, 400) if args.quick else (5000, 9000)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(n, k)).astype(np.float32) * 2
    y = rng.integers(0, k, n)
    probs = Calibration("none", "multiclass", k).probabilities(logits).astype(np.float64)
    figures: dict[str, float] = {}
    figures["fit_sklearn_per_class_s"] = median(timed(lambda: sklearn_knots(probs, y, k)) for _ in range(1))
    figures["fit_workbench_s"] = median(timed(lambda: isotonic_knots(probs, y, range(k))) for _ in range(args.repeats))
    calibration = fit("isotonic", "multiclass", k, logits, y)
    figures["probabilities_s"] = median(timed(lambda: calibration.probabilities(logits)) for _ in range(args.repeats))
    metrics = {"test": {"confusion_matrix": rng.integers(0, 5, size=(k, k)).tolist()}}
    figures["json_indented_s"] = timed(lambda: json.dumps(metrics, indent=2))
    figures["json_compact_s"] = timed(lambda: json.dumps(metrics))
    module = CalibratedClassifier(nn.Linear(4, k), calibration, binary=False).eval()
    example = torch.randn(8, 4)
    with torch.no_grad():
        expected = module(example).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        meta = {"task": "multiclass", "classes": [f"c{i}" for i in range(k)], "calibration": calibration.params()}
        figures["export_folder_s"] = timed(lambda: export(Path(tmp) / "out", module, example, expected, meta, metrics))
    ratios = {"fit_speedup_vs_sklearn_per_class": figures["fit_sklearn_per_class_s"] / figures["fit_workbench_s"],
              "json_speedup_compact_vs_indented": figures["json_indented_s"] / figures["json_compact_s"]}
    report("isotonic_export", args, figures, ratios, {"fit_speedup_vs_sklearn_per_class": (">=", 2.0)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
