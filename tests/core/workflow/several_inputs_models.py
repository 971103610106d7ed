"""Models whose forward takes several tensors, written into tmp_path as a user's model source, trained briefly as
regressors on a table with category columns (for tests/core/workflow/test_several_inputs.py and the window's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

TABULAR_SOURCE = '''
import torch
from torch import nn


class TabularModel(nn.Module):
    """fastai's TabularModel as tutorials write it: an embedding per category column, BatchNorm on the
    continuous ones, then Linear layers."""

    def __init__(self, emb_szs, n_cont, out_sz, layers, p=0.0):
        super().__init__()
        self.embeds = nn.ModuleList([nn.Embedding(ni, nf) for ni, nf in emb_szs])
        self.emb_drop = nn.Dropout(p)
        self.bn_cont = nn.BatchNorm1d(n_cont)
        parts, n_in = [], sum(nf for _, nf in emb_szs) + n_cont
        for width in layers:
            parts += [nn.Linear(n_in, width), nn.ReLU(), nn.BatchNorm1d(width)]
            n_in = width
        parts.append(nn.Linear(n_in, out_sz))
        self.layers = nn.Sequential(*parts)

    def forward(self, x_cat, x_cont):
        x = torch.cat([e(x_cat[:, i]) for i, e in enumerate(self.embeds)], 1)
        x = torch.cat([self.emb_drop(x), self.bn_cont(x_cont)], 1)
        return self.layers(x)


class TwoInputs(nn.Module):
    """A hydrology-style model: forcings and static catchment attributes."""

    def __init__(self, n_x, n_static, hidden=16):
        super().__init__()
        self.x_net = nn.Sequential(nn.Linear(n_x, hidden), nn.Tanh())
        self.s_net = nn.Sequential(nn.Linear(n_static, hidden), nn.Tanh())
        self.out = nn.Linear(2 * hidden, 1)

    def forward(self, x, static):
        return self.out(torch.cat([self.x_net(x), self.s_net(static)], 1))
'''

CITIES = ["Aberdeen", "Bristol", "Cardiff", "Dundee"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]


def taxi_table(n: int = 600, seed: int = 0) -> tuple[dict[str, list[object]], np.ndarray]:
    """Columns of a fare table (city and weekday as text) and the fare the regressor learns."""
    rng = np.random.default_rng(seed)
    city = rng.integers(0, len(CITIES), n)
    day = rng.integers(0, len(DAYS), n)
    cont = rng.normal(size=(n, 3)).astype(np.float32)
    fare = (np.array([0.0, 1.5, -1.0, 0.5])[city] + np.array([0, 0, 0, 0.5, 1.0, 1.5])[day]
            + 2.0 * cont[:, 0] - cont[:, 1] + 0.3 * rng.normal(size=n))
    columns = {"trip_id": [f"T{i:05d}" for i in range(n)], "city": [CITIES[c] for c in city],
               "weekday": [DAYS[d] for d in day], "distance": cont[:, 0].tolist(), "wait": cont[:, 1].tolist(),
               "tip": cont[:, 2].tolist()}
    return columns, fare


def write_csv(path: Path, columns: dict[str, list[object]], target: np.ndarray) -> Path:
    names = list(columns)
    lines = [",".join([*names, "fare"])]
    for i in range(len(target)):
        lines.append(",".join([*(str(columns[c][i]) for c in names), f"{target[i]:.5f}"]))
    path.write_text("\n".join(lines) + "\n")
    return path


def fit_regressor(model: object, inputs: list[object], target: np.ndarray, epochs: int = 150) -> None:
    import torch

    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)  # type: ignore[attr-defined]
    y = torch.as_tensor(target, dtype=torch.float32).reshape(-1, 1)
    model.train()  # type: ignore[attr-defined]
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(*inputs), y)  # type: ignore[operator]
        loss.backward()
        opt.step()
    model.eval()  # type: ignore[attr-defined]


def _written_module(source: Path, text: str, name: str) -> tuple[Path, Any]:
    """Write a model source as a user keeps it beside their checkpoint, and import it (the test's own copy)."""
    import importlib.util

    source.write_text(text)
    spec = importlib.util.spec_from_file_location(name, source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return source, module


def tabular_checkpoint(folder: Path) -> tuple[Path, str, dict[str, object], Path]:
    """(state_dict file, model source 'file.py:TabularModel', its arguments, the CSV) of a trained fare model,
    whose categories were coded as pandas' sorted category codes, as the tutorials do."""
    import torch

    source, module = _written_module(folder / "tabular.py", TABULAR_SOURCE, "tabular_for_test")
    args: dict[str, object] = {"emb_szs": [[len(CITIES), 3], [len(DAYS), 3]], "n_cont": 3, "out_sz": 1,
                               "layers": [16, 8]}
    torch.manual_seed(0)
    model = module.TabularModel(**args)
    columns, fare = taxi_table()
    codes = torch.as_tensor(np.stack([[CITIES.index(c) for c in columns["city"]],
                                      [DAYS.index(d) for d in columns["weekday"]]], 1))
    cont = torch.as_tensor(np.stack([columns[c] for c in ("distance", "wait", "tip")], 1), dtype=torch.float32)
    fit_regressor(model, [codes, cont], fare)
    ckpt = folder / "fare.pt"
    torch.save(model.state_dict(), ckpt)
    return ckpt, f"{source}:TabularModel", args, write_csv(folder / "fares.csv", columns, fare)


def two_input_checkpoint(folder: Path) -> tuple[Path, str, dict[str, object], Path]:
    """A `forward(x, static)` model trained on 4 forcing and 2 static columns (all numeric)."""
    import torch

    source, module = _written_module(folder / "hydro.py", TABULAR_SOURCE, "hydro_for_test")
    args: dict[str, object] = {"n_x": 4, "n_static": 2}
    torch.manual_seed(0)
    model = module.TwoInputs(**args)
    rng = np.random.default_rng(1)
    x, static = rng.normal(size=(500, 4)).astype(np.float32), rng.normal(size=(500, 2)).astype(np.float32)
    flow = x[:, 0] + 0.5 * x[:, 1] - static[:, 0] + 0.2 * rng.normal(size=500)
    fit_regressor(model, [torch.as_tensor(x), torch.as_tensor(static)], flow)
    ckpt = folder / "hydro.pt"
    torch.save(model.state_dict(), ckpt)
    columns: dict[str, list[object]] = {**{f"rain{i}": x[:, i].tolist() for i in range(4)},
                                        "area": static[:, 0].tolist(), "slope": static[:, 1].tolist()}
    return ckpt, f"{source}:TwoInputs", args, write_csv(folder / "flow.csv", columns, flow)


SEQUENCE_SOURCE = '''
import torch
from torch import nn


class HydroLSTM(nn.Module):
    """A rainfall-runoff model as hydrology repositories write it: an LSTM over the daily forcings, its last
    hidden state concatenated with the catchment's static attributes before the regression head."""

    def __init__(self, n_dynamic, n_static, hidden=16):
        super().__init__()
        self.lstm = nn.LSTM(n_dynamic, hidden, batch_first=True)
        self.head = nn.Linear(hidden + n_static, 1)

    def forward(self, x, static):
        out, _ = self.lstm(x)
        return self.head(torch.cat([out[:, -1], static], 1))
'''

STEPS, FORCINGS, STATICS = 12, ("rain", "temp"), ("area", "slope", "forest")


def sequence_checkpoint(folder: Path, n: int = 600) -> tuple[Path, str, dict[str, object], Path]:
    """A `forward(x, static)` LSTM trained on (12 steps x 2 forcings) + 3 static attributes; the CSV holds the
    forcings feature by feature (rain_0..rain_11, then temp_0..temp_11), the target in 'fare'."""
    import torch

    source, module = _written_module(folder / "hydro_lstm.py", SEQUENCE_SOURCE, "hydro_lstm_for_test")
    args: dict[str, object] = {"n_dynamic": len(FORCINGS), "n_static": len(STATICS)}
    torch.manual_seed(0)
    model = module.HydroLSTM(**args)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(n, STEPS, len(FORCINGS))).astype(np.float32)
    static = rng.normal(size=(n, len(STATICS))).astype(np.float32)
    flow = x[:, -4:, 0].mean(1) * 2 - 0.5 * x[:, -1, 1] + static[:, 0] - 0.5 * static[:, 1] \
        + 0.2 * rng.normal(size=n)
    fit_regressor(model, [torch.as_tensor(x), torch.as_tensor(static)], flow, epochs=200)
    ckpt = folder / "hydro_lstm.pt"
    torch.save(model.state_dict(), ckpt)
    columns: dict[str, list[object]] = {"basin": [f"B{i:04d}" for i in range(n)]}
    for f, name in enumerate(FORCINGS):
        columns.update({f"{name}_{t}": x[:, t, f].tolist() for t in range(STEPS)})
    columns.update({name: static[:, s].tolist() for s, name in enumerate(STATICS)})
    return ckpt, f"{source}:HydroLSTM", args, write_csv(folder / "basins.csv", columns, flow)
