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
