"""The Model tab's cut: "Attach the head here" in the layer tree sets model.cut_at, the tree says what the cut
drops, and the probe sweep runs off the GUI thread and draws its plot."""

from __future__ import annotations

from PySide6.QtCore import Qt

from .conftest import open_model_and_data


def _item(tree, name):
    stack = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop()
        if item.data(0, Qt.ItemDataRole.UserRole) == name:
            return item
        stack += [item.child(i) for i in range(item.childCount())]
    raise AssertionError(name)


def test_attach_the_head_here_sets_cut_at_and_the_tree_says_what_is_dropped(window, qtbot, files):
    from workbench.gui.panels.probe import ROLE_COLUMN, cut_actions

    open_model_and_data(qtbot, window, files)
    panel, model = window.model_panel, window.session.model
    tree = panel.tree
    assert [a.text() for a in cut_actions(tree, window.session, _item(tree, "head"))] == []  # the head: no cut
    actions = cut_actions(tree, window.session, _item(tree, "body.0"))
    assert [a.text() for a in actions] == ["Attach the head here"]
    actions[0].trigger()
    assert model.recipe.model.cut_at == "body.0"
    assert _item(tree, "body.0").text(ROLE_COLUMN) == "head attached here"
    assert _item(tree, "body.1").text(ROLE_COLUMN) == "dropped by the cut"
    assert _item(tree, "head").text(ROLE_COLUMN) == "dropped by the cut"
    form = window.form.widgets["model.cut_at"]  # the field, generated from its description, follows
    assert form.currentText() == "body.0"
    whole = cut_actions(tree, window.session, _item(tree, "body.1"))
    assert [a.text() for a in whole] == ["Attach the head here", "Keep the whole body (no cut)"]
    whole[1].trigger()
    assert model.recipe.model.cut_at == "" and _item(tree, "head").text(ROLE_COLUMN) == "head"


def test_the_probe_sweep_runs_on_a_worker_and_its_plot_picks_a_layer(window, qtbot, files):
    open_model_and_data(qtbot, window, files)
    box = window.model_panel.probe
    with qtbot.waitSignal(window.session.probe_changed, timeout=60000):
        box.button.click()
    sweep = window.session.model.probe_sweep
    assert [r.layer for r in sweep.rows] == ["body.0", "body.1"]
    assert box.plot.isVisible() and box.plot.layers == ["body.0", "body.1"]
    assert [label.text for _sample, label in box.plot.legend.items] == ["best", "smallest within noise of the best"]
    split = window.model_panel.split  # the tree keeps most of the height beside the plot, in a movable splitter
    assert split.count() == 2 and not split.childrenCollapsible()
    assert "smallest within noise" in box.caption.text() and box.attach.isEnabled()
    box.attach.click()
    assert window.session.model.recipe.model.cut_at == sweep.smallest.layer
    box.plot.layer_clicked.emit("body.1")
    assert window.session.model.recipe.model.cut_at == "body.1"


def test_new_labels_clear_the_sweep(window, qtbot, files):
    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.probe_changed, timeout=60000):
        window.model_panel.probe.button.click()
    assert window.session.model.probe_sweep is not None
    with qtbot.waitSignal(window.session.probe_changed, timeout=5000):
        window.session.model.update(seed=7)  # another split: the sweep scored the old one
    assert window.session.model.probe_sweep is None and not window.model_panel.probe.plot.isVisible()


def test_a_cut_run_s_tree_is_the_cut_model(window, qtbot, files):
    from workbench.gui.panels.probe import ROLE_COLUMN

    open_model_and_data(qtbot, window, files)
    window.session.model.update(**{"model.cut_at": "body.1", "train.epochs": 1})
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    qtbot.waitUntil(lambda: window.session.model.run is not None, timeout=60000)
    tree = window.model_panel.tree
    assert _item(tree, "head").text(ROLE_COLUMN) == "new head"
    names = []
    stack = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop()
        names.append(item.data(0, Qt.ItemDataRole.UserRole))
        stack += [item.child(i) for i in range(item.childCount())]
    assert "act" not in names  # the Softplus after the old head went with the cut
