"""torch.export's warning about an LSTM's `_flat_weights` is for the module's author, not the user: an export of a
recurrent model shows none, and its program still computes what the model does."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from workbench.core.export.export import _program


class _Seq(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(3, 5, num_layers=2, batch_first=True)
        self.out = nn.Linear(5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(x)[0][:, -1])


def test_an_lstm_export_shows_no_flat_weights_warning(tmp_path):
    model = _Seq().eval()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        name, kind = _program(model, torch.randn(2, 7, 3), tmp_path)
    assert kind == "torch.export"
    assert not [w for w in caught if "_flat_weights" in str(w.message)]
    program = torch.export.load(str(tmp_path / name)).module()
    x = torch.randn(4, 7, 3)
    assert torch.allclose(program(x), model(x), atol=1e-5)
