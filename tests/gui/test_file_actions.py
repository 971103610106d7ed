"""Saving from the window never replaces the checkpoint or the data, and asks before replacing any other file."""

from __future__ import annotations

import hashlib

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from workbench.core.errors import ExportError

from .conftest import open_model_and_data, save_session


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def save_as(monkeypatch):
    """The file dialog answers with `chosen[0]`; the window's own 'Replace?' question is recorded."""
    state = {"chosen": None, "asked": [], "answer": QMessageBox.No, "options": []}

    def get_save_file_name(*args, **kwargs):
        state["options"].append(kwargs.get("options"))
        return str(state["chosen"]), ""

    def question(_parent, _title, text, *args, **kwargs):
        state["asked"].append(text)
        return state["answer"]

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(get_save_file_name))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return state


@pytest.mark.parametrize("action", ["save_recipe", "save_session", "save_report"])
@pytest.mark.parametrize("target", ["ckpt", "csv", "models"])
def test_saving_over_the_checkpoint_or_the_data_is_refused_with_a_dialog(window, files, qtbot, dialogs, save_as,
                                                                         action, target):
    open_model_and_data(qtbot, window, files)
    before = {k: _sha(files[k]) for k in ("ckpt", "csv", "models")}
    save_as["chosen"] = files[target]
    getattr(window, action)()
    assert len(dialogs.errors) == 1 and isinstance(dialogs.errors[0], ExportError)
    assert "--" not in str(dialogs.errors[0].fix), "the window never names a command-line flag"
    assert not save_as["asked"], "refused outright, not offered"
    assert {k: _sha(files[k]) for k in ("ckpt", "csv", "models")} == before


def test_saving_over_another_existing_file_asks_first(window, files, qtbot, dialogs, save_as, tmp_path):
    open_model_and_data(qtbot, window, files)
    other = tmp_path / "notes.json"
    other.write_text("mine")
    save_as["chosen"] = other
    window.save_recipe()
    assert len(save_as["asked"]) == 1 and str(other) in save_as["asked"][0]
    assert other.read_text() == "mine" and not dialogs.errors
    assert save_as["options"][-1] == QFileDialog.Option.DontConfirmOverwrite  # asked once, by the window
    save_as["answer"] = QMessageBox.Yes
    save_session(qtbot, window)
    assert '"runs"' in other.read_text()
    fresh = tmp_path / "fresh.json"
    save_as["chosen"] = fresh
    asked = len(save_as["asked"])
    window.save_recipe()
    assert fresh.is_file() and len(save_as["asked"]) == asked, "a new file needs no question"


def test_export_dialog_refuses_the_datas_folder_and_asks_before_replacing_an_export(window, files, qtbot, dialogs,
                                                                                  save_as, tmp_path):
    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    from workbench.gui.dialogs.export import ExportDialog

    m = window.session.model
    dialog = ExportDialog(m, m.current, window.jobs.run_command, {}, str(tmp_path), window)
    qtbot.addWidget(dialog)
    before = _sha(files["csv"])
    dialog.folder.setText(str(tmp_path))
    dialog.start()
    assert "own folder" in dialog.status.text() and not save_as["asked"]
    target = tmp_path / "export"
    dialog.folder.setText(str(target))
    with qtbot.waitSignal(dialog.progress.valueChanged, timeout=60000):
        dialog.start()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=60000)
    dialog.result = None
    dialog.start()  # the answer is No
    assert len(save_as["asked"]) == 1 and dialog.result is None
    (target / "mine.txt").write_text("mine")
    dialog.start()
    assert "mine.txt" in dialog.status.text() and len(save_as["asked"]) == 1
    assert _sha(files["csv"]) == before and (target / "mine.txt").read_text() == "mine"


def test_the_config_json_the_model_was_read_with_is_refused_like_the_checkpoint(window, files, qtbot, dialogs,
                                                                                 save_as, tmp_path):
    from safetensors.torch import save_file

    folder = tmp_path / "safetensors"
    folder.mkdir()
    save_file(files["model"].state_dict(), folder / "model.safetensors")
    config = folder / "config.json"
    config.write_text('{"input_shape": [4]}')
    before = _sha(config)
    open_model_and_data(qtbot, window, {**files, "ckpt": folder / "model.safetensors"})
    assert config.resolve() in window.session.model.loaded.files
    save_as["chosen"] = config
    for action in ("save_recipe", "save_session"):
        getattr(window, action)()
    assert len(dialogs.errors) == 2 and all("read from" in e.problem for e in dialogs.errors)
    assert not save_as["asked"] and _sha(config) == before


def test_a_session_named_without_a_suffix_is_saved_as_json_so_open_session_lists_it(window, files, qtbot, tmp_path,
                                                                                    monkeypatch):
    open_model_and_data(qtbot, window, files)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "mysession"), ""))
    written = []
    assert window.save_session(save_as=True, then=lambda: written.append(True))
    qtbot.waitUntil(lambda: bool(written), timeout=60000)
    assert (tmp_path / "mysession.json").is_file() and not (tmp_path / "mysession").exists()


ODD_MODEL = '''
from torch import nn


class Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.norm, self.out = nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 1)

    def forward(self, x):
        return self.out(self.norm(self.a(x)).relu())
'''


def test_weights_that_need_their_class_open_by_naming_it_and_pressing_reload_model(window, files, qtbot, dialogs,
                                                                                   tmp_path):
    """The message said "Name the model's class" and nothing of where; Reload model then reopened the model open
    before (or did nothing in a fresh window), not the file that was refused."""
    import torch

    from workbench.core.open.model_source import build

    (tmp_path / "odd.py").write_text(ODD_MODEL)
    torch.save(build(f"{tmp_path / 'odd.py'}:Odd").state_dict(), tmp_path / "odd.pt")
    open_model_and_data(qtbot, window, files)  # another model open first
    window.open_checkpoint(str(tmp_path / "odd.pt"))
    qtbot.waitUntil(lambda: bool(dialogs.errors), timeout=30000)
    assert "the Model tab's Model source" in dialogs.errors[-1].window_fix and "Reload model" in \
        dialogs.errors[-1].window_fix
    window.model_panel.source.setText(f"{tmp_path / 'odd.py'}:Odd")
    window.model_panel.reload.click()
    qtbot.waitUntil(lambda: window.session.model.loaded is not None and
                    window.session.model.loaded.path.name == "odd.pt", timeout=30000)
    assert len(dialogs.errors) == 1
