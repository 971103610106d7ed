"""Model classes as other people keep them: in apps, training scripts, notebooks, sibling packages, pickles.

Each source file writes a marker file at its top level: the class must build while the marker never appears.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest
import torch

from workbench.core import errors as E
from workbench.core.open.load import load_checkpoint
from workbench.core.open.model_source import build

MARK = 'import pathlib\npathlib.Path(__file__).with_name("RAN").write_text("top level ran")\n'

NET = textwrap.dedent('''
    class Net(nn.Module):
        def __init__(self, n_in=4, hidden=HIDDEN):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh())
            self.head = nn.Linear(hidden, 1)

        def forward(self, x):
            return scale(self.head(self.body(x)))
''')


def _no_marker(folder):
    assert not list(folder.rglob("RAN")), "code at the file's top level ran"


def test_a_streamlit_app_builds_without_its_ui_or_missing_imports(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(MARK + textwrap.dedent('''
        import streamlit_not_installed_here as st
        import torch
        from torch import nn
        HIDDEN = 8
        def scale(v):
            return v * 2
        st.title("Regressor")
        value = st.slider("x", 0, 10)
    ''') + NET + '\nmodel = Net()\nst.write(model(torch.zeros(1, 4)))\n')
    model = build(f"{app}:Net", {"n_in": 3})
    assert model.body[0].in_features == 3
    _no_marker(tmp_path)


def test_a_training_script_does_not_train(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(MARK + textwrap.dedent('''
        import torch
        from torch import nn
        import urllib.request
        HIDDEN = 6
        scale = lambda v: v
        urllib.request.urlretrieve("http://example.invalid/data.csv", "data.csv")
    ''') + NET + textwrap.dedent('''
        model = Net()
        for epoch in range(10):
            pathlib.Path(__file__).with_name("RAN").write_text("trained")
        if __name__ == "__main__":
            torch.save(model.state_dict(), "model.pt")
    '''))
    assert build(f"{script}:Net").body[0].out_features == 6
    _no_marker(tmp_path)


def _notebook(path, cells):
    path.write_text(json.dumps({"cells": [{"cell_type": kind, "metadata": {}, "source": src.splitlines(True)}
                                          for kind, src in cells], "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))
    return path


def test_a_class_defined_in_a_notebook(tmp_path):
    nb = _notebook(tmp_path / "Regression.ipynb", [
        ("markdown", "# My model"),
        ("code", "!pip install something\n%matplotlib inline\nimport torch\nfrom torch import nn\nHIDDEN = 5"),
        ("code", "%%bash\necho hi > RAN"),
        ("code", MARK + "def scale(v):\n    return v + 1\n"),
        ("code", NET),
        ("code", "model = Net()\nmodel.fit()\n"),
    ])
    model = build(f"{nb}:Net")
    assert model.head.in_features == 5
    assert torch.allclose(model(torch.zeros(2, 4)), model.head(model.body(torch.zeros(2, 4))) + 1)
    _no_marker(tmp_path)


def test_a_sibling_package_resolves_from_the_files_folder_and_parents(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "__init__.py").write_text("")
    (tmp_path / "core" / "model.py").write_text(textwrap.dedent('''
        from torch import nn
        class Block(nn.Sequential):
            def __init__(self, n_in):
                super().__init__(nn.Linear(n_in, 7), nn.ReLU())
    '''))
    (tmp_path / "app").mkdir()
    app = tmp_path / "app" / "main.py"
    app.write_text(MARK + textwrap.dedent('''
        from torch import nn
        from core.model import Block
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = Block(4)
                self.head = nn.Linear(7, 1)
            def forward(self, x):
                return self.head(self.body(x))
    '''))
    before = list(sys.path)
    assert build(f"{app}:Net").head.in_features == 7
    assert sys.path == before, "the import path is only extended while the class is built"
    _no_marker(tmp_path)


@pytest.mark.skipif(importlib.util.find_spec("lightning") is not None
                    or importlib.util.find_spec("pytorch_lightning") is not None, reason="Lightning is installed")
def test_a_lightning_module_builds_as_a_plain_module_without_lightning(tmp_path):
    src = tmp_path / "lit.py"
    src.write_text(MARK + textwrap.dedent('''
        import pytorch_lightning as pl
        from torch import nn
        class LitReg(pl.LightningModule):
            def __init__(self, n_in=4, hidden=8):
                super().__init__()
                self.save_hyperparameters()
                self.net = nn.Sequential(nn.Linear(self.hparams.n_in, hidden), nn.ReLU(), nn.Linear(hidden, 1))
            def forward(self, x):
                return self.net(x)
            def training_step(self, batch, i):
                self.log("loss", 0.0)
        trainer = pl.Trainer(max_epochs=3)
        trainer.fit(LitReg())
    '''))
    model = build(f"{src}:LitReg", {"n_in": 3})
    assert isinstance(model, torch.nn.Module) and model.hparams.n_in == 3
    assert model(torch.zeros(2, 3)).shape == (2, 1)
    assert "pytorch_lightning" not in sys.modules
    _no_marker(tmp_path)


def test_a_missing_package_the_class_needs_is_named_with_what_to_install(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(textwrap.dedent('''
        import streamlit_unused_here
        import timm_not_installed_here as timm
        from torch import nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = timm.create_model("resnet18")
    '''))
    with pytest.raises(E.ModelSourceError) as caught:
        build(f"{src}:Net")
    assert "timm_not_installed_here" in caught.value.problem
    assert "pip install timm-not-installed-here" in caught.value.fix
    assert "streamlit" not in str(caught.value)
    assert "Fix the error" not in str(caught.value)


def test_an_unknown_class_lists_the_files_classes(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("from torch import nn\nclass A(nn.Module):\n    pass\n")
    with pytest.raises(E.ModelSourceError, match="Classes it defines: A"):
        build(f"{src}:B")


SAVE_FROM_MAIN = textwrap.dedent('''
    import sys, torch
    from torch import nn
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 8), nn.Tanh())
            self.head = nn.Linear(8, 1)
        def forward(self, x):
            return self.head(self.body(x))
    if __name__ == "__main__":
        torch.manual_seed(0)
        model = Net()
        torch.save(model, sys.argv[1])
        torch.save({"model": model, "epoch": 3}, sys.argv[2])
        class Payload:
            def __reduce__(self):
                import os, pathlib
                return (os.system, (f"touch {pathlib.Path(sys.argv[3]).with_name('RAN')}",))
        model.extra = Payload()
        torch.save(model, sys.argv[3])
''')


@pytest.fixture
def main_pickles(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SAVE_FROM_MAIN)
    whole, inside, hostile = tmp_path / "whole.pt", tmp_path / "inside.pt", tmp_path / "hostile.pt"
    subprocess.run([sys.executable, str(script), str(whole), str(inside), str(hostile)], check=True, cwd=tmp_path)
    return script, whole, inside, hostile


def test_a_module_pickled_from_main_opens_without_running_anything(main_pickles):
    script, whole, inside, _ = main_pickles
    x = torch.randn(5, 4)
    reference = build(f"{script}:Net")
    for path in (whole, inside):
        loaded = load_checkpoint(path, mlp_activation="tanh")  # no trust asked: nothing is built from the pickle
        assert "read out as a state_dict" in " ".join(loaded.notes) and "__main__.Net" in " ".join(loaded.notes)
        state = {k.replace("body.0", "0").replace("head", "2"): v for k, v in loaded.model.state_dict().items()}
        reference_state = {k.replace("body.0", "0").replace("head", "2"): v
                           for k, v in torch.load(whole, weights_only=False,
                                                  pickle_module=_main_mapped(reference)).state_dict().items()}
        assert all(torch.equal(state[k], reference_state[k]) for k in reference_state)
        assert loaded.model(x).shape == (5, 1)
    # with the user's class named, it builds that class, untrusted (weights only) and trusted (mapped)
    named = load_checkpoint(whole, f"{script}:Net")
    assert type(named.model).__name__ == "Net" and "read out" in " ".join(named.notes)
    mapped = load_checkpoint(whole, f"{script}:Net", trusted=True)
    assert type(mapped.model).__name__ == "Net"
    assert torch.allclose(named.model(x), mapped.model(x))


def _main_mapped(model):
    import pickle
    import types

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            return type(model) if module == "__main__" else super().find_class(module, name)

    mod = types.ModuleType("pickle")
    mod.Unpickler = Unpickler
    mod.load = lambda fh, **kw: Unpickler(fh, **kw).load()
    return mod


def test_a_main_pickle_with_a_payload_runs_nothing(tmp_path, main_pickles):
    script, _, _, hostile = main_pickles
    loaded = load_checkpoint(hostile)
    assert "posix.system" in " ".join(loaded.notes) and "was not run" in " ".join(loaded.notes)
    assert type(load_checkpoint(hostile, f"{script}:Net").model).__name__ == "Net"  # weights only, untrusted
    _no_marker(tmp_path)


def test_a_notebook_source_loads_weights(tmp_path):
    nb = _notebook(tmp_path / "nb.ipynb", [("code", "import torch\nfrom torch import nn\nHIDDEN = 3\n"
                                                   "def scale(v):\n    return v\n" + NET)])
    model = build(f"{nb}:Net")
    weights = tmp_path / "w.pt"
    torch.save(model.state_dict(), weights)
    loaded = load_checkpoint(weights, f"{nb}:Net")
    x = torch.randn(4, 4)
    assert torch.allclose(loaded.model(x), model(x))


# ----- diagnosis ---------------------------------------------------------------------------------------------

def test_nan_weights_are_named_by_layer_and_count(tmp_path):
    from workbench.core.open.layer_tree import inspect_model

    state = {"0.weight": torch.randn(8, 4), "0.bias": torch.randn(8), "2.weight": torch.randn(1, 8),
             "2.bias": torch.randn(1)}
    state["0.weight"][0, :3] = float("nan")
    state["2.bias"][0] = float("inf")
    path = tmp_path / "nan.pt"
    torch.save(state, path)
    with pytest.raises(E.ModelError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert "'0.weight' has 3 NaN of 32 values" in message and "'2.bias' has 1 inf of 1 values" in message
    assert "not a module" not in message and "earlier checkpoint" in caught.value.fix
    model = torch.nn.Sequential(torch.nn.Linear(4, 1))
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    with pytest.raises(E.ModelError, match="not finite"):
        inspect_model(model, (4,))


LSTM_SRC = textwrap.dedent('''
    from torch import nn
    class SeqReg(nn.Module):
        def __init__(self, n_features=3, hidden=8):
            super().__init__()
            self.rnn = nn.LSTM(n_features, hidden, batch_first=True)
            self.head = nn.Linear(hidden, 1)
        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])
''')


def test_a_recurrent_model_takes_its_shape_from_the_data_and_names_the_field(tmp_path):
    from workbench.core.open.layer_tree import inspect_model

    src = tmp_path / "seq.py"
    src.write_text(LSTM_SRC)
    model = build(f"{src}:SeqReg")
    weights = tmp_path / "seq.pt"
    torch.save(model.state_dict(), weights)
    loaded = load_checkpoint(weights, f"{src}:SeqReg")
    assert loaded.input_shape is None, "the first Linear reads the hidden state, not the input"
    assert "recurrent" in " ".join(loaded.notes)
    for wrong in [(8,), (3,), (20, 5)]:
        with pytest.raises(E.ModelError) as caught:
            inspect_model(loaded.model, wrong)
        assert "LSTM with input_size 3" in caught.value.problem
        assert "--input-shape" in caught.value.fix and "Input shape field" in caught.value.fix
    found = inspect_model(loaded.model, (20, 3))
    assert found.head == "head" and found.output_shape == (1,)


def test_probe_failures_are_told_by_cause(tmp_path):
    from workbench.core.open.layer_tree import inspect_model

    class Broken(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.head = torch.nn.Linear(4, 1)

        def forward(self, x):
            raise KeyError("config")

    with pytest.raises(E.ModelError) as caught:
        inspect_model(Broken(), (4,))
    assert "does not look like a wrong input shape" in caught.value.problem

    class CustomOp(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.head = torch.nn.Linear(4, 1)

        def forward(self, x):
            return torch.ops.myvendor.fused_gelu(self.head(x))

    with pytest.raises(E.ModelError) as caught:
        inspect_model(CustomOp(), (4,))
    assert "custom operator myvendor" in caught.value.problem and "load_library" in caught.value.fix
    with pytest.raises(E.ModelError) as caught:
        inspect_model(torch.nn.Sequential(torch.nn.Linear(4, 1)), (5,))
    assert "Input shape field" in caught.value.fix


def test_a_recurrent_regressor_converts_on_sequence_data(tmp_path):
    import numpy as np

    from workbench.core.recipe import Recipe
    from workbench.core.workflow.journey import convert_checkpoint

    src = tmp_path / "seq.py"
    src.write_text(LSTM_SRC)
    torch.manual_seed(0)
    model = build(f"{src}:SeqReg")
    weights = tmp_path / "seq.pt"
    torch.save(model.state_dict(), weights)
    X = torch.randn(300, 12, 3)
    with torch.no_grad():
        y = model(X).reshape(-1)
    data = tmp_path / "seq.npz"
    np.savez(data, X=X.numpy(), y=y.numpy())
    recipe = Recipe().with_changes(**{"data.path": str(data), "data.label": "y", "data.label_mode": "threshold",
                                      "head.task": "binary", "train.epochs": 2, "model_source": f"{src}:SeqReg"})
    run, _ = convert_checkpoint(weights, recipe)
    assert run.inspection.input_shape == (12, 3) and run.head_name == "head"
