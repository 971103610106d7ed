"""Writes never destroy user files; export folders read back only with trust; exports grow linearly in K."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import numpy as np
import pytest
import torch

from workbench.cli import main
from workbench.core.evaluate import calibrate


def _digest(*paths) -> dict:
    out = {}
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        out |= {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    return out


# ---------------------------------------------------------------- bounds: isotonic with many classes

def _isotonic(k: int) -> calibrate.Calibration:
    rng = np.random.default_rng(0)
    n = 4 * k
    return calibrate.fit("isotonic", "multiclass", k, rng.normal(size=(n, k)) * 2, rng.integers(0, k, n))


def test_isotonic_size_and_program_grow_linearly_with_classes():
    sizes, nodes = {}, {}
    for k in (50, 400):
        cal = _isotonic(k)
        sizes[k] = sum(b.numel() * b.element_size() for b in cal.buffers()) + len(json.dumps(cal.params()))
        program = torch.export.export(cal, (torch.randn(4, k),),
                                      dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
        nodes[k] = len(program.graph.nodes)
    assert sizes[400] / sizes[50] < 8 * 1.5  # 8x the classes: linear, not 64x
    assert nodes[400] == nodes[50]  # no per-class loop unrolled into the program


def test_isotonic_flat_knots_match_the_per_class_curves_and_old_padded_params():
    cal = _isotonic(6)
    rng = np.random.default_rng(1)
    z = rng.normal(size=(500, 6)) * 3
    probs = calibrate.Calibration("none", "multiclass", 6).probabilities(z).astype(np.float64)
    params = cal.params()
    expected = np.stack([np.interp(probs[:, c], params["knots_x"][c], params["knots_y"][c]) for c in range(6)], 1)
    total = expected.sum(1, keepdims=True)
    expected = np.where(total > 0, expected / np.maximum(total, 1e-12), probs)
    assert np.abs(cal.probabilities(z) - expected).max() < 1e-5
    width = max(len(x) for x in params["knots_x"])  # sessions saved before padded every curve to one width
    padded = {"knots_x": [x + [x[-1] + 1.0 + i for i in range(width - len(x))] for x in params["knots_x"]],
              "knots_y": [y + [y[-1]] * (width - len(y)) for y in params["knots_y"]]}
    old = calibrate.Calibration("isotonic", "multiclass", 6, padded)
    assert np.abs(old.probabilities(z) - cal.probabilities(z)).max() == 0


# ---------------------------------------------------------------- crash-safe replacement

SWAP_SCRIPT = r'''
import os, shutil, sys
from pathlib import Path
from workbench.core.safety import folder_swap, trust
target, version, crash_at = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
calls = [0]
def killing(real):
    def step(*a, **k):
        calls[0] += 1
        if calls[0] == crash_at:
            os._exit(9)  # killed: no cleanup runs, the lock dies with the process
        return real(*a, **k)
    return step
os.replace, shutil.rmtree, os.rmdir, os.unlink = (killing(os.replace), killing(shutil.rmtree), killing(os.rmdir),
                                         killing(os.unlink))
Path.unlink = killing(Path.unlink)
with folder_swap.Swap(target) as swap:
    (swap.staging / "model.pt2").write_text(version)
    (swap.staging / "metadata.json").write_text(version)
    trust.trust(trust.sha256_of(swap.staging / "model.pt2"))
    folder_swap.write_marker(swap.staging, "model.pt2", target)
    swap.commit()
print("done", calls[0])
'''


def _swap_in_subprocess(target, version, crash_at):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    return subprocess.run([sys.executable, "-c", SWAP_SCRIPT, str(target), version, str(crash_at)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def _export_version(folder):
    return (folder / "model.pt2").read_text() if folder.is_dir() else None


def test_a_killed_replacement_leaves_the_old_or_the_new_export_at_every_step(tmp_path):
    from workbench.core.safety import folder_swap

    root = tmp_path / "exports"
    root.mkdir()
    (root / "user-notes.txt").write_text("mine")
    target = root / "model"
    assert _swap_in_subprocess(target, "old", 0).returncode == 0
    assert _export_version(target) == "old"
    step, outcomes = 1, []
    while True:
        done = _swap_in_subprocess(target, f"new{step}", step)
        if done.returncode == 0:  # ran past its last step
            break
        assert done.returncode == 9, done.stderr
        before = _export_version(target)
        folder_swap.recover(root)
        after = _export_version(target)
        assert after in ("old", f"new{step}") or after.startswith("new"), (step, before, after)
        assert folder_swap.foreign_files(target) == [], "the export at the target is complete"
        leftovers = sorted(p.name for p in root.iterdir())
        assert leftovers == ["model", "user-notes.txt"], (step, leftovers)
        outcomes.append(after)
        step += 1
    assert step > 5, "every rename, delete and unlink of a swap was a crash point"
    assert (root / "user-notes.txt").read_text() == "mine"
    assert _export_version(target) == f"new{step}"


def _fill(swap, text="v"):
    from workbench.core.safety import folder_swap, trust

    (swap.staging / "model.pt2").write_text(text)
    trust.trust(trust.sha256_of(swap.staging / "model.pt2"))
    folder_swap.write_marker(swap.staging, "model.pt2", swap.target)


@pytest.mark.parametrize("fails", ["replace-1", "replace-2", "unlink-2", "rmdir-1", "unlink-5"])
def test_a_failing_replacement_step_leaves_a_complete_export_and_no_staging(tmp_path, monkeypatch, fails):
    import os

    from workbench.core.safety import folder_swap

    target = tmp_path / "model"
    with folder_swap.Swap(target) as swap:
        _fill(swap, "old")
        swap.commit()
    kind, k = fails.split("-")
    real, calls = getattr(os, kind), [0]

    def failing(*a, **kw):
        calls[0] += 1
        if calls[0] == int(k):
            raise OSError(5, "I/O error")
        return real(*a, **kw)

    with pytest.raises(OSError), folder_swap.Swap(target) as swap:
        _fill(swap, "new")
        monkeypatch.setattr(os, kind, failing)
        swap.commit()
        raise OSError("the step did not fail")  # every step above exists in a replacement
    monkeypatch.undo()
    assert _export_version(target) in ("old", "new")
    folder_swap.recover(tmp_path)
    assert _export_version(target) in ("old", "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_recovery_leaves_a_live_runs_staging_and_anything_not_its_own(tmp_path):
    from workbench.core.safety import folder_swap

    target = tmp_path / "model"
    look_alike = tmp_path / ".model.partial-0123456789abcdef"  # our name pattern, no marker, no journal
    look_alike.mkdir()
    (look_alike / "thesis.tex").write_text("mine")
    forged = tmp_path / ".model.export-0123456789abcdef.json"  # a journal naming it, but the folder has no marker
    forged.write_text(json.dumps({"tool": "conversion-workbench", "target": "model", "token": "0123456789abcdef"}))
    with folder_swap.Swap(target) as swap:
        _fill(swap)
        folder_swap.recover(tmp_path)  # another process starting up while this export runs
        assert swap.staging.is_dir() and swap.paths["journal"].is_file()
        swap.commit()
    folder_swap.recover(tmp_path)
    assert (look_alike / "thesis.tex").read_text() == "mine"
    assert _export_version(target) == "v"


# ---------------------------------------------------------------- the command line: refusals and user files

@pytest.fixture
def env(tmp_path, tutorial_ckpt, table_csv, models_py):
    class Env:
        root, ckpt, csv, models = tmp_path, tutorial_ckpt, table_csv, models_py

        def convert(self, *extra):
            return main(["convert", str(tutorial_ckpt), "--model-source", f"{models_py}:TinyRegressor",
                         "--data", str(table_csv), "--threshold", "median", "--epochs", "1",
                         "--calibration", "none", "--quiet", *map(str, extra)])

    return Env()


def _refused(code, capsys, *words):
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err  # one paragraph
    for word in words:
        assert word in err, err
    return err


def test_overwrite_never_deletes_a_folder_that_merely_holds_metadata_json(env, capsys):
    mine = env.root / "project"
    mine.mkdir()
    (mine / "metadata.json").write_text("{}")
    (mine / "thesis.tex").write_text("years of work")
    before = _digest(mine, env.ckpt, env.csv)
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(env.convert("--out", mine, "--overwrite"), capsys, str(mine), "did not write", "thesis.tex")
    assert _digest(mine, env.ckpt, env.csv) == before


@pytest.mark.parametrize("where", ["parent of the source", "symlink to the data's folder", "the source itself"])
def test_overwrite_never_replaces_a_folder_holding_the_source_or_the_data(env, capsys, where):
    out = {"parent of the source": env.root.parent, "the source itself": env.ckpt,
           "symlink to the data's folder": env.root.parent / f"{env.root.name}-link"}[where]
    if where.startswith("symlink"):
        out.symlink_to(env.root, target_is_directory=True)
    before = _digest(env.root)
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(env.convert("--out", out, "--overwrite"), capsys, "Choose")
    assert _digest(env.root) == before


def test_an_export_is_replaced_only_while_it_holds_nothing_but_what_the_tool_wrote(env, capsys):
    out = env.root / "export"
    assert env.convert("--out", out) == 0
    assert env.convert("--out", out) == 2
    assert "already holds an export" in capsys.readouterr().err
    assert env.convert("--out", out, "--overwrite") == 0
    (out / "my-notes.txt").write_text("keep me")
    before = _digest(out)
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(env.convert("--out", out, "--overwrite"), capsys, "my-notes.txt")
    assert _digest(out) == before
    (out / "my-notes.txt").unlink()
    (out / "metrics.json").write_text("{}")  # a file the user changed is the user's now
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(env.convert("--out", out, "--overwrite"), capsys, "metrics.json")


def test_a_marker_copied_or_forged_into_a_user_folder_proves_nothing(env, capsys):
    out = env.root / "export"
    assert env.convert("--out", out) == 0
    mine = env.root / "mine"
    shutil.copytree(out, mine)  # the user copies an export, marker and all, and adds their own file
    # named to sort first: the message lists the first five files (an export now holds README.md and figures too)
    (mine / "Notes.csv").write_text("a,b\n1,2\n")
    marker = json.loads((mine / ".workbench-export.json").read_text())
    marker["files"]["Notes.csv"] = hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    (mine / ".workbench-export.json").write_text(json.dumps(marker))  # and lists it, with its right hash
    before = _digest(mine)
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(env.convert("--out", mine, "--overwrite"), capsys, "Notes.csv")
    assert _digest(mine) == before


@pytest.mark.parametrize("flag,target", [("--report", "ckpt"), ("--report", "csv"), ("--save-recipe", "ckpt"),
                                         ("--save-recipe", "csv"), ("--report", "models"),
                                         ("--report", "export file"), ("--report", "link to csv"),
                                         ("--save-recipe", "hardlink to ckpt")])
def test_report_and_recipe_are_never_written_over_an_input(env, capsys, flag, target):
    out = env.root / "export"
    path = {"ckpt": env.ckpt, "csv": env.csv, "models": env.models, "export file": out / "metadata.json",
            "link to csv": env.root / "report.html", "hardlink to ckpt": env.root / "second-name.pt"}[target]
    if target == "link to csv":
        path.symlink_to(env.csv)
    if target == "hardlink to ckpt":
        os.link(env.ckpt, path)
    before = _digest(env.ckpt, env.csv, env.models)
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(env.convert("--out", out, flag, path, "--overwrite"), capsys, "Choose another")
    assert _digest(env.ckpt, env.csv, env.models) == before
    assert not out.exists(), "refused before any work"


def test_report_equal_to_the_recipe_path_or_to_the_recipe_read_is_refused(env, capsys):
    same = env.root / "out.json"
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(env.convert("--out", env.root / "e", "--report", same, "--save-recipe", same), capsys, "same file")
    recipe = env.root / "recipe.json"
    recipe.write_text(json.dumps({"seed": 3}))
    before = _digest(recipe)
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(env.convert("--recipe", recipe, "--out", env.root / "e", "--report", recipe, "--overwrite"), capsys,
             "recipe this run was read from")
    assert _digest(recipe) == before


def test_an_existing_other_file_needs_overwrite(env, capsys):
    report = env.root / "old-report.html"
    report.write_text("old")
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(env.convert("--out", env.root / "e", "--report", report), capsys, "already exists", "--overwrite")
    assert report.read_text() == "old"
    assert env.convert("--out", env.root / "e", "--report", report, "--overwrite") == 0
    assert report.read_text().startswith("<!doctype html>")


def test_a_report_inside_the_export_is_recorded_as_the_tools(env, capsys):
    out = env.root / "export"
    assert env.convert("--out", out, "--report", out / "report.html") == 0
    assert env.convert("--out", out, "--report", out / "report.html", "--overwrite") == 0, capsys.readouterr().err


def test_compare_report_never_over_a_runs_inputs_and_existing_files_need_overwrite(env, capsys):
    out = env.root / "export"
    assert env.convert("--out", out) == 0
    twin = shutil.copytree(out, env.root / "twin")  # two folders: the same one named twice is refused
    before = _digest(env.ckpt, env.csv, out)
    for target in (env.ckpt, env.csv, out / "metrics.json"):
        capsys.readouterr()  # only this command's output: earlier runs print notes too
        _refused(main(["compare", str(out), str(twin), "--report", str(target), "--overwrite"]), capsys, "Choose")
    other = env.root / "cmp.html"
    other.write_text("old")
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(main(["compare", str(out), str(twin), "--report", str(other)]), capsys, "already exists")
    assert other.read_text() == "old" and _digest(env.ckpt, env.csv, out) == before
    assert main(["compare", str(out), str(twin), "--report", str(other), "--overwrite"]) == 0
    capsys.readouterr()
    _refused(main(["compare", str(out), str(out)]), capsys, "named twice")
    _refused(main(["compare", str(out), str(twin), f"{out}/../{out.name}"]), capsys, "named twice")


def test_demo_never_overwrites_a_users_same_named_files(tmp_path, capsys):
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "diabetes.csv").write_text("my own diabetes study")
    before = _digest(folder)
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(main(["demo", "--out", str(folder)]), capsys, "diabetes.csv", "Choose a new")
    assert _digest(folder) == before
    (folder / "diabetes.csv").unlink()
    (folder / "export").mkdir()
    (folder / "export" / "mine.txt").write_text("mine")
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(main(["demo", "--out", str(folder)]), capsys, "mine.txt")
    assert sorted(p.name for p in folder.iterdir()) == ["export"]


def test_export_target_inside_a_data_folder_is_refused(tmp_path):
    from workbench.core.errors import ExportError
    from workbench.core.export.export import check_target
    from workbench.core.safety.output_paths import inputs

    images = tmp_path / "images"
    (images / "cat").mkdir(parents=True)
    (images / "cat" / "0.png").write_bytes(b"png")
    for target in (images / "export", images, tmp_path):
        with pytest.raises(ExportError, match="data"):
            check_target(target, None, True, inputs(data=images))


# ---------------------------------------------------------------- export folders read back

@pytest.fixture
def exported(env):
    out = env.root / "export"
    assert env.convert("--out", out) == 0
    return out


def _evaluate(env, folder, *extra):
    return main(["evaluate", str(folder), "--data", str(env.csv), *extra])


def test_evaluate_runs_an_export_this_tool_wrote_without_asking(env, exported, capsys):
    assert _evaluate(env, exported) == 0, capsys.readouterr().err


def test_evaluate_refuses_an_untrusted_program_until_the_user_trusts_it(env, exported, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(tmp_path / "another-computer"))
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(_evaluate(env, exported), capsys, "model.pt2", "--trust", "unpickle")
    assert _evaluate(env, exported, "--trust") == 0
    assert _evaluate(env, exported) == 0, "trusted by hash from then on"


def test_evaluate_refuses_a_program_whose_pickles_were_swapped(env, exported, capsys):
    import io
    import zipfile

    program = exported / "model.pt2"
    with zipfile.ZipFile(program) as zf:
        entries = {info.filename: zf.read(info) for info in zf.infolist()}
    name = next(n for n in entries if n.endswith("sample_inputs/model.pt"))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:  # a torch.save archive whose pickle calls os.system
        zf.writestr("model/data.pkl", b"cos\nsystem\n(S'echo pwned > " + str(env.root / "pwned").encode() + b"'\ntR.")
        zf.writestr("model/version", b"3\n")
    entries[name] = inner.getvalue()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for n, data in entries.items():
            zf.writestr(n, data)
    program.write_bytes(buffer.getvalue())
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(_evaluate(env, exported), capsys, "model.pt2", "DANGER", "os.system")
    assert not (env.root / "pwned").exists()


@pytest.mark.parametrize("program", ["../regressor.pt", "/etc/passwd", "sub/model.pt2", "weights.safetensors"])
def test_evaluate_refuses_a_program_outside_the_folder(env, exported, capsys, program):
    meta = json.loads((exported / "metadata.json").read_text())
    (exported / "metadata.json").write_text(json.dumps({**meta, "program": program}))
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(_evaluate(env, exported, "--trust"), capsys, "metadata.json", "program")


@pytest.mark.parametrize("damage", ["not json", "a list", "no classes", "bad shape", "no recipe", "missing program",
                                    "corrupt program", "no folder"])
def test_malformed_export_folders_are_typed_errors_for_evaluate(env, exported, capsys, damage):
    meta_path = exported / "metadata.json"
    meta = json.loads(meta_path.read_text())
    folder = exported
    if damage == "not json":
        meta_path.write_text("{oops")
    elif damage == "a list":
        meta_path.write_text("[1, 2]")
    elif damage == "no classes":
        meta_path.write_text(json.dumps({**meta, "classes": "ab"}))
    elif damage == "bad shape":
        meta_path.write_text(json.dumps({**meta, "input_shape": [-1]}))
    elif damage == "no recipe":
        meta_path.write_text(json.dumps({**meta, "recipe": None}))
    elif damage == "missing program":
        (exported / "model.pt2").unlink()
    elif damage == "corrupt program":
        (exported / "model.pt2").write_bytes(b"PK\x03\x04 not a zip")
    else:
        folder = env.root / "nowhere"
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(_evaluate(env, folder, "--trust"), capsys, str(folder))


@pytest.mark.parametrize("damage", ["not json", "metrics a list", "accuracy a string", "no reliability",
                                    "bad history", "bad recipe"])
def test_malformed_export_folders_are_typed_errors_for_compare(env, exported, capsys, damage):
    meta_path = exported / "metadata.json"
    meta = json.loads(meta_path.read_text())
    test = meta["metrics"]["test"]
    changed = {"not json": None, "metrics a list": {**meta, "metrics": [1]},
               "accuracy a string": {**meta, "metrics": {**meta["metrics"], "test": {**test, "accuracy": "high"}}},
               "no reliability": {**meta, "metrics": {**meta["metrics"], "test": {**test, "reliability": 3}}},
               "bad history": {**meta, "metrics": {**meta["metrics"], "training": {"history": [{"epoch": "x"}]}}},
               "bad recipe": {**meta, "recipe": {"data": 1}}}[damage]
    twin = shutil.copytree(exported, exported.parent / "twin")  # undamaged
    meta_path.write_text("{oops" if changed is None else json.dumps(changed))
    capsys.readouterr()  # only this command's output: earlier runs print notes too
    _refused(main(["compare", str(twin), str(exported), "--report", str(env.root / "c.html")]), capsys,
             str(exported))


def test_an_unchanged_demo_build_is_reused_without_training(tmp_path, monkeypatch):
    from workbench.core.workflow import demo

    first_ckpt, first_recipe = demo.build_diabetes(tmp_path / "demo", epochs=2)
    stamp = first_ckpt.stat().st_mtime_ns
    monkeypatch.setattr(demo, "_fit", lambda *a, **k: pytest.fail("an unchanged build is trained again"))
    ckpt, recipe = demo.build_diabetes(tmp_path / "demo", epochs=2)
    assert (ckpt, recipe) == (first_ckpt, first_recipe) and ckpt.stat().st_mtime_ns == stamp
    (tmp_path / "demo" / "diabetes.csv").write_text("edited by the user\n")
    with pytest.raises(Exception, match="diabetes.csv"):
        demo.build_diabetes(tmp_path / "demo", epochs=2)  # a changed file is neither reused nor overwritten


# ---------------------------------------------------------------- every file the loader read is an input

def _safetensors_with_config(tmp_path):
    from safetensors.torch import save_file

    folder = tmp_path / "model"
    folder.mkdir()
    save_file(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)).state_dict(),
              folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps({"input_shape": [4]}))
    return folder


@pytest.mark.parametrize("flag", ["--report", "--save-recipe"])
def test_the_config_json_beside_safetensors_weights_is_never_an_output(tmp_path, table_csv, capsys, flag):
    folder = _safetensors_with_config(tmp_path)
    before = _digest(folder)
    out = tmp_path / "export"
    code = main(["convert", str(folder / "model.safetensors"), "--data", str(table_csv), "--threshold", "median",
                 "--epochs", "1", "--calibration", "none", "--quiet", "--out", str(out), flag,
                 str(folder / "config.json"), "--overwrite"])
    _refused(code, capsys, "config.json", "a file the model was read from", "Choose another")
    assert _digest(folder) == before
    assert not out.exists(), "refused before any work"


SIBLING_MODELS = '''
from torch import nn

from blocks import Block


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = Block()
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        return self.head(self.body(x))
'''
SIBLING_BLOCKS = '''
from torch import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 8)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.lin(x))
'''


def test_the_model_sources_sibling_modules_are_inputs_too(tmp_path, table_csv, capsys):
    from workbench.core.open.load import load_checkpoint
    from workbench.core.open.model_source import build

    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "models.py").write_text(SIBLING_MODELS)
    (folder / "blocks.py").write_text(SIBLING_BLOCKS)
    ckpt = tmp_path / "net.pt"
    torch.save(build(f"{folder / 'models.py'}:Net").state_dict(), ckpt)
    loaded = load_checkpoint(ckpt, f"{folder / 'models.py'}:Net")
    assert loaded.files == [ckpt.resolve(), (folder / "models.py").resolve(), (folder / "blocks.py").resolve()]
    safetensors = _safetensors_with_config(tmp_path)
    assert load_checkpoint(safetensors / "model.safetensors").files == [
        (safetensors / "model.safetensors").resolve(), (safetensors / "config.json").resolve()]

    before = _digest(folder)
    capsys.readouterr()
    code = main(["convert", str(ckpt), "--model-source", f"{folder / 'models.py'}:Net", "--data", str(table_csv),
                 "--threshold", "median", "--epochs", "1", "--calibration", "none", "--quiet",
                 "--out", str(tmp_path / "export"), "--report", str(folder / "blocks.py"), "--overwrite"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert "blocks.py: this is a file the model was read from" in err.splitlines()[-1], err
    assert _digest(folder) == before


def test_compare_report_never_over_the_config_json_or_model_source_of_a_compared_run(tmp_path, table_csv, models_py,
                                                                                      tutorial_ckpt, capsys):
    folder = _safetensors_with_config(tmp_path)
    runs = [tmp_path / "from-safetensors", tmp_path / "from-source"]
    assert main(["convert", str(folder / "model.safetensors"), "--data", str(table_csv), "--threshold", "median",
                 "--epochs", "1", "--calibration", "none", "--quiet", "--out", str(runs[0])]) == 0
    assert main(["convert", str(tutorial_ckpt), "--model-source", f"{models_py}:TinyRegressor", "--data",
                 str(table_csv), "--threshold", "median", "--epochs", "1", "--calibration", "none", "--quiet",
                 "--out", str(runs[1])]) == 0
    before = _digest(folder, models_py)
    for target in (folder / "config.json", models_py):
        capsys.readouterr()
        _refused(main(["compare", *map(str, runs), "--report", str(target), "--overwrite"]), capsys, "Choose")
    assert _digest(folder, models_py) == before
