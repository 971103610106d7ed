"""Shared by the benchmark scripts: argument parsing, medians, the plain PyTorch loop they measure against, and the
JSON/printed report."""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test (numbers meaningless)")
    p.add_argument("--repeats", type=int, default=3, help="runs per variant; the median is reported")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON result")
    return p


def timed(fn) -> float:
    """Wall seconds of fn(), waiting for queued GPU work so that no variant stops its clock early."""
    import torch

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def plain_bce_loop(model, X, y, epochs: int, bs: int, device) -> None:
    """The plain PyTorch baseline the trainer is measured against: shuffled slices of in-memory tensors, AdamW at
    1e-3 and BCE on one logit, as a hand-written loop does it (the benchmarks build the model)."""
    import torch
    from torch import nn

    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    X, y = X.to(device), y.to(device)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(X), device=device)
        for i in range(0, len(X), bs):
            idx = perm[i:i + bs]
            loss = loss_fn(model(X[idx]).reshape(-1), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


def median(values) -> float:
    return float(statistics.median(values))


def machine() -> dict:
    import os

    import torch

    info = {"python": platform.python_version(), "torch": torch.__version__, "cpu_count": os.cpu_count(),
            "platform": platform.platform(), "threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def report(name: str, args, figures: dict, ratios: dict, targets: dict | None = None) -> dict:
    """Print the figures and ratios (with the target each must meet) and write them as JSON."""
    result = {"benchmark": name, "quick": args.quick, "repeats": args.repeats, "machine": machine(),
              "figures": figures, "ratios": ratios, "targets": targets or {}}
    for key, value in figures.items():
        print(f"{key:45s} {value:14.4f}")
    for key, value in ratios.items():
        target = (targets or {}).get(key)
        verdict = "" if target is None else f"  (target {target[0]} {target[1]}: " \
            f"{'met' if (value >= target[1] if target[0] == '>=' else value <= target[1]) else 'NOT met'})"
        print(f"{key:45s} {value:14.3f}{verdict}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{name}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return result
