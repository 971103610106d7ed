"""The catalogue of user faults: each ends in a typed error whose message names the file, the problem and
the fix; the CLI exits non-zero with no traceback; and no file is written, changed or lost."""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from workbench import cli
from workbench.core import errors as E

from ..conftest import MODELS_PY, make_table


class Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


@dataclass
class Env:
    root: Path
    models: Path
    ckpt: Path
    csv: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def source(self) -> list[str]:
        return ["--model-source", f"{self.models}:TinyRegressor"]

    def write(self, name: str, content) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
        return path

    def csv_text(self, name: str, text: str) -> Path:
        return self.write(name, text)

    def convert(self, ckpt=None, data=None, *extra, out="out") -> list:
        return ["convert", ckpt or self.ckpt, *self.source, "--data", data or self.csv, "--task", "binary",
                "--threshold", "median", "--epochs", "1", "--out", self.root / out, *extra]

    def images(self, name: str, per_class: int = 6) -> Path:
        for cls, value in (("a", 30), ("b", 220)):
            for i in range(per_class):
                self.write(f"{name}/{cls}/{i}.png", b"")
                Image.fromarray(np.full((8, 8), value, np.uint8)).save(self.root / name / cls / f"{i}.png")
        return self.root / name


def _table(env: Env, rows: list[str], name="bad.csv") -> Path:
    return env.write(name, "\n".join(["f0,f1,f2,f3,target", *rows]) + "\n")


def _good_rows(n=40):
    X, y = make_table(n)
    return [",".join(f"{v:.4f}" for v in (*row, t)) for row, t in zip(X, y)]


def _cnn_ckpt(env: Env) -> Path:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 6, 1))
    path = env.root / "cnn.pt"
    torch.save(model.state_dict(), path)
    return path


CASES = {
    # --- checkpoint files
    "empty file": lambda e: (["inspect", e.write("empty.pt", b"")], E.CheckpointError, "empty"),
    "truncated checkpoint": lambda e: (["inspect", e.write("cut.pt", e.ckpt.read_bytes()[:300])] + e.source,
                                       E.CheckpointError, "corrupt"),
    "random bytes": lambda e: (["inspect", e.write("rand.pt", np.random.default_rng(1).bytes(4096))],
                               E.CheckpointError, "not a PyTorch"),
    "text file named .pt": lambda e: (["inspect", e.write("notes.pt", "hello, I am text\n")], E.CheckpointError,
                                      "not a PyTorch"),
    "a bare tensor": lambda e: (["inspect", _save(e, "tensor.pt", torch.zeros(3))], E.CheckpointError,
                                "holds a Tensor"),
    "dict without weights": lambda e: (["inspect", _save(e, "meta.pt", {"epoch": 3, "lr": 0.1})],
                                       E.CheckpointError, "no model weights"),
    "no recoverable architecture": lambda e: (["inspect", _cnn_ckpt(e)], E.CheckpointError,
                                              "no architecture could be recovered"),
    "weights do not fit the source": lambda e: (["inspect", _cnn_ckpt(e)] + e.source, E.ModelSourceError,
                                                "do not fit"),
    "model source file missing": lambda e: (["inspect", e.ckpt, "--model-source", f"{e.root}/nope.py:Net"],
                                            E.ModelSourceError, "does not exist"),
    "model source class missing": lambda e: (["inspect", e.ckpt, "--model-source", f"{e.models}:Nope"],
                                             E.ModelSourceError, "no class 'Nope'"),
    "model source does not import": lambda e: (["inspect", e.ckpt, "--model-source",
                                                f"{e.write('broken.py', 'def (:')}:Net"],
                                               E.ModelSourceError, "cannot be parsed as Python"),
    "untrusted pickled module": lambda e: (["inspect", _save(e, "whole.pt", _tiny(e))] + e.source,
                                           E.UntrustedFileError, "--trust"),
    "malicious pickle": lambda e: (["inspect", _save(e, "evil.pt", {"model_state_dict": {}, "x": Evil()})],
                                   E.UntrustedFileError, "DANGER"),
    "malicious legacy pickle": lambda e: (["inspect", e.write("evil2.pt", pickle.dumps(Evil(), protocol=2))],
                                          E.UntrustedFileError, "DANGER"),
    "trusted pickle whose class the named source lacks": lambda e: (
        ["inspect", _forget_class(_save(e, "whole2.pt", _tiny(e)), e), "--trust", "--model-source",
         f"{e.write('other.py', chr(10).join(['from torch import nn', 'class Other(nn.Module):', '  pass']))}:Other"],
        E.ModelSourceError, "tiny_models.TinyRegressor"),
    "untrusted TorchScript": lambda e: (["inspect", _script(e)], E.UntrustedFileError, "TorchScript"),
    "head is not Linear": lambda e: (["inspect", _bn_model(e), "--model-source", f"{e.root}/bn.py:BN"],
                                     E.ModelError, "not a Linear"),
    "probe fails on the input shape": lambda e: (["inspect", e.ckpt, "--input-shape", "7"] + e.source,
                                                 E.ModelError, "probe forward pass"),
    # --- tables
    "missing data file": lambda e: (e.convert(data=e.root / "nowhere.csv"), E.DataError, "no such data file"),
    "unsupported data format": lambda e: (e.convert(data=e.write("data.sav", b"$FL2")), E.DataError,
                                          "not supported"),
    "broken workbook": lambda e: (e.convert(data=e.write("data.xlsx", b"PK")), E.DataError, "cannot be read"),
    "broken Parquet file": lambda e: (e.convert(data=e.write("data.parquet", b"PAR1 nope")), E.DataError,
                                      "cannot be read"),
    "CSV that is not UTF-8": lambda e: (e.convert(data=e.write("latin.csv", "f0,f1,f2,f3,target\n".encode()
                                                                + b"1,2,3,4,caf\xe9\n" * 30)),
                                        E.DataError, "UTF-8"),
    "empty CSV": lambda e: (e.convert(data=e.write("empty.csv", "")), E.DataError, "empty"),
    "header-only CSV": lambda e: (e.convert(data=_table(e, [])), E.DataError, "no rows"),
    "NaN feature": lambda e: (e.convert(data=_table(e, _good_rows()[:-1] + ["nan,1,2,3,4"])), E.DataError,
                              "--missing drop"),
    "infinite feature": lambda e: (e.convert(data=_table(e, _good_rows()[:-1] + ["1,inf,2,3,4"])), E.DataError,
                                   "infinite"),
    "non-numeric feature": lambda e: (e.convert(data=_table(e, _good_rows()[:-1] + ["1,abc,2,3,4"])),
                                      E.DataError, "not numeric"),
    "ragged row": lambda e: (e.convert(data=_table(e, _good_rows()[:-1] + ["1,2,3"])), E.DataError, "cells"),
    "label column missing": lambda e: (e.convert(e.ckpt, e.csv, "--label", "price"), E.DataError,
                                       "no label column 'price'"),
    "feature column missing": lambda e: (e.convert(e.ckpt, e.csv, "--features", "f0,zz"), E.DataError,
                                         "zz"),
    "label with one class": lambda e: (e.convert(e.ckpt, e.csv, "--threshold", "1e9"), E.DataError,
                                       "only one class"),
    "column count does not match the model": lambda e: (e.convert(e.ckpt, e.csv, "--features", "f0,f1,f2"),
                                                        E.DataError, "model takes 4 inputs"),
    "class too small for the splits": lambda e: (
        ["convert", e.ckpt, *e.source, "--data", _table(e, _good_rows()[:37] + ["0,0,0,0,b"] * 3 + [
            r.rsplit(",", 1)[0] + ",a" for r in _good_rows()[:37]][37:]), "--task", "multiclass",
         "--out", e.root / "out"], E.DataError, "too few"),
    "string labels cut by a threshold": lambda e: (e.convert(data=_table(e, [r.rsplit(",", 1)[0] + ",x"
                                                                              for r in _good_rows()])),
                                                   E.DataError, "not numeric"),
    "too many ties for bins": lambda e: (["convert", e.ckpt, *e.source, "--data", _table(
        e, [r.rsplit(",", 1)[0] + ",1" for r in _good_rows(30)] + [r.rsplit(",", 1)[0] + ",2"
                                                                    for r in _good_rows(10)]),
        "--task", "multiclass", "--bins", "4", "--out", e.root / "out"], E.DataError, "tied values"),
    "binary head on three classes": lambda e: (["convert", e.ckpt, *e.source, "--data", "sklearn:iris",
                                                "--task", "binary", "--out", e.root / "out"], E.DataError,
                                               "binary head needs two"),
    # --- arrays and images
    "npz without y": lambda e: (e.convert(data=_npz(e, X=np.zeros((10, 4)))), E.DataError, "no array named y"),
    "npz with Python objects": lambda e: (e.convert(data=_npz(e, X=np.array([{}] * 10, dtype=object),
                                                              y=np.zeros(10))), E.DataError, "Python objects"),
    "corrupt image": lambda e: (_img_convert(e, lambda root: (root / "a" / "0.png").write_bytes(b"\x89PNG broken")),
                                E.DataError, "cannot be decoded"),
    "non-image file in a class folder": lambda e: (_img_convert(e, lambda root: (root / "b" / "notes.txt")
                                                                .write_text("hi")), E.DataError, "not an image"),
    "empty class folder": lambda e: (_img_convert(e, lambda root: (root / "c").mkdir()), E.DataError, "empty"),
    "a label column named for an image folder": lambda e: (_img_convert(e, lambda root: None) + ["--label", "kind"],
                                                           E.RecipeError, "whose classes are its sub-folders"),
    "a prior of three shares for two classes": lambda e: (
        ["convert", e.ckpt, *e.source, "--data", e.csv, "--threshold", "median", "--prior", "0.2,0.3,0.5",
         "--out", e.root / "out"],
        E.RecipeError, "the deployment prior has 3 value(s)"),
    # --- recipes and settings
    "recipe is not JSON": lambda e: (["convert", e.ckpt, "--recipe", e.write("r.json", "{oops"), "--out",
                                      e.root / "out"], E.RecipeError, "not valid JSON"),
    "recipe has an unknown field": lambda e: (["convert", e.ckpt, "--recipe", e.write("r.json", '{"lr": 1}'),
                                               "--out", e.root / "out"], E.RecipeError, "unknown recipe field"),
    "invalid combination": lambda e: (e.convert(e.ckpt, e.csv, "--loss", "cross_entropy"), E.RecipeError,
                                      "cross-entropy needs a multiclass head"),
    "CUDA asked for on a CPU-only machine": lambda e: (e.convert(e.ckpt, e.csv, "--device", "cuda"),
                                                       E.RecipeError, "no CUDA GPU"),
    "mixed precision asked for on the cpu": lambda e: (e.convert(e.ckpt, e.csv, "--device", "cpu",
                                                                  "--mixed-precision"), E.RecipeError, "GPU option"),
    # --- export targets
    "export into the source's folder": lambda e: (e.convert(out=e.ckpt.parent), E.ExportError,
                                                  "own folder"),
    # a metadata.json without the tool's marker is not proof of an export: the folder is never replaced
    "export folder holds a stray metadata.json": lambda e: (e.convert(None, None, "--overwrite", out=_fake_export(e)),
                                                            E.ExportError, "did not write"),
    "export folder is not empty": lambda e: (e.convert(out=_nonempty(e)), E.ExportError, "not empty"),
    "export folder is read-only": lambda e: (e.convert(out=_readonly(e) / "out"), E.ExportError, "read-only"),
}


def _save(env, name, obj):
    path = env.root / name
    torch.save(obj, path)
    return path


def _tiny(env):
    from workbench.core.open.model_source import build

    return build(f"{env.models}:TinyRegressor")


def _forget_class(path, env):
    """A fresh process has never imported the model's module; make this one forget it too."""
    import sys

    env.monkeypatch.delitem(sys.modules, "tiny_models", raising=False)
    return path


def _script(env):
    path = env.root / "scripted.pt"
    torch.jit.save(torch.jit.script(_tiny(env)), str(path))
    return path


def _bn_model(env):
    env.write("bn.py", "from torch import nn\nclass BN(nn.Sequential):\n"
                       "    def __init__(self):\n        super().__init__(nn.Linear(4, 4), nn.BatchNorm1d(4))\n")
    path = env.root / "bn.pt"
    torch.save(nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4)).state_dict(), path)
    return path


def _npz(env, **arrays):
    path = env.root / "data.npz"
    np.savez(path, **arrays)
    return path


def _img_convert(env, spoil):
    root = env.images("imgs")
    spoil(root)
    cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(72, 1))
    env.write("cnn.py", "from torch import nn\nclass C(nn.Sequential):\n    def __init__(self):\n"
                        "        super().__init__(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(72, 1))\n")
    torch.save(cnn.state_dict(), env.root / "c.pt")
    return ["convert", env.root / "c.pt", "--model-source", f"{env.root}/cnn.py:C", "--input-shape", "1,8,8",
            "--data", root, "--task", "binary", "--epochs", "1", "--out", env.root / "out"]


def _fake_export(env):
    env.write("done/metadata.json", "{}")
    return env.root / "done"


def _nonempty(env):
    env.write("busy/notes.txt", "mine")
    return env.root / "busy"


def _readonly(env):
    folder = env.root / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root ignores permission bits; simulate what any other user meets
        real = os.access
        env.monkeypatch.setattr(os, "access", lambda p, mode, **k: False if str(p).startswith(str(folder))
                                and mode & os.W_OK else real(p, mode, **k))
    return folder


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    models = tmp_path / "tiny_models.py"
    models.write_text(MODELS_PY)
    from workbench.core.open.model_source import build

    ckpt = tmp_path / "model.pt"
    torch.save({"model_state_dict": build(f"{models}:TinyRegressor").state_dict()}, ckpt)
    csv = tmp_path / "table.csv"
    csv.write_text("\n".join(["f0,f1,f2,f3,target", *_good_rows(120)]) + "\n")
    return Env(tmp_path, models, ckpt, csv, monkeypatch)


def _run_case(name, env, monkeypatch, capsys):
    argv, error_type, fragment = CASES[name](env)
    before = _snapshot(env.root)
    caught = []
    original = cli._report
    monkeypatch.setattr(cli, "_report", lambda exc: (caught.append(exc), original(exc))[1])
    code = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    return code, err, caught, error_type, fragment, before


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("name", list(CASES))
def test_fault(name, env, monkeypatch, capsys):
    if name == "CUDA asked for on a CPU-only machine":
        import torch

        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the same case on a GPU machine
    code, err, caught, error_type, fragment, before = _run_case(name, env, monkeypatch, capsys)
    assert code == 2, err
    assert len(caught) == 1 and isinstance(caught[0], error_type), caught
    assert fragment in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, "one paragraph"
    assert caught[0].fix, "every message says what to do"
    if caught[0].path:
        assert caught[0].path in err
    assert _snapshot(env.root) == before, "nothing written, changed or lost"
    assert not (env.root / "PWNED").exists()
    (env.root / "locked").exists() and (env.root / "locked").chmod(0o755)


def test_fault_catalogue_is_large_enough():
    assert len(CASES) >= 30


def test_disk_full_during_export(env, monkeypatch, capsys):
    import safetensors.torch

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_model", full)
    CASES["disk fills during export"] = lambda e: (e.convert(), E.ExportError, "disk is full")
    try:
        code, err, caught, error_type, fragment, before = _run_case("disk fills during export", env, monkeypatch,
                                                                    capsys)
    finally:
        del CASES["disk fills during export"]
    assert code == 2 and isinstance(caught[0], error_type) and fragment in err
    assert _snapshot(env.root) == before


def test_nan_loss_stops_with_a_message(env, monkeypatch, capsys):
    huge = [",".join(["3e38"] * 4 + [str(i % 2)]) for i in range(60)]  # overflows float32 in the first layer
    data = _table(env, huge, "huge.csv")
    # Warm start off: auto's warm start scales the new head to the huge regression output, and the loss stays finite.
    CASES["NaN loss"] = lambda e: (e.convert(e.ckpt, data, "--threshold", "0.5", "--patience", "0",
                                             "--warm-start", "off"),
                                   E.TrainingError, "loss became")
    try:
        code, err, caught, error_type, fragment, before = _run_case("NaN loss", env, monkeypatch, capsys)
    finally:
        del CASES["NaN loss"]
    assert code == 2 and isinstance(caught[0], error_type) and fragment in err
    assert "last good weights" in err and _snapshot(env.root) == before


def test_cuda_out_of_memory_is_explained(env, monkeypatch, capsys):
    from workbench.core.train import train as train_mod

    def oom(*_a, **_k):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(train_mod, "predict_logits", oom)  # the first device-heavy call after a batch
    CASES["CUDA out of memory"] = lambda e: (e.convert(), E.TrainingError, "out of memory")
    try:
        code, err, caught, error_type, fragment, before = _run_case("CUDA out of memory", env, monkeypatch, capsys)
    finally:
        del CASES["CUDA out of memory"]
    assert code == 2 and isinstance(caught[0], error_type) and "batch size" in err
    assert _snapshot(env.root) == before


def test_bins_without_a_task_train_a_multiclass_head_and_say_so(env, capsys):
    """--bins 3 under the default binary task: as the window does, a multiclass head (said on stderr); an ordinal
    task given with it is kept."""
    import json

    from workbench.cli import main

    code = main(["convert", str(env.ckpt), *env.source, "--data", str(env.csv), "--bins", "3", "--epochs", "1",
                 "--out", str(env.root / "bins")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "note: --bins 3 makes 3 classes: a multiclass head is trained" in err  # a note, as notes are said
    assert "workbench: --bins" not in err  # "workbench:" begins an error
    assert json.loads((env.root / "bins" / "recipe.json").read_text())["head"]["task"] == "multiclass"
    from workbench.core.workflow.options import recipe_changes

    assert recipe_changes({"task": "ordinal", "bins": 3})["head.task"] == "ordinal"  # the order given does not matter
    assert recipe_changes({"bins": 3}, task="ordinal")["head.task"] == "ordinal"  # a notebook's earlier choice
