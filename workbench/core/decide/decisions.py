"""Every decision of a run from its recipe's `decide` section, fitted on its calibration split: the prior
correction, the decision policy, the conformal sets and the risk-controlled band; their test metrics (what
`metrics.json` and the Evaluate tab show) and what the export's `metadata.json` states.

A run is anything with the `RunLike` shape (pipeline.Run is one), so each function is one line in a command or a
notebook: `conformal_of(run, alpha=0.2)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from workbench.core.decide import conformal, policy, prior_shift, risk
from workbench.core.decide.notes import Note, note, warning
from workbench.core.evaluate.decision_lines import summary_lines as summary_lines  # lives below decide, for the report

if TYPE_CHECKING:
    from workbench.core.recipe import Recipe

REFERENCE_ROWS = 5000  # calibration scores kept in the export for the shift tests of `evaluate --unlabelled`


class _Data(Protocol):
    @property
    def classes(self) -> list[str]: ...

    def labels(self, split: str) -> np.ndarray: ...


class RunLike(Protocol):
    @property
    def recipe(self) -> Recipe: ...

    @property
    def threshold(self) -> float | None: ...

    @property
    def data(self) -> _Data: ...

    def probabilities(self, split: str = "test", calibrated: bool = True) -> np.ndarray: ...


@dataclass
class Decisions:
    classes: list[str]
    source_prior: np.ndarray  # the calibration split's class shares, the prior the probabilities are calibrated to
    target_prior: np.ndarray | None  # the deployment prior, when set
    policy: policy.Policy
    conformal: conformal.ConformalSets | None
    band: risk.Band | None
    reference: dict[str, Any]
    notes: list[Note] = field(default_factory=list)

    @property
    def weights(self) -> np.ndarray | None:
        return prior_shift.prior_weights(self.source_prior, self.target_prior)

    def corrected(self, probs: np.ndarray) -> np.ndarray:
        """The probabilities that are handed on: corrected for the deployment prior when one is set."""
        if self.target_prior is None:
            return probs
        return prior_shift.adjust(probs, self.source_prior, self.target_prior)

    def made(self, probs: np.ndarray) -> np.ndarray | None:
        """The export's decisions on rows of (uncorrected) calibrated probabilities where they are not the
        threshold's, the most probable class or the median: a cost matrix's, or any rule under a deployment prior;
        None otherwise, binary heads included (they decide at `decision_threshold`)."""
        if len(self.classes) == 2 or (self.policy.costs is None and self.target_prior is None):
            return None
        return self.policy.decide(self.corrected(probs))

    def metrics(self, probs: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """Test metrics of every decision on (uncorrected) test probabilities and labels: {"test": {...},
        "prior_shift": ..., "decision_notes": [...]}."""
        p, k = self.corrected(probs), len(self.classes)
        test: dict[str, Any] = {"decision_policy": {**self.policy.metadata(k),
                                                    "test": policy.evaluate(self.policy, p, y, self.classes)}}
        if self.conformal is not None:
            sets = self.conformal.sets(p)
            test["conformal"] = {**self.conformal.metadata(),
                                 **conformal.evaluate(sets, y, self.classes, self.target_prior)}
        if self.band is not None:
            test["abstention"] = {**self.band.metadata(), "calibration_curve": self.band.calibration,
                                  "test": risk.evaluate(self.band, p[:, 1], y)}
        return {"test": test, "prior_shift": self.prior_metadata(),
                "decision_notes": [n.to_dict() for n in self.notes]}

    def prior_metadata(self) -> dict[str, Any] | None:
        if self.target_prior is None:
            return None
        out: dict[str, Any] = {"source_prior": self.source_prior.tolist(), "prior": self.target_prior.tolist(),
                               "weights": np.asarray(self.weights).tolist(),
                               "correction": "p'[k] = p[k] * weights[k] / sum_j p[j] * weights[j] (Saerens et al. "
                                             "2002); the program's probabilities are corrected already"}
        t, w = self.policy.threshold, self.weights
        if t is not None and w is not None and len(self.classes) == 2:
            out["threshold_before_correction"] = before_correction(t, w)
        return out

    @property
    def decision_threshold(self) -> float | None:
        """Binary: the threshold on the calibrated probabilities (before any prior correction) at which the run
        decides as its export does; None for other heads. See `decision_threshold(run)`."""
        return uncorrected_threshold(self.policy, self.weights) if len(self.classes) == 2 else None

    def metadata(self) -> dict[str, Any]:
        """The export's decision keys; `decision_threshold` and `decision_rule` keep their earlier meaning."""
        k = len(self.classes)
        return {"decision_policy": {**self.policy.metadata(k), "prior_corrected": self.target_prior is not None},
                "decision_threshold": self.policy.threshold if k == 2 else None,
                "decision_rule": self.policy.rule(k),
                "conformal": None if self.conformal is None else self.conformal.metadata(),
                "abstention": None if self.band is None else self.band.metadata(),
                "prior_shift": self.prior_metadata(), "shift_reference": self.reference}


def check_classes(recipe: Recipe, n_classes: int) -> None:
    """The decision fields that depend on the class count (the cost matrix, the prior), checked before training
    so a wrong count is not found after it; raises RecipeError naming the field."""
    c = recipe.decide
    if c.policy == "cost":
        policy.cost_matrix(c.costs, n_classes)
    if c.prior:
        prior_shift.normalise_prior(c.prior, n_classes)


def fit_decisions(run: RunLike, **changes: Any) -> Decisions:
    """The run's decisions under its recipe's `decide` fields, with `changes` (e.g. conformal_alpha=0.2) applied
    on top for exploring; raises RecipeError for a bad combination."""
    recipe = run.recipe.replace(**{f"decide.{k}": v for k, v in changes.items()}) if changes else run.recipe
    c = recipe.decide
    classes = list(run.data.classes)
    k = len(classes)
    y, source, target, p = _calibration_split(run, recipe)
    notes: list[Note] = []
    fitted_policy = _fit_policy(run, recipe, p, y, source, target)
    sets = band = None
    if not len(y):
        notes.append(warning("decide.no_calibration", "there is no calibration split, so there are no conformal "
                             "sets and no risk-controlled band.", "data.splits"))
    else:
        sets = conformal.fit(p, y, c.conformal_alpha, c.conformal_method, c.class_conditional,
                             prior_shift.prior_weights(source, target),
                             ordinal=run.recipe.head.task == "ordinal")
        notes += conformal.calibration_notes(y, k, c.conformal_alpha, c.class_conditional, classes)
        if c.risk_epsilon is not None and k == 2:
            band = risk.fit(p[:, 1], y, c.risk_epsilon, c.risk_delta, fitted_policy.threshold or 0.5, recipe.seed)
            notes += list(band.notes)
            if target is not None:
                notes.append(note("abstention.prior", "the band's guarantee holds for cases with the calibration "
                                  "split's class shares; with the deployment prior the error among decided cases "
                                  "is estimated, not guaranteed.", "decide.risk_epsilon"))
    return Decisions(classes, source, target, fitted_policy, sets, band, reference(p, y, target, source), notes)


def _calibration_split(run: RunLike, recipe: Recipe
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """(labels, their class shares, the deployment prior or None, the probabilities corrected to it)."""
    c, k = recipe.decide, len(run.data.classes)
    probs, y = run.probabilities("cal"), np.asarray(run.data.labels("cal"), np.int64)
    source = prior_shift.class_prior(y, k)
    target = prior_shift.normalise_prior(c.prior, k) if c.prior else None
    return y, source, target, prior_shift.adjust(probs, source, target) if target is not None else probs


def _fit_policy(run: RunLike, recipe: Recipe, p: np.ndarray, y: np.ndarray, source: np.ndarray,
                target: np.ndarray | None) -> policy.Policy:
    c, weights = recipe.decide, prior_shift.prior_weights(source, target)
    return policy.fit(c.policy, p, y, run.threshold, c.costs, c.min_recall, None if weights is None else weights[y],
                      ordinal=run.recipe.head.task == "ordinal")


def fit_policy(run: RunLike) -> policy.Policy:
    """The run's decision policy alone, fitted on its calibration split (no sets, no band): the decisions its
    export states, on the probabilities it hands on (corrected to the deployment prior when one is set)."""
    return _policy_and_weights(run)[0]


def _policy_and_weights(run: RunLike) -> tuple[policy.Policy, np.ndarray | None]:
    """The run's fitted policy and its prior weights (deployment prior / calibration split's shares, or None)."""
    y, source, target, p = _calibration_split(run, run.recipe)
    return _fit_policy(run, run.recipe, p, y, source, target), prior_shift.prior_weights(source, target)


def decision_threshold(run: RunLike) -> float | None:
    """The run's decision threshold, the one definition that every report of a binary run's decisions reads
    (metrics.json `test.threshold` and the accuracy, F1 and confusion matrix computed at it, the test rows Compare
    pairs, `test_samples`, the Evaluate tab's slider): the threshold on the run's calibrated probabilities, before
    any prior correction, at which it decides as its export does under its decision policy (`threshold`: the
    run's own threshold, 0.5 unless moved). None for other heads."""
    if len(run.data.classes) != 2:
        return None
    if run.recipe.decide.policy == "threshold" and not run.recipe.decide.prior:  # nothing to fit, nothing to correct
        return 0.5 if run.threshold is None else float(run.threshold)
    return uncorrected_threshold(*_policy_and_weights(run))


def uncorrected_threshold(fitted: policy.Policy, weights: np.ndarray | None) -> float:
    """Binary: the threshold on the uncorrected p(positive) at which `fitted` (a policy on the probabilities
    corrected by the prior `weights`) decides."""
    return before_correction(0.5 if fitted.threshold is None else fitted.threshold, weights)


def corrected_threshold(run: RunLike, threshold: float) -> float:
    """The run's own threshold (which the `threshold` policy applies to the probabilities it hands on, corrected to
    its deployment prior) that decides as `threshold` does on its calibrated probabilities before the correction,
    the scale `test.threshold` and the Evaluate tab's slider show: what a threshold the user sets is stored as."""
    _, source, target, _ = _calibration_split(run, run.recipe)
    return after_correction(threshold, prior_shift.prior_weights(source, target))


def before_correction(threshold: float, weights: np.ndarray | None) -> float:
    """The threshold on the uncorrected p(positive) that makes the decisions `threshold` makes on the probability
    corrected by the prior `weights` (the correction is monotone in p)."""
    if weights is None:
        return float(threshold)
    t, w = float(threshold), weights
    return float(t * w[0] / (t * w[0] + (1 - t) * w[1]))


def after_correction(threshold: float, weights: np.ndarray | None) -> float:
    """The inverse of `before_correction`: the threshold on the corrected p(positive) that makes the decisions
    `threshold` makes on the uncorrected one."""
    if weights is None:
        return float(threshold)
    t, w = float(threshold), weights
    return float(t * w[1] / (t * w[1] + (1 - t) * w[0]))


def reference(probs: np.ndarray, y: np.ndarray, target: np.ndarray | None, source: np.ndarray) -> dict[str, Any]:
    """What `evaluate --unlabelled` compares new scores with: calibration scores (at most REFERENCE_ROWS, a seeded
    sample) and labels, the prior the handed-on probabilities assume, and the calibration split's joint
    distribution of decision and class (for black-box shift estimation)."""
    k = probs.shape[1]
    keep = np.sort(np.random.default_rng(0).permutation(len(y))[:REFERENCE_ROWS])
    joint = np.zeros((k, k))
    np.add.at(joint, (probs.argmax(1), y), 1.0)
    return {"score": "p(positive)" if k == 2 else "the top probability",
            "scores": np.round(prior_shift.score_summary(probs[keep]), 6).tolist() if len(y) else [],
            "labels": y[keep].tolist(), "prior": (source if target is None else target).tolist(),
            "joint": (joint / max(len(y), 1)).tolist()}


def conformal_of(run: RunLike, alpha: float | None = None, method: str | None = None,
                 class_conditional: bool | None = None) -> dict[str, Any]:
    """Test coverage, set sizes, per-class coverage and the size histogram at another level or score (the
    Evaluate tab's control), without changing the run."""
    changes = {k: v for k, v in (("conformal_alpha", alpha), ("conformal_method", method),
                                 ("class_conditional", class_conditional)) if v is not None}
    dec = fit_decisions(run, **changes)
    return dict(dec.metrics(run.probabilities("test"), run.data.labels("test"))["test"].get("conformal", {}))


def abstention_of(run: RunLike, epsilon: float, delta: float | None = None) -> dict[str, Any]:
    """The band certified at error target `epsilon` (binary), with the coverage-vs-error curves."""
    changes: dict[str, Any] = {"risk_epsilon": epsilon} | ({"risk_delta": delta} if delta is not None else {})
    dec = fit_decisions(run, **changes)
    return dict(dec.metrics(run.probabilities("test"), run.data.labels("test"))["test"].get("abstention", {}))


def policy_of(run: RunLike, name: str, costs: tuple[float, ...] = (), min_recall: float | None = None
              ) -> dict[str, Any]:
    """The policy `name` fitted on the calibration split and scored on the test split (threshold, rule, test
    confusion matrix): what the confusion matrix and the ROC curve mark."""
    changes: dict[str, Any] = {"policy": name, "costs": tuple(costs)}
    if min_recall is not None:
        changes["min_recall"] = min_recall
    dec = fit_decisions(run, **changes)
    return dict(dec.metrics(run.probabilities("test"), run.data.labels("test"))["test"]["decision_policy"])

