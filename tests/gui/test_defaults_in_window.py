"""The defaults in the window: the range test's curve with a pickable point, the learning rate's auto box,
intervals in Evaluate, bin counts and sparse bins in the reliability diagram."""

import numpy as np

from workbench.gui.plots.lr_finder import LrFinderPlot
from workbench.gui.plots.reliability import ReliabilityPlot

from .conftest import open_model_and_data


def _finder():
    lrs = list(np.logspace(-6, 1, 60))
    losses = list(0.7 - 0.4 / (1 + np.exp(-(np.log10(lrs) + 2.5) * 3)) + np.maximum(0, np.log10(lrs)) * 2)
    return {"lrs": lrs, "losses": losses, "pick": lrs[40], "pick_index": 40, "note": ""}


def test_the_finder_curve_marks_the_pick_and_a_click_chooses_a_rate(qtbot):
    plot = LrFinderPlot()
    qtbot.addWidget(plot)
    finder = _finder()
    plot.show_result(finder, finder["pick"])
    x, _y = plot.pick.getData()
    assert np.allclose(x, [np.log10(finder["pick"])]) and "Picked" in plot.caption.text()
    points = plot.points.points()
    assert len(points) == 60
    with qtbot.waitSignal(plot.rate_chosen) as chosen:
        plot.points.sigClicked.emit(plot.points, [points[25]], None)  # what a mouse click on point 25 emits
    assert chosen.args == [finder["lrs"][25]]
    assert np.allclose(plot.chosen.getData()[0], [np.log10(finder["lrs"][25])])
    plot.show_result(None)
    assert len(plot.points.points()) == 0 and "by hand" in plot.caption.text()


def test_bin_counts_are_written_and_sparse_bins_drawn_hollow(qtbot):
    plot = ReliabilityPlot()
    qtbot.addWidget(plot)
    rel = {"edges": [0.0, 0.25, 0.5, 0.75, 1.0], "confidence": [0.0, 0.4, 0.6, 0.9], "accuracy": [0.0, 0.5, 0.5, 0.8],
           "count": [0, 3, 40, 57], "binning": "width", "sparse_below": 10}
    plot.show_bins(rel, rel)
    assert [label.toPlainText() for label in plot.count_labels] == ["0", "3", "40", "57"]
    assert np.allclose(plot.sparse.getData()[0], [0.4])  # only the 3-row bin is sparse
    assert "4 equal width bins" in plot.plot.getPlotItem().titleLabel.text
    plot.show_bins({**rel, "edges": [0.0, 0.5, 1.0], "confidence": [0.4, 0.8], "accuracy": [0.4, 0.9],
                    "count": [20, 30]})
    assert [label.isVisible() for label in plot.count_labels] == [True, True, False, False]


def test_defaults_train_with_the_range_test_and_show_intervals(window, files, qtbot, dialogs):
    open_model_and_data(qtbot, window, files)
    form = window.form
    lr = form.widgets["train.lr"]
    assert window.session.model.recipe.train.lr == "auto" and lr.auto.isChecked() and not lr.spin.isEnabled()
    form.widgets["train.epochs"].setValue(6)
    assert window.session.model.recipe.train.epochs == 6 and not form.widgets["train.epochs"].auto.isChecked()
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    run = window.session.model.run
    assert not dialogs.errors and run.training.lr_finder is not None
    assert run.recipe.train.lr == run.training.lr  # the run's recipe records the pick
    finder = window.train_panel.finder
    assert len(finder.points.points()) == len(run.training.lr_finder["lrs"])
    assert window.session.model.recipe.train.lr == "auto"  # the form keeps asking for auto until the user picks
    finder.choose_index(10)
    assert window.session.model.recipe.train.lr == run.training.lr_finder["lrs"][10] and not lr.auto.isChecked()
    lr.auto.setChecked(True)
    assert window.session.model.recipe.train.lr == "auto"

    text = window.evaluate_panel.summary.text()
    ci = run.metrics["test"]["ci"]["accuracy"]
    assert f"[{ci[0]:.3f}, {ci[1]:.3f}]" in text and "Brier = mean" in text
    if run.metrics["calibration"] == "none":  # auto kept the scores: said so, with no change of zero
        assert "Calibration <b>none</b> (chosen by auto: " in text and "→" not in text.split("Brier = mean")[0]
    else:
        assert any(v in text for v in ("within noise", "better", "worse"))
    counts = run.metrics["test"]["reliability"]["count"]
    labels = window.evaluate_panel.reliability.count_labels[:len(counts)]
    assert [int(label.toPlainText()) for label in labels] == counts


def test_the_binning_combo_rebins_the_run_through_core(window, files, qtbot, dialogs):
    open_model_and_data(qtbot, window, files)
    window.form.widgets["train.epochs"].setValue(2)
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    run, panel = window.session.model.run, window.evaluate_panel
    combo = panel.reliability.binning
    assert run.recipe.binning == "width" and combo.currentData() == "width"
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):  # core's Rebin, committed onto the run
        combo.setCurrentIndex(combo.findData("mass"))
    assert not dialogs.errors and run.recipe.binning == "mass"  # the run's recipe (so its export) follows
    rel = run.metrics["test"]["reliability"]
    assert rel["binning"] == "mass" and "mass bins" in panel.reliability.plot.getPlotItem().titleLabel.text
    counts = rel["count"]
    assert max(counts) - min(counts) <= 0.5 * max(counts)  # equal mass: about the same rows in every bin
    labels = panel.reliability.count_labels[:len(counts)]
    assert [int(label.toPlainText()) for label in labels] == counts
    assert f"{run.metrics['test']['ece']:.3f}" in panel.summary.text()
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        combo.setCurrentIndex(combo.findData("width"))
    assert run.metrics["test"]["reliability"]["binning"] == "width"
