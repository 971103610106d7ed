"""The window asks before running code a file names, and says when it runs code the user named."""

import json

import pytest
import torch

from ..conftest import MODELS_PY

PAYLOAD = 'import pathlib\npathlib.Path(__file__).with_name("PWNED").write_text("ran")\n' + MODELS_PY


def _safetensors_with_config(tmp_path):
    from safetensors.torch import save_file

    folder = tmp_path / "model"
    folder.mkdir()
    state = {"body.0.weight": torch.randn(8, 4), "body.0.bias": torch.randn(8), "head.weight": torch.randn(1, 8),
             "head.bias": torch.randn(1)}
    save_file(state, str(folder / "model.safetensors"))
    (folder / "net.py").write_text(PAYLOAD)
    (folder / "config.json").write_text(json.dumps({"model_source": "net.py:TinyRegressor"}))
    return folder


@pytest.mark.parametrize("answer", [False, True])
def test_config_json_model_source_asks_first(window, tmp_path, qtbot, dialogs, monkeypatch, answer):
    folder = _safetensors_with_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    dialogs.trust_answer = answer
    window.open_checkpoint(str(folder / "model.safetensors"))
    qtbot.waitUntil(lambda: bool(dialogs.trust_asked), timeout=30000)
    asked = dialogs.trust_asked[0]
    assert asked.path == str(folder / "config.json") and asked.imports[0] == str(folder / "net.py")
    if answer:
        qtbot.waitUntil(lambda: window.session.model.loaded is not None, timeout=30000)
        assert not (folder / "PWNED").exists(), "only the class runs, never the file's top-level code"
        assert f"Runs {folder / 'net.py'}" in window.model_panel.notes.text()
    else:
        qtbot.wait(200)
        assert window.session.model.loaded is None and not (folder / "PWNED").exists() and not dialogs.errors


def test_a_typed_model_source_runs_and_the_window_says_so(window, files, qtbot, dialogs):
    window.model_panel.source.setText(files["source"])
    window.open_checkpoint(str(files["ckpt"]))
    qtbot.waitUntil(lambda: window.session.model.loaded is not None, timeout=30000)
    assert not dialogs.trust_asked
    notes = window.model_panel.notes.text()
    assert f"Runs {files['models']} (the model source you named)" in notes
    assert "<span style='color:#b00020'>• Runs " in notes, "what ran is a safety note, shown in red (by its kind)"


def test_the_prompt_shows_what_would_run(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox, QWidget

    from workbench.core.errors import UntrustedFileError
    from workbench.gui.dialogs import messages as dialogs

    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append((box.text(), box.informativeText())) or 0)
    parent = QWidget()
    qtbot.addWidget(parent)
    exc = UntrustedFileError("config.json names the model source /m/net.py; opening the model would run it.",
                             "Trust it.", "/m/config.json", ["/m/net.py", "os.system"], ["os.system"])
    assert dialogs.ask_trust(parent, exc) is False  # closing the prompt is a no
    text, details = shown[0]
    assert "/m/config.json" in text and "would run" in text and "DANGEROUS" in text and "os.system" in text
    assert "/m/net.py" in details


def test_the_prompt_lists_every_file_that_would_run(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox, QWidget

    from workbench.core.errors import UntrustedFileError
    from workbench.gui.dialogs import messages

    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.informativeText()) or 0)
    parent = QWidget()
    qtbot.addWidget(parent)
    files = ["/m/net.py"] + [f"/m/lib/part{i}.py" for i in range(40)]  # more than the 30 imports shown
    exc = UntrustedFileError("config.json names the model source /m/net.py.", "Trust it.", "/m/config.json",
                             [*files, "torch"], [], files=files)
    messages.ask_trust(parent, exc)
    assert all(f in shown[0] for f in files) and "torch" in shown[0]
