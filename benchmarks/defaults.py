"""Default settings against the best of a small grid: test accuracy with `train.lr = "auto"` and the automatic
budget beside the best of lr 1e-4 ... 1e-1 x epochs 30/100/300 (constant rate, every epoch kept), on the bundled
demos and on checkpoints made the way users make them (an MLP regressor fitted on a public dataset with MSE,
saved as a state_dict), mean over seeds. The grid's best is an oracle (chosen on the test split), so the defaults
meet the target when they are within 0.01 of it. The defaults are also run with the warm start off (its `auto`
turns it on for binary heads), to show what that default buys. The grid runs with the case's head (its warm start
included), so it measures the training settings only.

Beside the accuracy columns, each defaults run is calibrated again with every method (none, temperature, platt,
isotonic, auto) for the mean test Brier score and log loss, the no-training baseline is scored on the same test
split (binary cases) with the run's own validation verdict against it (`baseline_check`), and the defaults are run
once more with the LR finder's valley searched over the whole curve, as before fastai's trimming was matched.

    python benchmarks/defaults.py [--seeds 3] [--quick] [--skip-grid] [--skip-untrimmed]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # this checkout's workbench, not an installed one
from _common import parser, report

GRID_LRS = (1e-4, 1e-3, 1e-2, 1e-1)
GRID_EPOCHS = (30, 100, 300)


def user_checkpoint(folder: Path, dataset: str, seed: int):
    """An MLP regressor fitted with MSE on a scikit-learn dataset's target, as a tutorial would, the data as .npz."""
    import torch
    from sklearn import datasets
    from torch import nn

    from workbench.core.recipe import DataRecipe, HeadRecipe, Recipe

    bunch = getattr(datasets, f"load_{dataset}")()
    X = bunch.data.astype(np.float32)
    X = (X - X.mean(0)) / X.std(0)  # the user standardised before training; the CSV holds what the model takes
    y = bunch.target.astype(np.float32)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(X.shape[1], 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    Xt, yt = torch.as_tensor(X), torch.as_tensor((y - y.mean()) / y.std())
    for _ in range(200):
        opt.zero_grad()
        nn.functional.mse_loss(model(Xt).squeeze(1), yt).backward()
        opt.step()
    folder.mkdir(parents=True, exist_ok=True)
    ckpt = folder / f"{dataset}_mlp.pt"
    torch.save(model.state_dict(), ckpt)
    np.savez(folder / f"{dataset}.npz", X=X, y=bunch.target)
    classes = len(np.unique(bunch.target))
    head = HeadRecipe(task="binary" if classes == 2 else "multiclass")
    if dataset == "diabetes":
        data = DataRecipe(path=str(folder / f"{dataset}.npz"), label_mode="threshold")
        head = HeadRecipe(task="binary")
    else:
        data = DataRecipe(path=str(folder / f"{dataset}.npz"))
    return ckpt, Recipe(data=data, head=head, seed=seed)


def cases(folder: Path, seed: int, quick: bool) -> dict:
    from workbench.core.recipe import TrainRecipe
    from workbench.core.workflow import demo

    out = {}
    if not quick:
        ckpt, recipe = demo.build_diabetes(folder / f"demo-diabetes-{seed}", seed=seed)
        # The demo's recipe with its training settings back at the defaults (its weight decay and batch size kept).
        out["demo diabetes (binary)"] = (ckpt, recipe.with_changes(train=TrainRecipe(weight_decay=1e-2,
                                                                                     batch_size=32)))
        ckpt, recipe = demo.build_digits(folder / f"demo-digits-{seed}", seed=seed)
        out["demo digits (frozen body)"] = (ckpt, recipe.with_changes(train=TrainRecipe(), **{"head.freeze": "body"}))
    for name in (("diabetes",) if quick else ("diabetes", "breast_cancer", "wine")):
        ckpt, recipe = user_checkpoint(folder / f"user-{name}-{seed}", name, seed)
        out[f"user MLP {name}"] = (ckpt, recipe)
    return out


CALIBRATIONS = ("none", "temperature", "platt", "isotonic", "auto")


def trained(ckpt, recipe, data_cache: dict, **changes):
    from workbench.core.open.load import load_checkpoint
    from workbench.core.workflow.pipeline import prepare_data, train_run

    key = (str(ckpt), recipe.seed)
    if key not in data_cache:
        loaded = load_checkpoint(ckpt, recipe.model_source, trusted=True)
        data_cache[key] = (loaded, prepare_data(recipe, recipe.input_shape or loaded.input_shape))
    loaded, data = data_cache[key]
    return train_run(recipe.replace(**changes), loaded, data)


def accuracy(ckpt, recipe, data_cache: dict, **changes) -> tuple[float, dict]:
    run = trained(ckpt, recipe, data_cache, **changes)
    return run.metrics["test"]["accuracy"], run.metrics["training"]


def calibration_scores(run) -> dict[str, float]:
    """Test Brier and log loss of the run under each calibration method (and what auto picked)."""
    from workbench.core.workflow.pipeline import calibrate_run

    y = run.data.labels("test")
    out = {}
    for method in CALIBRATIONS:
        calibrate_run(run, method)
        probs = run.probabilities("test")
        out[f"{method} brier"] = run.metrics["test"]["brier"]
        out[f"{method} nll"] = float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1)).mean())
    out["auto picked"] = run.metrics["calibration"]
    return out


def baseline_scores(run) -> dict:
    """The no-training baseline on the same test split, and the run's validation verdict against it."""
    from workbench.core.workflow.baseline import baseline_run

    check = run.metrics["baseline_check"]
    if not check["applies"]:
        return {}
    base = baseline_run(run.recipe, run.loaded, run.data).metrics["test"]
    return {"baseline accuracy": base["accuracy"], "baseline brier": base["brier"],
            "baseline verdict": check["verdict"]}


def untrimmed(ckpt, recipe, data_cache: dict, **changes) -> tuple[float, dict]:
    """The defaults with the LR finder as it was before fastai's trimming: the valley searched over the whole
    curve."""
    from workbench.core.train import lr_finder

    kept = lr_finder.trimmed
    lr_finder.trimmed = lambda n_points, steps=lr_finder.STEPS: (0, n_points)
    try:
        return accuracy(ckpt, recipe, data_cache, **changes)
    finally:
        lr_finder.trimmed = kept


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--only", default="", help="only the cases whose name contains this text")
    p.add_argument("--skip-grid", action="store_true", help="only the defaults (to set beside an earlier grid)")
    p.add_argument("--skip-untrimmed", action="store_true", help="leave out the untrimmed LR finder's run")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: tiny models gain nothing from more, "
                   "and a shared machine loses much)")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    seeds = range(1 if args.quick else args.seeds)
    lrs, epochs = ((1e-2,), (2,)) if args.quick else (GRID_LRS, GRID_EPOCHS)
    folder = Path(tempfile.mkdtemp())
    scores: dict[str, dict[str, list[float]]] = {}
    for seed in seeds:
        cache: dict = {}
        for name, (ckpt, recipe) in cases(folder, seed, args.quick).items():
            if args.only not in name:
                continue
            row = scores.setdefault(name, {})
            auto_changes = {"train.epochs": 3} if args.quick else {}
            run = trained(ckpt, recipe, cache, **auto_changes)
            acc, training = run.metrics["test"]["accuracy"], run.metrics["training"]
            print(f"seed {seed} {name}: defaults {acc:.3f} (lr {training['lr']:.3g}, {training['epochs_run']} of "
                  f"{training['epochs']} epochs)", flush=True)
            row.setdefault("defaults", []).append(acc)
            row.setdefault("picked lr", []).append(training["lr"])
            row.setdefault("epochs run", []).append(training["epochs_run"])
            row.setdefault("fallbacks", []).append(float(training["lr_finder"] is not None and
                                                           training["lr_finder"]["pick_index"] < 0))
            for key, value in {**baseline_scores(run), **calibration_scores(run)}.items():
                row.setdefault(key, []).append(value)
            print(f"seed {seed} {name}: " + ", ".join(f"{m} {row[m + ' brier'][-1]:.4f}" for m in CALIBRATIONS)
                  + f" (auto: {row['auto picked'][-1]}); baseline {row.get('baseline verdict', ['n/a'])[-1]}",
                  flush=True)
            if not args.skip_untrimmed:
                acc, training = untrimmed(ckpt, recipe, cache, **auto_changes)
                row.setdefault("untrimmed", []).append(acc)
                row.setdefault("untrimmed lr", []).append(training["lr"])
                print(f"seed {seed} {name}: valley untrimmed {acc:.3f} (lr {training['lr']:.3g})", flush=True)
            acc, _ = accuracy(ckpt, recipe, cache, **auto_changes, **{"head.warm_start": "off"})
            row.setdefault("warm start off", []).append(acc)
            print(f"seed {seed} {name}: defaults with warm start off {acc:.3f}", flush=True)
            for lr in () if args.skip_grid else lrs:
                for n in epochs:
                    acc, _ = accuracy(ckpt, recipe, cache, **{"train.lr": lr, "train.epochs": n,
                                                              "train.schedule": "none", "train.patience": 0})
                    row.setdefault(f"lr {lr:g} x {n}", []).append(acc)
                    print(f"seed {seed} {name}: lr {lr:g} x {n} epochs {acc:.3f}", flush=True)
    figures, ratios = {}, {}
    print(f"{'case':32s} {'defaults':>9s} {'grid best':>10s} {'(setting)':>18s} {'gap':>7s} {'lr':>9s} {'epochs':>7s} "
          f"{'warm off':>9s}")
    for name, row in scores.items():
        grid = {k: float(np.mean(v)) for k, v in row.items() if k.startswith("lr ")} or {"(skipped)": float("nan")}
        best = max(grid, key=grid.get)
        default = float(np.mean(row["defaults"]))
        print(f"{name:32s} {default:9.3f} {grid[best]:10.3f} {best:>18s} {default - grid[best]:+7.3f} "
              f"{np.mean(row['picked lr']):9.2g} {np.mean(row['epochs run']):7.0f} "
              f"{np.mean(row['warm start off']):9.3f}")
        figures[f"{name}: defaults accuracy"] = default
        figures[f"{name}: defaults with warm start off accuracy"] = float(np.mean(row["warm start off"]))
        figures[f"{name}: grid best accuracy"] = grid[best]
        ratios[f"{name}: defaults - grid best"] = default - grid[best]
    calibration_table(scores, figures, ratios)
    report("defaults", args, figures, ratios, {k: (">=", -0.01) for k in ratios if k.endswith("grid best")}
           | {k: ("<=", 0.0) for k in ratios if k.endswith("auto - none")})
    return 0


def calibration_table(scores: dict, figures: dict, ratios: dict) -> None:
    """Mean test Brier / log loss per calibration method, the baseline beside the defaults, the LR trimming."""
    print(f"{'case':32s} " + " ".join(f"{m:>17s}" for m in CALIBRATIONS) + "  auto picked")
    for name, row in scores.items():
        cells = [f"{np.mean(row[m + ' brier']):.4f}/{np.mean(row[m + ' nll']):.3f}" for m in CALIBRATIONS]
        print(f"{name:32s} " + " ".join(f"{c:>17s}" for c in cells) + "  " + ",".join(row["auto picked"]))
        for m in CALIBRATIONS:
            figures[f"{name}: {m} test brier"] = float(np.mean(row[m + " brier"]))
            figures[f"{name}: {m} test nll"] = float(np.mean(row[m + " nll"]))
        ratios[f"{name}: brier auto - none"] = figures[f"{name}: auto test brier"] - figures[f"{name}: none test brier"]
        if "baseline accuracy" in row:
            figures[f"{name}: baseline accuracy"] = float(np.mean(row["baseline accuracy"]))
            figures[f"{name}: baseline brier"] = float(np.mean(row["baseline brier"]))
            print(f"  baseline: test accuracy {np.mean(row['baseline accuracy']):.3f} (defaults "
                  f"{np.mean(row['defaults']):.3f}), Brier {np.mean(row['baseline brier']):.4f}; validation verdicts "
                  f"of training against it: {', '.join(row['baseline verdict'])}")
        if "untrimmed" in row:
            figures[f"{name}: valley untrimmed accuracy"] = float(np.mean(row["untrimmed"]))
            ratios[f"{name}: picked lr trimmed / untrimmed"] = float(np.median(
                np.asarray(row["picked lr"]) / np.asarray(row["untrimmed lr"])))
            print(f"  LR finder: trimmed (now) {np.mean(row['defaults']):.3f} at lr {np.median(row['picked lr']):.3g}; "
                  f"untrimmed {np.mean(row['untrimmed']):.3f} at lr {np.median(row['untrimmed lr']):.3g}; "
                  f"fallbacks now {int(sum(row['fallbacks']))} of {len(row['fallbacks'])}")
    pooled = {m: float(np.mean([v for row in scores.values() for v in row[m + " brier"]])) for m in CALIBRATIONS}
    worse = {m: sum(a > b + 1e-12 for row in scores.values() for a, b in zip(row[m + " brier"], row["none brier"]))
             for m in CALIBRATIONS}
    runs = sum(len(row["none brier"]) for row in scores.values())
    print("all runs: mean test Brier " + ", ".join(f"{m} {v:.4f} (worse than none on {worse[m]} of {runs})"
                                                    for m, v in pooled.items()))
    for m, v in pooled.items():
        figures[f"all: {m} test brier"] = v


if __name__ == "__main__":
    sys.exit(main())
