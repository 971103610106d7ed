"""Writes never destroy user files; export folders read back only with trust; exports grow linearly in K."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from workbench.core import calibrate


def _digest(*paths) -> dict:
    out = {}
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        out |= {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    return out


# ---------------------------------------------------------------- bounds: isotonic with many classes

def _isotonic(k: int) -> calibrate.Calibration:
    rng = np.random.default_rng(0)
    n = 4 * k
    return calibrate.fit("isotonic", "multiclass", k, rng.normal(size=(n, k)) * 2, rng.integers(0, k, n))


def test_isotonic_size_and_program_grow_linearly_with_classes():
    sizes, nodes = {}, {}
    for k in (50, 400):
        cal = _isotonic(k)
        sizes[k] = sum(b.numel() * b.element_size() for b in cal.buffers()) + len(json.dumps(cal.params()))
        program = torch.export.export(cal, (torch.randn(4, k),),
                                      dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
        nodes[k] = len(program.graph.nodes)
    assert sizes[400] / sizes[50] < 8 * 1.5  # 8x the classes: linear, not 64x
    assert nodes[400] == nodes[50]  # no per-class loop unrolled into the program


def test_isotonic_flat_knots_match_the_per_class_curves_and_old_padded_params():
    cal = _isotonic(6)
    rng = np.random.default_rng(1)
    z = rng.normal(size=(500, 6)) * 3
    probs = calibrate.Calibration("none", "multiclass", 6).probabilities(z).astype(np.float64)
    params = cal.params()
    expected = np.stack([np.interp(probs[:, c], params["knots_x"][c], params["knots_y"][c]) for c in range(6)], 1)
    total = expected.sum(1, keepdims=True)
    expected = np.where(total > 0, expected / np.maximum(total, 1e-12), probs)
    assert np.abs(cal.probabilities(z) - expected).max() < 1e-5
    width = max(len(x) for x in params["knots_x"])  # sessions saved before padded every curve to one width
    padded = {"knots_x": [x + [x[-1] + 1.0 + i for i in range(width - len(x))] for x in params["knots_x"]],
              "knots_y": [y + [y[-1]] * (width - len(y)) for y in params["knots_y"]]}
    old = calibrate.Calibration("isotonic", "multiclass", 6, padded)
    assert np.abs(old.probabilities(z) - cal.probabilities(z)).max() == 0
