"""What a run hands on beyond its probabilities, in plain lines: the decision policy and its rule, the conformal
sets with their test coverage, the refer band, the deployment prior and the decision step's notes, read from the
run's metrics. Here, below `decide`, so the report (this layer) can say them; `decide.decisions.summary_lines` is
the same function."""

from __future__ import annotations

from typing import Any


def summary_lines(run: Any) -> list[str]:
    """Plain-text lines (no markup) saying what a run hands on beyond its probabilities: the decision policy and its
    rule, the conformal sets with their test coverage, the refer band, the deployment prior, and the decision step's
    notes. `run`: a pipeline run, or its metrics dict. For the Export dialog, the report and the window."""
    metrics = run if isinstance(run, dict) else run.metrics
    test, classes = metrics.get("test", {}), list(metrics.get("classes", []))
    lines = []
    policy = test.get("decision_policy")
    if policy:
        value = policy.get("calibration_value")
        lines.append(f"Decision policy {policy['policy']}: {policy['chosen']}"
                     + (f" ({value:.3f} there)" if value is not None else "") + f"; {policy['rule']}")
    sets = test.get("conformal")
    if sets and sets.get("coverage") is not None:
        low, high = sets.get("coverage_ci") or (sets["coverage"], sets["coverage"])
        lines.append(f"Conformal sets: {sets['method'].upper()} at level {1 - sets['alpha']:.0%} (alpha "
                     f"{sets['alpha']:g})" + (", one threshold per class" if sets["class_conditional"] else "")
                     + (", ranges of ordered classes" if sets.get("contiguous") else "")
                     + f"; test coverage {sets['coverage']:.3f} [{low:.3f}, {high:.3f}], mean set size "
                     f"{sets['mean_set_size']:.2f}")
    band = test.get("abstention")
    if band:
        scored = band["test"]
        if not band["certified"]:
            where = "no band certified: every case is referred"
        elif band["lower"] >= band["upper"]:
            where = "the band is empty: every case is decided"
        else:
            where = f"refer p(positive) in [{band['lower']:.3f}, {band['upper']:.3f})"
        error = "none decided" if scored["error"] is None else f"error among decided {scored['error']:.3f}"
        lines.append(f"Refer band for error <= {band['epsilon']:g} at {1 - band['delta']:.0%} confidence: {where}; "
                     f"test: {scored['coverage']:.0%} decided, {error}")
    shift = metrics.get("prior_shift")
    if shift:
        named = ", ".join(f"{c} {v:.3f}" for c, v in zip(classes, shift["prior"]))
        found = shift.get("estimate") or ({} if isinstance(run, dict) else getattr(run, "prior_estimate", {}) or {})
        lines.append(f"Deployment prior {named} (calibration split: "
                     + ", ".join(f"{v:.3f}" for v in shift["source_prior"]) + ")"
                     + (f", estimated by {found.get('method', 'EM')} from {found['from']}" if found.get("from") else "")
                     + "; probabilities and thresholds corrected")
        lines += [f"Note: {text}" for text in found.get("notes", [])]  # rows of the prior's file left out
    for found_note in metrics.get("decision_notes", []):
        lines.append(f"{'Note' if found_note['kind'] == 'info' else found_note['kind'].capitalize()}: "
                     f"{found_note['text']}")
    return lines
