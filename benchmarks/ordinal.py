"""Ordinal heads against a softmax head on the same ordered classes, same recipe, split and seed: test accuracy and
mean class-distance error (mae_classes), over seeds, on the diabetes demo's quartiles and the digits demo's value
bins. The no-training baseline (the regression output cut at its quantiles) is reported beside them.

    python benchmarks/ordinal.py            # seeds 0-2
    python benchmarks/ordinal.py --seeds 5
    python benchmarks/ordinal.py --cases digits --heads softmax,corn \
        --variant "corn-h64:head.ordinal=corn,head.hidden=64"   # only these cases and heads, plus a variant

Targets (issue 25): ordinal accuracy at least the softmax head's minus 0.01, and a smaller class-distance error,
both as means over the seeds. Not a speed benchmark. `--paired` adds each head's mean difference from softmax over
the seeds with a 95% interval (seed by seed, same split and demo checkpoint): with 269 digits test rows a seed's
class distance moves by whole errors, so three seeds cannot tell heads apart that thirty can.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from itertools import chain
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import parser, report  # noqa: E402

HEADS = {"softmax": {"head.task": "multiclass"}, "coral": {"head.task": "ordinal", "head.ordinal": "coral"},
         "corn": {"head.task": "ordinal", "head.ordinal": "corn"},
         "multinomial": {"head.task": "ordinal", "head.ordinal": "multinomial", "head.warm_start": "off"},
         "histogram": {"head.task": "ordinal", "head.ordinal": "histogram"},  # started cold (warm start auto)
         "auto": {"head.task": "ordinal", "head.ordinal": "auto"}}  # the default: coral or multinomial (train.ordinal)


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def variant(text: str) -> tuple[str, dict]:
    """NAME:key=value,key=value -> an extra ordinal head: the recipe's fields changed as given."""
    name, _, changes = text.partition(":")
    pairs = dict(pair.split("=", 1) for pair in changes.split(",") if pair)
    return name, {"head.task": "ordinal", **{k: _value(v) for k, v in pairs.items()}}


def paired(mine: list[float], theirs: list[float]) -> tuple[float, float]:
    """Mean of the seed-by-seed differences and the half-width of its 95% t interval."""
    from scipy.stats import t

    diffs = [a - b for a, b in zip(mine, theirs)]
    return statistics.mean(diffs), float(t.ppf(0.975, len(diffs) - 1)) * statistics.stdev(diffs) / len(diffs) ** 0.5


def cases(folder: Path, quick: bool, wanted: list[str]) -> dict:
    from workbench.core.workflow import demo

    bins = {"data.label_mode": "bins", "data.label": "target"}
    out = {}
    if not wanted or any(w in "diabetes quartiles" for w in wanted):
        ckpt, diabetes = demo.build_diabetes(folder / "diabetes", epochs=20 if quick else 150)
        out["diabetes quartiles"] = (ckpt, diabetes.replace(**{**bins, "data.path": "sklearn:diabetes",
                                                              "data.bins": 4, "head.task": "multiclass"}))
    if not wanted or any(w in "digits value bins (5)" for w in wanted):
        ckpt, digits = demo.build_digits(folder / "digits", epochs=1 if quick else 15)
        out["digits value bins (5)"] = (ckpt, digits.replace(**{**bins, "data.bins": 5}))
    return out


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (splits and training)")
    p.add_argument("--seed-list", default="", help="these seeds instead (comma-separated), e.g. 1,2")
    p.add_argument("--cases", default="", help="only the cases whose name contains one of these (comma-separated)")
    p.add_argument("--heads", default=",".join(HEADS), help="the heads to run, of " + ", ".join(HEADS))
    p.add_argument("--variant", action="append", default=[], type=variant,
                   help="an extra ordinal head NAME:key=value,... (recipe fields), repeatable")
    p.add_argument("--no-baseline", action="store_true", help="skip the no-training cut")
    p.add_argument("--paired", action="store_true",
                   help="also each head's mean seed-by-seed difference from softmax, with a 95%% interval")
    args = p.parse_args()
    heads = {h: HEADS[h] for h in args.heads.split(",") if h} | dict(args.variant)
    wanted = [c for c in args.cases.split(",") if c]
    from workbench.core.open.load import load_checkpoint
    from workbench.core.workflow.baseline import baseline_run
    from workbench.core.workflow.pipeline import prepare_data, train_run

    seeds = [int(v) for v in args.seed_list.split(",")] if args.seed_list else range(1 if args.quick else args.seeds)
    figures, ratios, targets = {}, {}, {}
    for name, (ckpt, recipe) in cases(Path(tempfile.mkdtemp()), args.quick, wanted).items():
        if args.quick:
            recipe = recipe.replace(**{"train.epochs": 2})
        loaded = load_checkpoint(ckpt, recipe.model_source)
        names = [*heads] + ([] if args.no_baseline else ["baseline (cut)"])
        scores: dict[str, dict[str, list[float]]] = {h: {"accuracy": [], "mae_classes": []} for h in names}
        for seed in seeds:
            seeded = recipe.replace(seed=seed)
            data = prepare_data(seeded, seeded.input_shape or loaded.input_shape)
            runs = ((head, train_run(seeded.replace(**changes), loaded, data)) for head, changes in heads.items())
            if not args.no_baseline:
                runs = chain(runs, [("baseline (cut)", baseline_run(seeded, loaded, data))])
            for head, run in runs:  # each printed as it ends
                for metric in ("accuracy", "mae_classes"):
                    scores[head][metric].append(run.metrics["test"][metric])
                chosen = (run.metrics.get("ordinal") or {}).get("chosen_by")  # head.ordinal auto's pick
                print(f"{name} seed {seed} {head:15s} accuracy {run.metrics['test']['accuracy']:.3f}  "
                      f"class distance {run.metrics['test']['mae_classes']:.3f}"
                      + (f"  auto chose {chosen['chosen']} (validation class distance: cut "
                         f"{chosen['cut_distance']:.3f}, probe {chosen['probe_distance']:.3f}"
                         + (f", fine-bin probe {chosen['fine_probe_distance']:.3f} against the class probe's "
                            f"{chosen['class_probe_median_distance']:.3f} at the median class"
                            if "fine_probe_distance" in chosen else "") + ")" if chosen else ""),
                      file=sys.stderr)
        for head, values in scores.items():
            for metric, v in values.items():
                figures[f"{name}: {head} {metric}"] = statistics.mean(v)
        if "softmax" not in scores:
            continue
        soft = {m: statistics.mean(v) for m, v in scores["softmax"].items()}
        if args.paired and len(seeds) > 1:
            for head in [h for h in names if h != "softmax"]:
                for metric in ("accuracy", "mae_classes"):
                    mean, half = paired(scores[head][metric], scores["softmax"][metric])
                    print(f"{name}: {head} - softmax {metric}, paired over {len(seeds)} seeds: "
                          f"{mean:+.4f} [{mean - half:+.4f}, {mean + half:+.4f}]", file=sys.stderr)
                    figures[f"{name}: {head} - softmax {metric} (paired mean)"] = mean
                    figures[f"{name}: {head} - softmax {metric} (95% half-width)"] = half
        for head in [h for h in heads if h != "softmax"]:
            mine = {m: statistics.mean(v) for m, v in scores[head].items()}
            key = f"{name}: {head} - softmax accuracy"
            ratios[key], targets[key] = mine["accuracy"] - soft["accuracy"], (">=", -0.01)
            key = f"{name}: {head} / softmax class distance"
            ratios[key], targets[key] = mine["mae_classes"] / soft["mae_classes"], ("<=", 1.0)
    report("ordinal", args, figures, ratios, targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
