"""The Evaluate tab's "Calibration & checks" box: which calibration `auto` chose and why (core's reason and its
cross-validated scores), core's advice before a many-parameter calibration, the ECE with its debiased value and
what its interval covers, whether training beat the no-training baseline (core's verdict, with an offer to fit the
baseline when it lost), and the spread over training seeds when the run was repeated. Every number and verdict is
core's (`run.metrics`, `calibration_check.advice`, the Baseline command); this box only formats them."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from workbench.core.errors import for_window

from .. import theme
from .notes import notes_html

VERDICT_COLOURS = {**theme.VERDICTS, "mixed": "warning"}  # theme colour names



def rich_label(name: str) -> QLabel:
    """A selectable, wrapping rich-text label named `name` (what these boxes show core's results in)."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def calibration_html(metrics: dict) -> str:
    """What calibration the run applied and, under auto, which method it chose and why, with each candidate's
    cross-validated Brier score on the calibration split."""
    applied, asked = metrics.get("calibration", "none"), metrics.get("calibration_requested")
    auto = metrics.get("calibration_auto") or {}
    if asked != "auto" or not auto:
        return f"Calibration <b>{html.escape(str(applied))}</b> (chosen by hand)."
    text = (f"Calibration <b>auto</b> chose <b>{html.escape(auto['pick'])}</b>: "
            f"{html.escape(auto.get('reason', ''))}.")
    scored = [f"{html.escape(c['method'])} {c['cv_brier']:.4f}" for c in auto.get("candidates", []) if "cv_brier" in c]
    skipped = [f"{html.escape(c['method'])}: {html.escape(c['skipped'])}" for c in auto.get("candidates", [])
               if c.get("skipped")]
    if scored:
        text += (f"<br><span style='color:{theme.colour('muted')}'>Cross-validated Brier "
                 f"({auto.get('folds', 0)} folds, "
                 f"{auto.get('n_cal', '?')} calibration rows): {' · '.join(scored)}"
                 + (f"; {'; '.join(skipped)}" if skipped else "") + "</span>")
    return text


def ece_html(test: dict) -> str:
    """The binned ECE with its interval, the debiased estimate, and what a perfectly calibrated model shows."""
    if "ece" not in test:
        return ""
    ci = test.get("ci", {}).get("ece")
    text = f"ECE <b>{test['ece']:.3f}</b>" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
    if test.get("ece_debiased") is not None:
        text += f" · debiased <b>{max(test['ece_debiased'], 0.0):.3f}</b>"
    found = test.get("ece_if_calibrated")
    if found:
        text += (f" · a perfectly calibrated model shows about {found['mean']:.3f} (up to {found['high']:.3f}) on "
                 "these rows")
    if test.get("ece_interval_covers"):
        text += (f"<br><span style='color:{theme.colour('muted')}'>The interval covers "
                 f"{html.escape(test['ece_interval_covers'])}.</span>")
    return text


def baseline_html(check: dict) -> str:
    """Core's verdict on trained against the no-training baseline, with each metric's paired interval."""
    if not check:
        return ""
    if not check.get("applies"):
        reason = html.escape(for_window(check.get("reason", "not scored")))  # core's words, less the CLI's flag
        return f"<span style='color:{theme.colour('muted')}'>Baseline check: {reason}.</span>"
    verdict = check["verdict"]
    question = {"better": "yes", "worse": "no", "mixed": "not on every metric", "within noise": "not measurably"}
    parts = [f"{name.replace('_', ' ')} {m['trained']:.3f} vs {m['baseline']:.3f} ({m['difference']:+.3f} "
             f"[{m['low']:+.3f}, {m['high']:+.3f}], {m['verdict']})" for name, m in check["metrics"].items()]
    colour = theme.colour(VERDICT_COLOURS.get(verdict, "muted"))
    return (f"Did training beat no training? <b style='color:{colour}'>{question.get(verdict, verdict)}</b> "
            f"({html.escape(verdict)}; {check['split']} split, {check['n']} rows, {html.escape(check['interval'])})"
            f"<br>{' · '.join(parts)}")


def repeats_html(repeats: dict | None) -> str:
    """The test metrics' mean, standard deviation and range over the training seeds of a repeated run."""
    if not repeats or repeats.get("k", 1) < 2:
        return ""
    parts = [f"{name.replace('_', ' ')} {repeats['mean'][name]:.3f} ± {repeats['sd'][name]:.3f} "
             f"[{repeats['min'][name]:.3f}, {repeats['max'][name]:.3f}]" for name in repeats["mean"]]
    return (f"Over {repeats['k']} training seeds ({', '.join(map(str, repeats['seeds']))}; mean ± sd [min, max]): "
            + " · ".join(parts) + f"<br><span style='color:{theme.colour('muted')}'>The spread covers "
            f"{html.escape(repeats.get('covers', 'training seeds'))}; the first seed's run is the one shown and "
            "exported.</span>")


def advice_notes(run) -> list:
    """Core's notes on this run's calibration, and its advice on the many-parameter methods before they are
    chosen (multiclass platt and matrix on a small calibration split)."""
    from workbench.core.evaluate.calibration_check import advice

    check = run.metrics.get("calibration_check") or {}
    found = list(check.get("notes", []))  # core's typed advice is among the notes already
    if run.recipe.head.task == "multiclass":
        n_cal = len(run.data.labels("cal"))
        for method in ("platt", "matrix"):
            found += [n for n in advice(method, "multiclass", len(run.data.classes), n_cal) if n not in found]
    return found


USE_BASELINE_TIP = ("Training did not beat the regression output, Platt-calibrated: fit that baseline as a run of "
                    "its own (it trains nothing) and show it here.")

class ChecksBox(QGroupBox):
    """Calibration & checks for the current run."""

    def __init__(self, session, parent=None):
        super().__init__("Calibration && checks", parent)
        self.setObjectName("checksBox")
        self.session = session
        self.calibration = rich_label("autoCalibration")
        self.advice = rich_label("calibrationAdvice")
        self.ece = rich_label("eceDebiased")
        self.baseline = rich_label("baselineVerdict")
        self.repeats = rich_label("repeatsSpread")
        self.use_baseline = QPushButton("Fit the baseline and pick it")
        self.use_baseline.setObjectName("useBaseline")
        self.use_baseline.setToolTip(USE_BASELINE_TIP)
        self.use_baseline.clicked.connect(self._on_use_baseline)
        self.use_baseline.setAccessibleDescription(self.use_baseline.toolTip())
        offer = QHBoxLayout()
        offer.addWidget(self.baseline, 1)
        offer.addWidget(self.use_baseline, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        for widget in (self.calibration, self.advice, self.ece):
            layout.addWidget(widget)
        layout.addLayout(offer)
        layout.addWidget(self.repeats)
        session.run_changed.connect(self._on_run_changed)
        session.busy_changed.connect(lambda _b: self._offer_baseline(self.session.model.run))  # only it changes
        self._on_run_changed(session.model.run)

    def _on_run_changed(self, run) -> None:
        self.setVisible(run is not None)
        if run is None:
            return
        m = run.metrics
        self.calibration.setText(calibration_html(m))
        notes = advice_notes(run)
        self.advice.setText(notes_html(notes, "warning", "Note: "))
        self.advice.setVisible(bool(notes))
        self.ece.setText(ece_html(m["test"]))
        self.baseline.setText(baseline_html(m.get("baseline_check") or {}))
        self._offer_baseline(run)
        self.repeats.setText(repeats_html(m.get("repeats")))
        self.repeats.setVisible(bool(self.repeats.text()))

    def _offer_baseline(self, run) -> None:
        """The offer to fit the baseline, shown when training lost to it, enabled when a baseline can start now."""
        lost = run is not None and (run.metrics.get("baseline_check") or {}).get("verdict") in ("worse", "mixed")
        self.use_baseline.setVisible(lost)
        if lost:
            why_not = self._why_no_baseline()
            self.use_baseline.setEnabled(not why_not)
            self.use_baseline.setToolTip(why_not[:1].upper() + why_not[1:] if why_not else USE_BASELINE_TIP)

    def _why_no_baseline(self) -> str:
        """Core's reason the baseline cannot be fitted now ("" when it can)."""
        from workbench.core.workflow.run_commands import baseline_problem

        exc = baseline_problem(self.session.model)
        return "" if exc is None else self.session.model.describe_problem(exc)  # the window's words, no flag

    def _on_use_baseline(self) -> None:
        from workbench.core.errors import WorkbenchError
        from workbench.core.workflow.run_commands import Baseline

        try:
            job = Baseline(self.session.model)
        except WorkbenchError as exc:
            self.use_baseline.setToolTip(self.session.model.describe_problem(exc))
            return
        self.session.model.start(job)
