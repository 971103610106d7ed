"""The Model tab's controls: the MLP activation for weights rebuilt as an MLP, and notebook model sources."""

from __future__ import annotations

import torch

from workbench.core.recipe import MLP_ACTIVATIONS


def test_the_mlp_activation_is_a_control_that_reopens_a_rebuilt_mlp(window, qtbot, tmp_path):
    from workbench.core.load import load_checkpoint

    panel = window.model_panel
    combo = panel.activation
    assert [combo.itemText(i) for i in range(combo.count())] == list(MLP_ACTIVATIONS)
    assert panel.mlp_activation() == "relu"
    path = tmp_path / "mlp.pt"
    torch.save({"0.weight": torch.randn(8, 4), "0.bias": torch.zeros(8), "2.weight": torch.randn(1, 8),
                "2.bias": torch.zeros(1)}, path)
    window.session.set_model(load_checkpoint(path), None)
    with qtbot.waitSignal(panel.reload_requested, timeout=2000):
        combo.setCurrentText("tanh")
    assert panel.mlp_activation() == "tanh"
    assert "MLP activation" in " ".join(window.session.loaded.notes)


def test_the_model_source_field_names_notebooks(window):
    assert ".ipynb" in window.model_panel.source.placeholderText()
