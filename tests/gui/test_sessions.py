"""A saved session continues in a new window: the model, the data and every run come back live, so Evaluate shows
a run, it exports, and a confusion-matrix cell lists its samples; a moved input is asked for, then found."""

from __future__ import annotations

import json

import numpy as np
import pytest

from .conftest import open_model_and_data, save_session
from .test_errors_view import _click_cell, _listed


@pytest.fixture
def second_window(qtbot, dialogs, tmp_path):
    from workbench.gui.main_window import MainWindow

    win = MainWindow()
    win.ask_before_closing = False
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    win.ensure_workspace()
    yield win
    win.stop_training()
    win.wait_for_jobs()


def _two_runs(qtbot, window, files):
    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    window.form.widgets["train.epochs"].setValue(2)
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    qtbot.waitUntil(lambda: not window.session.model.busy, timeout=30000)


def _open(qtbot, win, path):
    m = win.session.model
    win.open_session(str(path))
    qtbot.waitUntil(lambda: len(m.runs) == 2 and m.data is not None and not m.jobs, timeout=60000)
    return m


def test_a_saved_session_reopens_live_in_a_new_window(window, second_window, files, qtbot, dialogs, tmp_path):
    _two_runs(qtbot, window, files)
    saved = tmp_path / "work.json"
    save_session(qtbot, window, saved)
    assert not window.session.model.unsaved_runs()

    m = _open(qtbot, second_window, saved)
    assert not dialogs.errors, dialogs.errors
    assert m.loaded.path == files["ckpt"] and all(e.run is not None and not e.note for e in m.entries)
    second_window.runs_bar.combo.setCurrentIndex(1)  # the second run: the trained head
    run, before = m.run, window.session.model.entries[1].run
    assert run is not None and run.kind == "trained"
    np.testing.assert_allclose(run.probabilities("test"), before.probabilities("test"), atol=1e-6)
    panel = second_window.evaluate_panel
    second_window.show_workspace(4)
    assert panel.scroll.isVisibleTo(panel) and panel.method.isEnabled()
    assert panel.confusion.matrix.tolist() == run.metrics["test"]["confusion_matrix"]

    from workbench.gui.dialogs.export import ExportDialog

    dialog = ExportDialog(m, m.current, second_window.jobs.run_command, panel.plots(), str(tmp_path), second_window)
    qtbot.addWidget(dialog)
    dialog.folder.setText(str(tmp_path / "export"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=60000)
    meta = json.loads((tmp_path / "export" / "metadata.json").read_text())
    assert meta["classes"] == run.data.classes and "Round-trip check passed" in dialog.status.text()

    samples = run.test_samples()
    expected = int(((samples.y == 1) & (samples.predicted == 0)).sum())
    _click_cell(qtbot, panel.confusion, 1, 0)
    assert panel.errors.cell == (1, 0) and len(_listed(panel)) == expected

    # The data moved: the session names it, the user locates it, and the session opens with it.
    moved = files["csv"].with_name("moved.csv")
    files["csv"].rename(moved)
    dialogs.locate_answer = str(moved)
    m = _open(qtbot, second_window, saved)
    assert [e.role for e in dialogs.locate_asked] == ["data"] and m.recipe.data.path == str(moved)
    assert all(e.run is not None for e in m.entries) and not dialogs.errors
