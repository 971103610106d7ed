"""The decision step as a session command: SetDecisions changes a run's decide fields and the session's recipe,
recomputes the decisions core computes (the same as fit from scratch), refuses what does not fit the run (typed,
naming the field), carries the changes of a job it replaces, and summary_lines says what is handed on."""

import pytest

from workbench.core.decide.decisions import conformal_of, policy_of, summary_lines
from workbench.core.errors import RecipeError
from workbench.core.workflow import journey
from workbench.core.workflow.decision_commands import SetDecisions
from workbench.core.workflow.run_commands import Train


@pytest.fixture
def session(tutorial_ckpt, table_csv, models_py):
    from workbench.core.recipe import Recipe

    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold",
                                 "model_source": f"{models_py}:TinyRegressor", "train.epochs": 3,
                                 "data.splits": (0.5, 0.1, 0.25, 0.15)})
    model = journey.open_session(tutorial_ckpt, recipe, False, None)
    Train(model).run()
    return model


def test_set_decisions_changes_the_run_and_the_recipe(session):
    run = session.run
    before = run.metrics["test"]["conformal"]
    expected = conformal_of(run, alpha=0.3)
    SetDecisions(session, conformal_alpha=0.3).run()
    assert session.run is run  # the live run, changed in place
    assert run.recipe.decide.conformal_alpha == 0.3 and session.recipe.decide.conformal_alpha == 0.3
    after = run.metrics["test"]["conformal"]
    assert after["alpha"] == 0.3 and after["coverage"] == expected["coverage"]
    assert after["mean_set_size"] <= before["mean_set_size"]

    SetDecisions(session, policy="cost", costs=(0, 1, 5, 0)).run()
    assert run.metrics["test"]["decision_policy"] == {**policy_of(run, "cost", (0, 1, 5, 0))}
    assert run.metrics["test"]["decision_policy"]["threshold"] == pytest.approx(1 / 6)
    lines = summary_lines(run)
    assert any(line.startswith("Decision policy cost") for line in lines)
    assert any("Conformal sets: LAC at level 70%" in line for line in lines)
    assert summary_lines(run.metrics) == lines


@pytest.mark.parametrize("fields, field", [({"policy": "cost", "costs": (0, 1, 5)}, "decide.costs"),
                                           ({"conformal_alpha": 1.5}, "decide.conformal_alpha"),
                                           ({"prior": (0.2, 0.3, 0.5)}, "decide.prior"),
                                           ({"alpha": 0.2}, "decide.alpha")])
def test_what_does_not_fit_the_run_is_refused_naming_its_field(session, fields, field):
    with pytest.raises(RecipeError) as found:
        SetDecisions(session, **fields)
    assert found.value.field == field
    assert session.run.recipe.decide.policy == "threshold"


def test_a_replaced_job_s_changes_are_carried(session):
    first = SetDecisions(session, conformal_alpha=0.25)
    session.begin_job(first)
    second = SetDecisions(session, risk_epsilon=0.3)
    session.begin_job(second)
    assert first.stale
    second.deliver(second.work())
    run = session.run
    assert run.recipe.decide.conformal_alpha == 0.25 and run.recipe.decide.risk_epsilon == 0.3
    assert run.metrics["test"]["abstention"]["epsilon"] == 0.3


def test_the_notebook_decides_through_the_same_command(session):
    from workbench.core.workflow.notebook import RunView

    view = RunView(session, session.current)
    assert view.decide(conformal_method="aps", class_conditional=True) is view
    sets = view.metrics["test"]["conformal"]
    assert sets["method"] == "aps" and sets["class_conditional"]
