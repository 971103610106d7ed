"""The window's side of the hand-off: errors shown in a dialog are logged with their traceback, About names the log,
and settings live in the platform's config folder, copied once from Qt's native store."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from workbench import logs


def test_an_error_dialog_logs_the_traceback(qtbot, monkeypatch):
    from workbench.core.errors import DataError
    from workbench.gui.dialogs import messages

    path = logs.setup()
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.text()))

    def fail():
        raise DataError("the column 'x' is missing.", "Tick another column.")

    try:
        fail()
    except DataError as exc:
        messages.show_error(None, exc, "Could not read")
    try:
        {}["bug"]
    except KeyError as exc:
        messages.show_error(None, exc)
    for handler in logging.getLogger(logs.LOGGER).handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "dialog 'Could not read'" in text and "in fail" in text and "Traceback (most recent call last)" in text
    assert "KeyError" in text and "Traceback" not in "".join(shown)  # the dialog shows the message only
    assert shown[0] == "The column 'x' is missing."


def test_about_names_the_log(qtbot):
    from workbench.gui.dialogs.about import AboutDialog

    path = logs.setup()
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    assert f"Log: {path}" in dialog.text()


def test_native_settings_are_copied_once(tmp_path):
    from workbench.gui.settings_file import copy_once

    old = QSettings(str(tmp_path / "old.conf"), QSettings.Format.IniFormat)
    old.setValue("recent/files", ["/a.pt", "/b.pt"])
    old.setValue("paths/export", "/exports")
    new = QSettings(str(tmp_path / "new.ini"), QSettings.Format.IniFormat)
    new.setValue("paths/export", "/mine")
    assert sorted(copy_once(old, new)) == ["recent/files"]
    assert new.value("recent/files") == ["/a.pt", "/b.pt"] and new.value("paths/export") == "/mine"
    old.setValue("paths/demo", "/later")
    assert copy_once(old, new) == [] and not new.contains("paths/demo")


def test_the_mlflow_preference_needs_mlflow(window, dialogs, monkeypatch):
    import sys

    from workbench.core.workflow.tracking import TrackingError

    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if MLflow were not installed
    window.mlflow_action.trigger()
    assert not window.mlflow_action.isChecked() and isinstance(dialogs.errors[-1], TrackingError)
    assert "conversion-workbench[tracking]" in dialogs.errors[-1].fix
    assert not window.settings.value("tracking/mlflow", False, type=bool)
    monkeypatch.delitem(sys.modules, "mlflow")
    import importlib.util

    if importlib.util.find_spec("mlflow") is not None:
        window.mlflow_action.trigger()
        assert window.mlflow_action.isChecked() and window.settings.value("tracking/mlflow", False, type=bool)


def test_a_slow_step_reaches_the_window_as_a_signal(qtbot):
    from workbench.core import progress
    from workbench.gui.jobs import JobRunner

    def work(callbacks=()):
        with progress.step("decode", "Decoding 3 images", 3, "images") as told:
            told.advance(3)
        return "ok"

    runner = JobRunner(lambda exc: None)
    seen, done = [], []
    runner.start(work, callbacks=True, setup=lambda wk: wk.progress.connect(seen.append, Qt.QueuedConnection),
                 on_done=done.append)
    qtbot.waitUntil(lambda: done == ["ok"] and seen and seen[-1]["finished"], timeout=10000)
    runner.wait()
    assert seen[0]["step"] == "decode" and seen[-1]["done"] == 3
    assert progress.describe(seen[-1]).startswith("Decoding 3 images: done in")
