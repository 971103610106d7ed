"""What an export of one run will write, said before it is written: the run's name, its calibration and the check
of it, the decision the program's metadata states (the binary threshold the Evaluate tab's slider left, or the
policy that chose one), the conformal level and the risk band when set, the prior correction, ONNX or not, and the
folder. The Export dialog shows these lines; the decisions are fitted exactly as the export fits them
(`decide.decisions.fit_decisions`), so the threshold said is the `decision_threshold` written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.core.decide.decisions import fit_decisions
from workbench.core.evaluate.verdicts import change_text
from workbench.core.workflow.session import SessionModel


def export_summary(model: SessionModel, run_id: str | None = None, folder: str | Path | None = None,
                   onnx: bool = False) -> list[str]:
    """Plain-text lines (no markup) saying what exporting run `run_id` (the current run when None) writes."""
    entry = model.entry(run_id if run_id is not None else model.current)
    if entry is None:
        return ["No run is picked: pick one in the Run list above the tabs."]
    run = entry.run
    if run is None:
        return [f"Run {entry.name}: {entry.note or 'not live'}; it cannot be exported."]
    lines = [f"Run: {entry.name}"]
    lines.append(calibration_line(run.metrics))
    lines += decision_lines(run)
    lines.append("ONNX: model.onnx too, checked against these probabilities" if onnx else
                 "ONNX: not written (model.pt2 and the weights only)")
    if folder is not None:
        lines.append(f"Folder: {Path(folder).expanduser()}")
    return lines


def calibration_line(metrics: dict[str, Any]) -> str:
    """'Calibration: temperature (chosen by auto: …); test ECE 0.061 -> 0.034 (…, better)'."""
    method = metrics.get("calibration", "none")
    requested = metrics.get("calibration_requested", method)
    auto = metrics.get("calibration_auto") or {}
    how = f" (chosen by auto: {auto['reason']})" if requested == "auto" and auto.get("reason") else ""
    test = metrics.get("test", {})
    check = change_text(test, "ece")
    check_part = f"; test ECE {check}" if check and method != "none" else ""
    worse = (metrics.get("calibration_check") or {}).get("worse")
    warn = "; the cross-validated check found it worse than none" if worse else ""
    return f"Calibration: {method}{how}{check_part}{warn}"


def decision_lines(run: Any) -> list[str]:
    """The decisions written into metadata.json, fitted on the calibration split as the export fits them."""
    decisions = fit_decisions(run)
    meta = decisions.metadata()
    policy = meta["decision_policy"]
    k = len(run.data.classes)
    lines = []
    if k == 2:
        t = meta["decision_threshold"]
        positive = run.data.classes[1]
        shift = meta["prior_shift"]
        if shift is None:
            lines.append(f"Decision threshold: {t:.3g} (class '{positive}' when its probability is at least "
                         f"{t:.3g}), written as decision_threshold")
        else:  # the export's threshold is on the corrected probabilities; the slider's is before the correction
            lines.append(f"Decision threshold: {t:.3g} on the probabilities corrected to the deployment prior (class "
                         f"'{positive}' when its corrected probability is at least {t:.3g}), written as "
                         f"decision_threshold; {shift['threshold_before_correction']:.3g} before the correction, "
                         "as the Evaluate tab's threshold shows")
    lines.append(f"Decision policy: {policy['policy']}: {policy['chosen']}" + (
        f" ({policy['calibration_value']:.3f} there)" if policy.get("calibration_value") is not None else ""))
    if policy.get("costs") is not None:
        lines.append(f"Costs (rows are the true class, columns the decision): {policy['costs']}")
    c = run.recipe.decide
    if meta["conformal"] is not None:
        level = 1 - c.conformal_alpha
        lines.append(f"Conformal sets: level {level:.0%} (alpha {c.conformal_alpha:g}), {c.conformal_method}"
                     + (", one threshold per class" if c.class_conditional else "")
                     + ("" if c.conformal_alpha != 0.1 else " (the default level)"))
    if meta["abstention"] is not None:
        lines.append(f"Refer band: errors among decided cases at most {c.risk_epsilon:g} "
                     f"with confidence {1 - c.risk_delta:.0%}")
    if meta["prior_shift"] is not None:
        prior = ", ".join(f"{name} {share:.3f}" for name, share in zip(run.data.classes, meta["prior_shift"]["prior"]))
        lines.append(f"Deployment prior: {prior}; the program's probabilities are corrected for it")
    return lines
