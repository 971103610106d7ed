"""A self-contained HTML report of a run (or of a comparison): recipe, layer tree before and after,
curves, reliability diagram, confusion matrix and metrics.

Pages come from Jinja2 templates shipped in `workbench/resources/templates`, rendered with autoescape on, so
every value (a class or column name, a run or file name, a field of a metrics.json read from disk) is shown as
text, never as markup. Figures are drawn with matplotlib and embedded as base64 SVG in <img> tags, where a
browser runs no script and fetches nothing; the file opens in any browser with no network and no other files.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.evaluate.reliability_drawing import draw_reliability, reliability_curves, verbatim
from workbench.core.evaluate.verdicts import calibration_verdict
from workbench.core.safety.atomic import write_text_atomic

if TYPE_CHECKING:
    import jinja2
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from workbench.core.open.layer_tree import Layer

TEMPLATES = ("resources", "templates")  # inside the workbench package
_environment: jinja2.Environment | None = None


def _template_source(name: str) -> str:
    from importlib.resources import files

    return files("workbench").joinpath(*TEMPLATES, name).read_text(encoding="utf-8")


def _num(value: object, digits: int = 4, signed: bool = False) -> str:
    """A number with `digits` decimals; anything else (a hostile metrics.json) as plain text, escaped later."""
    if value is None:
        return "—"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return str(value)


def environment() -> jinja2.Environment:
    """The one template environment: autoescape on for every template, and an unknown name is an error."""
    global _environment
    if _environment is None:
        import jinja2

        _environment = jinja2.Environment(
            loader=jinja2.FunctionLoader(_template_source), autoescape=True, undefined=jinja2.StrictUndefined,
            trim_blocks=True, lstrip_blocks=True)
        _environment.filters["num"] = _num
    return _environment


def _interval(ci: object) -> list[float] | None:
    """A [low, high] pair of numbers, or None (a metrics.json read from disk may hold anything there)."""
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in ci):
        return [float(ci[0]), float(ci[1])]
    return None


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def _figure(size: tuple[float, float] = (4.2, 3.2)) -> tuple[Figure, Axes]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=size)


def _embedded(fig: Figure, alt: str) -> dict[str, str]:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    return {"uri": "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"), "alt": alt}


def curves_figure(histories: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    fig, ax = _figure((5.5, 3.2))
    for name, history in histories.items():
        if history:
            epochs = [h["epoch"] for h in history]
            ax.plot(epochs, [h["train_loss"] for h in history], "--", label=verbatim(f"{name} train"))
            ax.plot(epochs, [h["val_loss"] for h in history], "-o", ms=3, label=verbatim(f"{name} validation"))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(fontsize=7)
    return _embedded(fig, "training and validation loss per epoch")


def reliability_figure(curves: dict[str, dict[str, Any]]) -> dict[str, str]:
    fig, ax = _figure()
    draw_reliability(ax, curves)
    ax.legend(fontsize=7)
    return _embedded(fig, "reliability diagram: accuracy against confidence")


def confusion_view(matrix: list[list[int]], classes: list[str]) -> dict[str, Any]:
    top = max(max(row) for row in matrix) or 1
    rows = [{"name": name, "cells": [{"value": v, "alpha": f"{v / top * 0.8:.2f}"} for v in row]}
            for name, row in zip(classes, matrix)]
    return {"classes": classes, "rows": rows}


def layers_view(rows: list[Layer]) -> list[dict[str, Any]]:
    return [{"name": layer.name, "type": layer.type, "depth": layer.depth, "params": f"{layer.params:,}",
             "shape": "×".join(map(str, layer.output_shape[1:])) if layer.output_shape else "—",
             "trainable": "yes" if layer.trainable else "no", "role": layer.role,
             "css": "new" if layer.role == "new head" else "head" if layer.role else ""} for layer in rows]


def metrics_view(test: dict[str, Any], notes: Sequence[str] = ()) -> dict[str, Any]:
    keys = [("accuracy", "accuracy"), ("macro F1", "macro_f1"), (test.get("roc_auc_definition", "ROC AUC"), "roc_auc"),
            ("ECE before", "ece_before"), (f"ECE ({test.get('ece_bins', 15)} bins)", "ece"), ("MCE", "mce"),
            ("Brier before", "brier_before"), ("Brier", "brier")]
    rows = []
    for label, key in keys:
        if key not in test:
            continue
        change = calibration_verdict(test, key) if key in ("ece", "brier") else None
        rows.append({"label": label, "value": test[key], "ci": _interval(test.get("ci", {}).get(key)),
                     "has_change": key in ("ece", "brier"),
                     "change": change if change and change["verdict"] is not None else None})
    per_class = [{"name": c, **s} for c, s in test["per_class"].items()]
    return {"n": test["n"], "rows": rows, "definitions": [test[k] for k in ("brier_definition",) if k in test],
            "decision_rule": test.get("decision_rule", ""), "notes": list(notes), "per_class": per_class}


def decisions_view(metrics: dict[str, Any]) -> dict[str, Any] | None:
    """The Decisions section: what is handed on beyond the probabilities (`decide.decisions.summary_lines`), the
    policy's decisions on the test split as a confusion matrix, per-class conformal coverage, and the figures of
    the set sizes and of the refer band's coverage against error."""
    from workbench.core.evaluate.decision_lines import summary_lines

    test, classes = metrics.get("test", {}), [str(c) for c in metrics.get("classes", [])]
    if not any(k in test for k in ("decision_policy", "conformal", "abstention")):
        return None  # a run from before the decision step
    policy, sets, band = test.get("decision_policy") or {}, test.get("conformal") or {}, test.get("abstention")
    matrix = (policy.get("test") or {}).get("confusion_matrix")
    figures = []
    if sets.get("set_size_histogram"):
        fig, ax = _figure((4.2, 2.6))
        counts = sets["set_size_histogram"]
        ax.bar(range(len(counts)), counts, color="#1f77b4")
        ax.set_xlabel("classes in the set")
        ax.set_ylabel("test rows")
        figures.append(_embedded(fig, "conformal set sizes on the test split"))
    if band:
        fig, ax = _figure((4.2, 2.6))
        curve = band["test"]["curve"]
        ax.plot(curve["coverage"], curve["error"], "-", label="decided vs error")
        ax.axhline(band["epsilon"], color="#b00020", ls="--", label=verbatim(f"target {band['epsilon']}"))
        ax.set_xlabel("share decided")
        ax.set_ylabel("error among decided")
        ax.legend(fontsize=7)
        figures.append(_embedded(fig, "refer band: share decided against error among decided (test)"))
    per_class = [{"name": name, "coverage": v.get("coverage"), "ci": _interval(v.get("ci")), "n": v.get("n")}
                 for name, v in (sets.get("per_class_coverage") or {}).items()]
    return {"lines": summary_lines(metrics), "figures": figures, "per_class": per_class,
            "confusion": confusion_view(matrix, classes) if matrix else None,
            "policy": str(policy.get("policy", ""))}


def run_report(run: Any, path: str | Path, name: str = "") -> Path:  # a workflow.pipeline.Run, a layer above
    """Write the HTML report of a `pipeline.Run`; `name` is the run's name in the session, when it has one."""
    from workbench.core.open.layer_tree import converted_rows

    test = run.metrics["test"]
    before = run.inspection.layers
    after = converted_rows(run.model, run.inspection.input_shape, run.head_name, run.inspection.tail) \
        if run.kind == "trained" else before
    figures = [curves_figure({"run": run.training.history})] if run.training.history else []
    figures.append(reliability_figure(reliability_curves(run.metrics)))
    page = render("run_report.html.j2", title="Conversion report", source_name=run.loaded.path.name, run_name=name,
                  kind=run.kind, task=run.recipe.head.task, classes=list(run.data.classes),
                  calibration=run.recipe.calibration, sha256=run.loaded.sha256,
                  metrics=metrics_view(test, run_notes(run.metrics, warnings=False)),
                  decisions=decisions_view(run.metrics), figures=figures,
                  confusion=confusion_view(test["confusion_matrix"], list(run.data.classes)),
                  layers_before=layers_view(before), layers_after=layers_view(after), recipe=run.recipe.to_json())
    return _write(path, page)


def run_notes(metrics: dict[str, Any], warnings: bool = True) -> list[str]:
    """What a run's page says beside its metrics: the calibration check's notes, whether training beat the
    no-training baseline, and (`warnings`) the data's warnings."""
    baseline = (metrics.get("baseline_check") or {}).get("note")
    return [*metrics.get("calibration_check", {}).get("notes", []), *([baseline["text"]] if baseline else []),
            *(metrics.get("warnings", []) if warnings else [])]


def run_fragment(metrics: dict[str, Any], name: str, note: str = "") -> str:
    """A run's metrics, reliability diagram and confusion matrix as an HTML fragment (a notebook's rich display),
    escaped like every report."""
    test = metrics["test"]
    curves = reliability_curves(metrics)
    notes = run_notes(metrics)
    return render("run_fragment.html.j2", name=name, note=note, metrics=metrics_view(test, notes),
                  figures=[reliability_figure(curves)],
                  confusion=confusion_view(test["confusion_matrix"], list(metrics["classes"])))


def _paired_lines(result: dict[str, Any]) -> list[dict[str, Any]]:
    from workbench.core.evaluate.compare import COLUMNS, thresholds_note

    lines = []
    for pair in result["paired"]:
        if pair["columns"] is None:
            continue
        parts = [f"{name} {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}] {d['verdict']}"
                 for (name, _k, _h), d in zip(COLUMNS, pair["columns"]) if d and d["difference"] is not None]
        lines.append({"name": pair["name"], "against": pair["against"], "parts": parts,
                      "thresholds": thresholds_note(result, pair)})
    return lines


def comparison_context(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """What the comparison page shows, as plain values; a page extending comparison.html.j2 adds its own."""
    from workbench.core.evaluate.compare import table

    result = table(runs)
    rows = [{"name": row["name"], "kind": row["kind"], "threshold": row["threshold"],
             "cells": [{"value": v, "ci": _interval(ci), "best": i in result["best"][c]}
                       for c, (v, ci) in enumerate(zip(row["values"], row["intervals"]))]}
            for i, row in enumerate(result["rows"])]
    histories = {r["name"]: r["metrics"].get("training", {}).get("history", []) for r in runs}
    reliability = {r["name"]: r["metrics"]["test"]["reliability"] for r in runs}
    return {"title": "Comparison of conversions", "columns": result["columns"], "rows": rows,
            "same_test_split": result["same_test_split"], "paired": _paired_lines(result),
            "figures": [curves_figure(histories), reliability_figure(reliability)],
            "recipe_diff": result["recipe_diff"], "threshold_columns": result["threshold_columns"]}


def comparison_report(runs: list[dict[str, Any]], path: str | Path) -> Path:
    """Write the HTML comparison of runs given as {name, metrics, recipe}."""
    return _write(path, render("comparison.html.j2", **comparison_context(runs)))


def _write(path: str | Path, page: str) -> Path:
    path = Path(path)
    write_text_atomic(path, page)
    return path

