"""The Train tab: the range test's plot shows only when a range test ran, with its rates labelled at powers of
ten; the status gives a short training's wall time in milliseconds rather than "0.0 s"."""

import numpy as np

from workbench.gui.panels.train import duration
from workbench.gui.plots.lr_finder import LrFinderPlot

from .conftest import open_model_and_data


def test_a_short_training_reads_in_milliseconds_and_a_long_one_in_seconds_or_minutes():
    assert duration(0.043) == "43 ms"
    assert duration(12.34) == "12.3 s"
    assert duration(600) == "10.0 min"


def test_the_range_test_plot_hides_without_a_curve_and_labels_its_decades(qtbot):
    finder = LrFinderPlot()
    qtbot.addWidget(finder)
    finder.resize(500, 400)
    finder.show()
    finder.show_result(None)
    assert not finder.plot.isVisible() and "set by hand" in finder.caption.text()
    lrs = np.logspace(-6, 1, 50)
    finder.show_result({"lrs": lrs.tolist(), "losses": (1 + (np.log10(lrs) + 3) ** 2).tolist(), "pick_index": 20,
                        "pick": float(lrs[20])})
    assert finder.plot.isVisible()
    axis = finder.plot.getAxis("bottom")
    labels = [text for level in axis._tickLevels for _, text in level]  # what setTicks placed
    assert {"1e-06", "0.001", "1", "10"} <= set(labels)
    finder.clear()
    assert not finder.plot.isVisible()
    # a test stopped before its first step measured nothing: said, not a traceback from an empty curve
    finder.show_result({"lrs": [], "losses": [], "pick_index": -1, "pick": 1e-3,
                        "note": "the range test was stopped after 0 steps; the rate was set to 0.001"})
    assert not finder.plot.isVisible() and "stopped after 0 steps" in finder.caption.text()


def test_a_histogram_ordinal_run_says_its_two_losses_and_auto_its_pick_on_the_train_tab(window, files, qtbot):
    """The run's own notes (core's) are shown under the Train tab's status: a histogram head's train curve is of
    finer bins than its validation curve, which nothing in the window said; the Evaluate tab says it trained on
    finer bins."""
    open_model_and_data(qtbot, window, files, mode="bins")
    window.data_panel.labels.mode_bins.click()
    qtbot.waitUntil(lambda: window.session.model.recipe.data.label_mode == "bins", timeout=5000)
    window.form.widgets["head.task"].setCurrentText("ordinal")
    window.form.widgets["head.ordinal"].setCurrentText("histogram")
    window.form.widgets["train.epochs"].setValue(2)
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    run = window.session.model.run
    assert run.recipe.head.ordinal == "histogram"
    notes = window.train_panel.notes.text()
    assert "finer bins" in notes and "different scales" in notes and not window.train_panel.notes.isHidden()
    assert "finer bins" in window.evaluate_panel.order.summary.text()


def test_a_note_names_its_field_by_the_control_not_the_recipe_name():
    import workbench.core.recipe  # noqa: F401 - fills the controls' labels
    from workbench.core.notes import info
    from workbench.gui.panels.notes import notes_html

    text = notes_html([info("Inputs kept as they are (data.standardize auto): ...", "scale", "data.standardize")])
    assert "(Standardize auto)" in text and "data.standardize" not in text
