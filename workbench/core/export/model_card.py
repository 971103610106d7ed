"""The export's model card: README.md with Hugging Face model-card YAML front matter (`library_name`, tags,
`model-index` with each test metric and its interval) and the prose a colleague or a registry reads (label, data,
head and training, calibration, decisions, intended use and limitations, how to load it in plain PyTorch), with
the reliability and confusion figures as PNG files beside it.

Everything comes from the export's own metadata (metadata.json, metrics included), so the card says nothing the
export does not carry. The prose is a Jinja2 template whose values are escaped for Markdown (a class or column
name cannot become markup); the front matter is written here, every string JSON-quoted, which YAML reads as the
same string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.export import card_figures

if TYPE_CHECKING:
    import jinja2

CARD = "README.md"
TEMPLATE = "model_card.md.j2"
# (key in metrics.test, model-index metric type, name shown); each with its interval from test.ci when present
TEST_METRICS = (("accuracy", "accuracy", "Test accuracy"), ("macro_f1", "f1", "Test macro F1"),
                ("roc_auc", "roc_auc", "Test ROC AUC"), ("ece", "expected_calibration_error", "Test ECE"),
                ("brier", "brier_score", "Test Brier score"), ("mae_classes", "mae", "Test class-distance error"),
                ("qwk", "cohen_kappa", "Test quadratic weighted kappa"),
                ("within_one", "accuracy", "Test accuracy within one class"))
_environment: jinja2.Environment | None = None


def write_card(folder: Path, meta: dict[str, Any]) -> list[str]:
    """Write README.md and its figures into `folder` (the export's staging folder); returns the files written."""
    figures = card_figures.write_figures(folder, meta.get("metrics") or {}, list(meta.get("classes") or []))
    (folder / CARD).write_text(card_text(meta, figures), encoding="utf-8")
    return [CARD, *figures]


def card_text(meta: dict[str, Any], figures: list[str] | None = None) -> str:
    return "---\n" + _yaml(front_matter(meta)) + "---\n\n" + _environment_().get_template(TEMPLATE).render(
        **context(meta, figures or []))


def test_metrics(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Each test metric the export has: key, value and 95% interval (None where there is none)."""
    test = (meta.get("metrics") or {}).get("test") or {}
    found = []
    for key, kind, name in TEST_METRICS:
        value = test.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            ci = (test.get("ci") or {}).get(key)
            found.append({"key": key, "type": kind, "name": name, "value": float(value),
                          "ci": _interval(ci),
                          "method": (test.get("ci_methods") or {}).get(key, "bootstrap")})
    conformal = test.get("conformal") or {}
    if isinstance(conformal.get("coverage"), (int, float)):
        found.append({"key": "conformal_coverage", "type": "coverage", "value": float(conformal["coverage"]),
                      "name": f"Test coverage of the {conformal.get('confidence_level', '')} conformal sets",
                      "ci": _interval(conformal.get("coverage_ci")),
                      "method": "wilson"})
    return found


def front_matter(meta: dict[str, Any]) -> dict[str, Any]:
    """The Hugging Face card data: library, tags and model-index (the test split's metrics with intervals)."""
    metrics, recipe = meta.get("metrics") or {}, meta.get("recipe") or {}
    images = (meta.get("input_spec") or {}).get("layout") == "NCHW"
    pipeline = "image-classification" if images else "tabular-classification"
    task = str(meta.get("task", ""))
    tags = ["pytorch", "conversion-workbench", pipeline, f"{task}-classification", "calibrated-probabilities"]
    if meta.get("conformal"):
        tags.append("conformal-prediction")
    data_name = (meta.get("data") or {}).get("file") or Path(str((recipe.get("data") or {}).get("path", "data"))).name
    results = [{"type": m["type"], "name": m["name"], "value": round(m["value"], 6), "verified": False,
                **({"args": {"ci_95": [round(v, 6) for v in m["ci"]], "interval": m["method"]}} if m["ci"] else {})}
               for m in test_metrics(meta)]
    index = [{"name": model_name(meta), "results": [{
        "task": {"type": pipeline, "name": f"{task} classification"},
        "dataset": {"name": data_name, "type": data_name, "split": f"test ({(metrics.get('test') or {}).get('n')} "
                                                                    "rows, held out)"},
        "metrics": results}]}]
    return {"library_name": "pytorch", "pipeline_tag": pipeline, "tags": tags, "model-index": index}


def model_name(meta: dict[str, Any]) -> str:
    source = Path(str((meta.get("source") or {}).get("path", "model"))).stem
    label = ((meta.get("recipe") or {}).get("data") or {}).get("label", "")
    return f"{source} as a {meta.get('task', '')} classifier" + (f" of {label}" if label else "")


def context(meta: dict[str, Any], figures: list[str]) -> dict[str, Any]:
    """What the template shows, each part plain data read from the metadata."""
    from workbench.core.export import card_text

    metrics = meta.get("metrics") or {}
    return {"title": model_name(meta), "meta": meta, "metrics": metrics, "recipe": meta.get("recipe") or {},
            "label": card_text.label_lines(meta), "data": card_text.data_view(meta),
            "training": card_text.training_lines(meta), "calibration": card_text.calibration_lines(meta),
            "decisions": card_text.decision_lines(meta), "limitations": card_text.limitations(meta),
            "results": test_metrics(meta), "figures": figures, "load": card_text.load_code(meta),
            "program": meta.get("program", "model.pt2")}


def _interval(value: object) -> list[float] | None:
    """A [low, high] pair of numbers, or None (a metrics.json may hold anything there)."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return [float(value[0]), float(value[1])]
    return None


def _scalar(value: object) -> str:
    # JSON's literals are YAML's: a JSON-quoted string reads back as the same string, whatever it holds
    return json.dumps(value)


def _yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML of dicts and lists of scalars (the card data's shape)."""
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:\n" + _yaml(item, indent + 2))
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}\n")
        return "".join(lines)
    out = []
    for item in value:
        if isinstance(item, (dict, list)) and item:
            inner = _yaml(item, indent + 2)
            out.append(f"{pad}- " + inner[indent + 2:])  # the first key goes on the dash's line
        else:
            out.append(f"{pad}- {_scalar(item)}\n")
    return "".join(out)


# What Markdown would read as markup: a tag, comment, declaration or autolink ("<" then a letter, "/", "!" or "?")
# and a character reference ("&amp;", "&#39;"). Only these are escaped, so the card's text reads as written
# ("the program's output", "score <= 0.5") in a plain-text viewer as well as rendered.
_MARKUP = re.compile(r"<(?=[A-Za-z/!?])|&(?=#?\w+;)")


def markdown_text(value: Any) -> Any:
    """A value put into the card's Markdown: text that can never become markup (a value marked safe is kept)."""
    from markupsafe import Markup

    if isinstance(value, Markup) or value is None:
        return value
    return _MARKUP.sub(lambda m: {"<": "&lt;", "&": "&amp;"}[m.group()], str(value))


def _environment_() -> jinja2.Environment:
    """Jinja2 whose every value is escaped for Markdown (markdown_text), the templates shipped in
    workbench/resources/templates."""
    global _environment
    if _environment is None:
        import jinja2

        from workbench.core.export.card_text import cell, num

        _environment = jinja2.Environment(loader=jinja2.FunctionLoader(_template_source), finalize=markdown_text,
                                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                          keep_trailing_newline=True)
        filters: dict[str, Callable[..., str]] = {"num": num, "cell": cell}
        _environment.filters.update(filters)
    return _environment


def _template_source(name: str) -> str:
    from importlib.resources import files

    return files("workbench").joinpath("resources", "templates", name).read_text(encoding="utf-8")
