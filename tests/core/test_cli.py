"""The command line, run as a user runs it: a subprocess."""

import json
import os
import subprocess
import sys

import pytest
import torch


def wb(*args, cwd=None, timeout=300):
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "workbench.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def test_inspect_text_and_json(tutorial_ckpt, models_py):
    done = wb("inspect", tutorial_ckpt, "--model-source", f"{models_py}:TinyRegressor")
    assert done.returncode == 0, done.stderr
    assert "regression head: head (8 -> 1), followed by act" in done.stdout
    data = json.loads(wb("inspect", tutorial_ckpt, "--model-source", f"{models_py}:TinyRegressor", "--json").stdout)
    assert data["head"] == "head" and data["head_tail"] == ["act"]
    assert {row["name"] for row in data["layers"]} >= {"body.0", "head", "act"}


def test_convert_writes_export_and_metrics(tutorial_ckpt, models_py, table_csv, tmp_path):
    out = tmp_path / "out"
    done = wb("convert", tutorial_ckpt, "--model-source", f"{models_py}:TinyRegressor", "--data", table_csv,
              "--label", "target", "--task", "binary", "--threshold", "median", "--epochs", "5",
              "--lr", "0.01", "--schedule", "none",  # 15 steps: too few for the range test and one-cycle
              "--calibration", "platt", "--seed", "1", "--out", out, "--save-recipe", tmp_path / "r.json", "--onnx")
    assert done.returncode == 0, done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert (out / "model.onnx").is_file()
    for key in ("accuracy", "macro_f1", "ece_before", "ece", "brier", "confusion_matrix"):
        assert key in metrics["test"]
    assert metrics["classes"] == json.loads((out / "metadata.json").read_text())["classes"]
    assert "epoch   1/5" in done.stderr and "test accuracy" in done.stdout
    again = wb("convert", tutorial_ckpt, "--recipe", tmp_path / "r.json", "--out", tmp_path / "again", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["test"] == metrics["test"]
    scored = wb("evaluate", out, "--data", table_csv, "--label", "target", "--json")
    assert scored.returncode == 0, scored.stderr
    rescored = json.loads(scored.stdout)
    assert rescored["n"] == 240 and sum(map(sum, rescored["confusion_matrix"])) == 240
    assert rescored["accuracy"] > 0.6
    assert "the data the export was trained on" in scored.stderr  # the same file: optimistic, and said so
    # rows with a missing cell: refused by default; evaluate's own --missing drop leaves them out, counted
    lines = table_csv.read_text().splitlines()
    holes = [lines[0]] + [",".join([""] + row.split(",")[1:]) if i < 5 else row for i, row in enumerate(lines[1:])]
    (tmp_path / "holes.csv").write_text("\n".join(holes) + "\n")
    refused = wb("evaluate", out, "--data", tmp_path / "holes.csv")
    assert refused.returncode == 2 and "missing" in refused.stderr
    dropped = wb("evaluate", out, "--data", tmp_path / "holes.csv", "--missing", "drop")
    assert dropped.returncode == 0, dropped.stderr
    assert "5 row(s) with missing feature values were dropped" in dropped.stderr and "235 samples" in dropped.stdout
    assert "trained on" not in dropped.stderr  # another file


@pytest.mark.parametrize("args, message", [
    (["inspect", "missing.pt"], "no such file"),
    (["convert", "CKPT", "--data", "nowhere.csv", "--task", "binary", "--threshold", "0", "--out", "o"],
     "no such data file"),
    (["convert", "CKPT", "--data", "sklearn:iris", "--task", "binary", "--out", "o"], "binary head needs two"),
    (["convert", "CKPT", "--data", "sklearn:wine", "--task", "multiclass", "--out", "o"], "model takes (4,)"),
    (["convert", "CKPT", "--data", "sklearn:iris", "--task", "multiclass", "--loss", "bce", "--out", "o"],
     "BCE needs a binary head"),
    (["convert", "CKPT", "--data", "sklearn:diabetes", "--threshold", "100,200", "--out", "o"],
     "--threshold takes one number"),  # the second cut was dropped silently
    (["convert", "CKPT", "--data", "sklearn:diabetes", "--threshold", "0,5", "--out", "o"],
     "usage: workbench convert"),  # the sub-command's usage, then "with a decimal point, 0.5"
    (["convert", "CKPT", "--data", "sklearn:diabetes", "--costs", "0,1,x,0", "--out", "o"],
     "'x' is not a number (in '0,1,x,0')"),  # it said "takes values separated by commas" of a comma list
])
def test_user_mistakes_exit_non_zero_without_traceback(tutorial_ckpt, models_py, tmp_path, args, message):
    args = [str(tutorial_ckpt) if a == "CKPT" else a for a in args]
    if args[0] == "convert":
        args += ["--model-source", f"{models_py}:TinyRegressor"]
    done = wb(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_untrusted_pickle_refused_from_the_cli(tmp_path, tiny_model, models_py):
    path = tmp_path / "whole.pt"
    torch.save(tiny_model, path)
    done = wb("inspect", path, "--model-source", f"{models_py}:TinyRegressor")
    assert done.returncode == 2 and "--trust" in done.stderr and "Traceback" not in done.stderr
    done = wb("inspect", path, "--model-source", f"{models_py}:TinyRegressor", "--trust")
    assert done.returncode == 0, done.stderr


def test_demo_runs_the_whole_job(tmp_path):
    done = wb("demo", "--out", tmp_path / "demo", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["test"]["accuracy"] > 0.65  # anchors: workflow/test_journey_accuracy.py
    assert (tmp_path / "demo" / "export" / "model.pt2").is_file()


def test_a_reader_that_leaves_early_is_no_internal_error(tutorial_ckpt, models_py, tmp_path):
    """`workbench inspect --json | head -2`: the pipe's reader is gone before the output is written. The command
    ends quietly with the shell's SIGPIPE status, no "internal error" and no traceback in the log."""
    read, write = os.pipe()
    os.close(read)  # every write to the pipe now fails with EPIPE, as once head has exited
    env = {**os.environ, "WORKBENCH_LOG_DIR": str(tmp_path / "log")}
    try:
        done = subprocess.run([sys.executable, "-m", "workbench.cli", "inspect", str(tutorial_ckpt), "--model-source",
                               f"{models_py}:TinyRegressor", "--json"], stdout=write, stderr=subprocess.PIPE,
                              text=True, env=env, timeout=300)
    finally:
        os.close(write)
    assert done.returncode == 141 and done.stderr == "", done.stderr
    log = tmp_path / "log" / "workbench.log"
    assert not log.exists() or "Traceback" not in log.read_text()


def test_costs_alone_choose_the_cost_policy_and_say_so(capsys):
    from workbench.cli.options import _recipe_from_args
    from workbench.cli.parser import build_parser

    base = ["convert", "model.pt", "--data", "sklearn:diabetes", "--out", "o"]
    recipe = _recipe_from_args(build_parser().parse_args([*base, "--costs", "0,1,5,0"]))
    assert recipe.decide.policy == "cost" and recipe.decide.costs == (0.0, 1.0, 5.0, 0.0)
    assert "note: --costs is a cost matrix: the cost decision policy is used" in capsys.readouterr().err
    recipe = _recipe_from_args(build_parser().parse_args([*base, "--costs", "0,1,5,0", "--decision-policy", "f1"]))
    assert recipe.decide.policy == "f1" and capsys.readouterr().err == ""
