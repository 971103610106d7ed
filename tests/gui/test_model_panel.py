"""The Model tab's controls: the MLP activation for weights rebuilt as an MLP, and notebook model sources."""

from __future__ import annotations

import json

import torch

from workbench.core.recipe import MLP_ACTIVATIONS


def test_the_mlp_activation_is_a_control_that_reopens_a_rebuilt_mlp(window, qtbot, tmp_path):
    panel = window.model_panel
    combo = panel.activation
    assert [combo.itemText(i) for i in range(combo.count())] == list(MLP_ACTIVATIONS)
    assert panel.mlp_activation() == "relu"
    path = tmp_path / "mlp.pt"
    torch.save({"0.weight": torch.randn(8, 4), "0.bias": torch.zeros(8), "2.weight": torch.randn(1, 8),
                "2.bias": torch.zeros(1)}, path)
    window.open_checkpoint(str(path))
    qtbot.waitUntil(lambda: window.session.model.loaded is not None, timeout=30000)
    assert "MLP activation" in " ".join(window.session.model.loaded.notes)
    assert any(isinstance(m, torch.nn.ReLU) for m in window.session.model.loaded.model.modules())
    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        combo.setCurrentText("tanh")  # reopens the file with the chosen activation
    assert panel.mlp_activation() == "tanh" and window.session.model.recipe.mlp_activation == "tanh"
    assert any(isinstance(m, torch.nn.Tanh) for m in window.session.model.loaded.model.modules())


def test_the_mlp_activation_is_the_recipe_field(window, qtbot, tmp_path):
    from workbench.core.recipe import Recipe

    panel = window.model_panel
    path = tmp_path / "mlp.pt"
    torch.save({"0.weight": torch.randn(8, 4), "0.bias": torch.zeros(8), "2.weight": torch.randn(1, 8),
                "2.bias": torch.zeros(1)}, path)
    window.open_checkpoint(str(path))
    qtbot.waitUntil(lambda: window.session.model.loaded is not None, timeout=30000)
    saved = tmp_path / "r.json"
    Recipe().replace(mlp_activation="gelu").save(saved)
    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        window.open_recipe(str(saved))  # the open MLP is rebuilt with the recipe's activation
    assert panel.activation.currentText() == "gelu"
    assert any(isinstance(m, torch.nn.GELU) for m in window.session.model.loaded.model.modules())
    panel.activation.setCurrentText("elu")
    qtbot.waitUntil(lambda: any(isinstance(m, torch.nn.ELU) for m in window.session.model.loaded.model.modules()),
                    timeout=30000)
    again = tmp_path / "again.json"
    window.session.model.recipe.save(again)
    assert json.loads(again.read_text())["mlp_activation"] == "elu"


def test_the_model_source_field_names_notebooks(window):
    assert ".ipynb" in window.model_panel.source.placeholderText()


def test_a_table_of_flattened_sequences_feeds_a_recurrent_model(window, qtbot, tmp_path):
    import numpy as np
    import pandas as pd

    src = tmp_path / "seq.py"
    src.write_text("from torch import nn\n"
                   "class SeqReg(nn.Module):\n"
                   "    def __init__(self):\n"
                   "        super().__init__()\n"
                   "        self.rnn = nn.LSTM(3, 8, batch_first=True)\n"
                   "        self.head = nn.Linear(8, 1)\n"
                   "    def forward(self, x):\n"
                   "        out, _ = self.rnn(x)\n"
                   "        return self.head(out[:, -1])\n")
    torch.manual_seed(0)
    weights = tmp_path / "seq.pt"
    torch.save({"rnn.weight_ih_l0": torch.randn(32, 3), "rnn.weight_hh_l0": torch.randn(32, 8),
                "rnn.bias_ih_l0": torch.zeros(32), "rnn.bias_hh_l0": torch.zeros(32),
                "head.weight": torch.randn(1, 8), "head.bias": torch.zeros(1)}, weights)
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(120, 12)), columns=[f"t{t}_f{f}" for t in range(4) for f in range(3)])
    table["y"] = rng.normal(size=120)
    data = tmp_path / "seq.csv"
    table.to_csv(data, index=False)
    window.model_panel.source.setText(f"{src}:SeqReg")
    window.open_checkpoint(str(weights))
    qtbot.waitUntil(lambda: window.session.model.loaded is not None, timeout=30000)
    window.session.model.update(**{"data.label": "y", "data.label_mode": "threshold"})
    window.load_data(str(data))
    m = window.session.model
    qtbot.waitUntil(lambda: m.data is not None or bool(m.data_problem), timeout=30000)
    assert window.session.model.data is not None, window.session.model.data_problem
    qtbot.waitUntil(lambda: window.session.model.inspection is not None, timeout=30000)
    assert window.session.model.data.input_shape == (4, 3) and window.session.model.inspection.input_shape == (4, 3)
    window.session.model.update(**{"data.features": tuple(table.columns[:11])})  # 11 columns: not whole steps
    assert window.session.model.data is None
    problem = window.session.model.data_problem
    assert "3 features per time step" in problem and "Input shape" in problem and "--" not in problem


def test_at_4k_the_model_fields_keep_the_forms_widths(window, qtbot):
    from workbench.gui.panels.form import FIELD_WIDTH

    window.resize(3840, 2160)
    window.show_workspace(0)
    qtbot.wait(20)
    panel = window.model_panel
    assert panel.source.width() <= 2 * FIELD_WIDTH["QLineEdit"]
    assert panel.args.width() <= FIELD_WIDTH["QLineEdit"] and panel.shape.width() <= FIELD_WIDTH["QLineEdit"]
    assert panel.activation.width() <= FIELD_WIDTH["QComboBox"]


def test_model_settings_that_do_not_read_or_are_not_applied_yet_are_said_and_enter_reloads(window, files, qtbot):
    """Input shape "abc" and arguments '{"hidden": }' were silently kept out of the recipe until Reload model."""
    from .conftest import open_model_and_data

    open_model_and_data(qtbot, window, files)
    panel = window.model_panel
    assert panel.pending.isHidden()
    panel.shape.setText("abc")
    assert not panel.pending.isHidden() and "whole numbers separated by commas" in panel.pending.text()
    panel.shape.setText("")
    panel.args.setText('{"hidden": }')
    assert "JSON object" in panel.pending.text()
    panel.args.setText("")
    assert panel.pending.isHidden()
    panel.shape.setText("4")  # the same model with its shape given: not applied until reloaded
    assert "Reload model" in panel.pending.text()
    panel.shape.returnPressed.emit()
    qtbot.waitUntil(lambda: window.session.model.recipe.input_shape == (4,), timeout=30000)
    qtbot.waitUntil(lambda: panel.pending.isHidden(), timeout=5000)
