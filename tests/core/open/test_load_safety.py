"""Nothing runs that the user did not vouch for, and nothing a file declares is materialised unchecked.

Each case drives the command line (`workbench inspect/convert`) and asserts: exit 2, one paragraph naming
the file, the problem and the fix, no traceback, no marker file from the payload, the user's files unchanged.
Bounded cases run in a subprocess and assert the refusal comes before the allocation (peak RSS).
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch
from torch import nn

from workbench import cli
from workbench.core import errors as E
from workbench.core.open.load import load_checkpoint
from workbench.core.safety import trust

from ...conftest import MODELS_PY, make_table

PAYLOAD = textwrap.dedent('''
    import pathlib
    pathlib.Path(__file__).with_name("PWNED").write_text("ran")
''') + MODELS_PY


def _hashes(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _refused(argv, capsys, monkeypatch, root: Path, error_type=E.CheckpointError) -> tuple[str, BaseException]:
    before = _hashes(root)
    caught = []
    original = cli._report
    monkeypatch.setattr(cli, "_report", lambda exc: (caught.append(exc), original(exc))[1])
    code = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(caught) == 1 and isinstance(caught[0], error_type), caught
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert caught[0].fix and (not caught[0].path or caught[0].path in err)
    assert not list(root.rglob("PWNED")), "the payload ran"
    assert _hashes(root) == before, "the user's files changed"
    return err, caught[0]


def _weights(tmp_path: Path, name="model.safetensors") -> Path:
    from safetensors.torch import save_file

    # TinyRegressor's keys: it loads through a model source, and through the MLP rebuild without one
    state = {"body.0.weight": torch.randn(8, 4), "body.0.bias": torch.randn(8), "head.weight": torch.randn(1, 8),
             "head.bias": torch.randn(1)}
    path = tmp_path / name
    save_file(state, str(path))
    return path


# ----- code named by a file ---------------------------------------------------------------------------------

def test_config_json_model_source_needs_trust_and_resolves_beside_the_model(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "model"
    folder.mkdir()
    path = _weights(folder)
    (folder / "config.json").write_text(json.dumps({"model_source": "net.py:TinyRegressor",
                                                    "model_args": {"n_in": 4, "hidden": 8}}))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    (elsewhere / "net.py").write_text(PAYLOAD)  # what a cwd-relative reading would import
    monkeypatch.chdir(elsewhere)
    (folder / "net.py").write_text(PAYLOAD)
    os.utime(elsewhere / "net.py")
    err, exc = _refused(["inspect", path], capsys, monkeypatch, tmp_path, E.UntrustedFileError)
    assert "config.json" in err and str(folder / "net.py") in err and "--trust" in err
    assert exc.imports[0] == str(folder / "net.py")
    # trusted: the class comes from the file beside the model (and only that one), and the notes say so;
    # the file's top-level code does not run even then (only the class and what it refers to do)
    assert cli.main(["inspect", str(path), "--trust"]) == 0
    out = capsys.readouterr().out
    assert not (folder / "PWNED").exists() and not (elsewhere / "PWNED").exists()
    assert f"Runs {folder / 'net.py'}" in out
    # the trust is of the source's content: a changed source is asked about again
    (folder / "net.py").write_text(PAYLOAD + "\n# changed\n")
    _refused(["inspect", path], capsys, monkeypatch, tmp_path, E.UntrustedFileError)


def test_a_model_source_the_user_types_overrides_config_json_and_is_said_to_run(tmp_path, capsys, monkeypatch,
                                                                                   models_py):
    folder = tmp_path / "model"
    folder.mkdir()
    path = _weights(folder)
    (folder / "evil.py").write_text(PAYLOAD)
    (folder / "config.json").write_text(json.dumps({"model_source": "evil.py:TinyRegressor",
                                                    "model_args": {"n_in": 4, "hidden": 8}}))
    code = cli.main(["inspect", str(path), "--model-source", f"{models_py}:TinyRegressor", "--model-args",
                     '{"n_in": 4, "hidden": 8}'])
    out = capsys.readouterr().out
    assert code == 0 and not (folder / "PWNED").exists()
    assert f"Runs {models_py} (the model source you named)" in out and "overrides config.json" in out


def test_a_recipe_named_source_is_held_to_the_same_rule(tmp_path, models_py):
    path = _weights(tmp_path)
    evil = tmp_path / "evil.py"
    evil.write_text(PAYLOAD)
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('model_source = "evil.py:TinyRegressor"\n')
    with pytest.raises(E.UntrustedFileError, match="recipe.toml names the model source"):
        load_checkpoint(path, "evil.py:TinyRegressor", {"n_in": 4, "hidden": 8}, source_named_by=recipe)
    assert not (tmp_path / "PWNED").exists()


def test_config_json_nested_too_deep_is_a_typed_error(tmp_path, capsys, monkeypatch):
    path = _weights(tmp_path)
    (tmp_path / "config.json").write_text("[" * 200_000 + "]" * 200_000)
    err, _ = _refused(["inspect", path], capsys, monkeypatch, tmp_path)
    assert "nests deeper" in err and "config.json" in err
    nested: list = []
    for _ in range(70):  # under Python's recursion limit, over any real config's depth
        nested = [nested]
    (tmp_path / "config.json").write_text(json.dumps({"model_args": nested}))
    _refused(["inspect", path], capsys, monkeypatch, tmp_path)


# ----- what is hashed is what loads -------------------------------------------------------------------------

class _Marker:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_file_swapped_after_the_trust_check_does_not_load(tmp_path, monkeypatch, tiny_model):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "whole.pt"
    torch.save(tiny_model, path)
    load_checkpoint(path, trusted=True)  # the user trusts this exact file
    evil = tmp_path / "evil.pt"
    torch.save({"model": tiny_model, "x": _Marker()}, evil)
    original = trust.is_trusted

    def swap_then_answer(digest):
        answer = original(digest)
        os.replace(evil, path)  # another process swaps the file right after the check
        return answer

    monkeypatch.setattr(trust, "is_trusted", swap_then_answer)
    loaded = load_checkpoint(path)
    assert isinstance(loaded.model, type(tiny_model)) and not (tmp_path / "PWNED").exists()


def test_a_torch_zip_named_safetensors_loads_by_content(tmp_path, capsys):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    path = tmp_path / "model.safetensors"
    torch.save(model.state_dict(), path)
    assert cli.main(["inspect", str(path)]) == 0
    assert "input (4,) -> output (1,)" in capsys.readouterr().out


# ----- hostile pickles through the command line -------------------------------------------------------------

def _zip_with_pickle(tmp_path: Path, pickled: bytes, name="evil.pt", member="data.pkl") -> Path:
    source = tmp_path / "plain.pt"
    torch.save({"w": torch.zeros(2)}, source)
    out = tmp_path / name
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = pickled if info.filename.endswith("data.pkl") else zin.read(info)
            zout.writestr(info.filename.replace("data.pkl", member), data)
    source.unlink()
    return out


def _proto4_dotted() -> bytes:
    def u(text):
        return b"\x8c" + bytes([len(text)]) + text.encode()

    return b"\x80\x04" + u("torch") + u("serialization.os.system") + b"\x93" + u("touch PWNED") + b"\x85R."


@pytest.mark.parametrize("make", ["dotted", "case", "legacy_second", "commands", "polyglot"])
def test_hostile_pickles_are_refused_and_named_dangerous(tmp_path, capsys, monkeypatch, make):
    monkeypatch.chdir(tmp_path)
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    system = b"\x80\x02cposix\nsystem\nX\x0b\x00\x00\x00touch PWNED\x85R."
    if make == "dotted":
        path = _zip_with_pickle(tmp_path, _proto4_dotted())
    elif make == "case":
        path = _zip_with_pickle(tmp_path, system, member="DATA.PKL")
    elif make == "legacy_second":
        path = tmp_path / "legacy.pt"
        path.write_bytes(magic + pickle.dumps(1001, protocol=2) + system)
    elif make == "commands":
        path = tmp_path / "py2.pt"
        path.write_bytes(b"\x80\x02ccommands\ngetoutput\nX\x0b\x00\x00\x00touch PWNED\x85R.")
    else:  # a legacy pickle with a clean torch zip appended: torch reads the pickle, zipfile sees the zip
        clean = tmp_path / "clean.pt"
        torch.save({"w": torch.zeros(2)}, clean)
        path = tmp_path / "polyglot.pt"
        path.write_bytes(system + clean.read_bytes())
        clean.unlink()
    err, exc = _refused(["inspect", path], capsys, monkeypatch, tmp_path, E.UntrustedFileError)
    assert "DANGER" in err and exc.dangerous and "only imports torch" not in err
    X, y = make_table(40)
    table = tmp_path / "table.csv"
    table.write_text("f0,f1,f2,f3,target\n" + "".join(",".join(map(str, (*r, t))) + "\n" for r, t in zip(X, y)))
    _refused(["convert", path, "--data", table, "--task", "binary", "--threshold", "median", "--epochs", "1",
              "--out", tmp_path / "out"], capsys, monkeypatch, tmp_path, E.UntrustedFileError)


def test_a_tar_or_nested_zip_is_refused(tmp_path, capsys, monkeypatch):
    inner = tmp_path / "inner.pt"
    torch.save({"w": torch.zeros(2)}, inner)
    tarred = tmp_path / "old.pt"
    with tarfile.open(tarred, "w") as tf:
        tf.add(inner, arcname="pickle")
    err, _ = _refused(["inspect", tarred], capsys, monkeypatch, tmp_path)
    assert "tar archive" in err
    nested = tmp_path / "nested.pt"
    with zipfile.ZipFile(nested, "w") as zf:
        zf.write(inner, "model/inner.pt")
    err, _ = _refused(["inspect", nested], capsys, monkeypatch, tmp_path)
    assert "not a PyTorch checkpoint" in err


# ----- bounds: refused before anything is allocated ---------------------------------------------------------

class _FakeStorage:
    pass


class _Rebuild:
    def __init__(self, storage, shape, stride):
        self.args = (storage, 0, shape, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


def _pickled_tensors(tensors: dict, numel: int, key="0", legacy=False) -> bytes:
    storage = _FakeStorage()

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if obj is not storage:
                return None
            return ("storage", torch.FloatStorage, key, "cpu", numel) + ((None,) if legacy else ())

    import io

    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump({k: _Rebuild(storage, shape, stride) for k, (shape, stride) in tensors.items()})
    return buf.getvalue()


def _zip_bomb(tmp_path: Path, gib: float = 1.0) -> Path:
    """A torch-looking zip whose data.pkl inflates from about a megabyte to `gib` GiB of zeros."""
    path = tmp_path / "bomb.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("bomb/byteorder", "little")
        zf.writestr("bomb/version", "3\n")
        info = zipfile.ZipInfo("bomb/data.pkl")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as member:
            block = bytes(1 << 24)
            for _ in range(int(gib * (1 << 30)) // len(block)):
                member.write(block)
    return path


def _peak_load(path: Path) -> tuple[int, str]:
    """Load in a fresh process; return (peak RSS growth in MiB during the load, the refusal text)."""
    script = textwrap.dedent(f'''
        import resource, sys
        import torch
        from workbench.core.open.load import load_checkpoint
        from workbench.core.errors import WorkbenchError
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            load_checkpoint({str(path)!r})
            message = "LOADED"
        except WorkbenchError as exc:
            message = str(exc)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) // 1024)
        print(message)
    ''')
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env=os.environ.copy(), cwd=str(Path(__file__).parents[3]))
    assert done.returncode == 0, done.stderr
    growth, message = done.stdout.split("\n", 1)
    return int(growth), message.strip()


def test_a_zip_bomb_is_refused_before_it_inflates(tmp_path):
    path = _zip_bomb(tmp_path, 1.0)
    assert path.stat().st_size < 8 << 20
    growth, message = _peak_load(path)
    assert "inflates" in message and growth < 200, (growth, message)


def test_zero_stride_tensors_are_refused_before_they_are_materialised(tmp_path):
    path = tmp_path / "strided.pt"
    torch.save({"0.weight": torch.zeros(1).expand(16384, 16384), "0.bias": torch.zeros(1).expand(16384)}, path)
    assert path.stat().st_size < 64 << 10
    growth, message = _peak_load(path)
    assert "zero or overlapping strides" in message and growth < 200, (growth, message)


def test_a_legacy_storage_larger_than_its_file_is_refused(tmp_path):
    numel = 1 << 30
    main = _pickled_tensors({"w": ((numel,), (1,))}, numel, legacy=True)
    path = tmp_path / "legacy.pt"
    path.write_bytes(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
                     + pickle.dumps({"protocol_version": 1001, "little_endian": True,
                                     "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
                     + main + pickle.dumps(["0"], protocol=2) + (4).to_bytes(8, "little") + bytes(16))
    growth, message = _peak_load(path)
    assert "declare" in message and growth < 200, (growth, message)


def test_a_safetensors_header_that_overruns_the_file_is_refused(tmp_path, capsys, monkeypatch):
    header = json.dumps({"w": {"dtype": "F32", "shape": [100000, 100000], "data_offsets": [0, 40000000000]}})
    raw = header.encode()
    path = tmp_path / "lying.safetensors"
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(64))
    err, _ = _refused(["inspect", path], capsys, monkeypatch, tmp_path)
    assert "does not match the bytes" in err


# ----- the trust store from the command line ----------------------------------------------------------------

@pytest.mark.parametrize("content", ['{"sha256": 5}', "[[1]]"])
def test_a_malformed_store_does_not_stop_safe_files(tmp_path, capsys, monkeypatch, content, tiny_model):
    store = trust.config_dir() / "trusted.json"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(content)
    trust._reported.clear()
    trust.take_problems()
    assert cli.main(["inspect", str(_weights(tmp_path, "model.safetensors"))]) == 0
    whole = tmp_path / "whole.pt"
    torch.save(tiny_model, whole)
    err, _ = _refused(["inspect", whole], capsys, monkeypatch, tmp_path, E.UntrustedFileError)
    assert "not in the expected form" in err and str(store) in err
    err, _ = _refused(["inspect", whole], capsys, monkeypatch, tmp_path, E.UntrustedFileError)
    assert "not in the expected form" not in err  # reported once
    assert cli.main(["inspect", str(whole), "--trust"]) == 0  # trusting repairs the store
    assert json.loads(store.read_text())["sha256"] == [trust.sha256_of(whole)]


def test_trust_into_a_config_folder_that_is_a_file(tmp_path, capsys, monkeypatch, tiny_model):
    blocker = tmp_path / "cfg"
    blocker.write_text("x")
    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(blocker))
    path = tmp_path / "whole.pt"
    torch.save(tiny_model, path)
    err, _ = _refused(["inspect", path, "--trust"], capsys, monkeypatch, tmp_path, E.TrustStoreError)
    assert str(blocker) in err and "WORKBENCH_CONFIG_DIR" in err


def test_a_recipe_naming_code_needs_trust_on_the_command_line(tmp_path, capsys, monkeypatch, tutorial_ckpt,
                                                              models_py):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "evil.py").write_text(PAYLOAD)
    X, y = make_table(60)
    table = tmp_path / "table.csv"
    table.write_text("f0,f1,f2,f3,target\n" + "".join(",".join(map(str, (*r, t))) + "\n" for r, t in zip(X, y)))
    recipe = folder / "r.json"
    recipe.write_text(json.dumps({"model_source": "evil.py:TinyRegressor", "data": {"path": str(table)},
                                  "head": {"task": "binary"}, "train": {"epochs": 1}}))
    argv = ["convert", tutorial_ckpt, "--recipe", recipe, "--threshold", "median", "--out", tmp_path / "out"]
    err, exc = _refused(argv, capsys, monkeypatch, tmp_path, E.UntrustedFileError)
    assert "r.json names the model source" in err and exc.imports[0] == str(folder / "evil.py")
    # a source the user types instead runs, and is thereby vouched for: a recipe naming it later may run it
    assert cli.main([str(a) for a in argv] + ["--model-source", f"{models_py}:TinyRegressor"]) == 0
    assert f"note: Runs {models_py} (the model source you named)" in capsys.readouterr().err
    assert not (folder / "PWNED").exists()
    recipe.write_text(json.dumps({"model_source": f"{models_py}:TinyRegressor", "data": {"path": str(table)},
                                  "head": {"task": "binary"}, "train": {"epochs": 1}}))
    assert cli.main([str(a) for a in argv[:-1]] + [str(tmp_path / "out2")]) == 0


# ----- trust covers every file that runs: the source and each sibling module it reaches ----------------------

NET_WITH_BLOCK = textwrap.dedent('''
    import torch
    from torch import nn
    from blocks import Block

    class TinyRegressor(nn.Module):
        def __init__(self, n_in=4, hidden=8):
            super().__init__()
            self.body = nn.Sequential(Block(n_in, hidden), nn.ReLU())
            self.head = nn.Linear(hidden, 1)
            self.act = nn.Softplus()

        def forward(self, x):
            return self.act(self.head(self.body(x)))
''')
BLOCK = "from torch import nn\nclass Block(nn.Linear):\n    pass\n"
EVIL_BLOCK = ("import pathlib\nfrom torch import nn\nclass Block(nn.Linear):\n    def __init__(self, *a):\n"
              "        pathlib.Path(__file__).with_name('PWNED').write_text('ran')\n        super().__init__(*a)\n")


def _project(folder: Path, block: str = BLOCK) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blocks.py").write_text(block)
    (folder / "models.py").write_text(NET_WITH_BLOCK)
    return folder / "models.py"


def _downloaded(tmp_path: Path) -> Path:
    """The user's own models.py, byte for byte, beside a blocks.py of someone else's and a config.json naming it."""
    folder = tmp_path / "download"
    _project(folder, EVIL_BLOCK)
    _weights(folder)
    (folder / "config.json").write_text(json.dumps({"model_source": "models.py:TinyRegressor",
                                                    "model_args": {"n_in": 4, "hidden": 8}}))
    return folder


def test_a_trusted_source_beside_someone_elses_sibling_asks_again(tmp_path, capsys, monkeypatch):
    mine = _project(tmp_path / "mine")
    own = _weights(tmp_path / "mine")
    assert cli.main(["inspect", str(own), "--model-source", f"{mine}:TinyRegressor"]) == 0  # vouched for
    folder = _downloaded(tmp_path)
    assert (folder / "models.py").read_bytes() == mine.read_bytes()
    err, exc = _refused(["inspect", folder / "model.safetensors"], capsys, monkeypatch, tmp_path,
                        E.UntrustedFileError)
    assert exc.files == [str(folder / "models.py"), str(folder / "blocks.py")]
    assert "blocks.py" in err and exc.imports[:2] == exc.files


def test_a_recipe_naming_a_trusted_source_beside_someone_elses_sibling_asks_again(tmp_path, capsys, monkeypatch,
                                                                                   tutorial_ckpt, table_csv):
    mine = _project(tmp_path / "mine")
    assert cli.main(["inspect", str(tutorial_ckpt), "--model-source", f"{mine}:TinyRegressor"]) == 0
    folder = _downloaded(tmp_path)
    recipe = folder / "recipe.json"
    recipe.write_text(json.dumps({"model_source": "models.py:TinyRegressor", "data": {"path": str(table_csv)},
                                  "head": {"task": "binary"}, "train": {"epochs": 1}}))
    err, exc = _refused(["convert", tutorial_ckpt, "--recipe", recipe, "--threshold", "median", "--out",
                         tmp_path / "out"], capsys, monkeypatch, tmp_path, E.UntrustedFileError)
    assert str(folder / "blocks.py") in exc.files and "blocks.py" in err


def test_a_sibling_swapped_after_trust_asks_again(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "model"
    _project(folder)
    path = _weights(folder)
    (folder / "config.json").write_text(json.dumps({"model_source": "models.py:TinyRegressor"}))
    assert cli.main(["inspect", str(path), "--trust"]) == 0
    trusted_out = capsys.readouterr().out
    assert cli.main(["inspect", str(path)]) == 0  # trusted: asks nothing
    (folder / "blocks.py").write_text(EVIL_BLOCK)
    _, exc = _refused(["inspect", path], capsys, monkeypatch, tmp_path, E.UntrustedFileError)
    assert str(folder / "blocks.py") in exc.files
    assert "and the modules beside it that it imports: blocks.py" in trusted_out  # what ran was said
    # a sibling package moved up a folder (same bytes, another place) is other code too
    (folder / "blocks.py").write_text(BLOCK)
    assert cli.main(["inspect", str(path)]) == 0
    (folder / "blocks.py").rename(tmp_path / "blocks.py")
    _, exc = _refused(["inspect", path], capsys, monkeypatch, tmp_path, E.UntrustedFileError)
    assert str(tmp_path / "blocks.py") in exc.files


def test_a_compiled_sibling_of_a_trusted_source_never_runs(tmp_path, capsys, monkeypatch):
    import py_compile

    folder = tmp_path / "model"
    _project(folder, EVIL_BLOCK)
    py_compile.compile(str(folder / "blocks.py"), cfile=str(folder / "blocks.pyc"), doraise=True)
    (folder / "blocks.py").unlink()
    path = _weights(folder)
    (folder / "config.json").write_text(json.dumps({"model_source": "models.py:TinyRegressor"}))
    err, _ = _refused(["inspect", path, "--trust"], capsys, monkeypatch, tmp_path, E.ModelSourceError)
    assert "blocks.pyc" in err and "compiled" in err


# ----- the demo never runs code from the folder it reuses -----------------------------------------------------

def test_a_reused_demo_folder_written_by_someone_else_runs_none_of_its_code(tmp_path, monkeypatch):
    from workbench.core.workflow import demo

    folder = tmp_path / "demo"
    demo.build_diabetes(folder, epochs=2)
    # Someone else's folder: their models.py, and a .workbench-demo.json listing it with the public build key
    payload = "import pathlib\npathlib.Path(__file__).with_name('PWNED').write_text('ran')\n"
    hostile = (folder / "models.py").read_text().replace("class DiabetesMLP(nn.Module):", payload.replace(
        "\n", "\n    ").join(["class DiabetesMLP(nn.Module):\n    ", ""]), 1)
    assert "PWNED" in hostile
    (folder / "models.py").write_text(hostile)
    marker = json.loads((folder / demo.MARKER).read_text())
    marker["files"]["models.py"] = hashlib.sha256(hostile.encode()).hexdigest()
    (folder / demo.MARKER).write_text(json.dumps(marker))
    monkeypatch.setattr(demo, "_fit", lambda *a, **k: pytest.fail("the build was not reused"))
    ckpt, recipe = demo.build_diabetes(folder, epochs=2)
    loaded = load_checkpoint(ckpt, recipe.model_source, recipe.model_args)  # as `workbench demo` and the window do
    assert not list(tmp_path.rglob("PWNED"))
    assert type(loaded.model).__name__ == "DiabetesMLP"
    assert str(folder) not in recipe.model_source  # the package's own demo_models, never the folder's copy


# ----- the __main__ reader on odd pickles: every case a short CheckpointError, never an internal error --------

class _Net:
    """Pickles as `__main__.Net`, as a model saved from a script does, with whatever state a test gives it."""

    __module__, __qualname__ = "__main__", "Net"

    def __init__(self, state=None, build=True):
        self.state_, self.build = state, build

    def __reduce__(self):
        import copyreg

        return (copyreg.__newobj__, (_Net,), self.state_) if self.build else (copyreg.__newobj__, (_Net,))


def _module_state(params=None, modules=None, **extra):
    return {"_parameters": params if params is not None else {}, "_buffers": {}, "_modules": modules or {},
            **extra}


def _main_pickle(tmp_path: Path, monkeypatch, obj, name="main.pt", legacy=False) -> Path:
    monkeypatch.setattr(sys.modules["__main__"], "Net", _Net, raising=False)
    path = tmp_path / name
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path


def _mutated(path: Path, change) -> Path:
    """The checkpoint with its data.pkl changed by `change` (the other records kept)."""
    with zipfile.ZipFile(path) as zf:
        records = [(i.filename, zf.read(i.filename)) for i in zf.infolist()]
    out = path.with_name("odd-" + path.name)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for name, data in records:
            zf.writestr(name, change(data) if name.endswith("data.pkl") else data)
    return out


def _cut(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[:-40])
    return path


def _main_odd_cases(tmp_path, monkeypatch) -> dict:
    good = _main_pickle(tmp_path, monkeypatch, _Net(_module_state({"weight": torch.zeros(1, 2)})))
    chain = _Net(_module_state({"w": torch.zeros(1)}))
    for _ in range(18):  # each level shares one child twice: 2**18 paths through 19 objects
        chain = _Net(_module_state(modules={"a": chain, "b": chain}))
    return {
        "truncated": _mutated(good, lambda d: d[: len(d) // 2]),
        "no STOP": _mutated(good, lambda d: d[:-1]),
        "unknown opcode": _mutated(good, lambda d: d[:2] + b"\xff" + d[2:]),
        "huge memo index": _mutated(good, lambda d: d[:-1] + b"j\xff\xff\xff\x7f."),
        "huge memo store": _mutated(good, lambda d: d[:-1] + b"r\xff\xff\xff\xff."),
        "stack underflow": _mutated(good, lambda d: d[:2] + b"t" + d[2:]),
        "short binunicode": _mutated(good, lambda d: d[:2] + b"X\xff\xff\xff\x7fab" + d[2:]),
        "legacy truncated": _cut(_main_pickle(tmp_path, monkeypatch, _Net(_module_state({"w": torch.zeros(3)})),
                                              "legacy.pt", legacy=True)),
        "no state at all": _main_pickle(tmp_path, monkeypatch, {"model": _Net(build=False)}, "nostate.pt"),
        "non-string names": _main_pickle(tmp_path, monkeypatch, _Net(_module_state(
            {0: torch.zeros(2)}, {1: _Net(_module_state({"w": torch.zeros(1)}))}, _non_persistent_buffers_set=5)),
            "intnames.pt"),
        "a tensor as a key": _main_pickle(tmp_path, monkeypatch, {torch.zeros(3): 1, "model": _Net(_module_state(
            {"weight": torch.zeros(1, 2), "bias": torch.zeros(1)}))}, "tensorkey.pt"),
        "one child shared 2**18 ways": _main_pickle(tmp_path, monkeypatch, chain, "shared.pt"),
    }


def test_the_main_reader_turns_every_odd_pickle_into_a_checkpoint_error(tmp_path, capsys, monkeypatch):
    for name, path in _main_odd_cases(tmp_path, monkeypatch).items():
        try:
            loaded = load_checkpoint(path)
        except E.WorkbenchError as exc:
            assert len(str(exc)) < 500, (name, str(exc))
            if name == "one child shared 2**18 ways":
                assert "more than 100000 modules" in exc.problem
            continue
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{name}: {type(exc).__name__}: {exc}")
        assert name in ("non-string names", "a tensor as a key"), (name, loaded.notes)
    # on the command line: exit 2, one short paragraph, no traceback
    (tmp_path / "cli").mkdir()
    _refused(["inspect", _main_odd_cases(tmp_path / "cli", monkeypatch)["huge memo index"]], capsys, monkeypatch,
             tmp_path)


def test_a_trusted_pickle_whose_class_is_missing_says_only_what_happened(tmp_path, monkeypatch, tiny_model):
    path = tmp_path / "whole.pt"
    torch.save(tiny_model, path)
    monkeypatch.delitem(sys.modules, "tiny_models")  # a fresh process has never imported the model's module
    notes = " ".join(load_checkpoint(path, trusted=True).notes)
    assert "tiny_models.TinyRegressor" in notes and "read out as a state_dict" in notes
    assert "unpickled in full until it needed tiny_models" in notes
    assert "None of it was run" not in notes and "Opened with full unpickling" not in notes
