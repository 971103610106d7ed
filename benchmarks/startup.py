"""Start-up: wall time from launching `workbench` to its first painted window (target <= 1.0 s), to a
checkpoint opened and shown (target <= 4 s), and from `workbench gui --demo` to the demo ready to train, its
model and data open (target <= 4 s, reusing an earlier build of the demo; the cold first run, which builds it,
is reported beside it). Baseline: a bare PySide6 window in a fresh interpreter.

    python benchmarks/startup.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import median, parser, report  # noqa: E402

BARE = ("from PySide6.QtWidgets import QApplication, QWidget; from PySide6.QtCore import QTimer; "
        "a = QApplication([]); w = QWidget(); w.resize(1280, 800); w.show(); "
        "QTimer.singleShot(0, lambda: (print('first paint', flush=True), a.quit())); a.exec()")


def until_line(cmd: list[str], marker: str, env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    for line in proc.stdout:
        if marker in line:
            elapsed = time.perf_counter() - start
            proc.wait(timeout=60)
            return elapsed
    proc.wait(timeout=60)
    raise RuntimeError(f"{marker!r} never printed by {cmd}")


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    args = p.parse_args()
    env = dict(os.environ)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    env["WORKBENCH_CONFIG_DIR"] = env["XDG_CONFIG_HOME"] = tempfile.mkdtemp()
    import torch
    from torch import nn

    ckpt = Path(tempfile.mkdtemp()) / "mlp.pt"
    torch.save(nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 1)).state_dict(), ckpt)
    gui = [sys.executable, "-m", "workbench.cli", "gui"]
    repeats = 1 if args.quick else max(args.repeats, 3)
    paint = [until_line(gui, "first paint", {**env, "WORKBENCH_REPORT_STARTUP": "paint"}) for _ in range(repeats)]
    bare = [until_line([sys.executable, "-c", BARE], "first paint", env) for _ in range(repeats)]
    opened = [until_line(gui + [str(ckpt)], "checkpoint open", {**env, "WORKBENCH_REPORT_STARTUP": "open"})
              for _ in range(repeats)]
    # The demo: a fresh home (so a fresh demo folder) is the cold first run that builds it; the next runs reuse it.
    # WORKBENCH_SMOKE_TEST prints the line once the model and the data are open, then quits.
    home = tempfile.mkdtemp()
    demo_env = {**env, "HOME": home, "WORKBENCH_SMOKE_TEST": "1"}
    cold = until_line(gui + ["--demo"], "smoke test: demo opened", demo_env)
    demo = [until_line(gui + ["--demo"], "smoke test: demo opened", demo_env) for _ in range(repeats)]
    figures = {"workbench first paint seconds": median(paint), "bare PySide6 window seconds": median(bare),
               "workbench checkpoint opened seconds": median(opened),
               "demo ready to train seconds (earlier build reused)": median(demo),
               "demo ready to train seconds (cold, builds the demo)": cold}
    report("startup", args, figures, {"first paint seconds": median(paint),
                                      "checkpoint opened seconds": median(opened),
                                      "demo ready seconds": median(demo),
                                      "first paint / bare Qt window": median(paint) / median(bare)},
           {"first paint seconds": ("<=", 1.0), "checkpoint opened seconds": ("<=", 4.0),
            "demo ready seconds": ("<=", 4.0)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
