"""The activation of an MLP rebuilt from a bare state_dict is a recipe field: a saved recipe reproduces the model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from workbench.core import recipe as rc
from workbench.core.errors import RecipeError


def _tanh_mlp(tmp_path):
    """A tanh MLP's bare state_dict, and an .npz whose target it computes."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)).eval()
    path = tmp_path / "mlp.pt"
    torch.save(model.state_dict(), path)
    X = torch.randn(200, 4)
    with torch.no_grad():
        y = model(X).reshape(-1)
    data = tmp_path / "d.npz"
    np.savez(data, X=X.numpy(), y=y.numpy())
    return model, path, data


def test_the_activation_round_trips_through_a_saved_recipe(tmp_path):
    assert rc.Recipe().mlp_activation == "relu"
    path = tmp_path / "r.json"
    rc.Recipe().replace(mlp_activation="gelu").save(path)
    assert json.loads(path.read_text())["mlp_activation"] == "gelu"
    assert rc.load(path).mlp_activation == "gelu"
    old = tmp_path / "old.json"
    old.write_text('{"version": 3, "seed": 1}')  # written before the field: built with relu, and still is
    assert rc.load(old).mlp_activation == "relu"
    bad = tmp_path / "bad.json"
    bad.write_text('{"mlp_activation": "swish"}')
    with pytest.raises(RecipeError) as caught:
        rc.load(bad)
    assert caught.value.field == "mlp_activation" and "relu" in caught.value.problem


def test_converting_with_a_recipe_rebuilds_its_activation(tmp_path):
    from workbench.core.workflow.journey import convert_checkpoint

    model, path, data = _tanh_mlp(tmp_path)
    recipe = rc.Recipe().replace(**{"data.path": str(data), "data.label": "y", "data.label_mode": "threshold",
                                    "train.epochs": 1, "mlp_activation": "tanh"})
    run, _ = convert_checkpoint(path, recipe)
    assert any(isinstance(m, nn.Tanh) for m in run.loaded.model.modules())
    X = torch.randn(5, 4)
    with torch.no_grad():  # the rebuilt body is the saved model's: same outputs before the head swap
        assert torch.allclose(run.loaded.model.eval()(X), model(X), atol=1e-6)
    run, _ = convert_checkpoint(path, recipe.replace(mlp_activation="relu"))
    assert not any(isinstance(m, nn.Tanh) for m in run.loaded.model.modules())


def test_the_cli_reads_the_activation_from_the_recipe_and_the_flag_overrides_it(tmp_path, capsys):
    from workbench import cli

    _model, path, data = _tanh_mlp(tmp_path)
    recipe = tmp_path / "r.toml"
    recipe.write_text(f'mlp_activation = "tanh"\n[data]\npath = "{data}"\nlabel = "y"\nlabel_mode = "threshold"\n'
                      '[train]\nepochs = 1\n')
    args = cli.build_parser().parse_args(["convert", str(path), "--recipe", str(recipe), "--out", "o"])
    assert cli._recipe_from_args(args).mlp_activation == "tanh"
    args = cli.build_parser().parse_args(["convert", str(path), "--recipe", str(recipe), "--out", "o",
                                          "--mlp-activation", "gelu"])
    assert cli._recipe_from_args(args).mlp_activation == "gelu"
    saved = tmp_path / "saved.json"
    code = cli.main(["convert", str(path), "--recipe", str(recipe), "--out", str(tmp_path / "out"), "--quiet",
                     "--save-recipe", str(saved)])
    assert code == 0, capsys.readouterr().err
    assert json.loads(saved.read_text())["mlp_activation"] == "tanh"
    assert json.loads((tmp_path / "out" / "recipe.json").read_text())["mlp_activation"] == "tanh"
    assert cli.build_parser().parse_args(["inspect", str(path), "--mlp-activation", "tanh"]).mlp_activation == "tanh"
