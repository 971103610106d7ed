"""Export folders read back within bounds (nesting, inflation, trust before anything inflates) and the isotonic
export with thousands of classes: the fit that scikit-learn's estimator gives, at a fraction of its cost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench.cli import main
from workbench.core.evaluate import calibrate

ROOT = Path(__file__).parents[3]


@pytest.fixture
def exported(tmp_path, tutorial_ckpt, models_py, table_csv):
    out = tmp_path / "export"
    assert main(["convert", str(tutorial_ckpt), "--model-source", f"{models_py}:TinyRegressor", "--data",
                 str(table_csv), "--threshold", "median", "--epochs", "1", "--calibration", "none", "--quiet",
                 "--out", str(out)]) == 0
    return out


def _one_paragraph(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1 and len(err) < 800, err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("depth", [40, 100_000])
def test_a_deeply_nested_metadata_json_is_a_typed_error_for_evaluate_and_compare(exported, table_csv, capsys, depth):
    meta = json.loads((exported / "metadata.json").read_text())
    (exported / "metadata.json").write_text(json.dumps({**meta, "notes": None})[:-1] + ', "deep": '
                                            + "[" * depth + "]" * depth + "}")
    capsys.readouterr()
    _one_paragraph(main(["evaluate", str(exported), "--data", str(table_csv)]), capsys.readouterr().err,
                   "metadata.json", "nests deeper")
    twin = shutil.copytree(exported, exported.parent / "twin")  # a second folder: one named twice is refused first
    _one_paragraph(main(["compare", str(exported), str(twin)]), capsys.readouterr().err, "metadata.json",
                   "nests deeper")


def test_an_untrusted_program_with_members_that_inflate_is_refused_before_they_do(exported, table_csv, tmp_path):
    program = exported / "model.pt2"
    with zipfile.ZipFile(program) as zf:
        entries = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(program, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
        member = zipfile.ZipInfo(entries[0][0].filename.split("/")[0] + "/data/sample_inputs/extra.pt")
        member.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(member, "w", force_zip64=True) as out:
            block = bytes(1 << 24)
            for _ in range(24):  # 384 MiB of zeros in under half a megabyte
                out.write(block)
    assert program.stat().st_size < 2 << 20
    script = textwrap.dedent(f'''
        import resource, sys
        from workbench.cli import main
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        code = main(["evaluate", {str(exported)!r}, "--data", {str(table_csv)!r}])
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024, code)
    ''')
    env = {**os.environ, "WORKBENCH_CONFIG_DIR": str(tmp_path / "another-computer")}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env,
                          cwd=str(ROOT))
    elapsed = time.perf_counter() - start
    growth, code = done.stdout.split()
    _one_paragraph(int(code), done.stderr, "model.pt2", "zip bomb")
    assert int(growth) < 150 and elapsed < 60, (growth, elapsed)


# ----- isotonic with many classes ------------------------------------------------------------------------------

def _scores(k: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * 2
    z[::5] = z[1::5][: len(z[::5])]  # tied scores
    probs = calibrate.Calibration("none", "multiclass", k).probabilities(z).astype(np.float64)
    return probs, rng.integers(0, k, n)


@pytest.mark.parametrize("k,n", [(6, 500), (3, 40), (2, 7), (12, 3000)])
def test_isotonic_knots_are_exactly_scikit_learns_thresholds(k, n):
    from sklearn.isotonic import IsotonicRegression

    probs, y = _scores(k, n)
    knots_x, knots_y = calibrate.isotonic_knots(probs, y, range(k))
    for c in range(k):
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(probs[:, c], y == c)
        xs, ys = iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist()
        if len(xs) < 2:
            xs, ys = [0.0, 1.0], [ys[0], ys[0]]
        assert (knots_x[c], knots_y[c]) == (xs, ys)


def test_isotonic_fit_with_a_thousand_classes_costs_a_fraction_of_one_estimator_per_class():
    from sklearn.isotonic import IsotonicRegression

    k = 1000
    probs, y = _scores(k, 2000)
    start = time.perf_counter()
    for c in range(k):
        IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(probs[:, c], y == c)
    per_class = time.perf_counter() - start
    start = time.perf_counter()
    calibrate.isotonic_knots(probs, y, range(k))
    ours = time.perf_counter() - start
    assert ours * 2 < per_class, (ours, per_class)  # measured 3-12x under load


def test_probabilities_of_many_classes_are_computed_in_blocks_of_rows(monkeypatch):
    probs, y = _scores(300, 600)
    cal = calibrate.fit("isotonic", "multiclass", 300, np.log(probs), y)
    whole = cal(torch.as_tensor(np.log(probs), dtype=torch.float32)).detach().numpy()
    monkeypatch.setattr(calibrate, "CHUNK_VALUES", 300 * 7)  # 7 rows a block
    seen: list[int] = []
    original = calibrate.Calibration.forward
    monkeypatch.setattr(calibrate.Calibration, "forward", lambda self, z: (seen.append(len(z)), original(self, z))[1])
    assert np.array_equal(cal.probabilities(np.log(probs)), whole)
    assert max(seen) == 7 and sum(seen) == 600


def test_a_large_export_json_is_written_compact(tmp_path):
    from workbench.core.export.export import PRETTY_LIMIT, _json_text

    small, large = {"a": [1, 2]}, {"confusion_matrix": [[0] * 800] * 800}
    assert "\n" in _json_text(small) and json.loads(_json_text(small)) == small
    text = _json_text(large)
    assert len(json.dumps(large)) > PRETTY_LIMIT and "\n" not in text and json.loads(text) == large


@pytest.mark.parametrize("k,n", [(3, 150), (40, 900), (300, 1200)])
def test_the_pairwise_bootstrap_auc_equals_the_per_class_one(k, n):
    from workbench.core.evaluate import uncertainty as U

    rng = np.random.default_rng(k)
    y = np.r_[np.arange(k), rng.integers(0, k, n - k)]
    z = rng.normal(size=(n, k))
    z[::7] = np.round(z[::7], 1)  # ties count a half
    probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    C = U.resample_counts(y, 60)
    per_class = np.mean([U._auc_one(C, probs[:, c], y == c) for c in range(k)], axis=0)
    assert np.abs(U._auc_pairs(C, probs, y, block=997) - per_class).max() < 1e-12


def test_bootstrap_auc_of_a_thousand_classes_takes_seconds():
    from workbench.core.evaluate import uncertainty as U

    k, n = 1000, 3000
    rng = np.random.default_rng(0)
    y = np.r_[np.arange(k), rng.integers(0, k, n - k)]
    probs = rng.dirichlet(np.ones(k), size=n)
    start = time.perf_counter()
    U.intervals(probs, y, ("roc_auc",))
    assert time.perf_counter() - start < 20  # one pass per class took 30 s and more
