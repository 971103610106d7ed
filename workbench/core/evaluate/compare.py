"""Side-by-side comparison of conversion runs on one test split: the table behind the comparison view
and `workbench compare`, with the best value in each column marked."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from workbench.core.errors import DataError

# column, how to read it from metrics["test"], whether higher is better
# (class distance and weighted kappa: runs whose classes have an order, see ordinal_metrics; "—" for others)
COLUMNS = [("accuracy", "accuracy", True), ("macro F1", "macro_f1", True), ("ECE", "ece", False),
           ("Brier", "brier", False), ("ROC AUC", "roc_auc", True), ("class dist.", "mae_classes", False),
           ("QWK", "qwk", True)]


def load_run_dir(folder: str | Path) -> dict[str, Any]:
    """A run as exported: its name, metrics and recipe (from metadata.json, else metrics.json)."""
    folder = Path(folder)
    for name in ("metadata.json", "metrics.json"):
        path = folder / name
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
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
    for label, key, _ in COLUMNS:
        if test.get(key) is not None and not _number(test[key]):
            return f"its {label} is not a number"
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
    if recipe is not None:
        d = recipe.get("data") if isinstance(recipe, dict) else None
        if not isinstance(d, dict) or not all(k in d for k in ("path", "label", "label_mode", "threshold", "bins",
                                                              "splits")) \
                or not isinstance(d["splits"], list) or "seed" not in recipe:
            return "its recipe has no usable data section"
    return None


def inputs_of_runs(folders: Iterable[str | Path]) -> dict[Path, str]:
    """What a comparison report must never be written over or into: the runs' folders, sources and data."""
    from workbench.core.safety.output_paths import inputs

    protected: dict[Path, str] = {}
    for folder in folders:
        resolved = Path(folder).expanduser().resolve()
        protected[resolved] = "a compared run's folder"
        try:
            meta = json.loads((resolved / "metadata.json").read_text(encoding="utf-8"))
            source = (meta.get("source") or {}).get("path")
            data = ((meta.get("recipe") or {}).get("data") or {}).get("path")
        except (OSError, ValueError, AttributeError):
            continue
        protected |= inputs(source=source if isinstance(source, str) else None,
                            data=data if isinstance(data, str) else None)
    return protected


def split_key(recipe: dict[str, Any] | None) -> tuple[Any, ...] | None:
    """What fixes the test split: the data, its labels, the split fractions and the seed."""
    if not recipe:
        return None
    d = recipe["data"]
    return (d["path"], d["label"], d["label_mode"], d["threshold"], d["bins"], tuple(d["splits"]), recipe["seed"])


def table(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows of values per run, the runs best in each column, and whether the test splits agree."""
    rows = []
    for run in runs:
        test = run["metrics"]["test"]
        rows.append({"name": run["name"], "kind": run["metrics"].get("kind", "trained"),
                     "task": run["metrics"].get("task", ""),
                     "calibration": run["metrics"].get("calibration", ""),
                     "values": [test.get(key) for _, key, _ in COLUMNS],
                     "intervals": [test.get("ci", {}).get(key) for _, key, _ in COLUMNS]})
    best = []  # per column, every run that reaches the best value (ties are all marked)
    for c, (_, _, higher) in enumerate(COLUMNS):
        present = [r["values"][c] for r in rows if r["values"][c] is not None]
        top = (max(present) if higher else min(present)) if present else None
        best.append([i for i, r in enumerate(rows) if present and r["values"][c] == top])
    keys = {split_key(run.get("recipe")) for run in runs}
    return {"columns": [c[0] for c in COLUMNS], "rows": rows, "best": best,
            "same_test_split": len(keys) == 1 and None not in keys, "paired": paired(runs)}


def paired(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each run against the first, with paired bootstrap intervals of the difference on the same test rows: a run
    is "better" or "worse" in a column only when the interval excludes zero."""
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
            if d is None:
                cells.append(None)
                continue
            verdict = "within noise" if d["within_noise"] else (
                "better" if (d["low"] > 0) == higher else "worse")
            a, b = runs[0]["metrics"]["test"].get(key), run["metrics"]["test"].get(key)
            cells.append({**d, "difference": None if a is None or b is None else b - a, "verdict": verdict})
        out.append({"name": run["name"], "against": runs[0]["name"], "columns": cells})
    return out


def format_table(result: dict[str, Any]) -> str:
    width = max([len(r["name"]) for r in result["rows"]] + [8])
    lines = [f"{'run':{width}s}  " + "  ".join(f"{c:>10s}" for c in result["columns"])]
    for i, row in enumerate(result["rows"]):
        cells = []
        for c, value in enumerate(row["values"]):
            mark = "*" if i in result["best"][c] else " "
            cells.append(f"{'—':>9s} " if value is None else f"{value:9.4f}{mark}")
        lines.append(f"{row['name']:{width}s}  " + "  ".join(f"{cell:>10s}" for cell in cells))
    for i, row in enumerate(result["rows"]):
        if any(result["rows"][i]["intervals"]):
            cells = [f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "—" for ci in row["intervals"]]
            lines.append(f"{'  95% CI':{width}s}  " + "  ".join(f"{c:>10s}" for c in cells) + f"  ({row['name']})")
    for pair in result.get("paired", []):
        if pair["columns"] is None:
            lines.append(f"{pair['name']} vs {pair['against']}: no paired interval (not the same test rows)")
            continue
        parts = [f"{name} {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}] {d['verdict']}"
                 for (name, _k, _h), d in zip(COLUMNS, pair["columns"]) if d and d["difference"] is not None]
        lines.append(f"{pair['name']} - {pair['against']}: " + "; ".join(parts))
    lines.append("* best in its column; differences are paired 95% bootstrap intervals, 'better' only when the "
                 "interval excludes zero")
    if not result["same_test_split"]:
        lines.append("note: these runs do not share one test split (data, labels, splits or seed differ), "
                     "so the comparison is not like for like.")
    return "\n".join(lines)
