"""A model of several inputs one of which is a sequence (issue 28's hydrology model, `forward(x, static)` with an
LSTM over x): the sequence's columns proposed from their step suffixes and read step by step as (T, F), the static
ones beside them; trained, calibrated, exported with inputs of the model's own ranks and evaluated again."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from tests.core.workflow.several_inputs_models import FORCINGS, STATICS, STEPS, sequence_checkpoint
from workbench.core.data.input_columns import InputsError, step_columns
from workbench.core.errors import WorkbenchError
from workbench.core.open.multi_input import PackedInputs
from workbench.core.recipe import Recipe
from workbench.core.workflow.commands import OpenModel, ReadData
from workbench.core.workflow.journey import convert_checkpoint
from workbench.core.workflow.session import SessionModel


@pytest.fixture(scope="module")
def hydro(tmp_path_factory):
    return sequence_checkpoint(tmp_path_factory.mktemp("hydro"))


def _recipe(source: str, args: dict[str, object], csv: object, **changes: object) -> Recipe:
    return Recipe().with_changes(**{"model_source": source, "model_args": args, "data.path": str(csv),
                                    "data.label": "fare", "data.threshold": 0.0, "data.label_mode": "threshold",
                                    **changes})


def _split(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    width = STEPS * len(FORCINGS)
    return rows[:, :width].reshape(len(rows), STEPS, len(FORCINGS)), rows[:, width:]


def _plain_fit(run, epochs: int = 40) -> float:
    """The same LSTM with a new binary Linear head, trained by a plain PyTorch loop (Adam, BCE, best validation
    epoch) on the workbench's own split and rows: its test accuracy."""
    d = run.data
    model = copy.deepcopy(run.loaded.model.inner)
    torch.manual_seed(0)
    model.head = nn.Linear(16 + len(STATICS), 1)
    X = {s: _split(torch.as_tensor(d.table.X[d.splits[s]])) for s in ("train", "val", "test")}
    y = {s: torch.as_tensor(d.labels(s), dtype=torch.float32) for s in ("train", "val", "test")}
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    best, best_state = -1.0, None
    for _ in range(epochs):
        model.train()
        for rows in torch.randperm(len(y["train"])).split(32):
            opt.zero_grad()
            out = model(X["train"][0][rows], X["train"][1][rows]).reshape(-1)
            nn.functional.binary_cross_entropy_with_logits(out, y["train"][rows]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val = float(((model(*X["val"]).reshape(-1) > 0).float() == y["val"]).float().mean())
        if val > best:
            best, best_state = val, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    with torch.no_grad():
        return float(((model(*X["test"]).reshape(-1) > 0).float() == y["test"]).float().mean())


def test_the_hydrology_model_converts_with_defaults_near_a_plain_fit(hydro, tmp_path):
    ckpt, source, args, csv = hydro
    run, result = convert_checkpoint(ckpt, _recipe(source, args, csv), tmp_path / "export", trusted=True)
    series = [f"{name}_{t}" for t in range(STEPS) for name in FORCINGS]  # step by step, though the CSV is not
    assert run.data.table.inputs == [("x", series, False), ("static", list(STATICS), False)]
    assert run.loaded.model.shapes() == {"x": (STEPS, 2), "static": (3,)}
    accuracy = run.metrics["test"]["accuracy"]
    plain = _plain_fit(run)
    print(f"workbench test accuracy {accuracy:.3f}, plain PyTorch fit of the same head {plain:.3f}")
    assert accuracy >= plain - 0.05 and accuracy > 0.8
    assert result is not None and result.program_format == "torch.export"
    meta = json.loads((tmp_path / "export" / "metadata.json").read_text())
    assert [(i["name"], i["shape"]) for i in meta["inputs"]] == [("x", ["N", STEPS, 2]), ("static", ["N", 3])]
    # the exported program takes the model's own inputs: (N, 12, 2) and (N, 3)
    program = torch.export.load(str(tmp_path / "export" / "model.pt2")).module()
    d = run.data
    rows = torch.as_tensor(d.table.X[d.splits["test"][:5]])
    with torch.no_grad():
        probs = program(*_split(rows))
    np.testing.assert_allclose(probs.numpy(), run.probabilities("test")[:5], atol=1e-5)
    out = subprocess.run([sys.executable, "-m", "workbench.cli", "evaluate", str(tmp_path / "export"), "--data",
                          str(csv), "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)  # the whole table, its flat rows cut into (N, 12, 2) and (N, 3) again
    print(f"workbench evaluate on the whole table: accuracy {report['accuracy']:.3f}")
    assert report["accuracy"] > 0.8


def test_a_mapping_that_is_not_whole_steps_is_refused_by_name(hydro, tmp_path):
    ckpt, source, args, csv = hydro
    odd = ",".join(f"rain_{t}" for t in range(STEPS)) + ",temp_0"  # 13 columns for 2 features per step
    recipe = _recipe(source, args, csv, **{"data.inputs": f"x={odd};static=area,slope,forest"})
    with pytest.raises(InputsError, match=r"x takes sequences of 2 features per step, but 13 columns are given"):
        convert_checkpoint(ckpt, recipe, trusted=True)
    out = subprocess.run([sys.executable, "-m", "workbench.cli", "convert", str(ckpt), "--model-source", source,
                          "--model-args", json.dumps(args), "--trust", "--data", str(csv), "--label", "fare",
                          "--inputs", f"x={odd};static=area,slope,forest", "--out", str(tmp_path / "cli")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "not a whole number of steps" in out.stderr and "Traceback" not in out.stderr


def test_the_open_model_says_which_input_is_a_sequence(hydro):
    ckpt, source, args, csv = hydro
    s = SessionModel()
    loaded = OpenModel(s, ckpt, model_source=source, model_args=args, trusted=True).run()
    assert isinstance(loaded.model, PackedInputs)
    assert loaded.model.found.steps == {"x": 2} and loaded.model.found.widths == {"static": 3}
    assert not [n for n in loaded.notes if n.code == "sequence_length"]  # its length is its columns'
    s.update(**{"data.label": "fare"})
    ReadData(s, str(csv)).run()
    assert s.table is not None and s.table.X.shape == (600, STEPS * 2 + 3)  # rows stay flat: the packing cuts them
    assert [i.get("features_per_step") for i in s.inspection.inputs] == [2, None]


def test_step_columns_group_the_series_step_by_step():
    assert step_columns(["id", "q_0", "p_0", "q_1", "p_1", "a1", "a2", "area"], 2) == ["q_0", "p_0", "q_1", "p_1"]
    assert step_columns(["t1", "t2", "t3", "elevation"], 1) == ["t1", "t2", "t3"]
    assert step_columns(["area", "slope"], 1) == []


class _TimeMajor(nn.Module):
    """A GRU with batch_first=False over `series`, beside `attributes`."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(3, 4)
        self.out = nn.Linear(4 + 2, 1)

    def forward(self, series, attributes):
        out, _ = self.gru(series)
        return self.out(torch.cat([out[-1], attributes], 1))


def test_a_time_major_layer_gets_its_steps_first_and_the_packing_matches_the_model():
    from workbench.core.open.multi_input import wrap

    model = _TimeMajor().eval()
    packed, found = wrap(model)
    assert isinstance(packed, PackedInputs) and found is not None
    assert found.steps == {"series": 3} and found.widths == {"attributes": 2} and found.time_major
    packed.set_widths([15, 2])
    rows = torch.randn(7, 17)
    series = rows[:, :15].reshape(7, 5, 3)  # step by step: step 1's 3 features, then step 2's
    with torch.no_grad():
        np.testing.assert_allclose(packed(rows).numpy(), model(series.transpose(0, 1), rows[:, 15:]).numpy(),
                                   atol=1e-6)
    assert packed.shapes() == {"series": (5, 3), "attributes": (2,)}
    packed.set_widths([14, 2])
    with pytest.raises(WorkbenchError, match="series takes sequences of 3 features per step, but 14 columns"):
        packed(torch.randn(2, 16))
