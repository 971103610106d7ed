"""Writes never destroy user files; export folders read back only with trust; exports grow linearly in K."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from workbench.core import calibrate


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
from workbench.core import folder_swap, trust
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
    folder_swap.write_marker(swap.staging, "model.pt2")
    swap.commit()
print("done", calls[0])
'''


def _swap_in_subprocess(target, version, crash_at):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, "-c", SWAP_SCRIPT, str(target), version, str(crash_at)],
                          capture_output=True, text=True, env=env, timeout=120)


def _export_version(folder):
    return (folder / "model.pt2").read_text() if folder.is_dir() else None


def test_a_killed_replacement_leaves_the_old_or_the_new_export_at_every_step(tmp_path):
    from workbench.core import folder_swap

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
    from workbench.core import folder_swap, trust

    (swap.staging / "model.pt2").write_text(text)
    trust.trust(trust.sha256_of(swap.staging / "model.pt2"))
    folder_swap.write_marker(swap.staging, "model.pt2")


@pytest.mark.parametrize("fails", ["replace-1", "replace-2", "unlink-2", "rmdir-1", "unlink-5"])
def test_a_failing_replacement_step_leaves_a_complete_export_and_no_staging(tmp_path, monkeypatch, fails):
    import os

    from workbench.core import folder_swap

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

    with pytest.raises(OSError):
        with folder_swap.Swap(target) as swap:
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
    from workbench.core import folder_swap

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
