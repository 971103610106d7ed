"""Which of the recipe's fields do nothing under its other choices (an ordinal head's kind for a softmax task, the
focal loss's gamma for cross-entropy, ...): the window greys them with the reason, rather than letting a user set
a value that is silently ignored. The loss each task trains with is decided here too (train.losses builds it)."""

from __future__ import annotations

from workbench.core.recipe import Recipe, TrainRecipe


def loss_name(train: TrainRecipe, task: str) -> str:
    """The loss a task trains with: an ordinal head's own, else the recipe's (auto: bce or cross_entropy)."""
    if task == "ordinal":
        return "ordinal"  # the head's own loss (recipe problems refuse any other)
    if train.loss != "auto":
        return train.loss
    return "bce" if task == "binary" else "cross_entropy"


def unused_fields(recipe: Recipe) -> dict[str, str]:
    """{field: why it does nothing now} for the fields the recipe's task and loss ignore."""
    task, loss = recipe.head.task, loss_name(recipe.train, recipe.head.task)
    out = {}
    if task != "ordinal":
        out["head.ordinal"] = "used by an ordinal task only (Task: ordinal)"
    if task != "binary" or loss not in ("bce", "focal"):
        out["train.pos_weight"] = "used by a binary head's bce or focal loss only"
    if loss != "cross_entropy":
        out["train.label_smoothing"] = "used by the cross-entropy loss of a multiclass head only"
    if loss != "focal":
        out["train.focal_gamma"] = "used by the focal loss only (Loss: focal)"
    mode = recipe.data.label_mode
    if mode != "bins":
        out["data.bins"] = "used by quantile-bin labels only"
    if mode != "threshold":
        out["data.threshold"] = "used by threshold labels only"
    c = recipe.decide
    if c.policy != "precision_at_recall":
        out["decide.min_recall"] = "used by the precision_at_recall decision policy only (Decision policy)"
    if c.policy != "cost":
        out["decide.costs"] = "used by the cost decision policy only (Decision policy: cost)"
    if c.risk_epsilon is None:
        out["decide.risk_delta"] = "used when uncertain cases are referred (Error target among decided)"
    if task == "ordinal" and recipe.train.loss == "auto":  # another loss stays open, to be set back to auto
        out["train.loss"] = "an ordinal head trains with its own kind's loss (CORAL's, CORN's, the multinomial's or " \
                            "the histogram's)"
    return out


# Fields some of whose choices the head's task rules out (a loss, a calibration, a threshold policy for one task)
RULED_BY_TASK = ("calibration", "train.loss", "decide.policy", "head.ordinal")  # head.ordinal: by the labels


def refused_choices(recipe: Recipe, field: str) -> dict[str, str]:
    """{choice: why not} for the choices of `field` (one of RULED_BY_TASK) that the head's task rules out (matrix
    calibration for a binary head): the window disables them in the field's list. The rule is `recipe.problems`,
    asked of the recipe with that choice."""
    from workbench.core.recipe import FIELDS, problems

    if field not in RULED_BY_TASK:  # elsewhere a problem means "not finished yet" (custom needs its values)
        return {}
    spec = FIELDS[field][1]
    current = recipe.get(field)
    before = {reason for name, reason in problems(recipe) if name == field}
    out = {}
    for choice in spec.choices or ():
        if choice == current:
            continue
        found = [reason for name, reason in problems(recipe.with_changes(**{field: choice}))
                 if name == field and reason not in before]
        if found:
            out[str(choice)] = found[0]
    return out
