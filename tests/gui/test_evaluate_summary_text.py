"""The Evaluate tab's summary shows core's definitions as the words they are: an ordinal head's decision rule,
"P(y <= k) reaches 0.5", is text, not the start of a tag that swallows the rest of the line."""

from PySide6.QtGui import QTextDocument

from workbench.core.evaluate.ordinal_metrics import MEDIAN_RULE
from workbench.gui.panels.evaluate_summary import summary_html


def test_the_ordinal_decision_rule_reads_whole(qtbot):
    test = {"n": 10, "accuracy": 0.9, "macro_f1": 0.8, "brier_definition": "Brier = mean of (p - y)^2 <b>",
            "decision_rule": MEDIAN_RULE}
    doc = QTextDocument()
    doc.setHtml(summary_html({}, test, "none"))
    text = doc.toPlainText()
    assert "P(y <= k) reaches 0.5." in text and "(p - y)^2 <b>" in text


def test_auto_that_kept_the_scores_says_so_rather_than_a_change_of_zero(qtbot):
    test = {"n": 10, "accuracy": 0.9, "macro_f1": 0.8, "ece_before": 0.05, "ece": 0.05, "brier_before": 0.2,
            "brier": 0.2, "mce_before": 0.1, "mce": 0.1, "ci": {"ece": [0.03, 0.08]},
            "calibration_change": {"ece": {"low": -0.03, "high": -0.01, "within_noise": False}}}
    metrics = {"calibration": "none", "calibration_auto": {"pick": "none", "reason": "no method lowered it"}}
    doc = QTextDocument()
    doc.setHtml(summary_html(metrics, test, "auto"))
    text = doc.toPlainText()
    assert "Calibration none (chosen by auto: no method lowered it): ECE (15 bins) 0.050 [0.030, 0.080]" in text
    assert "→" not in text and "+0.000" not in text
    metrics = {"calibration": "platt", "calibration_auto": {"pick": "platt", "reason": "platt lowered it"}}
    doc.setHtml(summary_html(metrics, {**test, "ece": 0.03}, "auto"))
    assert "Calibration platt (chosen by auto: platt lowered it): ECE (15 bins) 0.050 → 0.030" in doc.toPlainText()
