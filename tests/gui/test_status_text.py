"""What the window says stays current: the status bar names the picked run and its accuracy now, the Train tab
says what a baseline is instead of "0 epochs" over another run's curves, and Tab leaves the per-class table."""

from PySide6.QtCore import Qt

from .conftest import open_model_and_data


def test_status_and_train_tab_follow_the_picked_run(window, files, qtbot):
    open_model_and_data(qtbot, window, files)
    window.form.widgets["train.epochs"].setValue(3)
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    qtbot.waitUntil(lambda: not window.session.model.busy, timeout=30000)
    trained = window.session.model.run
    assert len(window.train_panel.curves.epochs) == 3
    assert "after 3 epochs" in window.train_panel.status.text()
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    qtbot.waitUntil(lambda: not window.session.model.busy, timeout=30000)
    baseline = window.session.model.run
    panel = window.train_panel
    assert "0 epochs" not in panel.status.text() and "no-training baseline" in panel.status.text()
    x, _y = panel.curves.val_curve.getData()
    assert panel.curves.epochs == [] and (x is None or len(x) == 0), "the trained run's curves under a baseline"
    bar = window.statusBar().currentMessage()
    assert "baseline" in bar and f"{baseline.metrics['test']['accuracy']:.3f}" in bar

    # Picking the trained run back: its curves (from its history) and its own accuracy in the status bar.
    window.runs_bar.combo.setCurrentIndex(0)
    assert window.session.model.run is trained
    assert [e["epoch"] for e in panel.curves.epochs] == [1, 2, 3] and "after 3 epochs" in panel.status.text()
    bar = window.statusBar().currentMessage()
    assert "trained head" in bar and f"{trained.metrics['test']['accuracy']:.3f}" in bar

    # Moving the decision threshold changes the accuracy: the status bar follows once the slider is let go.
    window.show_workspace(4)
    before = trained.metrics["test"]["accuracy"]
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.evaluate_panel.slider.setValue(50)
    bar = window.statusBar().currentMessage()
    assert trained.metrics["test"]["accuracy"] != before and f"{trained.metrics['test']['accuracy']:.3f}" in bar


def test_tab_leaves_the_per_class_table(window, files, qtbot):
    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    window.show_workspace(4)
    window.activateWindow()
    table = window.evaluate_panel.table
    table.setFocus()
    qtbot.waitUntil(table.hasFocus, timeout=5000)
    table.setCurrentCell(0, 0)
    qtbot.keyClick(table, Qt.Key_Tab)
    assert not table.hasFocus(), "Tab walked into the table's cells instead of moving on"


def test_no_table_in_the_window_traps_the_tab_key(window):
    from PySide6.QtWidgets import QAbstractItemView

    trapping = [v.objectName() or type(v).__name__ for v in window.findChildren(QAbstractItemView)
                if v.tabKeyNavigation()]
    assert not trapping


def test_opening_another_model_leaves_no_curves_of_the_old_one(window, files, qtbot):
    """The Train tab never shows "Ready to train" over the previous model's curves (they were its run's)."""
    open_model_and_data(qtbot, window, files)
    window.form.widgets["train.epochs"].setValue(2)
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    qtbot.waitUntil(lambda: not window.session.model.busy, timeout=30000)
    panel = window.train_panel
    assert len(panel.curves.epochs) == 2 and panel.progress.format().startswith("Done")
    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        window.open_checkpoint(str(files["ckpt"]))
    x, _y = panel.curves.val_curve.getData()
    assert window.session.model.run is None
    assert panel.curves.epochs == [] and (x is None or len(x) == 0)
    assert panel.finder.curve.getData()[0] is None or len(panel.finder.curve.getData()[0]) == 0
    assert panel.progress.format() == "Not started" and "after 2 epochs" not in panel.status.text()


def test_a_problem_without_a_file_reads_as_a_sentence():
    from workbench.core.workflow.jobs import JobError
    from workbench.gui.session import window_text

    said = window_text(JobError("cannot train: no data.", "Fix that first."))
    assert said == "Cannot train: no data. Fix that first."
