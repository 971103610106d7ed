"""The command line's lines for the decision step: the summary of a run's decisions, and what `workbench evaluate`
reports on an export's decisions for labelled rows and, with --unlabelled, for rows without labels (computed by
core: `workflow.evaluate_data`)."""

from __future__ import annotations

import argparse


def decision_lines(metrics: dict) -> list[str]:
    """The decision step's summary (issue 24): the exported policy, the conformal sets, the band, the prior."""
    t = metrics.get("test", {})
    lines = []
    policy = t.get("decision_policy")
    if policy:
        scored = policy.get("test", {})
        lines.append(f"decision policy {policy['policy']}: {policy['rule']}"
                     + (f"; test accuracy {scored['accuracy']:.3f}" if scored.get("accuracy") is not None else "")
                     + (f", mean cost {scored['mean_cost']:.3f}" if "mean_cost" in scored else ""))
    sets = t.get("conformal")
    if sets and sets.get("coverage") is not None:
        ci, size_ci = sets.get("coverage_ci") or [0, 0], sets.get("mean_set_size_ci") or [0, 0]
        lines.append(f"conformal sets ({sets['method'].upper()}, alpha {sets['alpha']:g}"
                     + (", class-conditional" if sets["class_conditional"] else "") + f"): test coverage "
                     f"{sets['coverage']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}], mean set size {sets['mean_set_size']:.2f} "
                     f"[{size_ci[0]:.2f}, {size_ci[1]:.2f}]")
    band = t.get("abstention")
    if band:
        scored = band["test"]
        error = "no case decided" if scored["error"] is None else f"error among decided {scored['error']:.3f}"
        lines.append(f"{_band_text(band)} for error <= {band['epsilon']:g} at {1 - band['delta']:.0%} confidence: "
                     f"test decided {scored['coverage']:.3f}, {error}")
    shift = metrics.get("prior_shift")
    if shift:
        lines.append("deployment prior " + ", ".join(f"{c} {v:.3f}" for c, v in zip(metrics["classes"],
                                                                                     shift["prior"]))
                     + f" (calibration split: {', '.join(f'{v:.3f}' for v in shift['source_prior'])}); probabilities "
                     "and thresholds corrected")
    for found in metrics.get("decision_notes", []):
        lines.append(f"{_kind(found)}: {found['text']}")
    return lines


def add_unlabelled_option(e: argparse.ArgumentParser) -> None:
    e.add_argument("--unlabelled", help="unlabelled rows from where the model is used (a table with its features, "
                                        "an .npz with X): report their estimated class prevalence and whether their "
                                        "scores still look like the calibration split's")


def decision_report_lines(found: dict) -> list[str]:
    """evaluate's lines on the export's decisions: the policy it states, conformal coverage, the refer band."""
    policy = found["decision_policy"]
    lines = [f"decision policy {policy['policy']} ({policy['rule']}): accuracy {policy['accuracy']:.3f}, balanced "
             f"accuracy {policy['balanced_accuracy']:.3f}" + (f", mean cost {policy['mean_cost']:.3f}"
                                                               if "mean_cost" in policy else "")]
    sets = found.get("conformal")
    if sets and sets["coverage"] is not None:
        ci = sets["coverage_ci"]
        lines.append(f"conformal sets (alpha {sets['alpha']:g}): coverage {sets['coverage']:.3f} [{ci[0]:.3f}, "
                     f"{ci[1]:.3f}] (target {1 - sets['alpha']:.2f}), mean set size {sets['mean_set_size']:.2f}; "
                     "per class: " + ", ".join(f"{c} {v['coverage']:.2f}" for c, v in
                                               sets["per_class_coverage"].items() if v["coverage"] is not None))
    band = found.get("abstention")
    if band:
        error = "none decided" if band["error"] is None else f"error among decided {band['error']:.3f}"
        lines.append(f"{_band_text(band)}: decided {band['coverage']:.3f}, {error} (target {band['epsilon']:g})")
    return lines


def shift_lines(found: dict) -> list[str]:
    lines = []
    if found.get("estimated_prior"):
        classes = found["classes"]
        for method, name in (("em", "EM (Saerens et al.)"), ("bbse", "BBSE (Lipton et al.)")):
            estimate = found["estimated_prior"][method]
            lines.append(f"{found['n']} unlabelled rows, prevalence by {name}: "
                         + ", ".join(f"{c} {v:.3f}" for c, v in zip(classes, estimate["prior"]))
                         + ("" if estimate.get("reliable", True) else " (UNRELIABLE, see the warning below)"))
        mean = found["estimated_prior"]["em"].get("mean_probability")
        if mean:
            lines.append("mean predicted probability: " + ", ".join(f"{c} {v:.3f}" for c, v in zip(classes, mean)))
        lines.append("calibration split: " + ", ".join(f"{c} {v:.3f}" for c, v in
                                                       zip(classes, found["calibration_prior"])))
        assumed = found.get("program_prior") or found["calibration_prior"]
        if any(abs(a - b) > 5e-4 for a, b in zip(assumed, found["calibration_prior"])):
            lines.append("the export's probabilities are corrected to its deployment prior: "
                         + ", ".join(f"{c} {v:.3f}" for c, v in zip(classes, assumed)))
        tests = found["exchangeability"]
        lines.append(f"scores against the calibration split ({tests['test']}): p = {tests['plain']['p_value']:.3g} "
                     f"as they are, p = {tests['label_shift']['p_value']:.3g} after the estimated change of class "
                     "shares")
    lines += [f"{_kind(n)}: {n['text']}" for n in found.get("notes", [])]
    return lines


def _band_text(band: dict) -> str:
    if band["lower"] >= band["upper"]:
        return "refer band empty (every case decided)"
    if band["lower"] <= 0 and band["upper"] > 1:
        return "no band certified (every case referred)"
    return f"refer band [{band['lower']:.3f}, {band['upper']:.3f})"


def _kind(note: dict) -> str:
    return "note" if note["kind"] == "info" else note["kind"]
