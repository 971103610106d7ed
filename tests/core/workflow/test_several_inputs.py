"""Models whose forward takes several tensors (issue 28): fastai-style embeddings + continuous columns, and a
`forward(x, static)` model; their inputs named, columns mapped, categories coded, trained, exported and evaluated."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from tests.core.workflow.several_inputs_models import tabular_checkpoint, two_input_checkpoint
from workbench.core.data.input_columns import InputsError
from workbench.core.errors import DataError, WorkbenchError
from workbench.core.open.multi_input import PackedInputs, input_names
from workbench.core.recipe import Recipe, from_dict, problems
from workbench.core.recipe_inputs import parse_inputs
from workbench.core.workflow.commands import OpenModel, ReadData
from workbench.core.workflow.evaluate_data import evaluate_export, unlabelled_report
from workbench.core.workflow.journey import convert_checkpoint
from workbench.core.workflow.session import SessionModel

QUICK = {"train.epochs": 3, "train.lr": 0.003}


def _recipe(source: str, args: dict[str, object], csv: object, **changes: object) -> Recipe:
    return Recipe().with_changes(**{"model_source": source, "model_args": args, "data.path": str(csv),
                                    "data.label": "fare", "data.threshold": 0.5, "data.label_mode": "threshold",
                                    **changes})


@pytest.fixture(scope="module")
def tabular(tmp_path_factory):
    return tabular_checkpoint(tmp_path_factory.mktemp("tabular"))


def _plain_fit(run, epochs: int = 60) -> float:
    """The same regression model with a new binary Linear head, trained by a plain PyTorch loop (Adam, BCE, best
    validation epoch) on the workbench's own train split and codes: its test accuracy."""
    d = run.data
    model = copy.deepcopy(run.loaded.model.inner)
    torch.manual_seed(0)
    model.layers[-1] = nn.Linear(8, 1)
    X = {s: torch.as_tensor(d.table.X[d.splits[s]]) for s in ("train", "val", "test")}
    y = {s: torch.as_tensor(d.labels(s), dtype=torch.float32) for s in ("train", "val", "test")}

    def logits(s: str) -> torch.Tensor:
        return model(X[s][:, :2].long(), X[s][:, 2:]).reshape(-1)

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    best, best_state = -1.0, None
    for _ in range(epochs):
        model.train()
        for rows in torch.randperm(len(y["train"])).split(32):
            opt.zero_grad()
            xb = X["train"][rows]
            out = model(xb[:, :2].long(), xb[:, 2:]).reshape(-1)
            nn.functional.binary_cross_entropy_with_logits(out, y["train"][rows]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val = float(((logits("val") > 0).float() == y["val"]).float().mean())
        if val > best:
            best, best_state = val, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    with torch.no_grad():
        return float(((logits("test") > 0).float() == y["test"]).float().mean())


def test_tabular_model_converts_with_defaults_near_a_plain_fit(tabular, tmp_path):
    ckpt, source, args, csv = tabular
    run, result = convert_checkpoint(ckpt, _recipe(source, args, csv), tmp_path / "export", trusted=True)
    assert run.data.table.inputs == [("x_cat", ["city", "weekday"], True),
                                     ("x_cont", ["distance", "wait", "tip"], False)]
    accuracy = run.metrics["test"]["accuracy"]
    plain = _plain_fit(run)
    print(f"workbench test accuracy {accuracy:.3f}, plain PyTorch fit of the same head {plain:.3f}")
    assert accuracy >= plain - 0.05
    assert result is not None and result.program_format == "torch.export"
    meta = json.loads((tmp_path / "export" / "metadata.json").read_text())
    assert [i["name"] for i in meta["inputs"]] == ["x_cat", "x_cont"]
    assert meta["input_spec"] == {"tensors": [{"name": "x_cat", "dtype": "int64", "shape": ["N", 2]},
                                              {"name": "x_cont", "dtype": "float32", "shape": ["N", 3]}],
                                  "range": None, "table_row": ["N", 5]}
    assert meta["categories"]["city"]["values"] == ["Aberdeen", "Bristol", "Cardiff", "Dundee"]
    # the exported program takes the model's own inputs: int64 codes and float32 values
    program = torch.export.load(str(tmp_path / "export" / "model.pt2")).module()
    d = run.data
    rows = torch.as_tensor(d.table.X[d.splits["test"][:5]])
    with torch.no_grad():
        probs = program(rows[:, :2].long(), rows[:, 2:])
    np.testing.assert_allclose(probs.numpy(), run.probabilities("test")[:5], atol=1e-5)


def test_evaluate_applies_the_exports_codes_and_reports_unseen_categories(tabular, tmp_path):
    ckpt, source, args, csv = tabular
    # a frozen body (its outputs cached) and standardised inputs, whose category codes stay codes
    recipe = _recipe(source, args, csv, **QUICK, **{"head.freeze": "body", "data.standardize": True})
    run, _ = convert_checkpoint(ckpt, recipe, tmp_path / "export", trusted=True)
    assert run.training.body_features == "memory"
    assert run.data.mean is not None and list(run.data.mean[:2]) == [0, 0] and list(run.data.std[:2]) == [1, 1]
    lines = csv.read_text().splitlines()
    # the columns in another order, and a city the export never saw
    header = lines[0].split(",")
    order = [header.index(c) for c in ("fare", "tip", "weekday", "city", "distance", "wait")]
    moved = [",".join(line.split(",")[i] for i in order) for line in lines]
    new = tmp_path / "new.csv"
    new.write_text("\n".join([moved[0]] + [r.replace("Cardiff", "Edinburgh") for r in moved[1:]]) + "\n")
    unseen = sum("Cardiff" in r for r in moved[1:])
    result = evaluate_export(tmp_path / "export", str(new))
    assert result.n == len(lines) - 1
    assert [n.code for n in result.notes] == ["unseen_categories"]
    assert f"{unseen} row(s)" in result.notes[0] and "Edinburgh" in result.notes[0]
    assert result.metrics["accuracy"] > 0.6
    same = evaluate_export(tmp_path / "export", str(csv))  # its own table: every category known
    assert [n.code for n in same.notes] == ["training_data"] and same.metrics["accuracy"] > 0.8  # optimistic, said
    shift = unlabelled_report(tmp_path / "export", str(new))  # rows without labels, categories coded the same
    assert shift["n"] == len(lines) - 1


def test_inspect_names_the_inputs(tabular, tmp_path):
    ckpt, source, args, _ = tabular
    s = SessionModel()
    loaded = OpenModel(s, ckpt, model_source=source, model_args=args, trusted=True).run()
    assert isinstance(loaded.model, PackedInputs) and input_names(loaded.model.inner) == ["x_cat", "x_cont"]
    assert loaded.input_shape == (5,)
    assert [n.code for n in loaded.notes if n.code == "several_inputs"]
    assert s.inspection is not None
    assert [(i["name"], i["width"], i["codes"]) for i in s.inspection.inputs] == [("x_cat", 2, True),
                                                                                  ("x_cont", 3, False)]
    assert s.inspection.head == "layers.6"  # the model's own layer names, not a wrapper's
    out = subprocess.run([sys.executable, "-m", "workbench.cli", "inspect", str(ckpt), "--model-source", source,
                          "--model-args", json.dumps(args), "--trust"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "input x_cat: 2 column(s), category codes" in out.stdout
    assert "inside the model's own code" not in out.stdout + out.stderr


def test_two_input_model_needs_and_takes_a_mapping(tmp_path):
    ckpt, source, args, csv = two_input_checkpoint(tmp_path)
    recipe = _recipe(source, args, csv, **{"data.threshold": 0.0, **QUICK})
    with pytest.raises(InputsError, match=r"takes 2 inputs \(x: .*static"):
        convert_checkpoint(ckpt, recipe, trusted=True)
    out = subprocess.run([sys.executable, "-m", "workbench.cli", "convert", str(ckpt), "--model-source", source,
                          "--model-args", json.dumps(args), "--trust", "--data", str(csv), "--label", "fare",
                          "--out", str(tmp_path / "cli")], capture_output=True, text=True)
    assert out.returncode == 2 and "takes 2 inputs (x:" in out.stderr and "--inputs" in out.stderr
    mapped = recipe.with_changes(**{"data.inputs": "x=rain0,rain1,rain2,rain3;static=area,slope"})
    run, result = convert_checkpoint(ckpt, mapped, tmp_path / "export", trusted=True)
    assert run.loaded.model.widths == [4, 2]
    assert run.metrics["test"]["accuracy"] > 0.85
    meta = json.loads((tmp_path / "export" / "metadata.json").read_text())
    assert [(i["name"], i["dtype"]) for i in meta["inputs"]] == [("x", "float32"), ("static", "float32")]
    assert evaluate_export(tmp_path / "export", str(csv)).metrics["accuracy"] > 0.85
    wrong = mapped.with_changes(**{"data.inputs": "x=rain0,rain1;flow=area"})
    with pytest.raises(InputsError, match="gives no columns for static"):
        convert_checkpoint(ckpt, wrong, trusted=True)


def _small_embedding(tabular, tmp_path):
    """The tabular model with 3 rows in the city embedding, for 4 cities: (checkpoint, its args)."""
    ckpt, _source, args, _csv = tabular
    state = torch.load(ckpt)
    state["embeds.0.weight"] = state["embeds.0.weight"][:3]
    torch.save(state, tmp_path / "small.pt")
    return tmp_path / "small.pt", {**args, "emb_szs": [[3, 3], [6, 3]]}


def test_a_column_with_more_categories_than_its_embedding_is_refused(tabular, tmp_path):
    _ckpt, source, _args, csv = tabular
    small_ckpt, small = _small_embedding(tabular, tmp_path)
    s = SessionModel()
    OpenModel(s, small_ckpt, model_source=source, model_args=small, trusted=True).run()
    s.update(**{"data.label": "fare"})
    ReadData(s, str(csv)).run()
    assert s.table is None
    assert isinstance(s.data_exception, DataError)
    assert "column 'city' has 4 categories but the embedding 'embeds.0' that it feeds has 3 rows" in s.data_problem


def test_the_default_proposal_follows_the_column_kinds_and_the_mapping_is_a_recipe_field(tabular):
    ckpt, source, args, csv = tabular
    s = SessionModel()
    OpenModel(s, ckpt, model_source=source, model_args=args, trusted=True).run()
    s.update(**{"data.label": "fare"})
    ReadData(s, str(csv)).run()
    assert s.table is not None and s.table.inputs is not None
    assert s.table.categories["weekday"]["codes"] == list(range(6))  # pandas' sorted category codes
    s.update(**{"data.inputs": "x_cat=city,weekday;x_cont=tip,wait,distance"})
    assert s.table is not None and s.table.feature_names == ["city", "weekday", "tip", "wait", "distance"]
    s.update(**{"data.inputs": "x_cat=weekday,city;x_cont=tip,wait,distance"})  # 6 weekdays, 4 rows in embeds.0
    assert s.table is None and "'weekday' has 6 categories but the embedding 'embeds.0'" in s.data_problem
    s.update(**{"data.inputs": "x_cat=city,weekday;x_cont=tip,wait"})
    assert s.table is None and "x_cont takes 3 columns but 2 are given" in s.data_problem
    assert parse_inputs(" a = x, y ; b=z ") == {"a": ["x", "y"], "b": ["z"]}
    assert problems(Recipe().with_changes(**{"data.inputs": "a=x;b=x"}))[0][0] == "data.inputs"
    assert problems(Recipe().with_changes(**{"data.inputs": "a"}))
    with pytest.raises(WorkbenchError):
        from_dict({**Recipe().to_dict(), "data": {**Recipe().to_dict()["data"], "inputs": 3}})


def test_a_torch_export_program_of_two_inputs_is_read_from_its_input_specs(tabular, tmp_path):
    ckpt, source, args, csv = tabular
    s = SessionModel()
    loaded = OpenModel(s, ckpt, model_source=source, model_args=args, trusted=True).run()
    regressor = loaded.model.inner.eval()
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(regressor, (torch.zeros(4, 2, dtype=torch.long), torch.zeros(4, 3)),
                                  dynamic_shapes=({0: batch}, {0: batch}))
    torch.export.save(program, str(tmp_path / "fare.pt2"))
    opened = SessionModel()
    OpenModel(opened, tmp_path / "fare.pt2", trusted=True).run()
    assert opened.loaded.input_shape == (5,)
    assert [(i["name"], i["width"], i["codes"]) for i in opened.inspection.inputs] == [("x_cat", 2, True),
                                                                                       ("x_cont", 3, False)]
    run, _ = convert_checkpoint(tmp_path / "fare.pt2", _recipe("", {}, csv, **QUICK), tmp_path / "export",
                                trusted=True)
    assert run.data.table.categories["city"]["layout"] == "sorted"  # pandas' codes, as the model was trained on
    assert run.metrics["test"]["accuracy"] > 0.8  # kept whole: a head on its output, 3 epochs
    assert evaluate_export(tmp_path / "export", str(csv)).metrics["accuracy"] > 0.8


@pytest.mark.parametrize("kind", ["torchscript", "export"])
def test_a_programs_embedding_rows_are_read_so_too_many_categories_are_refused_by_name(tabular, tmp_path, kind):
    """A program's embeddings are read from its weights: a column with more categories than rows is refused naming
    both, where it failed inside the program (TorchScript: 'max() arg is an empty sequence' before)."""
    from workbench.core.open.multi_input import program_embeddings

    _ckpt, source, _args, csv = tabular
    small_ckpt, small = _small_embedding(tabular, tmp_path)
    s = SessionModel()
    regressor = OpenModel(s, small_ckpt, model_source=source, model_args=small, trusted=True).run().model.inner.eval()
    example = (torch.zeros(4, 2, dtype=torch.long), torch.zeros(4, 3))
    path = tmp_path / ("fare.pt" if kind == "torchscript" else "fare.pt2")
    if kind == "torchscript":
        program = torch.jit.trace(regressor, example)
        torch.jit.save(program, str(path))
        assert program_embeddings(program) == [3, 6]
    else:
        batch = torch.export.Dim("batch", min=1)
        exported = torch.export.export(regressor, example, dynamic_shapes=({0: batch}, {0: batch}))
        torch.export.save(exported, str(path))
        assert program_embeddings(exported.module(), exported) == [3, 6]
    opened = SessionModel()
    OpenModel(opened, path, trusted=True).run()
    opened.update(**{"data.label": "fare"})
    ReadData(opened, str(csv)).run()
    assert opened.table is None and isinstance(opened.data_exception, DataError)
    assert "column 'city' has 4 categories but the embedding" in opened.data_problem and "3 rows" in \
        opened.data_problem


def test_a_program_exported_for_one_batch_size_says_so(tabular, tmp_path):
    ckpt, source, args, csv = tabular
    s = SessionModel()
    regressor = OpenModel(s, ckpt, model_source=source, model_args=args, trusted=True).run().model.inner.eval()
    fixed = torch.export.export(regressor, (torch.zeros(4, 2, dtype=torch.long), torch.zeros(4, 3)))  # batch 4 only
    torch.export.save(fixed, str(tmp_path / "fixed.pt2"))
    opened = SessionModel()
    OpenModel(opened, tmp_path / "fixed.pt2", trusted=True).run()
    assert opened.inspection is None and "batches of exactly 4 rows" in opened.fit_problem
    assert "torch.export.Dim" in opened.fit_error.fix  # how to export it again


def test_an_impute_export_reads_an_empty_category_cell_as_its_unseen_code(tabular, tmp_path):
    """Evaluating an impute export on rows with an empty category cell crashed inside the program ('index out of
    range': the NaN code became a huge integer). The program's imputation fills value columns; an empty category
    is read as the export's unseen code, said once, and a value column's gap is still the program's to fill."""
    ckpt, source, args, csv = tabular
    run, _ = convert_checkpoint(ckpt, _recipe(source, args, csv, **QUICK, **{"data.missing": "impute"}),
                                tmp_path / "export", trusted=True)
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    city, wait = header.index("city"), header.index("wait")

    def emptied(line: str, i: int) -> str:
        cells = line.split(",")
        if i % 10 == 0:
            cells[city] = ""
        if i % 10 == 5:
            cells[wait] = ""
        return ",".join(cells)

    holes = tmp_path / "holes.csv"
    holes.write_text("\n".join([lines[0]] + [emptied(line, i) for i, line in enumerate(lines[1:])]) + "\n")
    result = evaluate_export(tmp_path / "export", str(holes))
    empty = [n for n in result.notes if n.code == "empty_categories"]
    assert len(empty) == 1 and f"{len(range(0, len(lines) - 1, 10))} row(s) have no category" in empty[0]
    assert result.n == len(lines) - 1 and result.metrics["accuracy"] > 0.6


def test_the_prior_is_estimated_from_unlabelled_rows_with_text_categories(tabular, tmp_path):
    """--prior-from (and a notebook's decide(prior_from=)) refused a model with a text category column after the
    whole training: 'the table has no numeric column(s) city'; its rows are coded as the training data was."""
    ckpt, source, args, csv = tabular
    lines = csv.read_text().splitlines()
    fare = lines[0].split(",").index("fare")
    unlabelled = tmp_path / "new.csv"
    unlabelled.write_text("\n".join(",".join(c for j, c in enumerate(line.split(",")) if j != fare)
                                    for line in lines) + "\n")
    recipe = _recipe(source, args, csv, **QUICK, **{"decide.prior_from": str(unlabelled),
                                                    "decide.prior_method": "bbse"})
    run, _ = convert_checkpoint(ckpt, recipe, tmp_path / "export", trusted=True)
    estimate = run.metrics["prior_shift"]["prior"]
    assert len(estimate) == 2 and abs(sum(estimate) - 1) < 1e-6
    assert run.recipe.decide.prior == pytest.approx(estimate, abs=1e-6)


def test_a_wrong_label_or_feature_name_is_named_for_a_model_of_several_inputs(tabular):
    """A misspelt label was reported as 'x_cont takes 3 columns but 4 are given', and a misspelt feature was
    ignored without a word (recorded in recipe.json); both are named as for a model of one input."""
    import workbench as wb

    ckpt, source, args, csv = tabular
    s = wb.open(ckpt, model_source=source, model_args=args, trust=True)
    with pytest.raises(DataError, match="there is no label column 'Fare'"):
        s.read_data(csv, label="Fare", threshold=0.5)
    with pytest.raises(DataError, match="feature column.s. distnce are not in the table"):
        s.read_data(csv, label="fare", threshold=0.5, features=["city", "weekday", "distnce"])
    s.read_data(csv, label="fare", threshold=0.5)  # as it should be: read
    assert s.model.data is not None


def test_as_sklearn_takes_the_table_as_it_is_text_categories_included(tabular, tmp_path):
    """run.as_sklearn().predict_proba(df) raised 'could not convert string to float' on a text category column;
    the README says a table run takes a DataFrame with the feature columns by name."""
    import pandas as pd

    import workbench as wb

    ckpt, source, args, csv = tabular
    s = wb.open(ckpt, model_source=source, model_args=args, trust=True)
    s.read_data(csv, label="fare", threshold=0.5)
    run = s.train(epochs=2, lr=0.003)
    clf = run.as_sklearn()
    frame = pd.read_csv(csv).iloc[run.run.data.splits["test"]]
    np.testing.assert_allclose(clf.predict_proba(frame.drop(columns=["fare"])), run.run.probabilities("test"),
                               atol=1e-5)
    unseen = clf.predict_proba(frame.assign(city="Edinburgh"))  # read as the unseen code, as evaluate reads it
    assert unseen.shape == (len(frame), 2) and np.isfinite(unseen).all()


def test_category_codes_read_cells_as_evaluate_does():
    """as_sklearn()'s coding of a DataFrame's category cells agrees with evaluate's (`encode`): known values by
    value, an in-range whole number of an 'as given' column as itself, anything else (or empty) as unseen."""
    from workbench.core.data.input_columns import category_codes

    book = {"values": [0.0, 2.0], "codes": [0, 2], "layout": "as given", "unseen": 0, "rows": 4}
    assert category_codes([2, 2.0, 1, 5, None, float("nan")], book).tolist() == [2, 2, 1, 0, 0, 0]
    book = {"values": ["Bristol", "Cardiff"], "codes": [0, 1], "layout": "sorted", "unseen": 1, "rows": 2}
    assert category_codes(["Cardiff ", "Bristol", "Leeds", None], book).tolist() == [1, 0, 1, 1]


HEAD_OUTSIDE = '''
import torch
from torch import nn


class EmbedNet(nn.Module):
    """Embeddings, a body chain, and the regression head outside it: forward(x_cat, x_cont)."""

    def __init__(self, n_city, n_day):
        super().__init__()
        self.city, self.day = nn.Embedding(n_city, 3), nn.Embedding(n_day, 2)
        self.body = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU())
        self.head = nn.Linear(8, 1)

    def forward(self, x_cat, x_cont):
        return self.head(self.body(torch.cat([self.city(x_cat[:, 0]), self.day(x_cat[:, 1]), x_cont], 1)))
'''


def test_a_model_of_several_inputs_with_its_head_outside_the_body_is_pruned(tmp_path):
    """Pruning ran the model on random rows to find the layer before the head, which are no category codes for an
    nn.Embedding: "IndexError: index out of range in self", said as a bug."""
    from tests.core.workflow.several_inputs_models import (
        CITIES,
        DAYS,
        _written_module,
        fit_regressor,
        taxi_table,
        write_csv,
    )

    source, module = _written_module(tmp_path / "embednet.py", HEAD_OUTSIDE, "embednet_for_test")
    torch.manual_seed(0)
    model = module.EmbedNet(len(CITIES), len(DAYS))
    columns, fare = taxi_table()
    codes = torch.as_tensor(np.stack([[CITIES.index(c) for c in columns["city"]],
                                      [DAYS.index(d) for d in columns["weekday"]]], 1))
    cont = torch.as_tensor(np.stack([columns[c] for c in ("distance", "wait", "tip")], 1), dtype=torch.float32)
    fit_regressor(model, [codes, cont], fare)
    torch.save(model.state_dict(), tmp_path / "embed.pt")
    csv = write_csv(tmp_path / "fares.csv", columns, fare)
    recipe = _recipe(f"{source}:EmbedNet", {"n_city": len(CITIES), "n_day": len(DAYS)}, csv,
                     **{**QUICK, "model.prune": 0.5})
    run, _ = convert_checkpoint(tmp_path / "embed.pt", recipe, tmp_path / "export", trusted=True)
    assert run.metrics["model"]["pruned_units"] == {"body.0": [16, 8], "body.2": [8, 4]}
    assert run.metrics["test"]["accuracy"] > 0.6
