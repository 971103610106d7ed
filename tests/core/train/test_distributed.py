"""The headless trainer under torchrun: two cpu processes (gloo) give the single process's model.

The NCCL path (one GPU per process) is the same code with another backend and device; it needs GPUs to test.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import workbench
from workbench.core.train.distributed import share

CHECKOUT = str(Path(workbench.__file__).resolve().parents[1])  # the processes run this checkout, not an install


@pytest.mark.parametrize("rows, world", [(64, 2), (17, 2), (10, 3), (1, 2), (2, 4)])
def test_each_rank_takes_its_own_rows_and_the_scales_rebuild_the_batch_mean(rows, world):
    parts = [share(100, 100 + rows, rank, world) for rank in range(world)]
    taken = [range(first, end) for first, end, scale in parts if scale]
    assert sorted(i for r in taken for i in r) == list(range(100, 100 + rows))  # disjoint, and all of them
    # mean over ranks of (scale * the rank's mean loss) == the batch's mean loss, for any per-row losses
    losses = np.random.default_rng(0).normal(size=200)
    ddp = sum(scale * losses[first:end].mean() for first, end, scale in parts) / world
    assert ddp == pytest.approx(losses[100:100 + rows].mean())


def test_two_processes_export_what_one_process_exports(tutorial_ckpt, models_py, table_csv, tmp_path):
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.journey import convert_checkpoint

    recipe = Recipe().replace(**{
        "data.path": str(table_csv), "data.label_mode": "threshold", "train.epochs": 6, "train.lr": 0.01,
        "train.schedule": "none", "train.batch_size": 32, "train.device": "cpu", "calibration": "platt", "seed": 1,
        "model_source": f"{models_py}:TinyRegressor"})
    recipe.save(tmp_path / "recipe.json")
    run, _ = convert_checkpoint(tutorial_ckpt, recipe, tmp_path / "one", trusted=True)
    single = run.metrics
    before = set(tmp_path.rglob("*"))
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([CHECKOUT, *filter(None, [os.environ.get("PYTHONPATH")])])}
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "workbench", "convert", str(tutorial_ckpt), "--recipe", str(tmp_path / "recipe.json"),
                          "--out", str(tmp_path / "two"), "--json", "--save-recipe", str(tmp_path / "saved.json")],
                         capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert two.returncode == 0, two.stderr
    written = set(tmp_path.rglob("*")) - before
    # rank 0 wrote the export and the recipe; rank 1 wrote nothing (and printed nothing: one JSON document)
    assert {p.relative_to(tmp_path).parts[0] for p in written} == {"two", "saved.json"}
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(p.name for p in (tmp_path / "one").iterdir())
    double = json.loads(two.stdout)
    assert double["training"]["processes"] == 2 and single["training"]["processes"] == 1
    # Each rank's mean loss is scaled by its share of the batch, so the averaged gradients are the whole batch's:
    # the two runs take the same steps and differ only by float32 rounding (the all-reduce adds the two halves'
    # gradients in another order than one backward pass over the batch does), about 1e-7 relative per step.
    # 1e-4 on probabilities leaves room for that over 30 steps and is far below any real change of the model
    # (one epoch fewer moves them by about 1e-2).
    np.testing.assert_allclose(double["test_rows"]["probs"], single["test_rows"]["probs"], atol=1e-4)
    assert double["test"]["accuracy"] == single["test"]["accuracy"]
    assert len(double["training"]["history"]) == len(single["training"]["history"]) == 6
    for a, b in zip(double["training"]["history"], single["training"]["history"]):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
