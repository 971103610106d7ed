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
    qtbot.waitUntil(lambda: window.session.loaded is not None, timeout=30000)
    assert "MLP activation" in " ".join(window.session.loaded.notes)
    assert any(isinstance(m, torch.nn.ReLU) for m in window.session.loaded.model.modules())
    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        combo.setCurrentText("tanh")  # reopens the file with the chosen activation
    assert panel.mlp_activation() == "tanh" and window.session.recipe.mlp_activation == "tanh"
    assert any(isinstance(m, torch.nn.Tanh) for m in window.session.loaded.model.modules())


def test_the_mlp_activation_is_the_recipe_field(window, qtbot, tmp_path):
    from workbench.core.recipe import Recipe

    panel = window.model_panel
    path = tmp_path / "mlp.pt"
    torch.save({"0.weight": torch.randn(8, 4), "0.bias": torch.zeros(8), "2.weight": torch.randn(1, 8),
                "2.bias": torch.zeros(1)}, path)
    window.open_checkpoint(str(path))
    qtbot.waitUntil(lambda: window.session.loaded is not None, timeout=30000)
    saved = tmp_path / "r.json"
    Recipe().replace(mlp_activation="gelu").save(saved)
    with qtbot.waitSignal(window.session.model_changed, timeout=30000):
        window.open_recipe(str(saved))  # the open MLP is rebuilt with the recipe's activation
    assert panel.activation.currentText() == "gelu"
    assert any(isinstance(m, torch.nn.GELU) for m in window.session.loaded.model.modules())
    panel.activation.setCurrentText("elu")
    qtbot.waitUntil(lambda: any(isinstance(m, torch.nn.ELU) for m in window.session.loaded.model.modules()),
                    timeout=30000)
    again = tmp_path / "again.json"
    window.session.recipe.save(again)
    assert json.loads(again.read_text())["mlp_activation"] == "elu"


def test_the_model_source_field_names_notebooks(window):
    assert ".ipynb" in window.model_panel.source.placeholderText()
