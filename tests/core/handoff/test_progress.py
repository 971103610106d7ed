"""Progress of the slow steps: core reports them to the callbacks' on_progress (Qt-free), and the command line
draws bars with an ETA in a terminal (a pseudo-terminal here) and plain lines when piped."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import numpy as np

from workbench.core import progress
from workbench.core.train.train import Callback


class Recorder(Callback):
    def __init__(self):
        self.infos = []

    def on_progress(self, info):
        self.infos.append(dict(info))

    def steps(self):
        return {i["step"] for i in self.infos}


PLAIN = """
import torch
from torch import nn

class Plain(nn.Module):  # the head is the last layer: the frozen body's outputs are cached
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        return self.head(self.body(x))
"""


def test_a_conversion_reports_range_test_feature_cache_and_export(table_csv, tmp_path):
    import torch

    from workbench.core.open.model_source import build
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.journey import convert_checkpoint

    (tmp_path / "plain.py").write_text(PLAIN)
    source = f"{tmp_path / 'plain.py'}:Plain"
    torch.save(build(source).state_dict(), tmp_path / "plain.pt")
    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold",
                                 "model_source": source, "train.epochs": 2, "head.freeze": "body"})
    seen = Recorder()
    convert_checkpoint(tmp_path / "plain.pt", recipe, tmp_path / "out", callbacks=(seen,))
    assert {"lr_range_test", "features", "export"} <= seen.steps()
    for key in ("lr_range_test", "features", "export"):
        mine = [i for i in seen.infos if i["step"] == key]
        assert not mine[0]["finished"] and mine[-1]["finished"] and not mine[-1]["failed"]
        assert [i["done"] for i in mine] == sorted(i["done"] for i in mine)  # never goes back
    features = [i for i in seen.infos if i["step"] == "features"]
    assert features[-1]["done"] == features[-1]["total"] == 240  # every row of every split
    assert progress.describe(features[-1]).startswith("Running the frozen body once")


def test_decoding_an_image_folder_reports(tmp_path):
    from PIL import Image

    from workbench.core.data.images import load_image_folder

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(6):
            Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(tmp_path / c / f"{i}.png")
    seen = Recorder()
    with progress.reporting((seen,)):
        load_image_folder(tmp_path, None)
    decode = [i for i in seen.infos if i["step"] == "decode"]
    assert decode[-1]["done"] == decode[-1]["total"] == 12 and decode[-1]["finished"]
    assert "Decoding 12 images to 1x8x8" in progress.describe(decode[0])


def test_nothing_is_reported_without_listeners():
    with progress.step("x", "nothing listens", 3) as s:
        s.advance(3)  # no error, no output


def _convert_args(tutorial_ckpt, models_py, table_csv, out):
    return [sys.executable, "-m", "workbench.cli", "convert", str(tutorial_ckpt), "--model-source",
            f"{models_py}:TinyRegressor", "--data", str(table_csv), "--threshold", "median", "--epochs", "3",
            "--freeze", "body",
            "--out", str(out)]


def test_bars_in_a_terminal_plain_lines_when_piped(tutorial_ckpt, models_py, table_csv, tmp_path):
    env = {**os.environ, "COLUMNS": "120"}
    piped = subprocess.run(_convert_args(tutorial_ckpt, models_py, table_csv, tmp_path / "piped"), env=env,
                           capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0, piped.stderr
    err = piped.stderr
    assert "\r" not in err and "\x1b[" not in err
    for line in ("Learning-rate range test: done in", "Running the frozen body once over the data",
                 "Exporting to piped: done in", "epoch   1/3"):
        assert line in err, err

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))  # a terminal 120 columns wide
    done = subprocess.Popen(_convert_args(tutorial_ckpt, models_py, table_csv, tmp_path / "tty"), env=env,
                            stdout=subprocess.PIPE, stderr=child, stdin=subprocess.DEVNULL)
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert done.wait(timeout=300) == 0
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "\r" in shown  # bars redrawn in place
    assert re.search(r"Learning-rate range test.*\|.*\d+/100 \[\d\d:\d\d<\d\d:\d\d", shown), shown[-2000:]
    assert re.search(r"epoch 1/3.*\d+/\d+ \[\d\d:\d\d<\d\d:\d\d", shown)  # each epoch's bar with its ETA
    assert "Exporting to tty: done in" in shown


def test_an_epoch_line_says_time_left_only_when_there_is_a_second_or_more():
    import io

    from workbench.cli.output import _Progress

    stream = io.StringIO()
    progress = _Progress(stream)
    epoch = {"epochs": 3, "train_loss": 0.5, "val_loss": 0.4, "val_accuracy": 0.9}
    progress.on_epoch_end({**epoch, "epoch": 1, "eta": 0.3})  # a quick run: not "at most 0 s left"
    progress.on_epoch_end({**epoch, "epoch": 2, "eta": 12.4})
    first, second = stream.getvalue().splitlines()
    assert "left" not in first and second.endswith("at most 12 s left")
