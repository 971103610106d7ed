"""The Data tab's Model inputs box: a model whose forward takes (x_cat, x_cont) shows one line per input with the
proposed columns; editing a line and applying maps the columns (data.inputs), and the table follows."""

from __future__ import annotations

import json

from tests.core.workflow.several_inputs_models import tabular_checkpoint


def test_the_window_maps_columns_to_the_models_inputs(qtbot, window, tmp_path):
    ckpt, source, args, csv = tabular_checkpoint(tmp_path)
    box = window.data_panel.inputs
    assert box.isHidden()  # no model of several inputs yet
    window.model_panel.source.setText(source)
    window.model_panel.args.setText(json.dumps(args))
    window.open_checkpoint(str(ckpt))
    qtbot.waitUntil(lambda: window.session.model.inspection is not None, timeout=60000)
    window.load_data(str(csv))
    qtbot.waitUntil(lambda: window.session.model.table is not None, timeout=60000)
    assert not box.isHidden()
    assert list(box.edits) == ["x_cat", "x_cont"]
    assert box.edits["x_cat"].text() == "city, weekday"  # the proposal: text columns to the embeddings
    assert box.edits["x_cont"].text() == "distance, wait, tip"
    assert "category code" in box.edits["x_cat"].toolTip()
    box.edits["x_cont"].setText("tip, distance, wait")
    box.apply.click()
    model = window.session.model
    assert model.recipe.data.inputs == "x_cat=city,weekday;x_cont=tip,distance,wait"
    assert model.table.feature_names == ["city", "weekday", "tip", "distance", "wait"]
    box.edits["x_cont"].setText("tip, distance")  # one column short: shown where the columns are fixed
    box.apply.click()
    assert model.table is None and "x_cont takes 3 columns but 2 are given" in model.data_problem
    box.propose.click()
    assert model.recipe.data.inputs == "" and model.table is not None
    assert box.edits["x_cont"].text() == "distance, wait, tip"


def test_the_box_shows_a_sequence_inputs_steps_and_features(qtbot, window, tmp_path):
    from tests.core.workflow.several_inputs_models import sequence_checkpoint

    ckpt, source, args, csv = sequence_checkpoint(tmp_path, n=200)
    box = window.data_panel.inputs
    window.model_panel.source.setText(source)
    window.model_panel.args.setText(json.dumps(args))
    window.open_checkpoint(str(ckpt))
    qtbot.waitUntil(lambda: window.session.model.loaded is not None, timeout=60000)  # its width is the data's
    window.load_data(str(csv))
    qtbot.waitUntil(lambda: window.session.model.table is not None, timeout=60000)
    assert list(box.edits) == ["x", "static"]
    assert box.edits["x"].text().startswith("rain_0, temp_0, rain_1, temp_1")  # step by step
    assert box.labels["x"].text() == "x (sequences of 12 steps x 2 features):"
    assert box.labels["static"].text() == "static (3 value(s)):"
