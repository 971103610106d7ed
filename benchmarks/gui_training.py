"""Training inside the window: throughput against headless training of the same recipe (target >= 0.9x),
the event loop's stalls while training with live plots, measured by a 5 ms heartbeat timer (longest
< 50 ms, 99th percentile < 20 ms), and how often the curves are redrawn (>= 10 per second).

    python benchmarks/gui_training.py            # 200,000 x 64 .npz, MLP(128), batch 256, 3 epochs
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import median, parser, report  # noqa: E402

HEARTBEAT_MS = 5


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    args = p.parse_args()
    if args.quick:
        args.rows, args.features, args.epochs, args.repeats = 3000, 8, 1, 1
    if not os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["WORKBENCH_CONFIG_DIR"] = tempfile.mkdtemp()
    import torch
    from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    from torch import nn

    QCoreApplication.setOrganizationName("WorkbenchBenchmark")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tempfile.mkdtemp())
    app = QApplication(sys.argv[:1])
    from workbench.core.workflow.pipeline import train_run
    from workbench.gui.main_window import MainWindow

    folder = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, args.features)).astype(np.float32)
    np.savez(folder / "data.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    torch.manual_seed(0)
    torch.save(nn.Sequential(nn.Linear(args.features, 128), nn.ReLU(), nn.Linear(128, 1)).state_dict(),
               folder / "mlp.pt")

    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    window.ensure_workspace()

    def wait(condition, timeout=300.0):
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise TimeoutError
            app.processEvents(QEventLoop.AllEvents, 10)

    window.open_checkpoint(str(folder / "mlp.pt"))
    wait(lambda: window.session.model.loaded is not None)
    window.load_data(str(folder / "data.npz"))
    wait(lambda: window.session.model.data is not None)
    window.session.model.update(**{"train.epochs": args.epochs, "train.batch_size": 256, "train.patience": 0,
                             "train.lr": 1e-3, "calibration": "none"})  # a fixed rate: no range test in the timing
    window.show_workspace(3)

    def train_in_window(heartbeat_ms: int | None):
        """One run with live plots; returns (run, heartbeat times in ms, redraw times)."""
        beats: list[float] = []
        redraws: list[float] = []
        clock = QElapsedTimer()
        clock.start()
        heartbeat = QTimer()
        if heartbeat_ms:
            heartbeat.setInterval(heartbeat_ms)
            heartbeat.timeout.connect(lambda: beats.append(clock.nsecsElapsed() / 1e6))
        curve = window.train_panel.curves.train_curve
        count = lambda *_: redraws.append(time.perf_counter())  # noqa: E731
        curve.sigPlotChanged.connect(count)
        window.session.model.select(None)
        if heartbeat_ms:
            heartbeat.start()
        loop = QEventLoop()
        window.session.run_changed.connect(loop.quit)
        window.start_training()
        loop.exec()
        heartbeat.stop()
        window.session.run_changed.disconnect(loop.quit)
        curve.sigPlotChanged.disconnect(count)
        return window.session.model.run, beats, redraws

    gui_rates, headless_rates, stalls, refresh = [], [], [], []
    for _ in range(args.repeats):
        headless = train_run(window.session.model.recipe, window.session.model.loaded, window.session.model.data)
        headless_rates.append(headless.training.samples_per_second)
        # Throughput with live plots, nothing else running; then responsiveness, with the heartbeat.
        run, _, redraws = train_in_window(None)
        gui_rates.append(run.training.samples_per_second)
        refresh.append(len(redraws) / max(run.training.seconds, 1e-9))
        run, beats, _ = train_in_window(HEARTBEAT_MS)
        gaps = np.diff(beats) - HEARTBEAT_MS
        stalls.append((float(gaps.max()), float(np.percentile(gaps, 99))))
    window.ask_before_closing = False  # nothing of this scripted session is kept
    window.close()
    figures = {"GUI training samples/s": median(gui_rates), "headless training samples/s": median(headless_rates),
               "longest event-loop stall ms": median(s[0] for s in stalls),
               "99th percentile stall ms": median(s[1] for s in stalls),
               "curve redraws per second": median(refresh)}
    ratios = {"GUI / headless throughput": figures["GUI training samples/s"] / figures["headless training samples/s"],
              "longest stall ms": figures["longest event-loop stall ms"],
              "p99 stall ms": figures["99th percentile stall ms"],
              "curve redraws per second": figures["curve redraws per second"]}
    report("gui_training", args, figures, ratios, {"GUI / headless throughput": (">=", 0.9),
                                                   "longest stall ms": ("<=", 50.0), "p99 stall ms": ("<=", 20.0),
                                                   "curve redraws per second": (">=", 10.0)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
