"""Side-by-side comparison of conversion runs on one test split: the table behind the comparison view
and `workbench compare`, with the best value in each column marked."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from workbench.core.errors import DataError
from workbench.core.evaluate.recipe_diff import format_diff, recipe_diff
from workbench.core.fields import MAX_NESTING
from workbench.core.safety.bounds import TooDeep, json_value

# column, how to read it from metrics["test"], whether higher is better
# (class distance and weighted kappa: runs whose classes have an order, see ordinal_metrics; "—" for others)
COLUMNS = [("accuracy", "accuracy", True), ("macro F1", "macro_f1", True), ("ECE", "ece", False),
           ("Brier", "brier", False), ("ROC AUC", "roc_auc", True), ("class dist.", "mae_classes", False),
           ("QWK", "qwk", True)]
THRESHOLD_DEPENDENT = ("accuracy", "macro_f1")  # move with a binary run's threshold; ECE, Brier, AUC do not
ORDER_DEPENDENT = ("mae_classes", "qwk")  # measured along the class order: runs in other orders are not ranked


def decision_threshold(metrics: dict[str, Any]) -> float | None:
    """The threshold a binary run's accuracy and F1 were computed at (None for more than two classes, or when an
    old file does not say)."""
    if len(metrics.get("classes") or ()) != 2 and "classes" in metrics:
        return None
    test = metrics.get("test") or {}
    for found in (test.get("threshold"), (metrics.get("test_rows") or {}).get("threshold")):
        if isinstance(found, (int, float)) and not isinstance(found, bool):
            return float(found)
    rule = test.get("decision_rule")
    return 0.5 if isinstance(rule, str) and rule.startswith("positive when") and "test_rows" in metrics else None


def load_run_dir(folder: str | Path) -> dict[str, Any]:
    """A run as exported: its name, metrics and recipe (from metadata.json, else metrics.json)."""
    folder = Path(folder)
    for name in ("metadata.json", "metrics.json"):
        path = folder / name
        if path.is_file():
            try:
                data = json_value(path.read_bytes(), MAX_NESTING)
            except TooDeep:
                raise DataError(f"{name} nests deeper than {MAX_NESTING} levels, which no run's file does.",
                                "Export the run again.", folder) from None
            except (OSError, ValueError) as exc:
                raise DataError(f"{name} cannot be read ({type(exc).__name__}).", "Export the run again.",
                                folder) from None
            metrics = data.get("metrics", data) if isinstance(data, dict) else None
            recipe = data.get("recipe") if isinstance(data, dict) else None
            problem = _problem(metrics, recipe)
            if problem:
                raise DataError(f"{name} is not a run's metrics: {problem}.",
                                "Give folders written by `workbench convert` or the Export dialog.", folder)
            return {"name": folder.name, "metrics": metrics, "recipe": recipe}
    raise DataError("not a run folder (no metadata.json or metrics.json).",
                    "Give folders written by `workbench convert` or the Export dialog.", folder)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _problem(metrics: Any, recipe: Any) -> str | None:
    """What the table and the comparison report would trip over, if anything."""
    if not isinstance(metrics, dict) or not isinstance(metrics.get("test"), dict):
        return "it has no test metrics"
    test = metrics["test"]
    intervals = test.get("ci", {})
    for label, key, _ in COLUMNS:
        if test.get(key) is not None and not _number(test[key]):
            return f"its {label} is not a number"
        ci = intervals.get(key) if isinstance(intervals, dict) else None
        if ci is not None and not (isinstance(ci, list) and len(ci) == 2 and all(_number(v) for v in ci)):
            return f"its {label} interval is not a pair of numbers"
    if not isinstance(intervals, dict):
        return "its intervals are malformed"
    rel = test.get("reliability")
    if not isinstance(rel, dict) or not _number(rel.get("ece")) or not all(
            isinstance(rel.get(k), list) and all(_number(v) for v in rel[k]) for k in ("count", "confidence",
                                                                                        "accuracy")) \
            or not len(rel["count"]) == len(rel["confidence"]) == len(rel["accuracy"]):
        return "its reliability curve is missing or malformed"
    history = (metrics.get("training") or {}).get("history", []) if isinstance(metrics.get("training"),
                                                                               (dict, type(None))) else None
    if not isinstance(history, list) or not all(isinstance(h, dict) and all(_number(h.get(k)) for k in (
            "epoch", "train_loss", "val_loss")) for h in history):
        return "its training history is malformed"
    repeats = metrics.get("repeats")
    if repeats is not None and not (isinstance(repeats, dict) and isinstance(repeats.get("k"), int) and all(
            isinstance(repeats.get(p), dict) and all(_number(v) for v in repeats[p].values()) for p in ("mean", "sd"))):
        return "its repeats record is malformed"
    if recipe is not None:
        d = recipe.get("data") if isinstance(recipe, dict) else None
        if not isinstance(d, dict) or not all(k in d for k in ("path", "label", "label_mode", "threshold", "bins",
                                                              "splits")) \
                or not isinstance(d["splits"], list) or "seed" not in recipe:
            return "its recipe has no usable data section"
    return None


def inputs_of_runs(folders: Iterable[str | Path]) -> dict[Path, str]:
    """What a comparison report must never be written over or into: the runs' folders and their inputs."""
    protected: dict[Path, str] = {}
    for folder in folders:
        resolved = Path(folder).expanduser().resolve()
        protected[resolved] = "a compared run's folder"
        try:
            meta = json_value((resolved / "metadata.json").read_bytes(), MAX_NESTING)
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict):
            protected = {**inputs_of_run(meta.get("source"), meta.get("recipe")), **protected}
    return protected


def inputs_of_run(source: Any, recipe: Any) -> dict[Path, str]:
    """A run's inputs as its metadata names them ({path} of its source, its recipe): the checkpoint and the
    config.json beside it, the model source and the data. Anything malformed is skipped, never trusted."""
    from workbench.core.open.load import companions
    from workbench.core.safety.output_paths import inputs

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) else None

    path = text(source.get("path")) if isinstance(source, dict) else None
    recipe = recipe if isinstance(recipe, dict) else {}
    data = recipe.get("data")
    return inputs(source=path, data=text(data.get("path")) if isinstance(data, dict) else None,
                  model_source=text(recipe.get("model_source")), read=companions(path) if path else ())


def split_key(recipe: dict[str, Any] | None) -> tuple[Any, ...] | None:
    """What fixes the test split: the data, its labels, the split fractions and the seed."""
    if not recipe:
        return None
    d = recipe["data"]
    path = d["path"]
    if isinstance(path, str) and path and not path.startswith("sklearn:"):
        # Exports written before data paths were stored absolute kept them as typed: read from here.
        path = str(Path(path).expanduser().resolve())
    # before recipe version 9 (split_order classes) the class order given decided which rows went where
    order = tuple(d.get("classes") or ()) if d.get("split_order", "classes") == "classes" else ()
    return (path, d["label"], d["label_mode"], d["threshold"], d["bins"], tuple(d["splits"]), recipe["seed"], order)


def table(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows of values per run, the runs best in each column, and whether the test splits agree."""
    rows = []
    for run in runs:
        test = run["metrics"]["test"]
        rows.append({"name": run["name"], "kind": run["metrics"].get("kind", "trained"),
                     "task": run["metrics"].get("task", ""),
                     "calibration": run["metrics"].get("calibration", ""),
                     "threshold": decision_threshold(run["metrics"]),
                     "values": [test.get(key) for _, key, _ in COLUMNS],
                     "intervals": [test.get("ci", {}).get(key) for _, key, _ in COLUMNS],
                     "repeats": _repeats_row(run["metrics"].get("repeats")),
                     "model": model_row(run["metrics"].get("model"))})
    best = []  # per column, every run that reaches the best value (ties are all marked)
    # Runs over other classes answer other questions (a binary Brier runs 0..1, a 4-class one 0..2): none is best
    orders = {tuple(run["metrics"].get("classes") or ()) for run in runs}
    same_classes = len({tuple(sorted(order)) for order in orders}) == 1  # given in any order
    for c, (_, key, higher) in enumerate(COLUMNS):  # one run alone is best at nothing
        comparable = same_classes and (len(orders) == 1 or key not in ORDER_DEPENDENT)
        present = [r["values"][c] for r in rows if r["values"][c] is not None] if comparable and len(rows) > 1 \
            else []
        top = (max(present) if higher else min(present)) if present else None
        best.append([i for i, r in enumerate(rows) if present and r["values"][c] == top])
    keys = {split_key(run.get("recipe")) for run in runs}
    thresholds = [r["threshold"] for r in rows]
    return {"columns": [c[0] for c in COLUMNS], "rows": rows, "best": best,
            "same_test_split": len(keys) == 1 and None not in keys, "same_classes": same_classes,
            "paired": paired(runs),
            "threshold_columns": [c for c, (_l, key, _h) in enumerate(COLUMNS) if key in THRESHOLD_DEPENDENT],
            "thresholds_differ": len(set(thresholds)) > 1, "recipe_diff": recipe_diff(runs, thresholds)}


def at_threshold(row: dict[str, Any]) -> str:
    """' at t=0.246' for a binary run's threshold-dependent values ("" when it has none)."""
    t = row.get("threshold")
    return "" if t is None else f" at t={t:.3g}"


def model_row(found: Any) -> dict[str, Any]:
    """Where a run's head is attached, how much was pruned and the parameters it has (runs before the model
    section have none of it: the whole body, unpruned, parameters unknown)."""
    found = found if isinstance(found, dict) else {}
    return {"cut_at": found.get("cut_at") or "", "prune": found.get("prune") or 0.0,
            "parameters": found.get("parameters")}


def model_text(row: dict[str, Any]) -> str:
    """A run's model in words, for the comparison's run column: "cut at layer3, pruned 50%, 2,779,457 parameters"."""
    m = row.get("model") or model_row(None)
    parts = [f"cut at {m['cut_at']}" if m["cut_at"] else "whole body"]
    if m["prune"]:
        parts.append(f"pruned {m['prune']:.0%}")
    if m["parameters"] is not None:
        parts.append(f"{m['parameters']:,d} parameters")
    return ", ".join(parts)


SAMPLING_ONLY = "test sampling only; seed noise not measured"
SAMPLING_AND_SEEDS = "test sampling and training seeds"


def _repeats_row(found: dict[str, Any] | None) -> dict[str, Any] | None:
    """A run's mean and sd over training seeds, per column, when it was repeated."""
    if not isinstance(found, dict) or found.get("k", 1) < 2:
        return None
    return {"k": found["k"], "mean": [found["mean"].get(key) for _, key, _ in COLUMNS],
            "sd": [found["sd"].get(key) for _, key, _ in COLUMNS]}


def paired(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each run against the first, with paired bootstrap intervals of the difference on the same test rows. When
    either run was repeated over training seeds (`metrics["repeats"]`), the difference must also clear the seed
    noise (`seed`: uncertainty.seed_interval); a run is "better" or "worse" in a column only when every interval
    it has excludes zero on the same side. `covers` says which noise the verdict accounts for."""
    from workbench.core.evaluate.uncertainty import compare_runs

    out = []
    for run in runs[1:]:
        diff = compare_runs(runs[0]["metrics"], run["metrics"])
        if diff is not None:  # each run under its own decisions (an ordinal head's: the median class)
            from workbench.core.evaluate.ordinal_metrics import paired as order_paired

            diff |= order_paired(runs[0]["metrics"], run["metrics"])
        if diff is None:
            out.append({"name": run["name"], "against": runs[0]["name"], "columns": None})
            continue
        cells: list[dict[str, Any] | None] = []
        for _, key, higher in COLUMNS:
            d = diff.get(key)
            a, b = runs[0]["metrics"]["test"].get(key), run["metrics"]["test"].get(key)
            cells.append(None if d is None else _cell(d, None if a is None or b is None else b - a, higher,
                                                      runs[0]["metrics"].get("repeats"),
                                                      run["metrics"].get("repeats"), key))
        out.append({"name": run["name"], "against": runs[0]["name"], "columns": cells,
                    "covers": SAMPLING_AND_SEEDS if any(c and c["seed"] for c in cells) else SAMPLING_ONLY})
    return out


def _cell(d: dict[str, Any], difference: float | None, higher: bool, repeats_a: dict[str, Any] | None,
          repeats_b: dict[str, Any] | None, key: str) -> dict[str, Any]:
    """One column's comparison: the bootstrap interval, the seed interval when measured, and the verdict."""
    from workbench.core.evaluate.uncertainty import seed_interval
    from workbench.core.evaluate.verdicts import verdict as paired_verdict

    seed = seed_interval(repeats_a, repeats_b, key)
    side = 0 if d["within_noise"] else (1 if d["low"] > 0 else -1)  # the bootstrap interval's side of zero
    if seed is not None:
        centre = seed["difference"] if seed["difference"] is not None else difference
        seed = {**seed, "low": None, "high": None} if centre is None else {
            **seed, "centre": centre, "low": centre - seed["half_width"], "high": centre + seed["half_width"]}
        seed_side = 0 if seed["low"] is None or seed["low"] <= 0 <= seed["high"] else (1 if seed["low"] > 0 else -1)
        side = side if side == seed_side else 0
    verdict = paired_verdict({"within_noise": side == 0, "low": float(side)}, higher)
    return {**d, "within_noise": side == 0, "difference": difference, "verdict": verdict, "seed": seed,
            "covers": SAMPLING_ONLY if seed is None else SAMPLING_AND_SEEDS}


def thresholds_note(result: dict[str, Any], pair: dict[str, Any]) -> str:
    """'; accuracy and macro F1 at thresholds 0.246 vs 0.5' when the two runs decide at different thresholds."""
    by_name = {r["name"]: r.get("threshold") for r in result["rows"]}
    a, b = by_name.get(pair["name"]), by_name.get(pair["against"])
    if a == b or (a is None and b is None):
        return ""
    shown = " and ".join(result["columns"][c] for c in result.get("threshold_columns", []))
    a_text, b_text = ("—" if t is None else format(t, ".3g") for t in (a, b))
    return f"; {shown} at thresholds {a_text} vs {b_text}"


def format_table(result: dict[str, Any]) -> str:
    width = max([len(r["name"]) for r in result["rows"]] + [8])
    lines = [f"{'run':{width}s}  {'threshold':>9s}  " + "  ".join(f"{c:>10s}" for c in result["columns"])]
    for i, row in enumerate(result["rows"]):
        t = row.get("threshold")
        cells = [f"{'—' if t is None else format(t, '.3g'):>9s}"]
        for c, value in enumerate(row["values"]):
            mark = "*" if i in result["best"][c] else " "
            cells.append(f"{'—':>9s} " if value is None else f"{value:9.4f}{mark}")
        lines.append(f"{row['name']:{width}s}  {cells[0]}  " + "  ".join(f"{cell:>10s}" for cell in cells[1:]))
    if any(r.get("model", {}).get("cut_at") or r.get("model", {}).get("prune") for r in result["rows"]):
        lines += [f"{row['name']:{width}s}  {model_text(row)}" for row in result["rows"]]
    for row in result["rows"]:
        if row.get("repeats"):
            r = row["repeats"]
            cells = [f"{m:.3f}±{sd:.3f}" if m is not None else "—" for m, sd in zip(r["mean"], r["sd"])]
            lines.append(f"{'  seeds':{width}s}  {'':9s}  " + "  ".join(f"{c:>10s}" for c in cells)
                         + f"  ({row['name']}: mean ± sd over {r['k']} training seeds)")
    for i, row in enumerate(result["rows"]):
        if any(result["rows"][i]["intervals"]):
            cells = [f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "—" for ci in row["intervals"]]
            lines.append(f"{'  95% CI':{width}s}  {'':9s}  " + "  ".join(f"{c:>10s}" for c in cells)
                         + f"  ({row['name']})")
    for pair in result.get("paired", []):
        if pair["columns"] is None:
            lines.append(f"{pair['name']} vs {pair['against']}: no paired interval (not the same test rows)")
            continue
        parts = [f"{name} {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
                 + (f" seeds [{d['seed']['low']:+.3f}, {d['seed']['high']:+.3f}]" if d.get("seed") and
                    d["seed"].get("low") is not None else "") + f" {d['verdict']}"
                 for (name, _k, _h), d in zip(COLUMNS, pair["columns"]) if d and d["difference"] is not None]
        lines.append(f"{pair['name']} - {pair['against']}: " + "; ".join(parts) + f" (covers {pair['covers']})"
                     + thresholds_note(result, pair))
    if "recipe_diff" in result:
        lines.append("what differs between the runs:\n  " + format_diff(result["recipe_diff"]).replace("\n", "\n  "))
    lines.append("* best in its column; differences are paired 95% bootstrap intervals over the test rows (and, "
                 "for repeated runs, 95% intervals over training seeds), 'better' only when every interval "
                 "excludes zero")
    if not result.get("same_classes", True):
        lines.append("note: these runs predict different classes, so no run is marked best in any column.")
    if not result["same_test_split"]:
        lines.append("note: these runs do not share one test split (data, labels, splits or seed differ), "
                     "so the comparison is not like for like.")
    return "\n".join(lines)
