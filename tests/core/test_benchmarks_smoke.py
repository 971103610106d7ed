"""Each benchmark script runs end to end on tiny sizes and writes its JSON, so the scripts do not rot.
Nothing is timed or compared here: the figures of a --quick run mean nothing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


def test_every_target_has_a_script():
    assert set(SCRIPTS) >= {"train_throughput.py", "image_throughput.py", "gui_training.py", "startup.py",
                            "large_checkpoint.py", "evaluation.py", "memory.py", "frozen_body.py",
                            "image_streaming.py"}


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_runs_quickly(script, tmp_path):
    if script in ("gui_training.py", "startup.py"):
        pytest.importorskip("PySide6", reason="the window's benchmarks need the gui extra")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert result["quick"] is True and result["figures"] and result["ratios"]
