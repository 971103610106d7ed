"""The Evaluate tab reads well with 2, 3 and 10 classes on a small and a 4K screen; the wheel scrolls the page and
leaves the plots alone; no zoom carries into the next run; plots save as PNG and SVG; the confusion matrix is also a
table with the same drill-down; a table's samples show their ID column and feature values."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, QSettings, Qt
from PySide6.QtGui import QContextMenuEvent, QGuiApplication, QWheelEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from workbench.core.evaluate.verdicts import CONFUSION_MODES, normalised_confusion
from workbench.gui.panels.evaluate import EvaluatePanel

from .evaluate_runs import Run, Session

# The page the tab gets in a window of that size (menu, runs bar, tab bar and the tab's own bar take the rest).
SIZES = {"1024x700": (1024, 560), "3840x2160": (3840, 2000)}


@pytest.fixture
def panel(qtbot):
    session = Session()
    widget = EvaluatePanel(session)
    qtbot.addWidget(widget)
    widget.resize(*SIZES["1024x700"])
    widget.show()
    return widget


def _show(panel, run, qtbot):
    panel.session.show(run)
    qtbot.wait(20)  # let the layout settle and the plots resize
    panel.grab()  # painted as on screen: text items place themselves when painted
    return run


def _inside(inner: QRectF, outer: QRectF, slack: float = 1.0) -> bool:
    return (inner.left() >= outer.left() - slack and inner.right() <= outer.right() + slack and
            inner.top() >= outer.top() - slack and inner.bottom() <= outer.bottom() + slack)


def _overlapping(rects, horizontal: bool) -> list:
    spans = sorted((r.left(), r.right()) if horizontal else (r.top(), r.bottom()) for r in rects)
    return [(a, b) for a, b in zip(spans, spans[1:]) if a[1] > b[0]]


def _view(plot) -> QRectF:
    return plot.getPlotItem().getViewBox().sceneBoundingRect()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("k", [2, 3, 10])
def test_the_tab_reads_well_with_few_and_many_classes_on_small_and_large_screens(panel, qtbot, k, size):
    panel.resize(*SIZES[size])
    run = _show(panel, Run(k), qtbot)
    # Class names never run together: the labels under (and beside) the matrix do not overlap.
    confusion = panel.confusion
    bottom, left = confusion.label_rects("bottom"), confusion.label_rects("left")
    assert len(bottom) == k and len(left) == k
    assert not _overlapping(bottom, horizontal=True), "names under the matrix overlap"
    assert not _overlapping(left, horizontal=False)
    if size == "3840x2160":  # a 4K screen has room for the names themselves
        assert not confusion.numbered
    # Titles are not clipped; the reliability diagram has a usable height.
    for plot in [confusion.plot, panel.reliability.plot, panel.reliability.hist, *panel.roc.plots().values()]:
        if plot.isVisible():
            item = plot.getPlotItem()
            assert item.titleLabel.item.boundingRect().width() <= item.width(), plot.objectName()
    assert panel.reliability.plot.height() >= 240 and _view(panel.reliability.plot).height() >= 150
    # Histogram counts are inside the histogram.
    # (Where each is drawn, from the view's mapping: a text item moves itself only when painted.)
    hist = panel.reliability.hist.getPlotItem().getViewBox()
    labels = [label for label in panel.reliability.count_labels if label.isVisible()]
    assert labels
    for label in labels:
        foot = hist.mapViewToScene(label.pos())
        height = label.textItem.boundingRect().height()
        assert foot.y() - height >= hist.sceneBoundingRect().top() - 1, label.textItem.toPlainText()
    # ROC and PR show their whole axes, labels included.
    assert panel.binary_box.isVisible() == run.binary
    for plot in panel.roc.plots().values() if run.binary else ():
        frame = QRectF(0, 0, plot.width(), plot.height())
        for name in ("bottom", "left"):
            axis = plot.getPlotItem().getAxis(name)
            margin = axis.label.document().documentMargin()  # the text item's empty border around the words
            words = axis.label.sceneBoundingRect().adjusted(margin, margin, -margin, -margin)
            assert _inside(axis.sceneBoundingRect(), frame) and _inside(words, frame), name
        assert plot.getPlotItem().getViewBox().viewRange()[0] == pytest.approx([-0.02, 1.02], abs=0.01)


@pytest.mark.parametrize("k", [2, 10])
def test_at_1024x700_one_screen_holds_the_whole_matrix_and_the_whole_roc_and_the_page_is_not_padded(panel, qtbot, k):
    # The window's Evaluate page at 1024 x 700 (the menu, runs bar, tab bar and summary take the rest).
    panel.resize(1024, 610)
    run = _show(panel, Run(k), qtbot)
    viewport = panel.scroll.viewport().height()
    parts = [panel.matrix_tabs, panel.reliability] + ([panel.roc] if run.binary else [])
    for part in parts:  # each fits in the viewport, so some scroll position shows all of it
        assert part.height() <= viewport, (part.objectName(), part.height(), viewport)
    # The page is not its parts' hints tall (the reliability diagram alone asks ~1000 px): near its minimum.
    assert panel.content.height() <= 1.25 * panel.content.minimumSizeHint().height()
    # The boxes under the plots are not squeezed below what their text needs.
    for box in (panel.checks, panel.decisions):
        assert box.height() >= box.minimumSizeHint().height()
    # The per-class table is as tall as its rows, not a strip of rows over an empty area.
    table = panel.table
    rows = table.horizontalHeader().height() + table.rowCount() * table.verticalHeader().defaultSectionSize()
    assert table.height() <= max(90, rows + 2 * table.frameWidth() + 2)


def _wheel(widget, modifiers=Qt.KeyboardModifier.NoModifier):
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_the_page_ctrl_wheel_zooms_and_a_new_run_resets_the_zoom(panel, qtbot):
    _show(panel, Run(3), qtbot)
    plot = panel.reliability.plot
    bar = panel.scroll.verticalScrollBar()
    assert bar.maximum() > 0, "at 1024 x 700 the page scrolls"
    home = plot.getViewBox().viewRange()
    _wheel(plot.viewport())
    assert bar.value() > 0, "the wheel over a plot scrolls the page"
    assert plot.getViewBox().viewRange() == home, "and leaves the plot's view alone"
    _wheel(plot.viewport(), Qt.KeyboardModifier.ControlModifier)
    zoomed = plot.getViewBox().viewRange()
    assert zoomed != home, "Ctrl + wheel zooms"
    roc = _show(panel, Run(2), qtbot)
    _wheel(panel.roc.roc.viewport(), Qt.KeyboardModifier.ControlModifier)
    assert panel.roc.roc.getViewBox().viewRange()[0] != pytest.approx([-0.02, 1.02], abs=0.01)
    _show(panel, Run(2, seed=1), qtbot)  # the next run starts from the home view
    assert np.allclose(plot.getViewBox().viewRange(), home, atol=1e-6)
    assert panel.roc.roc.getViewBox().viewRange()[0] == pytest.approx([-0.02, 1.02], abs=0.01)
    assert roc is not panel.session.model.run
    # Reset view (the context menu's) returns a zoomed plot to its home view; the view never leaves 0..1.
    _wheel(plot.viewport(), Qt.KeyboardModifier.ControlModifier)
    plot.getViewBox().setRange(xRange=(-3, 4), padding=0)
    assert plot.getViewBox().viewRange()[0][0] >= -0.05 and plot.getViewBox().viewRange()[0][1] <= 1.05
    texts = [a.text() for a in plot.getPlotItem().getViewBox().menu.actions()]
    assert {"Reset view", "Save as PNG…", "Save as SVG…"} <= set(texts)
    next(a for a in plot.getPlotItem().getViewBox().menu.actions() if a.text() == "Reset view").trigger()
    assert np.allclose(plot.getViewBox().viewRange(), home, atol=1e-6)
    # The menu key opens the same menu without a mouse.
    menu, opened = plot.getPlotItem().getViewBox().menu, []
    menu.popup = lambda at: opened.append(at)  # a real popup grabs the keyboard, which offscreen Qt warns about
    QApplication.sendEvent(plot, QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, QPoint(5, 5),
                                                   plot.mapToGlobal(QPoint(5, 5))))
    assert len(opened) == 1


def test_a_plot_saves_as_png_and_svg_and_the_dialog_remembers_its_folder(panel, qtbot, tmp_path, monkeypatch):
    _show(panel, Run(2), qtbot)
    asked = []

    def dialog(_parent, _title, start, _filter):
        asked.append(start)
        return str(tmp_path / "out" / f"roc_{len(asked)}"), ""

    (tmp_path / "out").mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    menu = {a.text(): a for a in panel.roc.roc.getPlotItem().getViewBox().menu.actions()}
    menu["Save as PNG…"].trigger()
    menu["Save as SVG…"].trigger()
    png, svg = tmp_path / "out" / "roc_1.png", tmp_path / "out" / "roc_2.svg"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000
    assert "<svg" in svg.read_text() and "false positive rate" in svg.read_text()
    assert asked[1].startswith(str(tmp_path / "out")), "the second dialog opens where the first saved"
    assert QSettings().value("paths/plots") == str(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["roc_1.png", "roc_2.svg"], "no temporary left"


def test_the_confusion_table_holds_cores_matrix_and_opens_the_same_drill_down(panel, qtbot):
    run = _show(panel, Run(3), qtbot)
    table = panel.confusion_table
    matrix = np.asarray(run.metrics["test"]["confusion_matrix"], dtype=float)
    for mode in CONFUSION_MODES:
        panel.mode.setCurrentText(mode)
        expected = normalised_confusion(matrix, mode)
        model = table.model()
        shown = [[model.data(model.index(i, j)) for j in range(3)] for i in range(3)]
        assert shown == [[f"{int(v)}" if mode == CONFUSION_MODES[0] else f"{v:.2f}" for v in row] for row in expected]
    assert [table.model().headerData(i, Qt.Orientation.Vertical) for i in range(3)] == run.data.classes
    accessible = table.model().data(table.model().index(1, 2), Qt.ItemDataRole.AccessibleTextRole)
    assert run.data.classes[1] in accessible and run.data.classes[2] in accessible
    # Walked by the keyboard: each cell the arrow keys reach lists its samples, like a click on the heat map.
    panel.matrix_tabs.setCurrentWidget(table)
    table.setFocus()
    table.setCurrentIndex(table.model().index(0, 0))
    qtbot.keyClick(table, Qt.Key.Key_Right)
    assert panel.errors.cell == (0, 1) and panel.confusion.selected == (0, 1)
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert panel.errors.cell == (1, 1) and panel.errors.isVisible()
    assert panel.errors.model.rowCount() == int(matrix[1, 1])
    # A click on the heat map moves the table's current cell without listing twice.
    panel.confusion.cell_clicked.emit(2, 0)
    assert table.currentIndex().row() == 2 and table.currentIndex().column() == 0 and panel.errors.cell == (2, 0)


def test_a_tables_samples_show_their_id_column_and_features_sortable_and_copyable(panel, qtbot):
    run = _show(panel, Run(3), qtbot)
    panel.confusion.cell_clicked.emit(1, 1)
    model = panel.errors.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["Row in file", "patient_id", "True", "Predicted", "p(predicted)", "p(true)", "a", "b", "c"]
    table_rows = {int(r): i for i, r in enumerate(run.data.table.rows)}
    for r in range(model.rowCount()):
        i = table_rows[int(model.item(r, 0).text())]
        assert model.item(r, 1).text() == f"P{1000 + i}"
        assert [float(model.item(r, c).text()) for c in (6, 7, 8)] == pytest.approx(run.data.table.X[i], abs=1e-5)
    # Sortable: by a feature, numerically.
    panel.errors.view.sortByColumn(6, Qt.SortOrder.AscendingOrder)
    values = [float(model.item(r, 6).text()) for r in range(model.rowCount())]
    assert values == sorted(values) and len(values) > 3
    # Ctrl+C copies the selected rows as tab-separated text, with the header.
    view = panel.errors.view
    view.setFocus()
    view.selectRow(0)
    view.selectionModel().select(model.index(2, 0), view.selectionModel().SelectionFlag.Select |
                                 view.selectionModel().SelectionFlag.Rows)
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = QGuiApplication.clipboard().text().splitlines()
    assert lines[0].split("\t") == headers
    assert [line.split("\t")[0] for line in lines[1:]] == [model.item(0, 0).text(), model.item(2, 0).text()]


def test_at_4k_the_decisions_fields_keep_the_forms_widths_and_an_off_refer_band_draws_no_empty_plot(panel, qtbot):
    from workbench.gui.panels.form import FIELD_WIDTH

    panel.resize(*SIZES["3840x2160"])
    _show(panel, Run(2), qtbot)
    box = panel.decisions
    assert box.policy.width() <= FIELD_WIDTH["QComboBox"] and box.min_recall.width() <= FIELD_WIDTH["other"]
    assert box.prior.width() == FIELD_WIDTH["QLineEdit"]  # capped, yet as wide as the cap: its hint is readable
    assert not box.refer.isChecked() and box.band_box.isVisible()
    assert not box.band_curve.isVisible(), "the band is Off: no empty band plot"


def test_the_slider_sits_where_the_run_decides_its_policy_s_threshold(panel, qtbot):
    from workbench.core.evaluate.metrics import evaluate

    run = Run(2)
    test = run.data.splits["test"]
    # a decision policy's threshold: core scores the run at it (metrics test.threshold), not at the 0.5 it was set to
    run.metrics["test"] = evaluate(run.probs[test], run.data.y[test], run.data.classes, threshold=0.3)
    _show(panel, run, qtbot)
    assert panel.slider.value() == 300 and panel.threshold_label.text() == "0.300"


def test_a_threshold_of_0_is_shown_as_0_not_as_0_5(panel, qtbot):
    from workbench.core.evaluate.metrics import evaluate

    run = Run(2)
    test = run.data.splits["test"]
    run.metrics["test"] = evaluate(run.probs[test], run.data.y[test], run.data.classes, threshold=0.0)
    _show(panel, run, qtbot)
    assert panel.slider.value() == panel.slider.minimum() and panel.threshold_label.text() == "0.000"


def test_under_a_prior_the_roc_tooltip_says_both_scales_of_the_policy_s_threshold(panel, qtbot):
    from workbench.core.evaluate.metrics import evaluate

    run = Run(2)
    test = run.data.splits["test"]
    run.metrics["test"] = evaluate(run.probs[test], run.data.y[test], run.data.classes, threshold=0.4)
    from workbench.core.decide.policy import Policy

    run.metrics["test"]["decision_policy"] = {**Policy("threshold", 0.143).metadata(2), "test": {
        "recall": 0.8, "false_positive_rate": 0.2, "precision": 0.7}}
    run.metrics["prior_shift"] = {"prior": [0.8, 0.2], "source_prior": [0.5, 0.5], "weights": [1.6, 0.4],
                                  "threshold_before_correction": 0.4}
    _show(panel, run, qtbot)
    tip = panel.roc.roc.toolTip()
    assert "0.143 on the probabilities corrected to the deployment prior" in tip and "0.400 before" in tip
    run.metrics["prior_shift"] = None
    _show(panel, run, qtbot)
    assert "corrected" not in panel.roc.roc.toolTip() and "0.143" in panel.roc.roc.toolTip()


def test_the_reliability_legend_says_no_calibration_for_an_uncalibrated_run_and_before_after_otherwise(panel, qtbot):
    def legend(run):
        _show(panel, run, qtbot)
        return [label.text for _sample, label in panel.reliability.legend.items]

    run = Run(2)
    run.metrics["calibration"] = "none"
    assert legend(run) == ["perfect", "no calibration", "sparse bin (few rows)"]
    assert not len(panel.reliability.before.getData()[0] or [])  # not drawn under a second name either
    calibrated = Run(3, seed=1)
    calibrated.metrics["calibration"] = "platt"
    assert legend(calibrated) == ["perfect", "before calibration", "after calibration", "sparse bin (few rows)"]
    assert len(panel.reliability.before.getData()[0])
    assert legend(run)[1] == "no calibration"
