"""The Data tab keeps ticks across files of the same columns, says what the model needs when the table has fewer
columns, and proposes (applies) multiclass for a 3-class label, with the classes in their natural order."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt

from ..conftest import make_table


def _frame(n_features=6, labels=None, seed=0):
    X, y = make_table(150, n_features, seed)
    frame = pd.DataFrame({f"f{j}": X[:, j] for j in range(n_features)})
    frame["label"] = y if labels is None else [labels[i % len(labels)] for i in range(150)]
    return frame


def _open(qtbot, window, files, path):
    window.model_panel.source.setText(files["source"])
    window.open_checkpoint(str(files["ckpt"]))
    qtbot.waitUntil(lambda: window.session.model.inspection is not None, timeout=30000)
    _read(qtbot, window, path)


def _read(qtbot, window, path):
    window.load_data(str(path))
    qtbot.waitUntil(lambda: window.session.model.recipe.data.path == str(path)
                    and window.session.model.raw is not None, timeout=30000)


def _ticked(panel):
    model = panel.columns.columns_model
    return [n for i, n in enumerate(model.names)
            if model.data(model.index(i, 0), Qt.CheckStateRole) in (Qt.Checked, Qt.Checked.value)]


def test_ticks_are_kept_for_a_second_file_of_the_same_columns(window, files, qtbot, dialogs, tmp_path):
    first, second = tmp_path / "jan.csv", tmp_path / "feb.csv"
    _frame().to_csv(first, index=False)
    _frame(seed=1).to_csv(second, index=False)
    _open(qtbot, window, files, first)
    window.session.model.set_features(["f1", "f2", "f4", "f5"])
    panel = window.data_panel
    assert _ticked(panel) == ["f1", "f2", "f4", "f5"]
    _read(qtbot, window, second)
    assert _ticked(panel) == ["f1", "f2", "f4", "f5"] and window.session.model.table is not None


def test_the_width_message_says_what_the_model_needs_and_what_the_table_has(window, files, qtbot, dialogs,
                                                                            tmp_path):
    narrow = tmp_path / "narrow.csv"
    _frame(n_features=3).to_csv(narrow, index=False)
    _open(qtbot, window, files, narrow)
    text = window.data_panel.columns.problem.text()
    assert "needs 4" in text and "only 3 numeric column(s)" in text and "Tick 4" not in text and "--" not in text


def test_a_three_class_label_is_taken_as_multiclass_in_natural_order(window, files, qtbot, dialogs, tmp_path):
    path = tmp_path / "risk.csv"
    frame = _frame(n_features=4, labels=["high", "low", "medium"])
    frame.to_csv(path, index=False)
    _open(qtbot, window, files, path)
    m = window.session.model
    qtbot.waitUntil(lambda: m.data is not None, timeout=10000)
    assert m.recipe.head.task == "multiclass" and m.data.classes == ["low", "medium", "high"]
    labels = window.data_panel.labels
    assert "Task set to multiclass" in labels.task_note.text() and labels.use_task.isHidden()
    assert window.form.widgets["head.task"].currentText() == "multiclass"
    window.form.widgets["head.task"].setCurrentText("binary")  # the user's own choice: offered, not applied
    assert m.recipe.head.task == "binary" and not m.auto_task
    assert "Proposed task: multiclass" in labels.task_note.text() and not labels.use_task.isHidden()
    labels.use_task.click()
    assert m.recipe.head.task == "multiclass" and m.data is not None
    counts = window.data_panel.counts.preview
    assert [counts.item(r, 0).text() for r in range(3)] == ["low", "medium", "high"]
    assert np.isfinite(m.data.y).all()


def test_a_continuous_label_is_cut_at_the_median_and_said_under_labels(window, files, qtbot, dialogs):
    """The regression target as the label column: the window makes binary labels at its median (Train works at
    once) and says so under Labels; choosing Class column is the user's and brings the two-class error back."""
    _open(qtbot, window, files, files["csv"])
    labels = window.data_panel.labels
    qtbot.waitUntil(lambda: window.session.model.data is not None, timeout=5000)
    assert labels.mode_threshold.isChecked() and labels.median.isChecked()
    assert "Labels set to a threshold" in labels.task_note.text() and "distinct numbers" in labels.task_note.text()
    labels.median.setChecked(False)  # a threshold of the user's own: the note no longer says the median was ours
    labels.threshold.setValue(0.25)
    assert window.session.model.recipe.data.threshold == 0.25 and labels.task_note.text() == ""
    labels.mode_column.click()
    qtbot.waitUntil(lambda: window.session.model.data is None, timeout=5000)
    assert labels.task_note.text() == "" and "binary head needs two classes" in window.session.model.data_problem
    assert not dialogs.errors
