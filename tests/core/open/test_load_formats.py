"""Every checkpoint format opens with `workbench inspect` and converts end to end."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from workbench import cli


def run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    return out


def _tiny(models_py):
    from workbench.core.open.model_source import build

    return build(f"{models_py}:TinyRegressor")


FORMATS = ["whole_module", "state_dict_with_source", "mlp_chain", "tutorial", "lightning_net_prefix",
           "torchscript", "export_pt2", "safetensors_config", "legacy_format", "multi_output"]


def make(fmt: str, tmp_path, models_py):
    """Write a checkpoint of `fmt`; return (path, extra CLI arguments)."""
    model = _tiny(models_py)
    source = ["--model-source", f"{models_py}:TinyRegressor"]
    path = tmp_path / f"{fmt}.pt"
    if fmt == "whole_module":
        torch.save(model, path)
        return path, source + ["--trust"]
    if fmt == "state_dict_with_source":
        torch.save(model.state_dict(), path)
        return path, source
    if fmt == "mlp_chain":
        torch.save(nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)).state_dict(), path)
        return path, ["--mlp-activation", "tanh"]
    if fmt == "tutorial":
        torch.save({"model_state_dict": model.state_dict(), "optimizer_state_dict": {}, "epoch": 7, "loss": 0.3}, path)
        return path, source
    if fmt == "lightning_net_prefix":
        torch.save({"state_dict": {f"net.{k}": v for k, v in model.state_dict().items()},
                    "hyper_parameters": {"n_in": 4, "hidden": 8}, "epoch": 2}, path)
        return path, source
    if fmt == "torchscript":
        torch.jit.save(torch.jit.script(model), str(path))
        return path, ["--trust", "--input-shape", "4"]
    if fmt == "export_pt2":
        path = tmp_path / "program.pt2"
        batch = torch.export.Dim("batch")
        program = torch.export.export(model.eval(), (torch.randn(2, 4),), dynamic_shapes=({0: batch},))
        torch.export.save(program, str(path))
        return path, ["--trust"]  # the program records its input shape
    if fmt == "safetensors_config":
        from safetensors.torch import save_file

        path = tmp_path / "model.safetensors"
        save_file(model.state_dict(), str(path))
        (tmp_path / "config.json").write_text(json.dumps({"model_source": f"{models_py}:TinyRegressor",
                                                          "model_args": {"n_in": 4, "hidden": 8}}))
        return path, ["--trust"]  # config.json names code to run: it runs only once trusted
    if fmt == "legacy_format":
        torch.save(model.state_dict(), path, _use_new_zipfile_serialization=False)
        return path, source
    if fmt == "multi_output":
        multi = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.Softplus())
        torch.save(multi.state_dict(), path)
        return path, []
    raise ValueError(fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_format_inspects_and_converts(fmt, tmp_path, models_py, table_csv, capsys):
    path, extra = make(fmt, tmp_path, models_py)
    info = json.loads(run(["inspect", path, "--json", *extra], capsys))
    assert info["layers"]
    out = tmp_path / "out"
    run(["convert", path, *extra, "--data", table_csv, "--task", "binary", "--threshold", "median",
         "--epochs", "2", "--out", out], capsys)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["classes"] and (out / meta["program"]).is_file()
    assert meta["round_trip_max_abs_diff"] <= 1e-5
    if fmt in ("torchscript", "export_pt2"):  # rebuilt as an ordinary module, proven on probe inputs
        assert info["head"] == "2" and info["head_tail"] == ["3"]
        assert any("rebuilt as an ordinary, editable module" in note for note in info["notes"])
    if fmt == "multi_output":
        assert info["head_out_features"] == 3  # a state_dict does not record the Softplus after it


def test_torchvision_resnet18_state_dict_converts_on_images(tmp_path, capsys):
    from torchvision.models import resnet18

    torch.save(resnet18(weights=None, num_classes=1).state_dict(), tmp_path / "resnet.pt")
    info = json.loads(run(["inspect", tmp_path / "resnet.pt", "--input-shape", "3,32,32", "--json"], capsys))
    assert info["head"] == "fc" and info["head_in_features"] == 512
    rng = np.random.default_rng(0)
    for cls, base in (("cat", 40), ("dog", 200)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(base + rng.normal(0, 20, (40, 40, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / cls / f"{i}.png")
    run(["convert", tmp_path / "resnet.pt", "--input-shape", "3,32,32", "--data", tmp_path / "imgs",
         "--task", "binary", "--epochs", "1", "--batch-size", "8", "--freeze", "body", "--calibration", "none",
         "--splits", "0.5,0.17,0,0.33", "--out", tmp_path / "out"], capsys)
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    assert meta["classes"] == ["cat", "dog"] and meta["input_shape"] == [3, 32, 32]
