"""Small things of the window: the LR axis reads as rates, tooltips wrap, form fields keep a sensible width on
a wide screen, and the demo's first seconds after a cold start show progress."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import Qt

from workbench.gui.plots.lr_finder import LrFinderPlot


def test_the_learning_rate_axis_has_no_scale_factor(qtbot):
    plot = LrFinderPlot()
    qtbot.addWidget(plot)
    lrs = np.geomspace(1e-6, 1e-3, 40)  # small rates: pyqtgraph would label the axis "(x0.001)"
    plot.show_result({"lrs": lrs.tolist(), "losses": np.linspace(1, 0.5, 40).tolist(), "pick": lrs[20],
                      "pick_index": 20, "note": ""})
    plot.resize(600, 400)
    plot.show()
    for side in ("bottom", "left"):
        axis = plot.plot.getAxis(side)
        axis.resizeEvent()
        assert "x0.0" not in axis.labelString() and "(x" not in axis.labelString()
    assert "learning rate" in plot.plot.getAxis("bottom").labelString()


def test_long_tooltips_are_rich_text_that_wraps(window):
    tips = [w.toolTip() for w in window.form.widgets.values() if len(w.toolTip()) > 60]
    assert tips and all(Qt.mightBeRichText(t) and t.startswith("<p>") for t in tips)
    window.form.baseline_button.setToolTip("A tip set later, long enough to need more than one line to be read well.")
    assert window.form.baseline_button.toolTip().startswith("<p>")


def test_form_fields_do_not_stretch_on_a_wide_screen(window, qtbot):
    window.resize(1920, 1080)
    window.show_workspace(2)
    qtbot.wait(50)
    widths = {name: w.width() for name, w in window.form.widgets.items() if w.isVisible()}
    assert widths and max(widths.values()) <= 420, widths


def test_the_demo_shows_progress_before_the_tabs_exist(qtbot, dialogs, tmp_path):
    from workbench.gui.main_window import MainWindow

    win = MainWindow()
    win.settings.setValue("paths/demo", str(tmp_path / "demo"))
    qtbot.addWidget(win)
    win.show()
    assert win.workspace is None
    win.open_demo()
    assert win.welcome.progress.isVisible() and "Opening the demo" in win.welcome.progress_text.text()
    qtbot.waitUntil(lambda: win.workspace is not None, timeout=30000)
    assert not win.welcome.progress.isVisible()
    qtbot.waitUntil(lambda: win.session.model.loaded is not None, timeout=60000)
    win.wait_for_jobs()
