"""The whole journey in the real window: open, inspect, configure, train, evaluate, calibrate, export."""

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer

from workbench.core.data.data import make_labels
from workbench.core.evaluate import calibrate as calib
from workbench.core.evaluate.metrics import classification, evaluate

from .conftest import open_model_and_data, start_long_training


def _tree_rows(tree):
    rows, stack = {}, [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop()
        rows[item.data(0, Qt.UserRole)] = item
        stack += [item.child(i) for i in range(item.childCount())]
    return rows


def test_welcome_view_and_recent_files(window, files, qtbot):
    from workbench.gui.main_window import MainWindow

    fresh = MainWindow()
    qtbot.addWidget(fresh)
    assert fresh.stack.currentWidget() is fresh.welcome and fresh.workspace is None
    assert not fresh.welcome.recent.isVisible()
    open_model_and_data(qtbot, window, files)
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.welcome.recent.item(0).text() == str(files["ckpt"])
    assert [a.text() for a in again.recent_menu.actions()] == [str(files["ckpt"])]


def test_full_journey(window, files, qtbot, dialogs, tmp_path, monkeypatch):
    open_model_and_data(qtbot, window, files)
    rows = _tree_rows(window.model_panel.tree)
    assert rows["head"].text(6) == "head" and rows["act"].text(6) == "head activation"
    assert rows["body.0"].text(2) == "8" and rows["body.0"].text(3) == "40"

    # The class preview shows what core derives.
    data = window.session.model.data
    y, classes, _ = make_labels(data.table, "threshold", "binary")
    preview = window.data_panel.counts.preview
    assert [preview.item(r, 0).text() for r in range(preview.rowCount())] == classes
    assert [int(preview.item(r, 1).text()) for r in range(2)] == np.bincount(y).tolist()

    window.form.widgets["train.epochs"].setValue(8)
    window.form.widgets["calibration"].setCurrentText("temperature")
    assert window.form.train_button.isEnabled()
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        qtbot.mouseClick(window.form.train_button, Qt.LeftButton)
    run = window.session.model.run
    assert not dialogs.errors
    assert len(window.train_panel.curves.epochs) == 8
    assert window.train_panel.curves.train_curve.getData()[0].size > 0

    # What the widgets show is what core computes.
    y_test = run.data.labels("test")
    expected = classification(run.probabilities("test"), y_test, run.data.classes)
    shown = window.evaluate_panel.confusion.matrix
    assert shown.tolist() == expected["confusion_matrix"]
    ece = evaluate(run.probabilities("test"), y_test, run.data.classes)["ece"]
    assert f"<b>{ece:.3f}</b>" in window.evaluate_panel.summary.text()
    table = window.evaluate_panel.table
    assert table.item(1, 3).text() == f"{expected['per_class'][run.data.classes[1]]['f1']:.3f}"

    # Calibration chooser: isotonic, fitted on the calibration split.
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):  # choosing it applies it: no second button
        window.evaluate_panel.method.setCurrentText("isotonic")
    iso = calib.fit("isotonic", "binary", 2, run.logits["cal"], run.data.labels("cal"))
    ece_iso = evaluate(iso.probabilities(run.logits["test"]), y_test, run.data.classes)["ece"]
    assert window.session.model.run.recipe.calibration == "isotonic"
    assert f"<b>{ece_iso:.3f}</b>" in window.evaluate_panel.summary.text()

    # The threshold slider moves the confusion matrix (core's SetThreshold, committed onto the run).
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.evaluate_panel.slider.setValue(300)
    expected = classification(window.session.model.run.probabilities("test"), y_test, run.data.classes, threshold=0.3)
    assert window.evaluate_panel.confusion.matrix.tolist() == expected["confusion_matrix"]
    assert window.session.model.run.metrics["test"]["confusion_matrix"] == expected["confusion_matrix"]
    # While dragging only the view follows; the run's metrics are recomputed when the slider is let go.
    slider = window.evaluate_panel.slider
    slider.setSliderDown(True)
    slider.setValue(700)
    dragged = classification(window.session.model.run.probabilities("test"), y_test, run.data.classes, threshold=0.7)
    assert window.evaluate_panel.confusion.matrix.tolist() == dragged["confusion_matrix"]
    assert window.session.model.run.metrics["test"]["confusion_matrix"] == expected["confusion_matrix"]
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        slider.setSliderDown(False)
    assert window.session.model.run.metrics["test"]["confusion_matrix"] == dragged["confusion_matrix"]
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        slider.setValue(300)

    # The converted tree shows the new head in place of the old.
    rows = _tree_rows(window.model_panel.tree)
    assert rows["head"].text(6) == "new head" and rows["act"].text(1) == "Identity"

    # Export through the dialog.
    target = tmp_path / "export"

    def drive():
        from PySide6.QtWidgets import QApplication

        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, drive)
            return
        dialog.folder.setText(str(target))
        dialog.with_onnx.setChecked(True)
        dialog.start()
        qtbot.waitUntil(lambda: dialog.result is not None, timeout=60000)
        dialog.accept()

    QTimer.singleShot(0, drive)
    dialog = window.export()
    assert "Round-trip check passed" in dialog.status.text()
    meta = json.loads((target / "metadata.json").read_text())
    assert meta["calibration"]["method"] == "isotonic" and (target / "plots" / "reliability.svg").is_file()
    assert meta["onnx"]["round_trip_max_abs_diff"] <= 1e-4 and (target / "model.onnx").is_file()

    # Recipes save and load.
    recipe_path = tmp_path / "recipe.json"
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(recipe_path), ""))
    window.save_recipe()
    window.session.model.update(seed=99)
    window.open_recipe(str(recipe_path))
    assert window.session.model.recipe.seed == 0 and window.session.model.recipe.calibration == "isotonic"


def test_invalid_combination_disables_train_with_reason(window, files, qtbot):
    open_model_and_data(qtbot, window, files)
    window.form.widgets["head.task"].setCurrentText("multiclass")
    assert not window.form.train_button.isEnabled()
    assert "threshold makes two classes" in window.form.reason.text()
    assert "threshold makes two classes" in window.data_panel.status.text()  # and next to the field there
    window.form.widgets["head.task"].setCurrentText("binary")
    assert window.form.train_button.isEnabled() and window.form.reason.text() == ""


def test_stop_and_pause_mid_training(window, files, qtbot):
    start_long_training(qtbot, window, files)
    assert window.session.model.busy and window.train_panel.stop_button.isEnabled()
    assert not window.form.widgets["train.lr"].isEnabled(), "the form is locked while training"
    token = window.jobs.token("train")  # the runner owns the stop token; the window keeps none
    assert not hasattr(window, "_stop") and token is not None
    window.train_panel.pause_button.click()
    assert token.paused
    window.train_panel.pause_button.click()
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        qtbot.mouseClick(window.train_panel.stop_button, Qt.LeftButton)
    run = window.session.model.run
    assert run.training.cancelled and 0 < len(run.training.history) < 100000
    assert "stopped by you" in window.train_panel.status.text()
    assert window.form.widgets["train.lr"].isEnabled()


def test_closing_mid_training_stops_cleanly(window, files, qtbot):
    start_long_training(qtbot, window, files)
    token = window.jobs.token("train")
    window.close()
    assert not window.jobs.running()
    assert token.stopped


def test_bad_file_shows_an_error_dialog(window, tmp_path, qtbot, dialogs):
    bad = tmp_path / "notes.pt"
    bad.write_text("this is not a model")
    window.open_checkpoint(str(bad))
    qtbot.waitUntil(lambda: bool(dialogs.errors), timeout=30000)
    assert "not a PyTorch" in str(dialogs.errors[0]) and window.session.model.loaded is None
    assert window.isVisible()


@pytest.mark.parametrize("answer", [False, True])
def test_trust_prompt_lists_imports(window, files, tmp_path, qtbot, dialogs, answer):
    import torch

    whole = tmp_path / "whole.pt"
    torch.save(files["model"], whole)
    dialogs.trust_answer = answer
    window.model_panel.source.setText(files["source"])
    window.open_checkpoint(str(whole))
    qtbot.waitUntil(lambda: bool(dialogs.trust_asked), timeout=30000)
    assert "tiny_models.TinyRegressor" in dialogs.trust_asked[0].imports
    if answer:
        qtbot.waitUntil(lambda: window.session.model.loaded is not None, timeout=30000)
        assert window.session.model.loaded.format == "pickled module"
    else:
        qtbot.wait(200)
        assert window.session.model.loaded is None and not dialogs.errors


def test_malicious_pickle_never_runs_from_the_gui(window, tmp_path, qtbot, dialogs, monkeypatch):
    import torch

    from tests.core.open.test_load import _Evil

    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.pt"
    torch.save({"model_state_dict": {"w": torch.zeros(1)}, "x": _Evil()}, evil)
    window.open_checkpoint(str(evil))
    qtbot.waitUntil(lambda: bool(dialogs.trust_asked), timeout=30000)
    assert dialogs.trust_asked[0].dangerous and not (tmp_path / "PWNED").exists()


def test_drop_a_checkpoint_on_the_window(window, files, qtbot):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    window.model_panel.source.setText(files["source"])
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(files["ckpt"]))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.session.model.loaded is not None, timeout=30000)
    assert window.session.model.loaded.path == files["ckpt"]


def test_closing_with_unsaved_runs_asks_and_can_be_cancelled(window, files, qtbot, dialogs, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    dialogs.close_answer = "cancel"
    assert not window.close() and window.isVisible()
    assert dialogs.close_asked == ["1 run(s) of this session are not saved"]
    dialogs.close_answer = "save"
    target = tmp_path / "kept.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert not window.close()  # it closes once the session is written (a command on a worker)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30000)
    assert target.is_file() and len(json.loads(target.read_text())["runs"]) == 1


def test_saving_while_training_keeps_the_stopped_run_then_closes(window, files, qtbot, dialogs, tmp_path,
                                                                  monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    start_long_training(qtbot, window, files)
    dialogs.close_answer = "save"
    target = tmp_path / "kept.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert not window.close()  # stops training first
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30000)
    runs = json.loads(target.read_text())["runs"]
    assert len(runs) == 1 and runs[0]["kind"] == "trained"


def test_menu_shortcuts_and_tab_keys_work_from_a_focused_field(window, files, qtbot, monkeypatch):
    from PySide6.QtCore import Qt

    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    opened = []
    monkeypatch.setattr(type(window), "export", lambda self: opened.append(True))
    window.export_action.triggered.disconnect()
    window.export_action.triggered.connect(lambda: window.export())
    window.activateWindow()
    window.show_workspace(0)
    field = window.model_panel.source
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=5000)
    qtbot.keyClick(field, Qt.Key_E, Qt.ControlModifier)
    assert opened == [True], "Ctrl+E reaches Export while the Model source field has focus"
    qtbot.keyClick(field, Qt.Key_3, Qt.ControlModifier)
    assert window.workspace.tabs.currentIndex() == 2


def test_picking_a_run_changes_what_evaluate_shows(window, files, qtbot):
    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    baseline = window.session.model.run
    window.form.widgets["train.epochs"].setValue(2)
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    trained = window.session.model.run
    picker = window.runs_bar.combo
    assert picker.count() == 2 and "trained" in picker.currentText() and "target" in picker.currentText()
    shown = []
    window.session.run_changed.connect(shown.append)
    picker.setCurrentIndex(0)
    assert window.session.model.run is baseline and shown == [baseline]
    window.session.model.rename(window.session.model.current, "no training")
    assert picker.currentText() == "no training"
    from workbench.gui.dialogs.export import ExportDialog

    m = window.session.model
    dialog = ExportDialog(m, m.current, window.jobs.run_command, {}, str(files["ckpt"].parent / "out"), window)
    assert "no training" in dialog.run_label.text()  # the Export dialog writes, and names, the picked run
    dialog.deleteLater()
    window.runs_bar.remove_button.click()
    m = window.session.model
    assert m.run is None and picker.count() == 1 and trained in [e.run for e in m.entries]


def test_what_is_being_prepared_is_shown_instead_of_an_empty_view(window):
    window.session.model.set_activity("Building the demo …")
    assert not window.workspace.activity.isHidden() and window.workspace.activity.text() == "Building the demo …"
    assert window.model_panel.title.text() == "Building the demo …"
    window.session.model.set_activity("")
    assert window.workspace.activity.isHidden() and window.model_panel.title.text().startswith("No model open")
