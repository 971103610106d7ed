"""Files dropped on the window are opened by what they hold: a CSV as data, a checkpoint as the model."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent


def _drop(window, *paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_a_dropped_csv_is_read_as_data_and_a_checkpoint_opened_as_the_model(window, files, qtbot, dialogs):
    window.model_panel.source.setText(files["source"])
    _drop(window, files["csv"], files["ckpt"])  # both at once, in any order
    qtbot.waitUntil(lambda: window.session.model.inspection is not None, timeout=30000)
    qtbot.waitUntil(lambda: window.session.model.raw is not None or window.session.model.table is not None,
                    timeout=30000)
    m = window.session.model
    assert str(m.loaded.path) == str(files["ckpt"]) and m.recipe.data.path.endswith("table.csv")
    assert not dialogs.errors


def test_a_file_that_is_nothing_the_workbench_reads_is_said(window, qtbot, dialogs, tmp_path):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x01\x00" * 20)
    _drop(window, blob)
    qtbot.waitUntil(lambda: bool(dialogs.errors), timeout=5000)
    assert "neither a checkpoint" in str(dialogs.errors[0])
