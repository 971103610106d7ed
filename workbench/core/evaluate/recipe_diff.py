"""What differs between the recipes of compared runs, field by field (with the form's labels), and what they
share: the comparison report and the Compare tab show this instead of each recipe as raw JSON. The decision
threshold is not a recipe field (the Evaluate tab's slider sets it on the run), but it moves accuracy and F1, so
it is listed with the fields when it differs."""

from __future__ import annotations

import json
from typing import Any

# Empty means the default choice here, not nothing (a recipe's features () are the numeric, not-ID columns)
DEFAULTED = {"data.features": "default (numeric columns)", "data.classes": "the column's order",
             "model.cut_at": "the end (the whole body)"}
THRESHOLD_LABEL = "Decision threshold (Evaluate tab)"


def _flat(values: Any, prefix: str = "") -> dict[str, Any]:
    """{"data.label": "risk", ...}: nested dicts to dotted names (lists and other values kept whole)."""
    out: dict[str, Any] = {}
    if not isinstance(values, dict):
        return out
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and name not in ("model_args",):
            out |= _flat(value, name + ".")
        else:
            out[name] = value
    return out


def _labels() -> dict[str, str]:
    from workbench.core.fields import walk
    from workbench.core.recipe import Recipe

    return {name: spec.label for name, _f, _kind, spec in walk(Recipe)}


def shown(value: Any) -> str:
    """A field's value as a person reads it: lists as comma lists, nothing as an em dash."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _trained_only(field: str) -> bool:
    """A head or training field a baseline does not use (its task and ordinal head it does: a cut is a head)."""
    return field.split(".")[0] in ("head", "train") and field not in ("head.task", "head.ordinal")


def _kind(run: dict[str, Any]) -> str:
    return str((run.get("metrics") or {}).get("kind") or run.get("kind") or "trained")


def _unused_as_none(flat: dict[str, Any], recipe: Any, kind: str = "trained") -> dict[str, Any]:
    """A run's fields with those its other choices ignore (recipe_unused: bins of a threshold run, focal gamma of
    a cross-entropy one; a baseline's head and training fields, as it trains nothing) shown as "—", so they
    neither differ nor look shared where they did nothing."""
    if kind == "baseline":
        flat = {k: (None if _trained_only(k) else v) for k, v in flat.items()}
    from workbench.core.errors import WorkbenchError
    from workbench.core.recipe import from_dict
    from workbench.core.recipe_unused import unused_fields

    try:
        unused = unused_fields(from_dict(recipe)) if isinstance(recipe, dict) and recipe else {}
    except (WorkbenchError, TypeError, ValueError):  # an old or hand-edited recipe: shown as written
        return flat
    return {k: (None if k in unused else v) for k, v in flat.items()}


def recipe_diff(runs: list[dict[str, Any]], thresholds: list[float | None] | None = None) -> dict[str, Any]:
    """{"names": run names, "differs": [{"field", "label", "values": [text per run]}], "shared": [{"field",
    "label", "value"}]} for runs given as {name, recipe} (a run without a recipe shows "—" everywhere)."""
    flats = [_unused_as_none(_flat(r.get("recipe") or {}), r.get("recipe"), _kind(r)) for r in runs]
    trains = [_kind(r) != "baseline" for r in runs]
    labels = _labels()
    order = list(dict.fromkeys(name for flat in flats for name in flat))
    differs, shared = [], []
    for name in order:
        values = [DEFAULTED[name] if name in DEFAULTED and flat.get(name) in ([], (), "") else shown(flat.get(name))
                  for flat in flats]
        row = {"field": name, "label": labels.get(name, name)}
        # a baseline trains nothing: its "—" under a head or training field is no difference among the runs that
        # train (else every training setting would be listed against it)
        among = {v for v, t in zip(values, trains) if t or not _trained_only(name)}
        if len(among or set(values)) > 1:
            differs.append({**row, "values": values})
        else:
            value = next(iter(among or set(values)))
            shared.append({**row, "value": value if len(set(values)) == 1 else f"{value} (not used by a baseline)"})
    checkpoints = [_checkpoint(r) for r in runs]  # the model is no recipe field, yet the first thing that can differ
    if len(set(checkpoints) - {None}) > 1:
        differs.insert(0, {"field": "checkpoint", "label": "Regression checkpoint",
                           "values": ["—" if c is None else c for c in checkpoints]})
    if thresholds is not None and len({t for t in thresholds}) > 1:
        differs.insert(0, {"field": "threshold", "label": THRESHOLD_LABEL,
                           "values": ["—" if t is None else f"{t:.3g}" for t in thresholds]})
    return {"names": [r["name"] for r in runs], "differs": differs, "shared": shared}


def _checkpoint(run: dict[str, Any]) -> str | None:
    """The checkpoint a run was made from, as its file name and the start of its SHA-256 (a session's run keeps
    `source` and `source_sha256`; an export's metadata a `source` dict), or None when it does not say."""
    from pathlib import Path

    source: Any = run.get("source")
    sha = run.get("source_sha256")
    if isinstance(source, dict):
        source, sha = source.get("path"), source.get("sha256")
    if not source:
        return None
    return Path(str(source)).name + (f" ({str(sha)[:8]})" if sha else "")


def format_diff(diff: dict[str, Any]) -> str:
    """The fields that differ, one line each: 'Dropout (head.dropout): 0 | 0.2'."""
    if not diff["differs"]:
        return "The runs' recipes are the same."
    return "\n".join(f"{d['label']} ({d['field']}): " + " | ".join(d["values"]) for d in diff["differs"])
