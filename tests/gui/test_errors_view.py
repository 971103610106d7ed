"""Clicking a confusion-matrix cell lists exactly that cell's test samples, by their row in the user's file,
most confident first; the list saves as CSV and never over the data."""

import csv
import html

import numpy as np
from PySide6.QtCore import QPointF, Qt

from workbench.core.evaluate.scores import predict

from .conftest import open_model_and_data


def _click_cell(qtbot, plot, true: int, predicted: int):
    view = plot.plot
    scene_point = view.getViewBox().mapViewToScene(QPointF(predicted + 0.5, true + 0.5))
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=view.mapFromScene(scene_point))


def _listed(panel):
    """Each listed sample's row, true and predicted class, p(predicted) and p(true), found by their headers."""
    model = panel.errors.model
    headers = [model.headerData(c, Qt.Horizontal) for c in range(model.columnCount())]
    columns = [0] + [headers.index(h) for h in ("True", "Predicted", "p(predicted)", "p(true)")]
    return [[model.item(r, c).text() for c in columns] for r in range(model.rowCount())]


def test_a_clicked_cell_lists_its_samples_and_saves_them(window, files, qtbot, dialogs, tmp_path, monkeypatch):
    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    run = window.session.model.run
    window.show_workspace(4)
    panel = window.evaluate_panel
    qtbot.wait(50)
    test = run.data.splits["test"]
    probs, y = run.probabilities("test"), run.data.y[test]
    pred = predict(probs, run.threshold)
    file_rows = np.arange(300) + 2  # the CSV's line numbers: a header, then one line per sample
    for true, predicted in ((0, 1), (1, 1), (1, 0)):
        _click_cell(qtbot, panel.confusion, true, predicted)
        assert panel.confusion.selected == (true, predicted)
        expected = np.flatnonzero((y == true) & (pred == predicted))
        listed = _listed(panel)
        assert sorted(int(r[0]) for r in listed) == sorted(file_rows[test[expected]].tolist())
        assert all(r[1] == run.data.classes[true] and r[2] == run.data.classes[predicted] for r in listed)
        confidence = [float(r[3]) for r in listed]
        assert confidence == sorted(confidence, reverse=True)
        assert f"<b>{len(expected)}</b>" in panel.errors.title.text()
        qtbot.waitUntil(lambda: panel.scroll.verticalScrollBar().value() == panel.errors.y() or
                        panel.scroll.verticalScrollBar().value() == panel.scroll.verticalScrollBar().maximum())
        assert panel.errors.visibleRegion().boundingRect().height() > 100, "the list was scrolled into view"
        assert f"<b>{html.escape(run.data.classes[predicted])}</b>" in panel.errors.title.text()

    # Moving the threshold lists the cell again under the new decision.
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        panel.slider.setValue(200)
    pred = predict(probs, 0.2)
    assert len(_listed(panel)) == int(((y == 1) & (pred == 0)).sum())

    # Saved as CSV through the button; never over the data file.
    out = tmp_path / "errors.csv"
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    panel.errors.save.click()
    with open(out, newline="") as fh:
        saved = list(csv.DictReader(fh))
    assert [r["row"] for r in saved] == [r[0] for r in _listed(panel)]
    before = files["csv"].read_bytes()
    assert window.files.save_samples(str(files["csv"])) is None
    assert files["csv"].read_bytes() == before and dialogs.errors

    # Recalibrating keeps the cell listed; picking no run clears it.
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        panel.method.setCurrentText("isotonic")
    assert panel.errors.cell == (1, 0) and panel.confusion.selected == (1, 0)
    window.session.model.select(None)
    assert panel.errors.model.rowCount() == 0 and panel.errors.cell is None


def test_calibration_applies_when_chosen_and_data_warnings_show(window, files, qtbot):
    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    panel = window.evaluate_panel
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        panel.method.setCurrentText("isotonic")
    qtbot.waitUntil(lambda: not window.session.model.busy, timeout=30000)
    assert window.session.model.run.recipe.calibration == "isotonic"
    assert not [b for b in panel.findChildren(type(panel.errors.save)) if b.text() == "Calibrate"]
    run = window.session.model.run
    assert not run.metrics["warnings"] and not panel.warnings.isVisible()
    run.data.warnings.append("the test split has 12 rows; its metrics are rough.")
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        panel.method.setCurrentText("platt")
    assert panel.warnings.isVisible() and "the test split has 12 rows" in panel.warnings.text()


def test_a_calibration_in_flight_locks_the_slider_and_the_binning(window, files, qtbot, monkeypatch):
    """Nothing edits a run while a job is writing it: during a calibration the threshold slider, the binning and
    the method are disabled, and even a value set on them programmatically never reaches the run."""
    import threading

    from workbench.core.evaluate.metrics import classification
    from workbench.core.workflow import pipeline

    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    m, panel = window.session.model, window.evaluate_panel
    run = m.run
    committed = (run.threshold, run.recipe.binning, [row[:] for row in run.metrics["test"]["confusion_matrix"]])
    release, real = threading.Event(), pipeline.calibrate_run

    def slow_calibration(run, method):
        release.wait(30)
        return real(run, method)

    monkeypatch.setattr(pipeline, "calibrate_run", slow_calibration)
    window.show_workspace(4)
    panel.method.setCurrentText("isotonic")
    qtbot.waitUntil(lambda: m.busy, timeout=5000)
    assert not panel.slider.isEnabled() and not panel.reliability.binning.isEnabled()
    assert not panel.method.isEnabled() and not window.export_action.isEnabled()
    panel.slider.setValue(150)  # what a script or a queued key press could still do
    panel.reliability.binning.setCurrentIndex(panel.reliability.binning.findData("mass"))
    assert (run.threshold, run.recipe.binning, run.metrics["test"]["confusion_matrix"]) == committed
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        release.set()
    qtbot.waitUntil(lambda: not m.busy, timeout=5000)
    assert panel.slider.isEnabled() and panel.reliability.binning.isEnabled() and panel.method.isEnabled()
    assert m.run.recipe.calibration == "isotonic" and m.run.recipe.binning == committed[1]
    assert panel.slider.value() == round((m.run.threshold or 0.5) * 1000), "the slider shows the committed run"
    expected = classification(m.run.probabilities("test"), m.run.data.labels("test"), m.run.data.classes,
                              m.run.threshold)
    assert panel.confusion.matrix.tolist() == expected["confusion_matrix"]
