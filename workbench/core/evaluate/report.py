"""A self-contained HTML report of a run (or of a comparison): recipe, layer tree before and after,
curves, reliability diagram, confusion matrix and metrics. Figures are drawn with matplotlib and inlined
as SVG, so the file opens in any browser with no network and no other files."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.safety.atomic import write_text_atomic

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from workbench.core.open.layer_tree import Layer

STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}
.best{font-weight:bold;background:#e8f5e9}.fig{display:inline-block;vertical-align:top;margin:0 1em 1em 0}
pre{background:#f7f7f7;padding:1em;overflow:auto}.head{background:#fff3cd}.new{background:#d4edda}"""


def _svg(fig: Figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _figure(size: tuple[float, float] = (4.2, 3.2)) -> tuple[Figure, Axes]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=size)


def curves_svg(histories: dict[str, list[dict[str, Any]]]) -> str:
    fig, ax = _figure((5.5, 3.2))
    for name, history in histories.items():
        if history:
            epochs = [h["epoch"] for h in history]
            ax.plot(epochs, [h["train_loss"] for h in history], "--", label=f"{name} train")
            ax.plot(epochs, [h["val_loss"] for h in history], "-o", ms=3, label=f"{name} validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(fontsize=7)
    return _svg(fig)


def reliability_svg(curves: dict[str, dict[str, Any]]) -> str:
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect")
    for name, rel in curves.items():
        used = [i for i, c in enumerate(rel["count"]) if c]
        ax.plot([rel["confidence"][i] for i in used], [rel["accuracy"][i] for i in used], "-o", ms=3,
                label=f"{name} (ECE {rel['ece']:.3f})")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    return _svg(fig)


def confusion_html(matrix: list[list[int]], classes: list[str]) -> str:
    top = max(max(row) for row in matrix) or 1
    head = "".join(f"<th>{html.escape(c)}</th>" for c in classes)
    rows = []
    for name, row in zip(classes, matrix):
        cells = "".join(f"<td style='background:rgba(31,119,180,{v / top * 0.8:.2f})'>{v}</td>" for v in row)
        rows.append(f"<tr><th class=l>{html.escape(name)}</th>{cells}</tr>")
    return f"<table><tr><th class=l>true \\ predicted</th>{head}</tr>{''.join(rows)}</table>"


def layers_html(rows: list[Layer]) -> str:
    out = ["<table><tr><th class=l>layer</th><th class=l>type</th><th>output</th><th>parameters</th>"
           "<th>trainable</th><th class=l>role</th></tr>"]
    for layer in rows:
        cls = " class=new" if layer.role == "new head" else " class=head" if layer.role else ""
        shape = "×".join(map(str, layer.output_shape[1:])) if layer.output_shape else "—"
        out.append(f"<tr{cls}><td class=l>{'&nbsp;' * 3 * layer.depth}{html.escape(layer.name)}</td>"
                   f"<td class=l>{layer.type}</td><td>{shape}</td><td>{layer.params:,}</td>"
                   f"<td>{'yes' if layer.trainable else 'no'}</td><td class=l>{layer.role}</td></tr>")
    return "".join(out) + "</table>"


def _ci_cell(test: dict[str, Any], key: str) -> str:
    ci = test.get("ci", {}).get(key)
    return f"<td>[{ci[0]:.3f}, {ci[1]:.3f}]</td>" if ci else "<td>—</td>"


def _change_cell(test: dict[str, Any], key: str) -> str:
    change = test.get("calibration_change", {}).get(key)
    if not change:
        return "<td>—</td>"
    verdict = "within noise" if change["within_noise"] else ("worse" if change["low"] > 0 else "better")
    return f"<td>change [{change['low']:+.3f}, {change['high']:+.3f}]: {verdict}</td>"


def metrics_html(test: dict[str, Any], classes: list[str], notes: Sequence[str] = ()) -> str:
    auc_label = test.get("roc_auc_definition", "ROC AUC")
    keys = [("accuracy", "accuracy"), ("macro F1", "macro_f1"), (auc_label, "roc_auc"), ("ECE before", "ece_before"),
            (f"ECE ({test.get('ece_bins', 15)} bins)", "ece"), ("MCE", "mce"), ("Brier before", "brier_before"),
            ("Brier", "brier")]
    summary = "".join(f"<tr><th class=l>{label}</th><td>{test[key]:.4f}</td>"
                      + (_change_cell(test, key) if key in ("ece", "brier") else _ci_cell(test, key)) + "</tr>"
                      for label, key in keys if key in test)
    summary = (f"<tr><th class=l>metric</th><th>value</th><th>95% bootstrap interval ({test['n']} rows)</th></tr>"
               + summary)
    definitions = "".join(f"<p>{html.escape(test[k])}.</p>" for k in ("brier_definition",) if k in test)
    if "decision_rule" in test:
        definitions += f"<p>Decision: {html.escape(test['decision_rule'])}.</p>"
    definitions += "".join(f"<p><b>Note:</b> {html.escape(n)}</p>" for n in notes)
    per_class = "".join(f"<tr><td class=l>{html.escape(c)}</td><td>{s['precision']:.3f}</td><td>{s['recall']:.3f}"
                        f"</td><td>{s['f1']:.3f}</td><td>{s['support']}</td></tr>"
                        for c, s in test["per_class"].items())
    return (f"<table>{summary}</table>{definitions}<h3>Per class</h3><table><tr><th class=l>class</th>"
            "<th>precision</th>"
            f"<th>recall</th><th>F1</th><th>support</th></tr>{per_class}</table>")


def run_report(run: Any, path: str | Path, name: str = "") -> Path:  # a workflow.pipeline.Run, a layer above
    """Write the HTML report of a `pipeline.Run`; `name` is the run's name in the session, when it has one."""
    from workbench.core.open.layer_tree import converted_rows

    test = run.metrics["test"]
    before = run.inspection.layers
    after = converted_rows(run.model, run.inspection.input_shape, run.head_name, run.inspection.tail) \
        if run.kind == "trained" else before
    reliability = {"before calibration": test["reliability_before"], "after calibration": test["reliability"]}
    body = [f"<h1>Conversion report: {html.escape(run.loaded.path.name)}</h1>",
            f"<p><b>Run: {html.escape(name)}</b></p>" if name else "",
            f"<p>{run.kind} run · {run.recipe.head.task} head · classes: {html.escape(', '.join(run.data.classes))}"
            f" · calibration: {run.recipe.calibration} · source sha256 {run.loaded.sha256}</p>",
            "<h2>Metrics (test split)</h2>",
            metrics_html(test, run.data.classes, run.metrics.get("calibration_check", {}).get("notes", []) + [
                n["text"] for n in [(run.metrics.get("baseline_check") or {}).get("note")] if n]),
            "<h2>Curves and reliability</h2>",
            f"<div class=fig>{curves_svg({'run': run.training.history})}</div>" if run.training.history else "",
            f"<div class=fig>{reliability_svg(reliability)}</div>",
            "<h2>Confusion matrix</h2>", confusion_html(test["confusion_matrix"], run.data.classes),
            "<h2>Layers before conversion</h2>", layers_html(before),
            "<h2>Layers after conversion</h2>", layers_html(after),
            "<h2>Recipe</h2>", f"<pre>{html.escape(run.recipe.to_json())}</pre>"]
    return _write(path, "Conversion report", body)


def comparison_report(runs: list[dict[str, Any]], path: str | Path) -> Path:
    """Write the HTML comparison of runs given as {name, metrics, recipe}."""
    from workbench.core.evaluate.compare import COLUMNS, table

    result = table(runs)
    header = "".join(f"<th>{c}</th>" for c in result["columns"])
    rows = []
    for i, row in enumerate(result["rows"]):
        cells = "".join("<td>—</td>" if v is None else
                        f"<td{' class=best' if i in result['best'][c] else ''}>{v:.4f}"
                        + (f"<br><small>[{ci[0]:.3f}, {ci[1]:.3f}]</small>" if ci else "") + "</td>"
                        for c, (v, ci) in enumerate(zip(row["values"], row["intervals"])))
        rows.append(f"<tr><td class=l>{html.escape(row['name'])} ({row['kind']})</td>{cells}</tr>")
    histories = {r["name"]: r["metrics"].get("training", {}).get("history", []) for r in runs}
    reliability = {r["name"]: r["metrics"]["test"]["reliability"] for r in runs}
    note = "" if result["same_test_split"] else "<p><b>Note:</b> these runs do not share one test split.</p>"
    for pair in result["paired"]:
        if pair["columns"] is None:
            continue
        parts = [f"{name} {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}] {d['verdict']}"
                 for (name, _k, _h), d in zip(COLUMNS, pair["columns"]) if d and d["difference"] is not None]
        note += (f"<p>{html.escape(pair['name'])} − {html.escape(pair['against'])} (paired 95% bootstrap intervals): "
                 f"{html.escape('; '.join(parts))}</p>")
    body = ["<h1>Comparison of conversions</h1>", note,
            f"<table><tr><th class=l>run</th>{header}</tr>{''.join(rows)}</table><p>Best in each column in bold.</p>",
            f"<div class=fig>{curves_svg(histories)}</div><div class=fig>{reliability_svg(reliability)}</div>",
            "<h2>Recipes</h2>"] + [f"<h3>{html.escape(r['name'])}</h3>"
                                   f"<pre>{html.escape(json.dumps(r.get('recipe'), indent=1))}</pre>"
                                   for r in runs]
    return _write(path, "Comparison of conversions", body)


def _write(path: str | Path, title: str, body: list[str]) -> Path:
    path = Path(path)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{STYLE}</style>"
            f"</head><body>{''.join(body)}</body></html>")
    write_text_atomic(path, page)
    return path
