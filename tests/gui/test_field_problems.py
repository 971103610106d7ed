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
    reliability settings, which only a recipe file sets and which are validated when it is read, train.repeats,
    which the command line runs and the window's train job does not yet, and the decision fields, whose controls
    the Evaluate tab gets with the command layer: issue 24)."""
    shown = set(window.form.errors)
    for label in (window.data_panel.labels.label_problems, window.data_panel.columns.column_problems,
                  window.data_panel.splits.split_problems, window.model_panel.problems):
        shown |= set(label.names)
    decide = {name for name in rc.FIELDS if name.startswith("decide.")}
    assert set(rc.FIELDS) - shown == {"binning", "reliability_bins", "train.repeats"} | decide
