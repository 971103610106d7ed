"""Repeated training over seeds on one split, and the same recipe and seed writing the same files byte for byte
whatever PYTHONHASHSEED is."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from workbench.core.open.load import load_checkpoint
from workbench.core.recipe import DataRecipe, HeadRecipe, Recipe, TrainRecipe
from workbench.core.workflow.pipeline import prepare_data
from workbench.core.workflow.repeats import train_repeats


@pytest.fixture
def tiny(tutorial_ckpt, models_py, table_csv):
    recipe = Recipe(data=DataRecipe(path=str(table_csv), label_mode="threshold"), head=HeadRecipe(task="binary"),
                    train=TrainRecipe(epochs=3, lr=0.01, schedule="none", repeats=3), seed=5,
                    model_source=f"{models_py}:TinyRegressor")
    return tutorial_ckpt, recipe


def test_repeats_train_over_seeds_on_one_split(tiny):
    ckpt, recipe = tiny
    loaded = load_checkpoint(ckpt, recipe.model_source)
    data = prepare_data(recipe, loaded.input_shape)
    run = train_repeats(recipe, loaded, data)
    found = run.metrics["repeats"]
    assert found["k"] == 3 and found["seeds"] == [5, 6, 7] and found["split_seed"] == 5
    accuracy = [row["accuracy"] for row in found["per_seed"]]
    assert accuracy[0] == run.metrics["test"]["accuracy"] and run.recipe.seed == 5  # the first is the one kept
    assert found["mean"]["accuracy"] == pytest.approx(np.mean(accuracy))
    assert found["sd"]["accuracy"] == pytest.approx(np.std(accuracy, ddof=1))
    assert found["min"]["brier"] <= found["mean"]["brier"] <= found["max"]["brier"]
    from workbench.core.workflow.pipeline import calibrate_run

    assert calibrate_run(run, "none").metrics["repeats"] == found  # kept when the run is recalibrated
    from workbench import cli

    assert "over 3 training seeds (5-7, one split)" in cli._summary(run.metrics)
    args = cli.build_parser().parse_args(["convert", "C", "--out", "o", "--repeats", "4"])
    assert getattr(args, "train.repeats") == 4


def _convert(ckpt, recipe_file, out, hash_seed):
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    done = subprocess.run([sys.executable, "-m", "workbench.cli", "convert", str(ckpt), "--recipe", str(recipe_file),
                           "--out", str(out), "--quiet", "--trust"], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _keys(value, path=""):
    if isinstance(value, dict):
        return [k for key, v in value.items() for k in [f"{path}/{key}", *_keys(v, f"{path}/{key}")]]
    return []


def test_two_processes_with_different_hash_seeds_write_identical_metrics(tiny, tmp_path):
    ckpt, recipe = tiny
    recipe_file = tmp_path / "recipe.json"
    recipe.replace(**{"train.repeats": 1}).save(recipe_file)
    first = _convert(ckpt, recipe_file, tmp_path / "a", 1).splitlines()[:-1]  # the last line names the folder
    assert _convert(ckpt, recipe_file, tmp_path / "b", 2).splitlines()[:-1] == first
    a, b = (tmp_path / "a" / "metrics.json").read_bytes(), (tmp_path / "b" / "metrics.json").read_bytes()
    assert a == b and b"calibration_change" in a
    meta_a, meta_b = (json.loads((tmp_path / d / "metadata.json").read_text()) for d in ("a", "b"))
    assert _keys(meta_a) == _keys(meta_b)
