"""The decision step as a session command: change a run's `decide` fields (conformal level and score, class-
conditional sets, the decision policy and its costs or minimum recall, the refer band, the deployment prior or the
unlabelled file it is estimated from) and recompute its decisions. The Evaluate tab's Decisions box, the notebook
and scripts call it; the session's recipe takes the same fields, so a saved recipe reproduces what is shown."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from workbench.core.errors import RecipeError
from workbench.core.workflow.run_commands import RunJob

if TYPE_CHECKING:
    from workbench.core.workflow.pipeline import Run
    from workbench.core.workflow.session import SessionModel


def decide_fields() -> tuple[str, ...]:
    from workbench.core.recipe_decide import DecideRecipe

    return tuple(f.name for f in dataclasses.fields(DecideRecipe))


class SetDecisions(RunJob):
    """`SetDecisions(model, conformal_alpha=0.2, policy="cost", costs=(0, 1, 5, 0), run_id=None)`: the run's
    decide fields changed (checked now: RecipeError naming the field) and its decisions recomputed on its
    calibration split; with `prior_from`, the deployment prior is estimated from that file first."""

    kind = "decide"
    changes: dict[str, Any]  # dotted decide fields and their new values

    def __init__(self, session: SessionModel, run_id: str | None = None, **fields: Any) -> None:
        known = decide_fields()
        unknown = sorted(set(fields) - set(known))
        if unknown:
            raise RecipeError(f"{', '.join(unknown)} is not a decision field (those are {', '.join(known)}).",
                              "Name one of them.", field=f"decide.{unknown[0]}")
        if not fields:
            raise RecipeError("no decision field was given.", "Name at least one field to change.")
        from workbench.core.fields import coerce
        from workbench.core.recipe import FIELDS
        from workbench.core.workflow.options import implied_policy, typed_prior

        # one number for a list is the list of it; a typed prior replaces an estimate; costs alone mean the cost
        # policy
        given = implied_policy(typed_prior({f"decide.{k}": coerce(v, FIELDS[f"decide.{k}"][0])
                                            for k, v in fields.items()}))
        super().__init__(session, run_id, "Recomputing the decisions …")
        # Beginning this job cancels one still in flight (the same kind): its changes are carried, not lost.
        pending = [j for j in session.jobs if isinstance(j, SetDecisions) and j.run_id == self.run_id and not j.stale]
        self.changes = {**(pending[-1].changes if pending else {}), **given}
        recipe = self.copy.recipe.replace(**self.changes)  # a value or combination that does not fit: RecipeError
        from workbench.core.decide.decisions import check_classes

        check_classes(recipe, len(self.copy.data.classes))  # a cost matrix or prior of the wrong size
        self.estimate = "decide.prior_from" in self.changes or (
            "decide.prior_method" in self.changes and bool(recipe.decide.prior_from))

    def change(self, run: Run) -> None:
        from workbench.core.workflow.decisions import estimate_prior
        from workbench.core.workflow.pipeline import evaluate_run

        run.recipe = run.recipe.replace(**self.changes)
        if self.estimate:
            estimate_prior(run)  # records the estimate in run.recipe's decide.prior
        evaluate_run(run)

    def commit(self, result: Run) -> Run | None:
        run = super().commit(result)
        if run is not None:
            changes = dict(self.changes)
            if self.estimate:
                changes["decide.prior"] = run.recipe.decide.prior
            self.session.update(**changes)
        return run
