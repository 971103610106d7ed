"""The decision step's recipe section (see core/decide): conformal sets, the decision policy, the risk-controlled
band and the class-prior shift. Its own module so that recipe.py stays one screenful per section."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.core.fields import describe

CONFORMAL_METHODS = ("lac", "aps")
POLICIES = ("threshold", "f1", "balanced_accuracy", "youden", "precision_at_recall", "cost")
PRIOR_METHODS = ("em", "bbse")


@dataclass(frozen=True)
class DecideRecipe:
    """How probabilities become what is handed on; fitted on the calibration split (see core/decide). The
    defaults keep the decisions of earlier versions: the run's threshold, no abstention, no prior shift."""

    conformal_alpha: float = field(default=0.1, metadata=describe(
        "Conformal alpha", "conformal prediction sets hold the true class with probability at least 1 - alpha",
        low=0, high=1, low_open=True, high_open=True, flag="--conformal-alpha", group="Decisions", decimals=3,
        step=0.05))
    conformal_method: str = field(default="lac", metadata=describe(
        "Conformal score", "lac: 1 - p(class), the smallest sets; aps: cumulative probability, sets that adapt "
                           "to how hard a case is", choices=CONFORMAL_METHODS, flag="--conformal-method",
        group="Decisions"))
    class_conditional: bool = field(default=False, metadata=describe(
        "Class-conditional sets", "one conformal threshold per class (Mondrian), so each class is covered at the "
                                  "level, not only on average; needs more calibration rows",
        group="Decisions"))
    policy: str = field(default="threshold", metadata=describe(
        "Decision policy", "what the export decides: threshold: the run's threshold (binary) or the most probable "
                           "class; f1, balanced_accuracy, youden, precision_at_recall: the binary threshold that "
                           "maximises it on the calibration split; cost: the least expected cost under the cost "
                           "matrix", choices=POLICIES, flag="--decision-policy",
        group="Decisions"))
    min_recall: float = field(default=0.9, metadata=describe(
        "Minimum recall", "precision_at_recall: the least recall of the positive class", low=0, high=1,
        high_open=False, low_open=True, group="Decisions", decimals=3, step=0.05))
    costs: tuple[float, ...] = field(default=(), metadata=describe(
        "Cost matrix", "cost policy: K x K costs, row by row (row: true class, column: decision), e.g. 0,1,5,0 "
                       "for a missed positive five times worse than a false alarm", low=-1e9, high=1e9,
        group="Decisions"))
    risk_epsilon: float | None = field(default=None, metadata=describe(
        "Error target among decided", "binary: refer cases in a band around the threshold so that the error rate "
                                      "among decided cases is at most this (off when not given)", low=0, high=1,
        low_open=True, high_open=True, group="Decisions", decimals=3, step=0.01, none_label="off"))
    risk_delta: float = field(default=0.1, metadata=describe(
        "Risk confidence delta", "the error target holds with probability at least 1 - delta", low=0, high=1,
        low_open=True, high_open=True, group="Decisions", decimals=3, step=0.05))
    prior: tuple[float, ...] = field(default=(), metadata=describe(
        "Deployment prior", "the classes' shares where the model will be used, in class order (binary: the "
                            "positive share alone may be given); probabilities and thresholds are corrected for it",
        # a share of 0 (or a binary share of 1) would never decide that class: strictly inside (0, 1)
        low=0, high=1, low_open=True, high_open=True, group="Decisions"))
    prior_from: str = field(default="", metadata=describe(
        "Unlabelled data for the prior", "a table or .npz of unlabelled rows from where the model will be used; the "
                                         "deployment prior is estimated from it (the run's recipe records the "
                                         "estimate in prior)", group="Decisions"))
    prior_method: str = field(default="em", metadata=describe(
        "Prior estimator", "em: Saerens et al.'s EM on the calibrated probabilities; bbse: black-box shift "
                           "estimation from the decisions' confusion matrix", choices=PRIOR_METHODS,
        group="Decisions"))


def policies_for(binary: bool) -> tuple[str, ...]:
    """The decision policies a head takes: the named objectives pick a binary threshold."""
    return POLICIES if binary else ("threshold", "cost")


def decide_problems(c: DecideRecipe, binary: bool, splits: tuple[float, ...], ordinal: bool = False
                    ) -> list[tuple[str, str]]:
    """Combinations of the decision fields (the class count is checked when the run has its classes); `ordinal`:
    the head is ordinal, whose plain decision is its median class, not the most probable one."""
    out = []
    if c.policy not in policies_for(binary):
        head = "an ordinal head takes threshold (the median class)" if ordinal else \
            "a multiclass head takes threshold (the most probable class)"
        out.append(("decide.policy", f"picks a binary threshold; {head} or cost"))
    if c.policy == "cost" and (not c.costs or round(len(c.costs) ** 0.5) ** 2 != len(c.costs)
                               or (binary and len(c.costs) != 4)):
        out.append(("decide.costs", "must hold K x K costs for the cost policy, row by row (4 for a binary head)"))
    if c.risk_epsilon is not None and not binary:
        out.append(("decide.risk_epsilon", "refers cases of a binary head only"))
    if c.prior and abs(sum(c.prior) - 1) > 1e-3 and not (binary and len(c.prior) == 1):
        out.append(("decide.prior", "must be class shares summing to 1"))
    if splits[2:3] == (0.0,) and (c.risk_epsilon is not None or c.policy not in ("threshold", "cost")):
        out.append(("data.splits", "the decision step is fitted on the calibration split; give it a fraction "
                                   "above 0"))
    return out
