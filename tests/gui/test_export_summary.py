"""The Export dialog says what it writes (run, calibration, threshold, policy, conformal level, ONNX, folder)
before anything is written, and the threshold it says is the one metadata.json gets."""

from __future__ import annotations

import json

from .conftest import open_model_and_data


def test_the_export_dialog_says_the_threshold_before_writing(window, files, qtbot, dialogs, tmp_path):
    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.evaluate_panel.threshold_chosen.emit(0.246)  # the slider, released at 0.246
    from workbench.gui.dialogs.export import ExportDialog

    m = window.session.model
    dialog = ExportDialog(m, m.current, window.jobs.run_command, {}, str(tmp_path), window)
    qtbot.addWidget(dialog)
    text = dialog.summary.text()
    assert "This export writes" in text and m.current_entry.name in text
    assert "Decision threshold</b>: 0.246" in text and "Calibration</b>: " in text
    assert "Decision policy</b>: threshold" in text and "ONNX</b>: not written" in text
    target = tmp_path / "out"
    dialog.folder.setText(str(target))
    assert f"Folder</b>: {target}" in dialog.summary.text()  # follows the folder field
    assert not list(tmp_path.glob("out*"))  # said before anything is written
    assert dialog.progress.isHidden(), "no empty progress box before the export starts"
    with qtbot.waitSignal(dialog.progress.valueChanged, timeout=60000):
        dialog.start()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=60000)
    assert dialog.progress.isHidden() and "Exported to" in dialog.status.text()
    assert json.loads((target / "metadata.json").read_text())["decision_threshold"] == 0.246
