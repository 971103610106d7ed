"""Fixtures for driving the real window: fresh QSettings, recorded dialogs, a tiny model and table."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import QCoreApplication, QSettings

from ..conftest import MODELS_PY, make_table


@pytest.fixture(autouse=True)
def _fresh_qsettings(tmp_path_factory):
    QCoreApplication.setOrganizationName("ConversionWorkbenchTests")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path_factory.mktemp("qsettings")))
    yield


class Dialogs:
    """Stands in for modal dialogs: records what would have been shown, answers the trust prompt."""

    def __init__(self):
        self.errors: list[BaseException] = []
        self.trust_asked: list = []
        self.trust_answer = False
        self.close_asked: list[str] = []
        self.close_answer = "discard"
        self.locate_asked: list = []
        self.locate_answer = ""

    def show_error(self, _parent, exc, title=""):
        self.errors.append(exc)

    def ask_trust(self, _parent, exc):
        self.trust_asked.append(exc)
        return self.trust_answer

    def ask_locate(self, _parent, exc):
        self.locate_asked.append(exc)
        return self.locate_answer

    def ask_close(self, _parent, what):
        self.close_asked.append(what)
        return self.close_answer


@pytest.fixture
def dialogs(monkeypatch):
    from workbench.gui.dialogs import messages as module

    recorder = Dialogs()
    monkeypatch.setattr(module, "show_error", recorder.show_error)
    monkeypatch.setattr(module, "ask_trust", recorder.ask_trust)
    monkeypatch.setattr(module, "ask_close", recorder.ask_close)
    monkeypatch.setattr(module, "ask_locate", recorder.ask_locate)
    return recorder


@pytest.fixture
def window(qtbot, dialogs, tmp_path):
    from workbench.gui.main_window import MainWindow

    win = MainWindow()
    win.settings.setValue("paths/demo", str(tmp_path / "demo"))
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    win.ensure_workspace()
    yield win
    win.stop_training()
    win.wait_for_jobs()


@pytest.fixture
def files(tmp_path):
    """A tiny regression checkpoint with its model source, and a CSV whose 4 features fit it."""
    models = tmp_path / "tiny_models.py"
    models.write_text(MODELS_PY)
    from workbench.core.open.model_source import build

    torch.manual_seed(0)
    model = build(f"{models}:TinyRegressor")
    ckpt = tmp_path / "tiny.pt"
    torch.save({"model_state_dict": model.state_dict(), "epoch": 1}, ckpt)
    X, y = make_table(300)
    csv = tmp_path / "table.csv"
    rows = ["f0,f1,f2,f3,target"] + [",".join(f"{v:.5f}" for v in (*row, t)) for row, t in zip(X, y)]
    csv.write_text("\n".join(rows) + "\n")
    return {"models": models, "source": f"{models}:TinyRegressor", "ckpt": ckpt, "csv": csv, "model": model}


def open_model_and_data(qtbot, window, files, mode="threshold"):
    window.model_panel.source.setText(files["source"])
    window.open_checkpoint(str(files["ckpt"]))
    qtbot.waitUntil(lambda: window.session.model.inspection is not None, timeout=30000)
    window.load_data(str(files["csv"]))
    qtbot.waitUntil(lambda: window.session.model.table is not None, timeout=30000)
    if mode == "threshold":
        window.data_panel.labels.mode_threshold.click()
    qtbot.waitUntil(lambda: window.session.model.data is not None, timeout=5000)


def start_long_training(qtbot, window, files):
    """Open the model and data, start a run far longer than any test, and wait for its first epoch."""
    open_model_and_data(qtbot, window, files)
    window.form.widgets["train.epochs"].setValue(100000)
    window.form.widgets["train.patience"].setValue(0)
    window.start_training()
    qtbot.waitUntil(lambda: len(window.train_panel.curves.epochs) >= 1, timeout=30000)


def save_session(qtbot, window, path=None):
    """Save the session through the window (a command on a worker) and wait until the file is written."""
    written = []
    assert window.save_session(None if path is None else str(path), then=lambda: written.append(True))
    qtbot.waitUntil(lambda: bool(written), timeout=60000)
