"""Freeze checkboxes reach training; a saved recipe reproduces the run; opening another model mid-run."""

import pytest
import torch
from PySide6.QtCore import Qt

from .conftest import open_model_and_data, start_long_training
from .test_journey import _tree_rows


def _train(window, qtbot):
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    return window.session.model.run


def test_freeze_checkbox_keeps_those_weights(window, files, qtbot):
    open_model_and_data(qtbot, window, files)
    window.form.widgets["train.epochs"].setValue(3)
    _tree_rows(window.model_panel.tree)["body.0"].setCheckState(5, Qt.Checked)
    assert window.session.model.recipe.head.frozen_layers == ("body.0",)
    run = _train(window, qtbot)
    original = window.session.model.loaded.model
    assert torch.equal(run.model.body[0].weight, original.body[0].weight)
    assert not run.model.body[0].weight.requires_grad


def test_saved_recipe_reproduces_the_run(window, files, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    open_model_and_data(qtbot, window, files)
    window.form.widgets["train.epochs"].setValue(4)
    window.form.widgets["head.dropout"].setValue(0.2)
    first = _train(window, qtbot).metrics["test"]
    path = tmp_path / "recipe.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    window.save_recipe()
    window.form.widgets["head.dropout"].setValue(0.5)
    window.form.widgets["seed"].setValue(3)
    window.open_recipe(str(path))
    qtbot.waitUntil(lambda: window.session.model.data is not None and not window.session.model.busy, timeout=30000)
    assert window.form.widgets["head.dropout"].value() == 0.2 and window.form.widgets["seed"].value() == 0
    second = _train(window, qtbot).metrics["test"]
    assert second["accuracy"] == first["accuracy"] and second["ece"] == first["ece"]
    assert second["confusion_matrix"] == first["confusion_matrix"]


def test_opening_another_checkpoint_mid_training_stops_the_run(window, files, qtbot):
    start_long_training(qtbot, window, files)
    stop = window.jobs.token("train")
    window.open_checkpoint(str(files["ckpt"]))
    assert stop.stopped
    qtbot.waitUntil(lambda: not window.session.model.busy and window.session.model.loaded is not None, timeout=30000)
    qtbot.wait(100)
    assert window.session.model.run is None, "the old run is not attached to the newly opened model"


def test_imbalanced_classes_get_proposed_weights_that_can_be_turned_off(window, files, qtbot):
    open_model_and_data(qtbot, window, files)
    assert window.session.model.recipe.train.pos_weight is None, "balanced at the median: nothing proposed"
    window.data_panel.labels.median.setChecked(False)
    window.data_panel.labels.threshold.setValue(1.0)  # about a fifth of the rows lie above: skewed
    qtbot.waitUntil(lambda: window.session.model.data is not None, timeout=5000)
    import numpy as np

    from workbench.core.train.losses import imbalance_proposal

    data = window.session.model.data
    expected = imbalance_proposal(np.bincount(data.labels("train")), "binary")
    assert expected and window.session.model.recipe.train.pos_weight == expected["pos_weight"]
    assert "in use" in window.form.imbalance.text()
    window.form.auto_balance.setChecked(False)
    assert window.session.model.recipe.train.pos_weight is None and "not in use" in window.form.imbalance.text()


def test_hand_typed_weights_survive_a_data_change(window, files, qtbot):
    open_model_and_data(qtbot, window, files)
    window.data_panel.labels.median.setChecked(False)
    window.data_panel.labels.threshold.setValue(1.0)  # skewed: a weight is proposed and in use
    qtbot.waitUntil(lambda: window.session.model.recipe.train.pos_weight is not None, timeout=5000)
    window.form.widgets["train.pos_weight"].setValue(2.5)
    assert window.session.model.recipe.train.pos_weight == 2.5
    assert not window.form.auto_balance.isChecked(), "typing a weight takes over from the proposal"
    window.data_panel.labels.threshold.setValue(1.2)  # the data reloads
    qtbot.waitUntil(lambda: window.session.model.data is not None and window.session.model.recipe.data.threshold == 1.2,
                    timeout=5000)
    qtbot.wait(50)
    assert window.session.model.recipe.train.pos_weight == 2.5


def test_mixed_precision_box_reaches_the_recipe_and_explains_itself_on_the_cpu(window, files, qtbot):
    open_model_and_data(qtbot, window, files)
    form = window.form
    box = form.widgets["train.mixed_precision"]
    assert box.isEnabled(), "a recipe that has it on must be able to turn it off on any machine"
    form.widgets["train.device"].setCurrentText("cpu")
    box.setChecked(True)
    assert window.session.model.recipe.train.mixed_precision is True
    assert not form.errors["train.mixed_precision"].isHidden()
    assert "GPU option" in form.errors["train.mixed_precision"].text()
    assert not form.train_button.isEnabled()
    box.setChecked(False)
    assert form.errors["train.mixed_precision"].isHidden() and form.train_button.isEnabled()


def test_a_list_that_does_not_read_greys_train_until_it_does(window, files, qtbot):
    """Typed text that is not numbers is shown with its reason and keeps Train greyed (it used to train with the
    last value that read); a prior of the wrong size for the data's classes is said before Train, not after it."""
    open_model_and_data(qtbot, window, files)
    form = window.form
    prior = form.widgets["decide.prior"]
    prior.setText("0.8, abc")
    prior.editingFinished.emit()
    assert not form.train_button.isEnabled()
    assert "Deployment prior" in form.reason.text() and "'abc' is not a number" in form.reason.text()
    assert prior.text() == "0.8, abc", "what was typed stays, beside why it does not read"
    assert "'abc' is not a number" in form.errors["decide.prior"].text()
    prior.setText("0.2, 0.3, 0.5")  # three shares for a binary head
    prior.editingFinished.emit()
    assert not form.train_button.isEnabled() and "has 3 value(s)" in form.errors["decide.prior"].text()
    prior.setText("0.2, 0.8")
    prior.editingFinished.emit()
    assert window.session.model.recipe.decide.prior == (0.2, 0.8)
    assert form.train_button.isEnabled() and form.errors["decide.prior"].isHidden()


def test_form_fields_keep_what_is_typed(window):
    form = window.form
    for name, typed in (("head.dropout", 0.25), ("train.label_smoothing", 0.15), ("head.dropout", 0.1),
                        ("train.lr", 0.000125)):
        form.widgets[name].setValue(typed)
        assert window.session.model.recipe.get(name) == typed, name
    from workbench.core import recipe as rc

    refer = form.widgets["decide.risk_epsilon"]  # 0 stands for no refer band: it reads "off"
    assert window.session.model.recipe.decide.risk_epsilon is None and refer.text() == "off"
    refer.setValue(0.05)
    assert window.session.model.recipe.decide.risk_epsilon == 0.05 and refer.text() == "0.050"
    refer.setValue(0)
    assert window.session.model.recipe.decide.risk_epsilon is None
    generated = {name for name, (_k, spec) in rc.FIELDS.items() if spec.group}
    assert generated == set(form.widgets)  # every described form field has its widget, and nothing else


def test_a_recipe_naming_code_asks_before_anything_runs(window, qtbot, tmp_path, monkeypatch):
    from workbench.gui.dialogs import messages as dialogs

    marker = tmp_path / "PWNED"
    (tmp_path / "evil.py").write_text(f"open({str(marker)!r}, 'w')\nimport torch\nclass Net(torch.nn.Module): pass\n")
    path = tmp_path / "recipe.json"
    path.write_text('{"model_source": "evil.py:Net"}')
    asked = []
    monkeypatch.setattr(dialogs, "ask_trust", lambda parent, exc: asked.append(exc) or False)
    window.open_recipe(str(path))
    assert len(asked) == 1 and "evil.py" in str(asked[0]) and not marker.exists()
    assert window.session.model.recipe.model_source == ""
    monkeypatch.setattr(dialogs, "ask_trust", lambda parent, exc: True)
    window.open_recipe(str(path))
    assert window.session.model.recipe.model_source == f"{tmp_path / 'evil.py'}:Net"
    assert not marker.exists()  # trusted, but nothing is imported until a checkpoint needs it


def test_image_settings_are_greyed_for_a_table(window, files, qtbot):
    assert window.form.images_box.isEnabled()  # nothing open yet: nothing to say
    open_model_and_data(qtbot, window, files)
    assert not window.form.images_box.isEnabled()
    assert "image folders" in window.form.images_box.toolTip()


def test_the_baseline_button_says_cores_reason(window, files, qtbot):
    """Whether the baseline applies is core's rule (its command's checks), shown as the button's tooltip."""
    open_model_and_data(qtbot, window, files)
    button = window.form.baseline_button
    assert button.isEnabled()
    window.session.model.update(**{"data.splits": (0.7, 0.15, 0.0, 0.15)})
    assert not button.isEnabled() and "calibration split" in button.toolTip()
    window.session.model.update(**{"data.splits": (0.6, 0.15, 0.1, 0.15)})
    assert button.isEnabled() and "Platt" in button.toolTip()


def test_fields_the_task_ignores_are_greyed_saying_why(window, files, qtbot):
    open_model_and_data(qtbot, window, files)
    form = window.form
    task, ordinal, gamma = (form.widgets[f] for f in ("head.task", "head.ordinal", "train.focal_gamma"))
    assert not ordinal.isEnabled() and "Not used now" in ordinal.toolTip() and "ordinal task" in ordinal.toolTip()
    assert not form._labels["head.ordinal"].isEnabled() and form._labels["head.task"].isEnabled()  # its row label
    assert not gamma.isEnabled() and form.widgets["train.pos_weight"].isEnabled()  # binary, bce
    form.widgets["train.loss"].setCurrentText("focal")
    assert gamma.isEnabled() and "Not used now" not in gamma.toolTip()
    form.widgets["train.loss"].setCurrentText("auto")
    task.setCurrentText("ordinal")
    assert ordinal.isEnabled() and "Not used now" not in ordinal.toolTip()
    assert not form.widgets["train.pos_weight"].isEnabled() and not form.widgets["train.loss"].isEnabled()
    task.setCurrentText("binary")
    start_long_training(qtbot, window, files)  # while a job runs every field is greyed, used or not
    assert not task.isEnabled() and not form.widgets["train.pos_weight"].isEnabled()
    window.stop_training(wait=True)
    qtbot.waitUntil(lambda: not window.session.model.busy, timeout=30000)
    assert task.isEnabled() and form.widgets["train.pos_weight"].isEnabled() and not ordinal.isEnabled()


def test_stopping_at_once_leaves_a_window_that_draws(window, files, qtbot):
    """Stop pressed before the range test or the first epoch ends: every tab draws what there is, without a
    traceback from an empty curve."""
    open_model_and_data(qtbot, window, files)
    window.form.widgets["train.epochs"].setValue(100000)
    window.start_training()
    window.stop_training(wait=True)
    qtbot.waitUntil(lambda: not window.session.model.busy, timeout=60000)
    for index in range(6):
        window.show_workspace(index)
        qtbot.wait(50)
    run = window.session.model.run
    assert run is None or run.metrics["test"]["n"] > 0


def test_choices_the_task_rules_out_are_disabled_saying_why(window, files, qtbot):
    open_model_and_data(qtbot, window, files)  # a binary head
    calibration = window.form.widgets["calibration"]
    matrix = calibration.model().item(calibration.findText("matrix"))
    assert not matrix.isEnabled() and "multiclass" in matrix.toolTip()
    assert calibration.model().item(calibration.findText("platt")).isEnabled()
    window.form.widgets["head.task"].setCurrentText("ordinal")
    assert not calibration.model().item(calibration.findText("matrix")).isEnabled()  # the classes' order
    assert "order" in calibration.model().item(calibration.findText("matrix")).toolTip()
    window.form.widgets["head.task"].setCurrentText("binary")
    _train(window, qtbot)
    method = window.evaluate_panel.method  # the Evaluate tab's chooser recalibrates the run: the same rule
    assert not method.model().item(method.findText("matrix")).isEnabled()
    before = window.session.model.run.recipe.calibration
    method.setCurrentText("matrix")  # as a script or the keyboard could still pick it
    assert method.currentText() == before and not window.session.model.busy


def test_a_refused_field_names_the_control_in_the_window():
    from workbench.core.errors import RecipeError
    from workbench.core.recipe import Recipe

    try:
        Recipe().replace(**{"decide.prior": (1.5, -0.5)})
    except RecipeError as exc:
        assert exc.window_problem.startswith("Deployment prior: has the item 1.5") and "decide." not in \
            exc.window_problem + exc.window_fix
        assert str(exc).startswith("recipe field decide.prior")  # the command line keeps the recipe's name
    else:
        raise AssertionError("a prior of 1.5 was taken")


def test_a_choice_that_needs_more_values_stays_choosable(window):
    from workbench.core.recipe_unused import refused_choices

    normalize = window.form.widgets["data.normalize"]  # custom, then its mean and std: not ruled out
    assert normalize.model().item(normalize.findText("custom")).isEnabled()
    assert refused_choices(window.session.model.recipe, "data.normalize") == {}


def _type(qtbot, box, text):
    """Select all and type as a user does, key by key, then leave the field with Tab."""
    from PySide6.QtCore import Qt

    edit = box.lineEdit()
    box.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    for ch in text:
        qtbot.keyClicks(edit, ch)
    qtbot.keyClick(edit, Qt.Key.Key_Tab)


def test_numbers_typed_key_by_key_are_kept_and_scientific_notation_reads(window, files, qtbot):
    """Each keystroke used to set the recipe, and the form wrote the value back under the cursor: 0.25 typed into
    Dropout became 0.000, 0.6 into the train split 0.00, and 1e-4 into Weight decay 1.0."""
    open_model_and_data(qtbot, window, files)
    form, model = window.form, window.session.model
    _type(qtbot, form.widgets["head.dropout"], "0.25")
    assert model.recipe.head.dropout == 0.25 and form.widgets["head.dropout"].text() == "0.250"
    _type(qtbot, form.widgets["train.weight_decay"], "1e-4")
    assert model.recipe.train.weight_decay == pytest.approx(1e-4)
    _type(qtbot, form.widgets["train.weight_decay"], "0.0005")
    assert model.recipe.train.weight_decay == pytest.approx(5e-4)
    _type(qtbot, form.widgets["head.dropout"], "0,3")  # a decimal comma, as typed where it is the habit
    assert model.recipe.head.dropout == pytest.approx(0.3)
    train = window.data_panel.splits.split_boxes["train"]
    _type(qtbot, train, "0.55")
    assert model.recipe.data.splits[0] == pytest.approx(0.55)
    bins = window.data_panel.labels.bins
    _type(qtbot, bins, "12")  # typing 12 is not first 1 (which the box refuses below its 2)
    assert bins.value() == 12
