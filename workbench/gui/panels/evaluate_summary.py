"""The Evaluate tab's summary as rich text: each metric with its bootstrap interval, each calibration change with
its paired interval and verdict, the definitions, and the calibration check's notes."""

from __future__ import annotations


def _ci(test: dict, key: str, live: bool) -> str:
    """The value in bold and its 95% interval; while the threshold slider moves the interval is stale."""
    ci = None if live else test.get("ci", {}).get(key)
    return f"<b>{test[key]:.3f}</b>" + (f" <span style='color:#666'>[{ci[0]:.3f}, {ci[1]:.3f}]</span>" if ci else "")


def _change(test: dict, key: str) -> str:
    change = test.get("calibration_change", {}).get(key)
    text = f"{test[key + '_before']:.3f} → <b>{test[key]:.3f}</b>"
    if not change:
        return text
    delta = test[key] - test[key + "_before"]
    if change["within_noise"]:
        verdict = "<span style='color:#666'>within noise</span>"
    else:
        verdict = "<span style='color:#b00020'>worse</span>" if change["low"] > 0 else \
            "<span style='color:#1a7f37'>better</span>"
    return text + f" ({delta:+.3f}, 95% CI [{change['low']:+.3f}, {change['high']:+.3f}], {verdict})"


def summary_html(metrics: dict, test: dict, method: str, live: bool = False) -> str:
    """The Evaluate tab's summary: each metric with its bootstrap interval, each calibration change with its
    paired interval and verdict, the definitions, and the calibration check's notes."""
    auc = ""
    if "roc_auc" in test:
        name = "ROC AUC" if test.get("roc_auc_definition", "ROC AUC") == "ROC AUC" else "one-vs-rest macro AUC"
        auc = f" · {name} {_ci(test, 'roc_auc', live)}"
    lines = [f"Test set ({test['n']} samples; 95% bootstrap intervals in grey): accuracy "
             f"{_ci(test, 'accuracy', live)} · macro F1 {_ci(test, 'macro_f1', live)}{auc}"]
    if "ece_before" in test:
        lines.append(f"Calibration <b>{method}</b>: ECE ({test.get('ece_bins', 15)} bins) {_change(test, 'ece')} · "
                     f"Brier {_change(test, 'brier')} · MCE {test['mce_before']:.3f} → <b>{test['mce']:.3f}</b>")
    if "brier_definition" in test:
        lines.append(f"<span style='color:#666'>{test['brier_definition']}. Decision: {test['decision_rule']}."
                     "</span>")
    for note in metrics.get("calibration_check", {}).get("notes", []):
        lines.append(f"<span style='color:#8a5a00'>Note: {note[:1].upper() + note[1:]}</span>")
    return "<br>".join(lines)
