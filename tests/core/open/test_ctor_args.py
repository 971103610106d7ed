"""Constructor arguments and input shapes the checkpoint already holds: read from the weights' shapes, from a
`{"model", "args"}` checkpoint's args, from a Lightning checkpoint's hyper-parameters (a config object's fields);
only the rest is asked for."""

from __future__ import annotations

import argparse
import json
import textwrap

import pytest
import torch
from torch import nn

from workbench.core import errors as E
from workbench.core.open.load import load_checkpoint
from workbench.core.open.shape_hints import shape_example


def _codes(loaded):
    return {getattr(n, "code", ""): n for n in loaded.notes}


def test_an_argument_only_in_the_weights_is_inferred_from_their_shapes(tmp_path):
    src = tmp_path / "models.py"
    src.write_text(textwrap.dedent('''
        from torch import nn
        class RegressionModel(nn.Module):
            def __init__(self, input_dim, hidden=64, dropout=0.1):
                super().__init__()
                self.fc = nn.Sequential(nn.Linear(input_dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                                        nn.Linear(hidden, 1))
            def forward(self, x):
                return self.fc(x)
    '''))
    torch.manual_seed(0)
    fc = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 1))
    torch.save({f"fc.{k}": v for k, v in fc.state_dict().items()}, tmp_path / "w.pt")
    loaded = load_checkpoint(tmp_path / "w.pt", f"{src}:RegressionModel")
    assert loaded.model.fc[0].in_features == 8 and loaded.model.fc[0].out_features == 32
    note = _codes(loaded)["args_inferred"]
    assert note.field == "model_args" and "input_dim=8" in note and "hidden=32" in note
    assert "dropout" not in note  # not an integer: the default stays
    x = torch.randn(5, 8)
    assert torch.allclose(loaded.model(x), fc.eval()(x))
    assert loaded.input_shape == (8,)


def test_arguments_the_user_gives_win_and_only_the_rest_is_inferred(tmp_path):
    src = tmp_path / "models.py"
    src.write_text("from torch import nn\nclass M(nn.Module):\n    def __init__(self, n_in, width):\n"
                   "        super().__init__()\n        self.a = nn.Linear(n_in, width)\n"
                   "        self.b = nn.Linear(width, 1)\n"
                   "    def forward(self, x):\n        return self.b(self.a(x))\n")
    torch.save({"a.weight": torch.zeros(16, 5), "a.bias": torch.zeros(16), "b.weight": torch.zeros(1, 16),
                "b.bias": torch.zeros(1)}, tmp_path / "w.pt")
    loaded = load_checkpoint(tmp_path / "w.pt", f"{src}:M", {"width": 16})
    assert "n_in=5" in _codes(loaded)["args_inferred"] and "width" not in _codes(loaded)["args_inferred"]
    with pytest.raises(E.ModelSourceError, match="No value of n_in fits"):  # a wrong given value stays
        load_checkpoint(tmp_path / "w.pt", f"{src}:M", {"width": 12})


CNN = textwrap.dedent('''
    import torch
    from torch import nn
    class AgeNet(nn.Module):
        def __init__(self, img_size, channels=3, width=8):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(4))
            self.head = nn.Linear(width * (img_size // 4) ** 2, 1)
        def forward(self, x):
            return self.head(torch.flatten(self.features(x), 1))
''')


@pytest.mark.parametrize("as_namespace", [False, True])
def test_a_model_and_args_checkpoint_gives_the_arguments_and_the_input_shape(tmp_path, as_namespace):
    src = tmp_path / "net.py"
    src.write_text(CNN)
    ns: dict = {}
    exec(compile(CNN, "cnn", "exec"), ns)  # noqa: S102 - the test's own class
    net = ns["AgeNet"](img_size=32, width=4)
    args = {"img_size": 32, "width": 4, "lr": 1e-3, "epochs": 40, "data_dir": "/data/faces"}
    saved = argparse.Namespace(**args) if as_namespace else args
    torch.save({"model": net.state_dict(), "args": saved, "epoch": 39}, tmp_path / "best.pth")
    loaded = load_checkpoint(tmp_path / "best.pth", f"{src}:AgeNet")  # no trust asked: a Namespace is data
    assert loaded.input_shape == (3, 32, 32)
    note = _codes(loaded)["args_from_checkpoint"]
    assert "img_size=32" in note and "width=4" in note and "lr" not in note
    x = torch.rand(2, 3, 32, 32)
    assert torch.allclose(loaded.model(x), net(x))


def test_a_lightning_checkpoint_with_config_fields_builds_the_config_object(tmp_path):
    src = tmp_path / "lit.py"
    src.write_text(textwrap.dedent('''
        from dataclasses import dataclass
        import pytorch_lightning as pl
        from torch import nn

        @dataclass
        class ModelConfig:
            n_features: int = 4
            hidden: int = 16
            dropout: float = 0.0

        class LitRegressor(pl.LightningModule):
            def __init__(self, config: ModelConfig):
                super().__init__()
                assert isinstance(config, ModelConfig)
                self.model = nn.Sequential(nn.Linear(config.n_features, config.hidden), nn.ReLU(),
                                           nn.Dropout(config.dropout), nn.Linear(config.hidden, 1))
            def forward(self, x):
                return self.model(x)
    '''))
    body = nn.Sequential(nn.Linear(7, 24), nn.ReLU(), nn.Dropout(0.2), nn.Linear(24, 1))
    # The dict Lightning writes (built by hand: Lightning need not be installed), the config's fields as hparams.
    ckpt = {"epoch": 9, "global_step": 90, "pytorch-lightning_version": "2.2.0",
            "state_dict": {f"model.{k}": v for k, v in body.state_dict().items()},
            "hyper_parameters": {"n_features": 7, "hidden": 24, "dropout": 0.2}, "optimizer_states": [],
            "lr_schedulers": []}
    torch.save(ckpt, tmp_path / "epoch=9.ckpt")
    loaded = load_checkpoint(tmp_path / "epoch=9.ckpt", f"{src}:LitRegressor")
    assert loaded.format == "Lightning checkpoint" and loaded.input_shape == (7,)
    assert "config=" in _codes(loaded)["args_from_checkpoint"]
    x = torch.randn(3, 7)
    assert torch.allclose(loaded.model.eval()(x), body.eval()(x))


def test_a_config_nested_under_its_name_builds_the_object_too(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("from torch import nn\nclass M(nn.Module):\n    def __init__(self, cfg):\n"
                   "        super().__init__()\n        self.fc = nn.Linear(cfg.d_in, cfg['d_out'])\n"
                   "    def forward(self, x):\n        return self.fc(x)\n")
    torch.save({"state_dict": nn.Linear(6, 1).state_dict() | {}, "hyper_parameters": {"cfg": {"d_in": 6, "d_out": 1}}},
               tmp_path / "c.ckpt")
    state = torch.load(tmp_path / "c.ckpt")
    state["state_dict"] = {f"fc.{k}": v for k, v in state["state_dict"].items()}
    torch.save(state, tmp_path / "c.ckpt")
    assert load_checkpoint(tmp_path / "c.ckpt", f"{src}:M").model.fc.in_features == 6


def test_a_recurrent_model_is_given_a_sequence_example_and_its_length_from_the_args(tmp_path):
    src = tmp_path / "rnn.py"
    src.write_text("from torch import nn\nclass R(nn.Module):\n    def __init__(self, n_features, hidden=16):\n"
                   "        super().__init__()\n        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)\n"
                   "        self.out = nn.Linear(hidden, 1)\n    def forward(self, x):\n"
                   "        return self.out(self.lstm(x)[0][:, -1])\n")
    lstm = nn.LSTM(10, 12, batch_first=True)
    state = {f"lstm.{k}": v for k, v in lstm.state_dict().items()} | {"out.weight": torch.zeros(1, 12),
                                                                      "out.bias": torch.zeros(1)}
    torch.save(state, tmp_path / "r.pt")
    loaded = load_checkpoint(tmp_path / "r.pt", f"{src}:R")
    assert loaded.input_shape is None and "n_features=10" in _codes(loaded)["args_inferred"]
    assert shape_example(loaded.model) == "sequence length,features per step, e.g. 60,10"
    assert "224" not in shape_example(loaded.model)
    torch.save({"model": state, "args": {"seq_len": 60}}, tmp_path / "r2.pt")
    assert load_checkpoint(tmp_path / "r2.pt", f"{src}:R").input_shape == (60, 10)


def test_a_hugging_face_config_names_its_class_and_package(tmp_path):
    from safetensors.torch import save_file

    save_file({"embeddings.word_embeddings.weight": torch.zeros(30, 4),
               "encoder.layer.0.attention.self.query.weight": torch.zeros(4, 4),
               "encoder.layer.0.attention.self.query.bias": torch.zeros(4),
               "encoder.layer.0.output.LayerNorm.weight": torch.ones(4)}, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertForSequenceClassification"],
                                                      "model_type": "bert", "hidden_size": 4}))
    with pytest.raises(E.CheckpointError) as err:
        load_checkpoint(tmp_path / "model.safetensors")
    assert "BertForSequenceClassification" in err.value.problem and "transformers" in err.value.problem


def test_a_conv1d_checkpoint_with_a_sequence_length_in_its_config_has_its_input_shape(tmp_path):
    src = tmp_path / "c.py"
    src.write_text("import torch\nfrom torch import nn\nclass C(nn.Module):\n"
                   "    def __init__(self, in_channels, seq_len):\n        super().__init__()\n"
                   "        self.conv = nn.Conv1d(in_channels, 4, 3, padding=1)\n"
                   "        self.fc = nn.Linear(4 * seq_len, 1)\n"
                   "    def forward(self, x):\n        return self.fc(torch.flatten(self.conv(x), 1))\n")
    state = {"conv.weight": torch.zeros(4, 2, 3), "conv.bias": torch.zeros(4), "fc.weight": torch.zeros(1, 4 * 50),
             "fc.bias": torch.zeros(1)}
    torch.save({"net": state, "config": {"in_channels": 2, "seq_len": 50}}, tmp_path / "c.pt")
    loaded = load_checkpoint(tmp_path / "c.pt", f"{src}:C")
    assert loaded.input_shape == (2, 50) and loaded.model.fc.in_features == 200
