"""Warm-started heads against randomly initialised ones, same seed and recipe, on the demos: validation
loss after epoch 1 and final test metrics. Not a speed benchmark; it shows what the warm start buys.

    python benchmarks/warm_start.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import parser, report  # noqa: E402


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    args = p.parse_args()
    from workbench.core.open.load import load_checkpoint
    from workbench.core.workflow import demo
    from workbench.core.workflow.pipeline import prepare_data, train_run

    folder = Path(tempfile.mkdtemp())
    diabetes_ckpt, diabetes = demo.build_diabetes(folder / "diabetes", epochs=20 if args.quick else 150)
    digits_ckpt, digits = demo.build_digits(folder / "digits", epochs=1 if args.quick else 15)
    epochs = 2 if args.quick else None
    cases = {
        "diabetes binary": (diabetes_ckpt, diabetes),
        "diabetes tertiles": (diabetes_ckpt, diabetes.replace(**{"head.task": "multiclass",
                                                                 "data.label_mode": "bins", "data.bins": 3})),
        "digits 10 classes (frozen body)": (digits_ckpt, digits.replace(**{"head.freeze": "body"})),
    }
    figures, ratios = {}, {}
    for name, (ckpt, recipe) in cases.items():
        if epochs:
            recipe = recipe.replace(**{"train.epochs": epochs})
        loaded = load_checkpoint(ckpt, recipe.model_source)
        data = prepare_data(recipe, recipe.input_shape or loaded.input_shape)
        results = {}
        for warm in (False, True):
            run = train_run(recipe.replace(**{"head.warm_start": "on" if warm else "off"}), loaded, data)
            results[warm] = run
            label = "warm" if warm else "random"
            figures[f"{name}: {label} epoch-1 val loss"] = run.training.history[0]["val_loss"]
            figures[f"{name}: {label} test accuracy"] = run.metrics["test"]["accuracy"]
            figures[f"{name}: {label} test ECE"] = run.metrics["test"]["ece"]
            figures[f"{name}: {label} epochs run"] = len(run.training.history)
        ratios[f"{name}: epoch-1 val loss, warm / random"] = (results[True].training.history[0]["val_loss"]
                                                             / results[False].training.history[0]["val_loss"])
    report("warm_start", args, figures, ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
