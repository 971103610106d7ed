"""The model card's prose, sentence by sentence, from an export's metadata: the label's definition, the data, the
head and training recipe in words, the calibration and its check, the decisions, the limitations the run itself
found, and the lines that load the export in plain PyTorch. Plain strings, the template escapes them: so a name
the user gave is put in quotes, never in a code span (where an escaped character would show as its entity)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def num(value: object, digits: int = 3) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.{digits}f}"
    return "—" if value is None else str(value)


def cell(value: object) -> str:
    """Text for a Markdown table cell: a `|` or a line break would end the cell."""
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _with_ci(test: dict[str, Any], key: str) -> str:
    ci = (test.get("ci") or {}).get(key)
    text = num(test.get(key))
    return f"{text} [{num(ci[0])}, {num(ci[1])}]" if isinstance(ci, (list, tuple)) and len(ci) == 2 else text


def label_lines(meta: dict[str, Any]) -> list[str]:
    """How the classes were made from the data, and their order (the program's output columns)."""
    metrics, data = meta.get("metrics") or {}, (meta.get("recipe") or {}).get("data") or {}
    labels, classes = metrics.get("labels") or {}, list(meta.get("classes") or [])
    column = data.get("label", "target")
    mode = labels.get("mode", data.get("label_mode", "column"))
    if mode == "threshold":
        first = f"Two classes cut from the numeric column “{column}” at {labels.get('threshold')}: " \
                f"“{classes[0]}” when {column} <= {labels.get('threshold')}, “{classes[-1]}” above."
    elif mode == "bins":
        edges = ", ".join(num(e, 4) for e in labels.get("edges") or [])
        first = f"{len(classes)} classes cut from the numeric column “{column}” at its quantiles (edges {edges})."
    else:
        first = f"{len(classes)} classes read from the column “{column}”."
    lines = [first, "Class order (the columns of the program's output): "
             + ", ".join(f"{i}: “{c}”" for i, c in enumerate(classes)) + "."]
    if labels.get("counts"):
        lines.append("Rows per class in the whole data: "
                     + ", ".join(f"“{c}” {n}" for c, n in zip(classes, labels["counts"])) + ".")
    if labels.get("ordered_by"):
        lines.append(f"The classes are ordered (by {labels['ordered_by']}).")
    return lines


def data_view(meta: dict[str, Any]) -> dict[str, Any]:
    """The data's file, hash, rows per split and warnings."""
    found, recipe_data = meta.get("data") or {}, (meta.get("recipe") or {}).get("data") or {}
    path = found.get("path") or recipe_data.get("path", "")
    rows = found.get("rows") or {}
    warnings = [str(w) for w in (found.get("warnings") or (meta.get("metrics") or {}).get("warnings") or [])]
    features = meta.get("feature_names")
    return {"file": found.get("file") or Path(str(path)).name, "sha256": found.get("sha256"),
            "rows": [{"split": s, "n": n} for s, n in rows.items()], "splits": recipe_data.get("splits"),
            "warnings": warnings, "features": features, "input": meta.get("input", "")}


def training_lines(meta: dict[str, Any]) -> list[str]:
    """The head and the training recipe in words."""
    metrics, recipe = meta.get("metrics") or {}, meta.get("recipe") or {}
    head, train, training = recipe.get("head") or {}, recipe.get("train") or {}, metrics.get("training") or {}
    source = meta.get("source") or {}
    lines = [f"Converted from the regression checkpoint “{Path(str(source.get('path', ''))).name}” "
             f"(sha256 `{source.get('sha256')}`, {source.get('format', 'format unknown')}); its regression layer "
             f"“{meta.get('head', '')}” was replaced by a {meta.get('task', '')} head."]
    if metrics.get("kind") == "baseline":
        lines.append("No training: the regression output itself was calibrated (the no-training baseline).")
        return lines
    lines += simplified_lines(metrics.get("model") or {})
    body = {"body": "the whole body frozen (only the head trained)", "none": "the whole model trained",
            "layers": "the layers chosen frozen"}.get(str(head.get("freeze")), f"freeze: {head.get('freeze')}")
    lines.append(f"Head: dropout {head.get('dropout')}, {head.get('hidden') or 'no'} hidden units; {body}"
                 + (f"; ordinal head {head.get('ordinal')}" if meta.get("task") == "ordinal" else "") + ".")
    lr = training.get("lr", train.get("lr"))
    picked = " (picked by the learning-rate range test)" if training.get("lr_finder") else ""
    asked, ran = train.get("schedule"), training.get("schedule", train.get("schedule"))
    shown = "a constant rate" if ran == "none" else ran
    schedule = shown if ran == asked else f"{shown} ({asked} asked: too few optimiser steps for it)"  # what ran
    lines.append(f"Training: {train.get('optimizer')} at learning rate {num(lr, 4)}{picked}, schedule "
                 f"{schedule}, weight decay {train.get('weight_decay')}, batch size "
                 f"{train.get('batch_size')}, loss {train.get('loss')}, seed {recipe.get('seed')}.")
    if training.get("epochs"):
        lines.append(f"It ran {training.get('epochs_run')} of at most {training.get('epochs')} epochs on "
                     f"{training.get('device')}; early stopping (patience {training.get('patience')}) restored the "
                     f"best epoch on the validation split, epoch {training.get('best_epoch')}.")
    return lines


def simplified_lines(model: dict[str, Any]) -> list[str]:
    """The cut and pruning made before conversion (metrics["model"]), in words; none for the whole body."""
    if not model.get("cut_at") and not model.get("prune"):
        return []
    said = []
    if model.get("cut_at"):
        dropped = model.get("dropped") or []
        through = f" through {model['adapter']}" if model.get("adapter") else ""
        said.append(f"the head is attached after layer “{model['cut_at']}”{through}, {model.get('width')} features "
                    f"wide; the {len(dropped)} layer(s) after it ({', '.join(map(str, dropped[:6]))}"
                    f"{', …' if len(dropped) > 6 else ''}) are not in this model")
    if model.get("prune"):
        units = model.get("pruned_units") or {}
        listing = ", ".join(f"{name} {before} → {after}" for name, (before, after) in list(units.items())[:6])
        said.append(f"{model['prune']:.0%} of the hidden units were pruned by magnitude (L2, whole units removed: "
                    f"{listing})")
    before = model.get("parameters_regression_model")
    size = (f" It has {model['parameters']:,d} parameters" + (f", the regression model {before:,d}" if before else "")
            + ".") if model.get("parameters") is not None else ""
    return ["Simplified before conversion: " + "; ".join(said) + "." + size]


def calibration_lines(meta: dict[str, Any]) -> list[str]:
    """Which calibration the program applies, why, and what it did on the test split."""
    metrics = meta.get("metrics") or {}
    test, method = metrics.get("test") or {}, metrics.get("calibration", "none")
    fitted = ", fitted on the calibration split" if method != "none" else ""
    lines = [f"Calibration applied inside the program: **{method}** (asked for: "
             f"{metrics.get('calibration_requested', method)}){fitted}."]
    auto = metrics.get("calibration_auto")
    if auto:
        lines.append(f"Calibration auto chose {auto.get('pick')}: {auto.get('reason')}.")
    if "ece_before" in test and method != "none":
        lines.append(f"On the test split: ECE {num(test['ece_before'])} before, {_with_ci(test, 'ece')} after; "
                     f"Brier {num(test.get('brier_before'))} before, {_with_ci(test, 'brier')} after.")
    else:
        lines.append(f"On the test split: ECE {_with_ci(test, 'ece')}, Brier {_with_ci(test, 'brier')}.")
    if "ece_debiased" in test:
        lines.append(f"Debiased ECE {num(test['ece_debiased'])}; a perfectly calibrated model shows a binned ECE up "
                     f"to {num((test.get('ece_if_calibrated') or {}).get('high'))} on this many rows.")
    check = metrics.get("calibration_check") or {}
    lines += [f"Check: {note}" for note in check.get("notes") or []]
    return lines


def decision_lines(meta: dict[str, Any]) -> list[str]:
    """The exported decision policy, the conformal sets, the refer band and the prior correction, when set."""
    lines = []
    policy = meta.get("decision_policy") or {}
    if policy:
        lines.append(f"Decision policy **{policy.get('policy')}**: {policy.get('rule')} "
                     f"({policy.get('chosen', 'chosen on the calibration split')}).")
    conformal = meta.get("conformal") or {}
    if conformal:
        test = ((meta.get("metrics") or {}).get("test") or {}).get("conformal") or {}
        ci = test.get("coverage_ci")
        lines.append(f"Conformal prediction sets ({str(conformal.get('method', '')).upper()}, level "
                     f"{conformal.get('confidence_level')}, alpha {conformal.get('alpha')}"
                     + (", class-conditional" if conformal.get("class_conditional") else "")
                     + f", {conformal.get('n_calibration')} calibration rows): {conformal.get('rule')}."
                     + (f" Test coverage {num(test.get('coverage'))}"
                        + (f" [{num(ci[0])}, {num(ci[1])}]" if ci else "")
                        + f", mean set size {num(test.get('mean_set_size'), 2)}." if test else ""))
    band = meta.get("abstention") or {}
    if band:
        lines.append(f"Decide/refer band: {band.get('rule', band)}.")
    prior = meta.get("prior_shift") or {}
    if prior:
        lines.append(f"Probabilities corrected for a deployment class prior: {prior.get('prior', prior)}.")
    return lines


def limitations(meta: dict[str, Any]) -> list[str]:
    """What the run itself warned about, then what the numbers do not cover."""
    metrics = meta.get("metrics") or {}
    found = [str(w) for w in metrics.get("warnings") or []]
    found += [str(n) for n in (metrics.get("training") or {}).get("notes") or []]
    note = (metrics.get("baseline_check") or {}).get("note")
    if isinstance(note, dict) and note.get("text"):
        found.append(str(note["text"]))
    found += [str(n) for n in metrics.get("decision_notes") or []]
    found += [str(w) for w in (meta.get("data") or {}).get("warnings") or [] if str(w) not in found]
    n = (metrics.get("test") or {}).get("n")
    found.append(f"The intervals cover sampling of the {n} test rows only, not another training seed, another "
                 "split or data from elsewhere.")
    found.append("Inputs unlike the training data (other units, another population, other image sources) are "
                 "outside what was tested; check calibration on new labelled data with `workbench evaluate`.")
    return list(dict.fromkeys(found))


def load_code(meta: dict[str, Any]) -> str:
    """Python that runs the export with torch alone (no workbench, nothing unpickled)."""
    program = str(meta.get("program", "model.pt2"))
    spec = meta.get("input_spec") or {}
    shape = ", ".join(str(s) for s in (spec.get("shape") or ["N", *(meta.get("input_shape") or [])])[1:])
    opener = ('torch.export.load("model.pt2").module()' if program.endswith(".pt2")
              else f'torch.jit.load("{program}")')
    if meta.get("task") == "binary" and meta.get("decision_threshold") is not None:
        decide = (f'labels = [meta["classes"][int(p >= {meta["decision_threshold"]})] for p in probs[:, 1]]'
                  "  # the exported threshold")
    else:
        decide = 'labels = [meta["classes"][i] for i in probs.argmax(1)]'
    inputs = [i for i in meta.get("inputs") or [] if isinstance(i, dict)]
    if len(inputs) > 1:  # the model's own inputs, one tensor each (metadata.json "inputs"), not one flat row
        given = ["inputs = [  # one tensor per input of the model, in order: meta['inputs'] names their columns",
                 *(_input_line(i) for i in inputs), "]"]
        call = "program(*inputs)"
    else:
        given = [f"x = torch.zeros(4, {shape})  # your inputs: float32, shape (N, {shape}), as described under Data"]
        call = "program(x)"
    return "\n".join([
        "import json",
        "import torch",
        "",
        'meta = json.load(open("metadata.json"))',
        f"program = {opener}",
        *given,
        "with torch.no_grad():",
        f"    probs = {call}  # calibrated probabilities, columns in the order of meta['classes']",
        decide,
    ])


def _input_line(spec: dict[str, Any]) -> str:
    """One input's zeros of its shape and dtype; its name in the comment only when it is an identifier, as a
    forward's parameter is (the code is shown as is: no file's text may break out of the comment)."""
    shape = ", ".join(str(int(s)) for s in list(spec.get("shape") or [])[1:] if str(s).isdigit())
    name = str(spec.get("name", ""))
    label = f"{name}: " if name.isidentifier() else ""
    if str(spec.get("dtype")) == "int64":
        return f"    torch.zeros(4, {shape}, dtype=torch.int64),  # {label}category codes (meta['categories'])"
    return f"    torch.zeros(4, {shape}),  # {label}float32"
