"""The decisions an export states (its metadata.json), applied to the probabilities its program gives on new
rows: what `workbench evaluate` reports, on labelled rows (the policy's scores, conformal coverage, the band's
error among decided) and on unlabelled ones (the estimated prevalence and the shift tests). Exports written before
these keys simply have fewer sections."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.core.decide import conformal, policy, prior_shift, risk
from workbench.core.decide.notes import Note, warning


def export_policy(meta: dict[str, Any]) -> policy.Policy:
    """The decision policy an export states, or its older `decision_threshold`."""
    stated = meta.get("decision_policy") or {}
    costs = stated.get("costs")
    threshold = stated.get("threshold", meta.get("decision_threshold"))
    return policy.Policy(str(stated.get("policy", "threshold")), None if threshold is None else float(threshold),
                         None if costs is None else np.asarray(costs, dtype=np.float64),
                         ordinal=meta.get("task") == "ordinal")


def export_sets(meta: dict[str, Any]) -> conformal.ConformalSets | None:
    stated = meta.get("conformal")
    if not stated:
        return None
    thresholds = np.array([np.inf if t is None else float(t) for t in stated["thresholds"]])
    return conformal.ConformalSets(stated["method"], float(stated["alpha"]), bool(stated["class_conditional"]),
                                   thresholds, int(stated.get("n_calibration", 0)),
                                   ordinal=bool(stated.get("contiguous", False)))


def export_band(meta: dict[str, Any]) -> risk.Band | None:
    stated = meta.get("abstention")
    if not stated:
        return None
    return risk.Band(float(stated["epsilon"]), float(stated["delta"]), 0.5, None, float(stated["lower"]),
                     float(stated["upper"]), {})


def labelled_report(meta: dict[str, Any], probs: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """On labelled rows: the stated policy's scores, the conformal sets' coverage and sizes, and the band's share
    decided and error among decided."""
    classes = list(meta["classes"])
    fitted = export_policy(meta)
    out: dict[str, Any] = {"decision_policy": {"policy": fitted.name, "rule": fitted.rule(len(classes)),
                                               **policy.evaluate(fitted, probs, y, classes)}}
    sets = export_sets(meta)
    if sets is not None:
        out["conformal"] = {"alpha": sets.alpha, "method": sets.method, "class_conditional": sets.class_conditional,
                            **conformal.evaluate(sets.sets(probs), y, classes)}
    band = export_band(meta)
    if band is not None and probs.shape[1] == 2:
        decision = band.decide(probs[:, 1])
        decided = decision >= 0
        errors = int((decision[decided] != y[decided]).sum())
        from workbench.core.decide.notes import proportion_interval

        out["abstention"] = {"epsilon": band.epsilon, "delta": band.delta, "lower": band.lower, "upper": band.upper,
                             "decided": int(decided.sum()), "coverage": float(decided.mean()) if len(y) else None,
                             "error": errors / int(decided.sum()) if decided.any() else None,
                             "error_ci": proportion_interval(errors, int(decided.sum()))}
    return out


def shift_report(meta: dict[str, Any], probs: np.ndarray) -> tuple[dict[str, Any], list[Note]]:
    """On unlabelled rows: the prevalence estimated by EM and by black-box shift estimation against the prior the
    program's probabilities assume, and whether the new scores are exchangeable with the calibration split's."""
    ref = meta.get("shift_reference")
    classes = list(meta["classes"])
    if not ref or not ref.get("scores"):
        return {}, [warning("shift.no_reference", "this export keeps no calibration scores (it predates them, or had "
                                                  "no calibration split), so only the EM estimate is given.")]
    source = np.asarray(ref["prior"], dtype=np.float64)
    em = prior_shift.estimate("em", probs, source)
    bbse = prior_shift.estimate("bbse", probs, prior_shift.class_prior(np.asarray(ref["labels"]), len(classes)),
                                joint=np.asarray(ref["joint"]))
    labels = np.asarray(ref["labels"], dtype=np.int64)
    calibration = prior_shift.class_prior(labels, len(classes))
    tests, notes = prior_shift.exchangeability(np.asarray(ref["scores"]), labels, prior_shift.score_summary(probs),
                                               calibration, np.asarray(em["prior"]))
    # the calibration split's class shares, and those the program's probabilities assume: the same unless the
    # export corrects its probabilities to a deployment prior
    report = {"n": int(len(probs)), "classes": classes,
              "calibration_prior": calibration.tolist(),
              "program_prior": source.tolist(), "estimated_prior": {"em": em, "bbse": bbse}, "exchangeability": tests}
    for found, other in ((em, bbse), (bbse, em)):
        why = prior_shift.unreliable_text(found, classes)
        if why:  # said plainly, with what to do instead: convert refuses to apply such an estimate
            fix = ("give the prior with --prior, or estimate it with --prior-method bbse" if found is em and
                   other["reliable"] else "give the prior with --prior (or label some of these rows)")
            notes.append(warning(f"shift.{found['method']}_unreliable", f"{why} Do not apply it: {fix}."))
    return report, notes
