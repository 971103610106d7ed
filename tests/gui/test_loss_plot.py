"""The live loss plot keeps its axes still while training (a moving axis repaints the whole plot and
costs the training thread the GIL) yet never hides a point, and zooms to the data at the end."""

import pytest

from workbench.gui.plots.loss import LossPlot


def _batches(epoch, losses, steps=10):
    return [{"epoch": epoch, "step": i + 1, "steps": steps, "loss": loss} for i, loss in enumerate(losses)]


def _y_range(plot):
    return tuple(plot.loss_plot.getViewBox().viewRange()[1])


def test_axes_stay_still_while_the_loss_falls_and_grow_when_it_rises(qtbot):
    plot = LossPlot(smoothing=0.0)  # no smoothing: the curve is the losses themselves
    qtbot.addWidget(plot)
    plot.clear(epochs=3)
    plot.add_batches(_batches(1, [1.0, 0.9, 0.8]))
    plot._redraw()
    first = _y_range(plot)
    assert first[0] == pytest.approx(0.0) and first[1] >= 1.0
    x_range = tuple(plot.loss_plot.getViewBox().viewRange()[0])
    assert x_range[0] <= 0 and x_range[1] >= 3
    plot.add_batches(_batches(1, [0.7, 0.5, 0.3, 0.2]))
    plot._redraw()
    plot.add_epoch({"epoch": 1, "val_loss": 0.4, "val_accuracy": 0.8})
    plot.add_batches(_batches(2, [0.15, 0.1]))
    plot._redraw()
    assert _y_range(plot) == first, "a falling loss must not move the axes"
    assert tuple(plot.loss_plot.getViewBox().viewRange()[0]) == x_range
    plot.add_batches(_batches(2, [4.0]))  # a spike above the ceiling must stay in view
    plot._redraw()
    assert _y_range(plot)[1] >= 4.0
    plot.add_epoch({"epoch": 2, "val_loss": 9.0, "val_accuracy": 0.5})
    plot._redraw()  # epochs after the first are drawn on the timer's next tick
    assert _y_range(plot)[1] >= 9.0


def test_a_flood_of_tiny_epochs_costs_the_gui_thread_little(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.clear(epochs=100000)
    drawn = []
    plot.val_curve.setData = lambda *a, **k: drawn.append(1)
    for epoch in range(1, 2001):
        plot.add_epoch({"epoch": epoch, "val_loss": 1.0 / epoch, "val_accuracy": 0.5})
    assert len(plot.epochs) == 2000 and len(drawn) == 1  # the first at once; the rest wait for the timer
    plot._redraw()
    assert len(drawn) == 2


def test_finish_zooms_to_the_data(qtbot):
    plot = LossPlot(smoothing=0.0)
    qtbot.addWidget(plot)
    plot.clear(epochs=50)
    plot.add_batches(_batches(1, [0.6, 0.55, 0.5]))
    plot.add_epoch({"epoch": 1, "val_loss": 0.52, "val_accuracy": 0.8})
    plot.finish()
    plot.loss_plot.getViewBox().updateAutoRange()
    low, high = plot.loss_plot.getViewBox().viewRange()[1]
    assert low > 0.3 and high < 0.8  # fitted to 0.5-0.6, not 0 to a ceiling
    assert plot.loss_plot.getViewBox().viewRange()[0][1] < 5  # one epoch of data, not the 50 planned


def test_at_the_end_the_legend_covers_no_point_of_a_train_curve_along_the_top(qtbot):
    from PySide6.QtCore import QPointF

    plot = LossPlot(smoothing=0.0)
    qtbot.addWidget(plot)
    plot.resize(760, 500)
    plot.show()
    plot.clear(epochs=5)
    for epoch in range(1, 6):  # a flat, noisy train loss above a flat validation loss: every corner has a curve
        plot.add_batches(_batches(epoch, [0.5 + 0.02 * ((i * 7) % 3 - 1) for i in range(10)]))
        plot.add_epoch({"epoch": epoch, "val_loss": 0.37, "val_accuracy": 0.8})
    plot.finish()
    qtbot.wait(50)
    vb = plot.loss_plot.getViewBox()
    legend = plot.legend.sceneBoundingRect()
    xs, ys = plot.train_curve.getData()
    covered = [(x, y) for x, y in zip(xs, ys) if legend.contains(vb.mapViewToScene(QPointF(float(x), float(y))))]
    assert not covered, covered
    low, high = vb.viewRange()[1]
    assert low < 0.37 and 0.52 < high < 1.0  # still fitted to the data, with room above it
