"""Attach the head at any layer: the cut model, its training, its export, and refusals by name."""

import numpy as np
import pytest
import torch
import torchvision

from tests.core.train.cut_models import overfitted_deep
from workbench.core.errors import RecipeError
from workbench.core.export.export_read import probabilities, read_metadata
from workbench.core.open.model_source import build
from workbench.core.recipe import Recipe
from workbench.core.train.cut import cut_model
from workbench.core.workflow import pipeline
from workbench.core.workflow.journey import convert_checkpoint


@pytest.fixture
def deep(tmp_path):
    ckpt, source, data = overfitted_deep(tmp_path)
    recipe = Recipe().replace(**{
        "data.path": str(data), "data.label_mode": "threshold", "data.threshold": 0.0, "head.freeze": "body",
        "train.epochs": 40, "train.lr": 0.05, "train.batch_size": 64, "seed": 1, "model_source": source,
        "calibration": "none", "head.warm_start": "off"})
    return ckpt, recipe


def test_a_cut_at_layer_2_beats_the_over_fitted_full_body(deep):
    ckpt, recipe = deep
    full, _ = convert_checkpoint(ckpt, recipe, trusted=True)
    cut, _ = convert_checkpoint(ckpt, recipe.replace(**{"model.cut_at": "layer2"}), trusted=True)
    assert cut.metrics["test"]["accuracy"] > full.metrics["test"]["accuracy"] + 0.15
    assert cut.metrics["test"]["accuracy"] > 0.9
    assert cut.metrics["model"]["cut_at"] == "layer2" and full.metrics["model"]["cut_at"] == ""
    assert cut.metrics["model"]["dropped"] == ["act2", "layer3", "act3", "layer4", "act4", "layer5", "act5",
                                               "layer6"]
    assert cut.metrics["model"]["parameters"] < full.metrics["model"]["parameters"]
    assert cut.recipe.model.cut_at == "layer2"


def test_a_cut_export_is_smaller_and_gives_the_in_memory_probabilities(deep, tmp_path):
    ckpt, recipe = deep
    run, export = convert_checkpoint(ckpt, recipe.replace(**{"model.cut_at": "act1"}), tmp_path / "out",
                                     trusted=True)
    names = [n for n, _ in run.model.named_children()]
    assert names == ["layer1", "act1", "head"]  # everything after act1 is gone
    meta = read_metadata(export.folder)
    assert meta["recipe"]["model"]["cut_at"] == "act1"
    from safetensors.torch import load_file

    weights = sum(t.numel() for t in load_file(export.folder / "weights.safetensors").values()) \
        if (export.folder / "weights.safetensors").exists() else None
    X = run.data.table.X[run.data.splits["test"]]
    module = pipeline.calibrated_module(run).eval()
    with torch.no_grad():
        expected = module(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(probabilities(export.folder, meta, X), expected, atol=1e-6)
    full_params = sum(p.numel() for p in build(recipe.model_source).parameters())
    assert run.metrics["model"]["parameters"] == 10 * 10 + 10 + 10 + 1 < full_params
    if weights is not None:
        assert weights < full_params


def test_arithmetic_between_children_is_refused_by_name(tmp_path):
    from tests.core.train.cut_models import DEEP

    (tmp_path / "m.py").write_text(DEEP)
    model = build(f"{tmp_path / 'm.py'}:Residual")
    with pytest.raises(RecipeError, match="forward does arithmetic between children 'b' and 'c'") as got:
        cut_model(model, "c", (10,), "head")
    assert got.value.field == "model.cut_at"
    cut, info = cut_model(model, "b", (10,), "head")  # before the addition, the chain is clean
    assert info.width == 8
    with pytest.raises(RecipeError, match="is \\(or holds\\) the regression head"):
        cut_model(model, "head", (10,), "head")
    with pytest.raises(RecipeError, match="no layer 'nope'"):
        cut_model(model, "nope", (10,), "head")


def test_a_resnet_cut_after_layer3_gets_pooled_features():
    model = torchvision.models.resnet18(num_classes=1).eval()
    cut, info = cut_model(model, "layer3", (3, 32, 32), "fc")
    assert info.adapter == "global average pooling" and info.width == 256
    assert info.dropped == ["layer4", "avgpool", "fc"]
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        body = torch.nn.Sequential(*list(model.children())[:7])
        expected = body(x).mean(dim=(2, 3))
        got = torch.nn.Sequential(*list(cut.children())[:-1])(x)
    torch.testing.assert_close(got, expected)


def test_a_sequence_output_takes_its_last_step():
    class Recurrent(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.fc = torch.nn.GRU(3, 5, batch_first=True), torch.nn.Linear(5, 1)

        def forward(self, x):
            return self.fc(self.rnn(x)[0][:, -1])

    model = Recurrent().eval()
    cut, info = cut_model(model, "rnn", (7, 3), "fc")
    assert info.adapter == "last step" and info.width == 5
    x = torch.randn(2, 7, 3)
    with torch.no_grad():
        torch.testing.assert_close(cut.pool_at_cut(cut.rnn(x)), model.rnn(x)[0][:, -1])


def test_convert_refuses_an_unsafe_cut_with_exit_status_2(tmp_path, capsys):
    from tests.core.train.cut_models import DEEP
    from workbench.cli import main

    (tmp_path / "m.py").write_text(DEEP)
    torch.save(build(f"{tmp_path / 'm.py'}:Residual").state_dict(), tmp_path / "res.pt")
    np.savez(tmp_path / "d.npz", X=np.random.default_rng(0).normal(size=(80, 10)).astype(np.float32),
             y=np.arange(80) % 2)
    code = main(["convert", str(tmp_path / "res.pt"), "--model-source", f"{tmp_path / 'm.py'}:Residual", "--trust",
                 "--data", str(tmp_path / "d.npz"), "--cut-at", "c", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "forward does arithmetic between children 'b' and 'c'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_convert_refuses_a_cut_at_a_layer_the_model_lacks_instead_of_keeping_the_whole_body(tmp_path, capsys):
    """--cut-at names this model's layers: it is checked, never dropped as "a layer of the old model" when the
    model is opened (exit 0 with the whole body, before)."""
    from tests.core.train.cut_models import DEEP
    from workbench.cli import main

    (tmp_path / "m.py").write_text(DEEP)
    torch.save(build(f"{tmp_path / 'm.py'}:Deep").state_dict(), tmp_path / "deep.pt")
    np.savez(tmp_path / "d.npz", X=np.random.default_rng(0).normal(size=(80, 10)).astype(np.float32),
             y=np.arange(80) % 2)
    args = ["convert", str(tmp_path / "deep.pt"), "--model-source", f"{tmp_path / 'm.py'}:Deep", "--trust", "--data",
            str(tmp_path / "d.npz"), "--epochs", "1", "--out", str(tmp_path / "out")]
    code = main([*args, "--cut-at", "nope"])
    err = capsys.readouterr().err
    assert code == 2 and "no layer 'nope'" in err and "layer1" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert main([*args, "--freeze", "upto:layer2", "--quiet"]) == 0, capsys.readouterr().err
    import json

    recipe = json.loads((tmp_path / "out" / "recipe.json").read_text())
    assert recipe["head"]["freeze"] == "upto:layer2"  # kept too (it was reset to none the same way)
