import json
import pickle

import pytest
import torch
from torch import nn

from workbench.core.errors import CheckpointError, ModelSourceError, UntrustedFileError
from workbench.core.open.load import load_checkpoint


def _same_output(a: nn.Module, b: nn.Module, n_in=4):
    x = torch.randn(5, n_in)
    a.eval(), b.eval()
    return torch.allclose(a(x), b(x))


def test_tutorial_dict_with_model_source(tutorial_ckpt, models_py, tiny_model):
    loaded = load_checkpoint(tutorial_ckpt, f"{models_py}:TinyRegressor")
    assert "model_state_dict" in loaded.format
    assert loaded.input_shape == (4,)
    assert _same_output(loaded.model, tiny_model)


def test_lightning_dict_with_prefix_and_hyper_parameters(tmp_path, models_py):
    from workbench.core.open.model_source import build

    model = build(f"{models_py}:TinyRegressor", {"n_in": 4, "hidden": 5})
    path = tmp_path / "lightning.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
                "hyper_parameters": {"n_in": 4, "hidden": 5, "lr": 0.1}, "pytorch-lightning_version": "2.4"}, path)
    loaded = load_checkpoint(path, f"{models_py}:TinyRegressor")
    assert loaded.format == "Lightning checkpoint"
    assert _same_output(loaded.model, model)


def test_bare_state_dict_needs_source_or_is_rebuilt_as_mlp(tmp_path, tiny_model, models_py):
    path = tmp_path / "weights.pt"
    torch.save(tiny_model.state_dict(), path)
    loaded = load_checkpoint(path, f"{models_py}:TinyRegressor")
    assert loaded.format == "state_dict" and _same_output(loaded.model, tiny_model)
    rebuilt = load_checkpoint(path)  # no source: a chain of Linear layers is rebuilt, and said so
    assert any("MLP" in note for note in rebuilt.notes)
    assert isinstance(rebuilt.model, nn.Sequential)


def test_state_dict_that_does_not_fit_the_source(tmp_path, models_py):
    path = tmp_path / "weights.pt"
    torch.save({"head.weight": torch.zeros(1, 3), "conv.weight": torch.zeros(2, 2, 3, 3)}, path)
    with pytest.raises(ModelSourceError, match="do not fit"):
        load_checkpoint(path, f"{models_py}:TinyRegressor")


def test_whole_pickled_module_needs_trust(tmp_path, tiny_model, models_py):
    path = tmp_path / "whole.pt"
    torch.save(tiny_model, path)
    with pytest.raises(UntrustedFileError) as err:
        load_checkpoint(path, f"{models_py}:TinyRegressor")
    assert "tiny_models.TinyRegressor" in err.value.imports
    assert "--trust" in str(err.value)
    loaded = load_checkpoint(path, f"{models_py}:TinyRegressor", trusted=True)
    assert loaded.format == "pickled module" and _same_output(loaded.model, tiny_model)
    # Trust is remembered for this exact file only.
    assert load_checkpoint(path, f"{models_py}:TinyRegressor").format == "pickled module"


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("touch PWNED",))


def test_malicious_pickle_is_never_executed_without_trust(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"model_state_dict": {"w": torch.zeros(1)}, "payload": _Evil()}, path)
    legacy = tmp_path / "evil_legacy.pt"
    legacy.write_bytes(pickle.dumps(_Evil(), protocol=2))
    for p in (path, legacy):
        with pytest.raises((UntrustedFileError, CheckpointError)) as err:
            load_checkpoint(p)
        assert not (tmp_path / "PWNED").exists()
    with pytest.raises(UntrustedFileError) as err:
        load_checkpoint(path)
    assert any("system" in name for name in err.value.dangerous)
    assert "DANGER" in str(err.value)


def test_safetensors_with_config(tmp_path, tiny_model, models_py):
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file(tiny_model.state_dict(), str(path))
    (tmp_path / "config.json").write_text(json.dumps({"model_source": f"{models_py}:TinyRegressor"}))
    # config.json names code: it runs only once trusted (by the Python file's hash), then opens plainly.
    with pytest.raises(UntrustedFileError, match="config.json names the model source") as err:
        load_checkpoint(path)
    assert err.value.path == str(tmp_path / "config.json") and str(models_py) in err.value.imports
    loaded = load_checkpoint(path, trusted=True)
    assert loaded.format == "safetensors" and _same_output(loaded.model, tiny_model)
    again = load_checkpoint(path)
    assert any(f"Runs {models_py}" in note for note in again.notes)


@pytest.mark.parametrize("content, problem", [
    (b"", "empty"), (b"hello world, not a model\n", "not a PyTorch"), (bytes(range(256)) * 8, "not a PyTorch"),
])
def test_files_that_are_not_checkpoints(tmp_path, content, problem):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=problem) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)


def test_truncated_checkpoint(tmp_path, tutorial_ckpt):
    path = tmp_path / "cut.pt"
    path.write_bytes(tutorial_ckpt.read_bytes()[:-200])
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
