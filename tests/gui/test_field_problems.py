"""Every recipe problem core finds is shown beside the control that sets its field, before Train is pressed,
including fields that live on the Data and Model tabs rather than the Head & training form."""

import pytest

from workbench.core import recipe as rc


@pytest.mark.parametrize("changes, where, words", [
    ({"head.task": "binary", "data.label_mode": "bins"}, "label_problems", "Labels: quantile bins"),
    ({"data.label_mode": "threshold", "data.classes": ("a", "b")}, "label_problems", "Class order"),
    ({"data.splits": (0.7, 0.15, 0.0, 0.15), "calibration": "platt"}, "split_problems", "Splits: calibration"),
    ({"data.splits": (0.5, 0.2, 0.1, 0.1)}, "split_problems", "Splits: must be four"),
    ({"input_shape": (1 << 15, 1 << 15)}, "model_problems", "Input shape"),
])
def test_a_problem_is_shown_beside_its_field(window, changes, where, words):
    window.session.model.set_recipe(window.session.model.recipe.with_changes(**changes))
    data = window.data_panel
    label = {"label_problems": data.labels.label_problems, "split_problems": data.splits.split_problems,
             "model_problems": window.model_panel.problems}[where]
    assert not label.isHidden() and words in label.text()
    assert not window.form.train_button.isEnabled()
    window.session.model.set_recipe(rc.Recipe())
    assert label.isHidden()


def test_every_field_core_can_fault_has_a_place_in_the_window(window):
    """Each recipe field is on the form or named by one of the other tabs' problem lines (except the two
    reliability settings and the split order, which only a recipe file or a flag sets, validated when it is read).
    The decision fields are on the form's Decisions group too (and on the Evaluate tab's Decisions box, with their
    results)."""
    shown = set(window.form.errors)
    for label in (window.data_panel.labels.label_problems, window.data_panel.columns.column_problems,
                  window.data_panel.splits.split_problems, window.data_panel.inputs.input_problems,
                  window.model_panel.problems):
        shown |= set(label.names)
    assert set(rc.FIELDS) - shown == {"binning", "reliability_bins", "data.split_order"}
    assert {"train.repeats", "decide.conformal_alpha", "decide.prior_from"} <= set(window.form.widgets)


def test_decision_fields_on_the_form_set_the_recipe_and_show_its_problems(window):
    """A decision field typed on the form is the recipe's (text, lists, 0 for off), and a combination core refuses
    is said beside its field."""
    form, model = window.form, window.session.model
    form.widgets["decide.costs"].setText("0, 1, 5, 0")
    form.widgets["decide.costs"].editingFinished.emit()
    form.widgets["decide.prior_from"].setText("new.csv")
    form.widgets["decide.prior_from"].editingFinished.emit()
    form.widgets["decide.risk_epsilon"].setValue(0.05)
    form.widgets["train.repeats"].setValue(3)
    r = model.recipe
    assert (r.decide.costs, r.decide.prior_from, r.decide.risk_epsilon, r.train.repeats) == (
        (0, 1, 5, 0), "new.csv", 0.05, 3)
    form.widgets["decide.risk_epsilon"].setValue(0)
    assert model.recipe.decide.risk_epsilon is None
    model.update(**{"head.task": "multiclass", "decide.policy": "f1"})
    assert not form.errors["decide.policy"].isHidden() and not form.train_button.isEnabled()


def test_the_cannot_train_line_names_a_field_by_its_label(window, files, qtbot):
    """The Head & training footer and the Train button's tooltip name a recipe field as its control does
    ("Cost matrix: ..."), not by its dotted name ("decide.costs: ...")."""
    from .conftest import open_model_and_data

    open_model_and_data(qtbot, window, files)
    window.session.model.update(**{"decide.policy": "cost", "decide.costs": (1.0, 2.0, 3.0)})
    qtbot.waitUntil(lambda: "Cannot train" in window.form.reason.text(), timeout=5000)
    assert window.form.reason.text().startswith("Cannot train: Cost matrix: ")
    assert "decide." not in window.form.reason.text() and "decide." not in window.train_panel.train_button.toolTip()


def test_classes_remade_on_the_data_tab_say_there_that_the_prior_no_longer_fits(window, files, qtbot):
    """A prior of two shares, then three quantile bins on the Data tab: the misfit is said under the Labels
    controls that made it (and where the prior is set), not only on the Head & training form."""
    from .conftest import open_model_and_data

    open_model_and_data(qtbot, window, files)
    prior = window.form.widgets["decide.prior"]
    prior.setText("0.2, 0.8")
    prior.editingFinished.emit()
    labels = window.data_panel.labels
    assert labels.label_problems.isHidden()
    window.session.model.update(**{"data.label_mode": "bins", "data.bins": 3, "head.task": "multiclass"})
    qtbot.waitUntil(lambda: window.session.model.data is not None and len(window.session.model.data.classes) == 3,
                    timeout=10000)
    assert window.session.model.recipe.decide.prior == (0.2, 0.8)  # kept over a new class count: said here
    qtbot.waitUntil(lambda: not labels.label_problems.isHidden(), timeout=5000)
    assert labels.label_problems.text().startswith("Deployment prior (Head & training tab): ")
    window.resize(1024, 700)
    window.workspace.tabs.setCurrentWidget(window.data_panel)
    qtbot.wait(50)
    problem = labels.label_problems  # every wrapped line shown, not the last one cut off by the box
    assert problem.height() >= problem.heightForWidth(problem.width()) > 0
    assert not window.form.errors["decide.prior"].isHidden()
    prior.setText("0.2, 0.3, 0.5")
    prior.editingFinished.emit()
    assert labels.label_problems.isHidden()
