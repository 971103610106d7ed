"""Recipe fields by the names a person types: the `convert` options' names with underscores (`--lr` -> `lr`,
`--reliability-binning` -> `reliability_binning`), checked by the fields' own descriptions.

The notebook API takes these as keyword arguments; a value that does not fit its field is a RecipeError that
names the option as it was typed.
"""

from __future__ import annotations

from typing import Any

from workbench.core import fields as F
from workbench.core.errors import RecipeError

# Options that are not one recipe field each: labels from a threshold or bins, and the model's own settings.
LABELS = ("threshold", "bins")


def option_names() -> dict[str, str]:
    """{option name: dotted recipe field} for every field that has a command-line option."""
    from workbench.core.recipe import FIELDS

    out = {}
    for name, (_kind, spec) in FIELDS.items():
        if spec.flag is None:
            continue
        flag = spec.flag or "--" + name.rpartition(".")[2].replace("_", "-")
        out[flag[2:].replace("-", "_")] = name
    return out


def implied_task(cut: str, task: str) -> str:
    """The task labels cut from a number call for, from the current `task`: a threshold makes two classes (a
    binary head); bins make several, so a binary head becomes multiclass and an ordinal or multiclass one stays."""
    if cut == "threshold":
        return "binary"
    return "multiclass" if task == "binary" else task


def recipe_changes(options: dict[str, Any], task: str = "binary") -> dict[str, Any]:
    """Dotted recipe changes for `options` (option names); `threshold=` and `bins=` also choose the label mode and,
    unless `task=` is among them, the task they make: a threshold a binary head, bins a multiclass head where the
    current `task` is binary (an ordinal or multiclass task is kept). Unknown names and values that do not fit are
    RecipeErrors naming the option."""
    from workbench.core.recipe import FIELDS

    names = option_names()
    changes: dict[str, Any] = {}
    cuts = [o for o in ("threshold", "bins") if o in options]
    if len(cuts) > 1:
        raise RecipeError("threshold= makes two classes and bins= several; give one of them, not both.",
                          "Drop one of them.", field="data.label_mode")
    if cuts and "task" not in options:
        changes["head.task"] = implied_task(cuts[0], task)
    for option, value in options.items():
        if option == "threshold":
            changes |= {"data.label_mode": "threshold",
                        "data.threshold": None if value in (None, "median") else value}
            option, field = "threshold", "data.threshold"
            value = changes[field]
        elif option == "bins":
            changes["data.label_mode"] = "bins"
            field = "data.bins"
        elif option in names:
            field = names[option]
        else:
            close = sorted(n for n in names if n.startswith(option[:3]))[:6]
            raise RecipeError(f"there is no option {option!r}.",
                              "Options are the `workbench convert` flags with underscores"
                              + (f", e.g. {', '.join(close)}." if close else "."), field=None)
        kind, spec = FIELDS[field]
        value = F.coerce(list(value) if isinstance(value, (list, tuple)) else value, kind)
        why = F.check(field, value, kind, spec)
        if why:
            raise RecipeError(f"{option}={value!r} {why}.", "Give it another value.", field=field)
        changes[field] = value
    return implied_policy(typed_prior(changes))


def typed_prior(changes: dict[str, Any]) -> dict[str, Any]:
    """A deployment prior typed replaces an estimate: `decide.prior` without `decide.prior_from` clears the file,
    whose estimate would otherwise replace the typed shares at the next run without a word; the two in one change
    are refused (the notebook's options and the window's decision fields; the command line words its own)."""
    if changes.get("decide.prior") and changes.get("decide.prior_from"):
        raise RecipeError("prior and prior_from both set the deployment prior: prior states the class shares, "
                          "prior_from estimates them from unlabelled rows and would replace prior.",
                          "Give one of them.", field="decide.prior",
                          gui="Type the class shares in Deployment prior, or choose a file of unlabelled rows to "
                              "estimate them from, not both.")
    if changes.get("decide.prior") and "decide.prior_from" not in changes:
        return {**changes, "decide.prior_from": ""}
    return changes


def implied_policy(changes: dict[str, Any]) -> dict[str, Any]:
    """A cost matrix given without a decision policy means the cost policy: costs under the threshold policy were
    kept in the recipe and decided nothing, without a word (the notebook's options, SetDecisions, --costs)."""
    if changes.get("decide.costs") and "decide.policy" not in changes:
        return {**changes, "decide.policy": "cost"}
    return changes
