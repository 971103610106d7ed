"""File ▸ Save session (Ctrl+S) saves the session, again to its own file once it has one; Save session as
(Ctrl+Shift+S) asks; the dialogs open in the folder last used for each kind; Quit ▸ Save shows that it saves."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QProgressDialog

from .conftest import open_model_and_data


def _asking(monkeypatch, answers):
    asked = []

    def get_save_file_name(_parent, _title, start, *args, **kwargs):
        asked.append(start)
        return str(answers.pop(0)), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(get_save_file_name))
    return asked


def test_ctrl_s_saves_the_session_then_resaves_its_own_file(window, files, qtbot, dialogs, tmp_path, monkeypatch):
    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    folder = tmp_path / "sessions"
    folder.mkdir()
    target = folder / "mine.json"
    asked = _asking(monkeypatch, [target, folder / "copy.json"])
    window.activateWindow()
    field = window.model_panel.source
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=5000)
    qtbot.keyClick(field, Qt.Key_S, Qt.ControlModifier)
    qtbot.waitUntil(lambda: not window.session.model.unsaved_runs(), timeout=30000)
    assert len(asked) == 1 and target.is_file()
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()  # a second run
    qtbot.waitUntil(lambda: bool(window.session.model.unsaved_runs()), timeout=5000)
    qtbot.keyClick(field, Qt.Key_S, Qt.ControlModifier)  # to its own file, without asking or a Replace? question
    qtbot.waitUntil(lambda: len(json.loads(target.read_text())["runs"]) == 2, timeout=30000)
    assert len(asked) == 1 and not dialogs.errors
    qtbot.keyClick(field, Qt.Key_S, Qt.ControlModifier | Qt.ShiftModifier)  # Save as asks, in the last folder
    qtbot.waitUntil(lambda: (folder / "copy.json").is_file(), timeout=30000)
    assert len(asked) == 2 and asked[1].startswith(str(folder))
    names = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert "&Save session" in names and "Save session &as…" in names


def test_each_kind_of_file_opens_in_the_folder_last_used_for_it(window, files, qtbot, dialogs, tmp_path,
                                                                  monkeypatch):
    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    reports, sessions = tmp_path / "reports", tmp_path / "sessions"
    reports.mkdir()
    sessions.mkdir()
    asked = _asking(monkeypatch, [reports / "r.html", sessions / "s.json", tmp_path / "r2.html"])
    window.save_report()
    window.save_session(save_as=True)
    qtbot.waitUntil(lambda: not window.session.model.unsaved_runs(), timeout=30000)
    opened = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda _p, _t, start, *a, **k: (opened.append(start), ("", ""))[1]))
    window.open_session()
    window.save_report()
    assert opened == [str(sessions)] and asked[2].startswith(str(reports))


def test_quit_then_save_shows_that_it_is_saving(window, files, qtbot, dialogs, tmp_path, monkeypatch):
    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    dialogs.close_answer = "save"
    target = tmp_path / "kept.json"
    _asking(monkeypatch, [target])
    assert not window.close()
    shown = [d for d in window.findChildren(QProgressDialog) if d.objectName() == "savingDialog"]
    assert shown and shown[0].isVisible() and "Saving the session" in shown[0].labelText()
    assert "Saving the session" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30000)
    assert target.is_file() and not shown[0].isVisible()
