"""The session's rules about the data's choices, each once, for the window, the command line and a notebook: the
features that count as ticked, the label mode's reaction, the task a class column calls for (a 3- or 10-class
label proposes multiclass), the loss weights an imbalance calls for (and when they are applied), and which layers
may be frozen. Mixed into `SessionModel`; every method reads or changes the session through its recipe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.core.recipe import Recipe

DATA_STATE = ("recipe", "raw", "columns", "table", "data", "data_problem", "data_exception", "auto_task",
              "task_applied", "auto_labels", "labels_applied", "_source")
MAX_PROPOSED_CLASSES = 50  # more distinct values than this is a number to cut, not a class column
SKEW = 1.5  # the largest class outnumbering the smallest by more than this is an imbalance worth weighting


# Fields that speak of the old data's classes (their shares, costs, weights): another table or folder's classes are
# other classes, so these go back to their defaults with it (a prior of 0.3 once moved another problem's decisions)
CLASS_FIELDS = ("decide.prior", "decide.prior_from", "decide.costs", "train.class_weights", "train.pos_weight")


def class_choices_reset(recipe: Recipe) -> dict[str, Any]:
    """The changes that put CLASS_FIELDS back to their defaults (and a cost policy, which has no costs then)."""
    from workbench.core.recipe import Recipe

    default = Recipe()
    out = {name: default.get(name) for name in CLASS_FIELDS}
    if recipe.decide.policy == "cost":
        out["decide.policy"] = default.decide.policy
    return out


@dataclass(frozen=True)
class TaskProposal:
    """The head's task a class column calls for: `task`, why (`reason`), and whether it was applied already."""

    task: str
    reason: str
    applied: bool


@dataclass(frozen=True)
class BalanceProposal:
    """Train-split class counts, the loss weights proposed for them ({} when balanced) and whether they are in use."""

    counts: list[int]
    weights: dict[str, Any]
    in_use: bool


class SessionRules:
    """What `SessionModel` decides about the data's choices (see the module's docstring)."""

    recipe: Recipe
    columns: Any
    table: Any
    data: Any
    inspection: Any
    auto_balance: bool
    auto_task: bool
    task_applied: str
    auto_labels: bool
    labels_applied: str
    unparsed: dict[str, str]

    if TYPE_CHECKING:  # SessionModel's own
        events: Any

        def update(self, **changes: Any) -> None: ...

        def model_shape(self) -> tuple[int, ...] | None: ...

        def split_counts(self) -> dict[str, list[int]]: ...

        def blockers(self) -> list[str]: ...

    # ----- features and label mode
    def ticked_features(self) -> list[str]:
        """The features the Data tab shows ticked: the recipe's (less the label), or the defaults for the label and
        the model's input width when the recipe names none."""
        d = self.recipe.data
        if d.features:
            return [f for f in d.features if f != d.label]
        if self.columns is None:
            return []
        shape = self.model_shape()
        return list(self.columns.default_features(d.label, int(shape[0]) if shape and len(shape) == 1 else None))

    def set_label_mode(self, mode: str) -> None:
        """Labels from the class column, a threshold or bins; a cut (threshold, bins) has its own order, so a class
        column's order is dropped with it. Bins under a binary head the user did not choose make it multiclass
        (K classes: the same rule as a class column's count, and as `bins=` and --bins)."""
        from workbench.core.workflow.options import implied_task

        self.auto_labels, self.labels_applied = False, ""  # the user's choice: no median cut replaces it
        changes: dict[str, Any] = {"data.label_mode": mode}
        if mode != "column":
            changes["data.classes"] = ()
        several = implied_task("bins", self.recipe.head.task)  # (a threshold's binary is propose_task's, below)
        if mode == "bins" and self.auto_task and several != self.recipe.head.task:
            changes["head.task"] = self.task_applied = several
        self.update(**changes)

    # ----- a read that failed leaves the data read before (a notebook's read_data)
    def data_state(self) -> dict[str, Any]:
        """What reading data changes: the recipe, the file's columns, the table, the prepared data, the task rule."""
        return {k: getattr(self, k) for k in DATA_STATE}

    def restore_data_state(self, state: dict[str, Any]) -> None:
        """Back to `data_state()`'s moment, announced as a read would announce it."""
        for key, value in state.items():
            setattr(self, key, value)
        for event, value in (("recipe", self.recipe), ("raw", state["raw"]), ("table", self.table),
                             ("data", self.data)):
            getattr(self.events, event).emit(value)

    def same_columns(self, columns: Any) -> bool:
        """Whether a newly read table has exactly the columns of the one open (its ticks then still mean the
        same columns, so they are kept)."""
        return self.columns is not None and columns is not None and list(self.columns.names) == list(columns.names)

    # ----- the task a class column calls for
    def task_proposal(self) -> TaskProposal | None:
        """A class column with more than two classes under a binary head: multiclass is proposed (and applied by
        `propose_task` while `auto_task` is on: the window's default, until the user chooses a task)."""
        r = self.recipe
        if self.table is None or r.data.label_mode != "column":
            return None
        k = self.class_count()
        if r.head.task == "binary" and 2 < k <= MAX_PROPOSED_CLASSES:
            return TaskProposal("multiclass", f"the label column '{r.data.label}' has {k} classes, and a binary head "
                                              "takes two", False)
        if self.task_applied and r.head.task == self.task_applied and k > 2:
            return TaskProposal(self.task_applied, f"the label column '{r.data.label}' has {k} classes", True)
        return None

    def class_count(self) -> int:
        """How many distinct values the open table's label column holds, counted once per column read (a
        relabel asks for it twice; np.unique on a large column is not free)."""
        assert self.table is not None
        target, cached = self.table.target, getattr(self, "_class_count_of", None)
        if cached is None or cached[0] is not target:
            cached = self._class_count_of = (target, len(_distinct(target)))
        return int(cached[1])

    def propose_task(self) -> bool:
        """Apply the proposed task while `auto_task` is on (the user has not chosen one); True when applied."""
        found = self.task_proposal()
        d = self.recipe.data
        two = d.label_mode == "threshold" or (d.label_mode == "column" and self.class_count() == 2)
        applied = self.task_applied and self.recipe.head.task == self.task_applied
        if found is None and two and self.auto_task and applied:
            self.task_applied = ""  # the labels are two classes again (a threshold, a two-class column): back
            self.update(**{"head.task": "binary"})
            return True
        if found is None or found.applied or not self.auto_task:
            return False
        self.task_applied = found.task
        self.update(**{"head.task": found.task})
        return True

    def continuous_label(self) -> bool:
        """Whether the open table's label column is a continuous number (more distinct values than a class column
        is taken to have), which labels must cut: the regression target a converted model was trained on."""
        target = None if self.table is None or self.table.pixels else self.table.target
        return target is not None and target.dtype.kind == "f" and self.class_count() > MAX_PROPOSED_CLASSES

    def propose_labels(self) -> bool:
        """While `auto_labels` is on (the user has not chosen how labels are made), a continuous label column under
        class-column labels is cut at its median, binary (`labels_anew` undoes it for another column). True when the
        labels were changed."""
        d = self.recipe.data
        if not self.auto_labels or self.table is None:
            return False
        if d.label_mode == "column" and self.continuous_label():
            self.labels_applied = (f"the label column '{d.label}' holds {self.class_count()} distinct numbers, a "
                                   "continuous target")
            self.update(**{"data.label_mode": "threshold", "data.threshold": None, "data.classes": ()})
            return True
        return False

    def blockers_in_words(self) -> list[str]:
        """`blockers()` with each recipe field named by its control's label ("Cost matrix: ..."), as the window
        says them; `blockers()` keeps the dotted names that commands filter on."""
        from workbench.core.recipe import FIELDS

        out = []
        for found in self.blockers():
            name, sep, reason = found.partition(": ")
            out.append(f"{FIELDS[name][1].label}: {reason}" if sep and name in FIELDS else found)
        return out

    def set_label_threshold(self, value: float | None) -> None:
        """The user's threshold (None: the median): the labels are the user's own from now on, so no note says the
        median cut was the workbench's."""
        self.auto_labels, self.labels_applied = False, ""
        self.update(**{"data.threshold": value})

    def labels_anew(self) -> dict[str, Any]:
        """Another label column (or file): the median cut that `propose_labels` made is undone, so that a class
        column is read as its values (and a continuous one is cut again)."""
        if not self.labels_applied:
            return {}
        self.labels_applied = ""
        return {"data.label_mode": "column", "data.threshold": None}

    def choose_task(self, task: str) -> None:
        """The user's choice of task: no proposal replaces it from now on."""
        self.auto_task = False
        self.task_applied = ""
        self.update(**{"head.task": task})

    # ----- fields set one at a time (the form's), and what keeps training from starting
    def set_field(self, field: str, value: Any) -> None:
        """One recipe field set by the user: loss weights typed by hand stop auto balance, and a task chosen is the
        user's (no class column's count replaces it)."""
        if field in ("train.pos_weight", "train.class_weights"):
            self.set_weights(**{field.partition(".")[2]: value})
        elif field == "head.task":
            self.choose_task(value)
        else:
            self.update(**{field: value})

    def set_field_text(self, field: str, text: str) -> bool:
        """A field typed as text (a list of numbers): set when it reads; when it does not, the recipe keeps its
        value and the field's problem blocks training until the field reads or the recipe changes (the field then
        shows the recipe's value again). True when it read."""
        from workbench.core.fields import parse_text
        from workbench.core.recipe import FIELDS

        try:
            value = parse_text(text, FIELDS[field][0])
        except ValueError as exc:
            self.unparsed[field] = str(exc)
            self.events.recipe.emit(self.recipe)  # the recipe is unchanged; what blocks training is not
            return False
        had, before = self.unparsed.pop(field, None), self.recipe
        self.set_field(field, value)
        if had is not None and self.recipe is before:  # the value the recipe had: its problem is gone all the same
            self.events.recipe.emit(self.recipe)
        return True

    def field_problems(self) -> list[tuple[str, str]]:
        """(field, problem) for the recipe's own problems, the fields typed as text that did not read, and the
        decision fields that do not fit the data's class count (a cost matrix, a deployment prior): each keeps
        training from starting, and the form shows each beside its field; one problem a field."""
        from workbench.core.errors import RecipeError, for_window
        from workbench.core.recipe import problems

        # a field showing text that does not read is judged by that text, not by the value the recipe kept
        found = [(n, why) for n, why in problems(self.recipe) if n not in self.unparsed] + list(self.unparsed.items())
        if self.data is not None:
            from workbench.core.decide.decisions import check_classes
            from workbench.core.workflow.ordinal_choice import histogram_bins

            def keep(exc: RecipeError, said: str) -> None:
                if all(name != exc.field for name, _ in found):  # one problem a field: the recipe's own first
                    found.append((exc.field or "decide", said))

            try:
                check_classes(self.recipe, len(self.data.classes))
            except RecipeError as exc:
                keep(exc, str(exc))
            try:  # a histogram head on bins with nothing finer inside them
                histogram_bins(self.recipe, self.data)
            except RecipeError as exc:
                keep(exc, f"{exc.problem} {for_window(exc.fix)}")
        return found

    # ----- loss weights for imbalanced classes
    def balance_proposal(self, skew: float = SKEW) -> BalanceProposal | None:
        """The train split's class counts, the loss weights proposed for them and whether they are in use; None
        without data."""
        from workbench.core.train.losses import imbalance_proposal

        if self.data is None:
            return None
        counts = self.split_counts()["train"]
        weights = imbalance_proposal(counts, self.recipe.head.task, skew=skew) or {}
        t = self.recipe.train
        in_use = bool(weights) and weights.get("pos_weight") == t.pos_weight and \
            tuple(weights.get("class_weights", ())) == tuple(t.class_weights)
        return BalanceProposal(list(counts), weights, in_use)

    def apply_balance(self, skew: float = SKEW) -> None:
        """Use the proposed weights (none when the classes are balanced within `skew`)."""
        found = self.balance_proposal(skew)
        if found is not None:
            self.update(**{"train.pos_weight": found.weights.get("pos_weight"),
                           "train.class_weights": tuple(found.weights.get("class_weights", ()))})

    def set_auto_balance(self, on: bool) -> None:
        """Auto balance: the proposal follows every data change; off clears the weights."""
        self.auto_balance = on
        if on:
            self.apply_balance()
        else:
            self.update(**{"train.pos_weight": None, "train.class_weights": ()})

    def set_weights(self, **weights: Any) -> None:
        """Hand-typed loss weights (`pos_weight`, `class_weights`) are the user's: auto balance stops, or the
        next data change would replace them."""
        self.auto_balance = False
        self.update(**{f"train.{k}": v for k, v in weights.items()})

    def after_data(self) -> None:
        """The reaction to new labels: the proposed weights follow while auto balance is on."""
        if self.auto_balance and self.data is not None:
            self.apply_balance()

    # ----- freezing
    def freezable(self) -> list[str]:
        """The layers a user may freeze one by one (or freeze up to): those with parameters inside the body, not
        the model itself nor the head it replaces."""
        return [] if self.inspection is None else list(self.inspection.freezable())


def _distinct(target: Any) -> list[Any]:
    import numpy as np

    values = np.asarray(target)
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    return list(np.unique(values))
