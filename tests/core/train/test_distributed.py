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
        "data.path": str(table_csv), "data.label_mode": "threshold", "train.epochs": 6, "train.lr": "auto",
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
    assert double["training"]["lr"] == single["training"]["lr"]  # rank 0's range test, its pick broadcast
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


def _rank_main(rank: int, store: str, X: np.ndarray, y: np.ndarray, out: str) -> None:
    """One of two gloo ranks: the frozen body's features, split between the ranks, then the head trained with DDP."""
    import torch
    import torch.distributed as dist

    from workbench.core.recipe import TrainRecipe
    from workbench.core.train import frozen_body
    from workbench.core.train.distributed import Distributed
    from workbench.core.train.train import train

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    try:
        ranks = Distributed(rank, 2, 0, torch.device("cpu"), "gloo")
        model = _frozen_model()
        splits = {"train": X[:50], "val": X[50:61], "one": X[61:62]}  # "one": fewer rows than ranks
        cache = frozen_body.compute(model, "head", splits.__getitem__, {s: len(v) for s, v in splits.items()},
                                    ranks.device, dist=ranks)
        recipe = TrainRecipe(epochs=3, lr=0.05, batch_size=16, schedule="none", patience=0, device="cpu")
        train(model.head, "binary", 2, cache.splits["train"], y[:50], cache.splits["val"], y[50:61], recipe, seed=4,
              dist=ranks)
        torch.save({"features": {s: t.clone() for s, t in cache.splits.items()}, "head": model.head.state_dict()},
                   f"{out}-{rank}.pt")
        # as the app ends a run: every rank waits for the others before leaving the group (a rank that left while
        # its peer's last collective was in flight aborted the peer, "terminate called without an active exception")
        ranks.close()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _frozen_model():
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("body", nn.Sequential(nn.Linear(4, 6), nn.Tanh()))
    model.add_module("head", nn.Linear(6, 1))
    model.body.requires_grad_(False)
    return model


def test_a_frozen_body_runs_once_across_ranks_and_the_head_trains_as_in_one_process(tmp_path):
    import torch
    import torch.multiprocessing as mp

    from workbench.core.recipe import TrainRecipe
    from workbench.core.train import frozen_body
    from workbench.core.train.train import train

    rng = np.random.default_rng(0)
    X = rng.normal(size=(62, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    mp.spawn(_rank_main, args=(str(tmp_path / "store"), X, y, str(tmp_path / "rank")), nprocs=2)
    model = _frozen_model()
    splits = {"train": X[:50], "val": X[50:61], "one": X[61:62]}
    cache = frozen_body.compute(model, "head", splits.__getitem__, {s: len(v) for s, v in splits.items()},
                                torch.device("cpu"))
    recipe = TrainRecipe(epochs=3, lr=0.05, batch_size=16, schedule="none", patience=0, device="cpu")
    train(model.head, "binary", 2, cache.splits["train"], y[:50], cache.splits["val"], y[50:61], recipe, seed=4)
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank-{rank}.pt")
        for split, features in cache.splits.items():
            torch.testing.assert_close(got["features"][split], features)
        for name, value in model.head.state_dict().items():
            torch.testing.assert_close(got["head"][name], value, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- torchrun's environment, checked

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "WORKBENCH_JOIN_TIMEOUT")


def _convert(tutorial_ckpt, models_py, table_csv, out, *extra):
    from workbench.cli import main

    return main(["convert", str(tutorial_ckpt), "--model-source", f"{models_py}:TinyRegressor", "--data",
                 str(table_csv), "--threshold", "median", "--epochs", "1", "--calibration", "none", "--device", "cpu",
                 "--out", str(out), *extra])


def _with_env(monkeypatch, **values):
    for name in TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("values, words", [
    ({"RANK": "1"}, ["RANK but not WORLD_SIZE", "torchrun"]),
    ({"WORLD_SIZE": "2"}, ["WORLD_SIZE but not RANK"]),
    ({"WORLD_SIZE": "abc", "RANK": "0"}, ["WORLD_SIZE is 'abc'", "whole number"]),
    ({"WORLD_SIZE": "2", "RANK": "two"}, ["RANK is 'two'"]),
    ({"WORLD_SIZE": "2", "RANK": "2"}, ["RANK=2 of WORLD_SIZE=2", "0 to 1"]),
    ({"WORLD_SIZE": "2", "RANK": "1"}, ["MASTER_ADDR or MASTER_PORT"]),
    ({"WORLD_SIZE": "2", "RANK": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "http"}, ["MASTER_PORT is 'http'"]),
    ({"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "-1"}, ["LOCAL_RANK is '-1'"]),
    ({"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "0",
      "WORKBENCH_JOIN_TIMEOUT": "soon"}, ["WORKBENCH_JOIN_TIMEOUT is 'soon'"]),
])
def test_an_incomplete_torchrun_environment_is_named(values, words, tutorial_ckpt, models_py, table_csv, tmp_path,
                                                     monkeypatch, capsys):
    _with_env(monkeypatch, **values)
    code = _convert(tutorial_ckpt, models_py, table_csv, tmp_path / "out", "--quiet")
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "internal error" not in err, err
    assert err.count("\n") == 1, err  # one paragraph
    for word in words:
        assert word in err, err
    assert not (tmp_path / "out").exists()


def test_a_baseline_runs_on_process_0_alone_and_the_others_say_so(tutorial_ckpt, models_py, table_csv, tmp_path,
                                                                  monkeypatch, capsys):
    _with_env(monkeypatch, RANK="1", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT="1")
    assert _convert(tutorial_ckpt, models_py, table_csv, tmp_path / "out", "--baseline") == 0
    captured = capsys.readouterr()
    assert "process 1 of 2: --baseline trains nothing, so process 0 alone computes and writes it" in captured.err
    assert captured.out == "" and not (tmp_path / "out").exists()
    # process 0 computes and writes it without waiting for anyone (nobody listens at MASTER_PORT=1)
    _with_env(monkeypatch, RANK="0", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT="1")
    assert _convert(tutorial_ckpt, models_py, table_csv, tmp_path / "out", "--baseline") == 0
    assert "this process alone computes and writes it (the other 1 do nothing)" in capsys.readouterr().err
    assert (tmp_path / "out" / "metadata.json").is_file()


def test_process_0_names_a_port_it_cannot_listen_on(tutorial_ckpt, models_py, table_csv, tmp_path, monkeypatch,
                                                     capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _with_env(monkeypatch, RANK="0", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                  WORKBENCH_JOIN_TIMEOUT="1")
        code = _convert(tutorial_ckpt, models_py, table_csv, tmp_path / "out", "--quiet")
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err
    assert f"process 0 of 2 cannot listen at 127.0.0.1:{port}" in err and "Choose a free MASTER_PORT" in err


def test_process_0_says_what_it_waits_for_and_stops_waiting(tutorial_ckpt, models_py, table_csv, tmp_path,
                                                            monkeypatch, capsys):
    import time

    import torch.distributed as dist

    # gloo with a world of 2 and only this process: its peer never comes
    _with_env(monkeypatch, RANK="0", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT="0",
              WORKBENCH_JOIN_TIMEOUT="1")
    start = time.monotonic()
    code = _convert(tutorial_ckpt, models_py, table_csv, tmp_path / "out")
    took = time.monotonic() - start
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    note, error = err.splitlines()
    assert note.startswith("note: process 0 of 2: waiting up to 1 s for the other 1 process to join at "
                           "127.0.0.1:0"), err
    assert "process 0 of 2 waited 1 s at 127.0.0.1:0 for the other processes to join, and not all came" in error
    assert "torchrun" in error and took < 30 and not dist.is_initialized()
    assert not (tmp_path / "out").exists()
