"""The Evaluate tab's summary as rich text: each metric with its bootstrap interval, each calibration change with
its paired interval and verdict, the definitions, and the calibration check's notes."""

from __future__ import annotations

import html

from workbench.core.evaluate.uncertainty import INTERVALS
from workbench.core.evaluate.verdicts import calibration_verdict

from .. import theme
from .notes import notes_html


def _ci(test: dict, key: str, live: bool) -> str:
    """The value in bold and its 95% interval; while the threshold slider moves the interval is stale."""
    ci = None if live else test.get("ci", {}).get(key)
    interval = f" <span style='color:{theme.colour('muted')}'>[{ci[0]:.3f}, {ci[1]:.3f}]</span>" if ci else ""
    return f"<b>{test[key]:.3f}</b>" + interval


def _change(test: dict, key: str) -> str:
    """Before → after, and core's verdict on the change (`verdicts.calibration_verdict`) with its interval."""
    found = calibration_verdict(test, key)
    if found is None:
        return ""
    text = f"{found['before']:.3f} → <b>{found['after']:.3f}</b>"
    if found["verdict"] is None:
        return text
    verdict = f"<span style='color:{theme.colour(theme.VERDICTS[found['verdict']])}'>{found['verdict']}</span>"
    return text + f" ({found['difference']:+.3f}, 95% CI [{found['low']:+.3f}, {found['high']:+.3f}], {verdict})"


def summary_html(metrics: dict, test: dict, method: str, live: bool = False) -> str:
    """The Evaluate tab's summary: each metric with its bootstrap interval, each calibration change with its
    paired interval and verdict, the definitions, and the calibration check's notes."""
    auc = ""
    if "roc_auc" in test:
        name = "ROC AUC" if test.get("roc_auc_definition", "ROC AUC") == "ROC AUC" else "one-vs-rest macro AUC"
        auc = f" · {name} {_ci(test, 'roc_auc', live)}"
    lines = [f"Test set ({test['n']} samples; {INTERVALS}, in grey): accuracy "
             f"{_ci(test, 'accuracy', live)} · macro F1 {_ci(test, 'macro_f1', live)}{auc}"]
    applied = metrics.get("calibration", method)  # what auto chose, where the recipe says auto
    reason = (metrics.get("calibration_auto") or {}).get("reason") if method == "auto" else None
    how = f" (chosen by auto: {html.escape(reason)})" if reason else ""
    bins = f"ECE ({test.get('ece_bins', 15)} bins)"
    if "ece_before" in test and applied != "none":
        lines.append(f"Calibration <b>{applied}</b>{how}: {bins} {_change(test, 'ece')} · "
                     f"Brier {_change(test, 'brier')} · MCE {test['mce_before']:.3f} → <b>{test['mce']:.3f}</b>")
    elif "ece_before" in test:  # the scores as trained: no change to show
        lines.append(f"Calibration <b>none</b>{how}: {bins} {_ci(test, 'ece', live)} · "
                     f"Brier {_ci(test, 'brier', live)}")
    if "brier_definition" in test:
        # core's words are plain text: an ordinal rule's "P(y <= k)" would otherwise open a tag and end the line
        lines.append(f"<span style='color:{theme.colour('muted')}'>{html.escape(test['brier_definition'])}. "
                     f"Decision: {html.escape(test['decision_rule'])}.</span>")
    notes = metrics.get("calibration_check", {}).get("notes", [])
    if notes:  # strings read back from a session file are taken as warnings, as they were written
        lines.append(notes_html(notes, "warning", "Note: "))
    return "<br>".join(lines)
