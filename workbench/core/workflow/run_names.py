"""Run names that say what differs between the runs of a session.

Two heads trained on the same label with different dropout were both "trained · binary · high_risk"; a name is
now its number, kind, task and label, then the settings that vary across the session's runs (at most
`MAX_PARTS`): "2: trained · binary · high_risk · dropout 0.2 · decide at 0.30". Settings a baseline ignores
(the head and training fields) are not named for a baseline. A name the user typed is kept as typed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MAX_PARTS = 3
# Shown in the name's first part, or not a difference worth naming (the model's own settings are named by the
# model's file instead).
NOT_NAMED = {"head.task", "data.label", "data.label_mode", "model_source", "model_args", "input_shape",
             "mlp_activation", "head.frozen_layers", "version"}
# Named first when they vary: another model, or the same model cut or pruned, is the largest difference (recipe
# order put them last, past MAX_PARTS, and a cut and pruned run read as the run it was made from)
FIRST = ("model", "model.cut_at", "model.prune", "head.ordinal")
AFTER_TRAINING = ("calibration", "binning", "reliability_bins")  # recipe fields a trained run's commands change
# Fields whose empty value means the workbench's default choice, not "none"
DEFAULTED = {"data.features": "default", "data.classes": "column's order", "model.cut_at": "the end"}
SHORT = {"model.cut_at": "head at", "data.threshold": "label >", "data.path": "data", "train.lr": "lr",
         "head.hidden": "hidden", "data.splits": "splits", "train.class_weights": "class weights",
         "train.pos_weight": "pos weight", "reliability_bins": "bins", "binning": "binning"}


def label_text(summary: dict[str, Any]) -> str:
    """What the run's labels are: a table's label column, an image folder's or bundled set's name."""
    if summary.get("label"):
        return str(summary["label"])
    data = (summary.get("recipe") or {}).get("data") or {}
    return str(data.get("label", ""))


def _flat(summary: dict[str, Any]) -> dict[str, Any]:
    """The settings a name may mention, by dotted name: the recipe the user asked for (autos unresolved), the
    model's file and the decision threshold."""
    out = _dotted(summary.get("asked") or summary.get("recipe") or {})
    resolved = _dotted(summary.get("recipe") or {})
    # What a command sets on a trained run (calibrate, rebin, decide) is named as it is now, not as first asked
    out |= {k: v for k, v in resolved.items() if k in AFTER_TRAINING or k.startswith("decide.")}
    if out.get("head.ordinal") == "auto" and resolved.get("head.ordinal") not in (None, "auto"):
        out["head.ordinal"] = f"auto ({resolved['head.ordinal']})"  # the head trained: another model, not a knob
    if out.get("data.path"):
        out["data.path"] = Path(str(out["data.path"])).name or str(out["data.path"])
    if summary.get("source"):
        out["model"] = Path(str(summary["source"])).name
    if summary.get("threshold") is not None:
        out["decide at"] = summary["threshold"]
    return out


def _dotted(recipe: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in recipe.items():
        if isinstance(value, dict) and key != "model_args":
            out |= {f"{key}.{sub}": v for sub, v in value.items()}
        else:
            out[key] = value
    return out


def _applies(key: str, values: dict[str, Any]) -> bool:
    """Whether the run's labels use the field: a threshold run's bins (3, the default) are no difference of it."""
    mode = values.get("data.label_mode")
    return not ((key == "data.bins" and mode != "bins") or (key == "data.threshold" and mode != "threshold"))


def _relevant(key: str, kind: str) -> bool:
    if key in NOT_NAMED:
        return False
    return not (kind == "baseline" and key.split(".")[0] in ("head", "train", "calibration"))


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ",".join(_value(v) for v in value) or "none"
    return "none" if value is None or value == "" else str(value)


def _shown(key: str, value: Any) -> str:
    return DEFAULTED[key] if key in DEFAULTED and value in ([], (), "") else _value(value)


def _short(key: str) -> str:
    return SHORT.get(key, key.rpartition(".")[2].replace("_", " "))


def auto_names(runs: list[tuple[int, dict[str, Any]]]) -> list[str]:
    """A name for each (number, summary): number, kind, task, label, then what varies across `runs`."""
    flat = [_flat(summary) for _, summary in runs]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    varying = [k for k in keys if len({repr(f.get(k)) for f in flat}) > 1]
    varying.sort(key=lambda k: FIRST.index(k) if k in FIRST else len(FIRST))  # stable: the rest in recipe order
    names = []
    for (number, summary), values in zip(runs, flat):
        task = ((summary.get("recipe") or {}).get("head") or {}).get("task", "")
        kind = str(summary.get("kind", "trained"))
        label = label_text(summary)
        parts = [f"{_short(k)} {_shown(k, values[k])}" for k in varying if k in values and _relevant(k, kind)
                 and not (k == "data.path" and str(values[k]) in label) and _applies(k, values)]
        head = " · ".join(p for p in (f"{number}: {kind}", task, label) if p)
        names.append(" · ".join([head, *parts[:MAX_PARTS]]) + (" · …" if len(parts) > MAX_PARTS else ""))
    return names


def telling_parts(names: list[str]) -> list[str]:
    """Each name without the " · " parts that every one of `names` has (its first part, "3: trained", is kept): what
    tells the runs apart, for a legend too narrow for whole names. A name the user gave stays whole."""
    split = [name.split(" · ") for name in names]
    shared = set.intersection(*(set(parts[1:]) for parts in split)) if len(names) > 1 else set()
    return [" · ".join([parts[0], *(p for p in parts[1:] if p not in shared)]) for parts in split]
