"""The Train tab: the range test's plot shows only when a range test ran, with its rates labelled at powers of
ten; the status gives a short training's wall time in milliseconds rather than "0.0 s"."""

import numpy as np

from workbench.gui.panels.train import duration
from workbench.gui.plots.lr_finder import LrFinderPlot


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
