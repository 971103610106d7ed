"""Analysts' tables end to end: every format, text and ID columns, missing cells, duplicate headers, wide files,
class order, splits that keep every class, and evaluate mapping labels onto an export's classes by name."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
import torch

from workbench import cli
from workbench.core.data.columns import MissingValuesError, WidthMismatchError, summarize
from workbench.core.data.data import load_table, make_labels, split_indices
from workbench.core.data.tables import read_table
from workbench.core.errors import DataError
from workbench.core.recipe import Recipe
from workbench.core.workflow.pipeline import prepare_data

from ...conftest import make_table


def _frame(n=120, seed=0) -> pd.DataFrame:
    """An analyst's table: an ID, a name, four numeric features, a constant, a class name and a number."""
    X, y = make_table(n, seed=seed)
    frame = pd.DataFrame({"customer_id": np.arange(1000, 1000 + n), "name": [f"person {i}" for i in range(n)]})
    for j in range(4):
        frame[f"f{j}"] = X[:, j]
    frame["site"] = np.where(np.arange(n) % 2, "north", "south")
    frame["version"] = 3.0
    frame["kind"] = np.select([y < -0.5, y < 0.5], ["low", "medium"], "high")
    frame["price"] = y
    return frame


def test_text_and_id_columns_are_set_aside_not_errors(tmp_path):
    path = tmp_path / "people.csv"
    _frame().to_csv(path, index=False)
    raw = read_table(path)
    summary = summarize(raw)
    kinds = dict(zip(summary.names, summary.kinds))
    assert kinds == {"customer_id": "ID-like", "name": "ID-like", "f0": "numeric", "f1": "numeric",
                     "f2": "numeric", "f3": "numeric", "site": "text", "version": "constant", "kind": "text",
                     "price": "numeric"}
    assert "left out" in summary.notes["site"] and "left out" in summary.notes["customer_id"]
    table = load_table(str(path), "kind")
    assert table.feature_names == ["f0", "f1", "f2", "f3", "price"]  # not the constant either
    # A constant column is left out unless the model's width says it belongs (only counting it fits).
    assert load_table(str(path), "kind", model_shape=(6,)).feature_names == ["f0", "f1", "f2", "f3", "version",
                                                                          "price"]
    table = load_table(str(path), "kind", ("f0", "f1", "f2", "f3"))
    _y, classes, _ = make_labels(table, "column", "multiclass", classes=("low", "medium", "high"))
    assert classes == ["low", "medium", "high"]
    assert table.X.shape == (120, 4) and table.X.dtype == np.float32
    assert np.allclose(table.X[:, 0], _frame()["f0"].to_numpy(), atol=1e-6)


def test_semicolons_and_decimal_commas_as_excel_writes_them(tmp_path):
    path = tmp_path / "excel.csv"
    frame = _frame(60)
    frame.to_csv(path, index=False, sep=";", decimal=",", encoding="utf-8-sig")
    raw = read_table(path)
    assert raw.format == "CSV (';'-separated, decimal comma)"
    table = load_table(str(path), "price", ("f0", "f1", "f2", "f3"))
    assert np.allclose(table.X[:, 2], frame["f2"].to_numpy(), atol=1e-6)
    assert np.allclose(table.target, frame["price"].to_numpy())


@pytest.mark.parametrize("sep", ["\t", "|"])
def test_tab_and_pipe_separated(tmp_path, sep):
    path = tmp_path / "t.txt"
    _frame(40).to_csv(path, index=False, sep=sep)
    assert load_table(str(path), "price", ("f0", "f1")).X.shape == (40, 2)


def test_numpy_written_file_longer_than_any_sniffing_sample(tmp_path):
    X = np.random.default_rng(1).normal(size=(3000, 64))
    path = tmp_path / "wide_numpy.csv"
    np.savetxt(path, X, delimiter=",", header=",".join(f"c{i}" for i in range(63)) + ",target", comments="")
    table = load_table(str(path))
    assert table.X.shape == (3000, 63) and np.allclose(table.X, X[:, :63], atol=1e-5)


@pytest.mark.parametrize("fmt", ["parquet", "feather", "xlsx"])
def test_parquet_feather_and_excel(tmp_path, fmt):
    frame = _frame(50)
    frame.loc[3, "f1"] = np.nan
    path = tmp_path / f"t.{fmt}"
    if fmt == "xlsx":
        with pd.ExcelWriter(path) as writer:
            pd.DataFrame({"notes": ["a sheet before the data"]}).to_excel(writer, sheet_name="About", index=False)
            frame.to_excel(writer, sheet_name="Data", index=False)
        with pytest.raises(DataError, match="no sheet 'Nope' .*About, Data"):
            load_table(str(path), "kind", sheet="Nope")
        assert read_table(path).names == ["notes"]  # the first sheet by default
    else:
        getattr(frame, f"to_{fmt}")(path)
    raw = read_table(path, sheet="Data")
    summary = summarize(raw)
    assert summary.kind("name") == "ID-like" and summary.kind("f0") == "numeric" and summary.missing_of("f1") == 1
    with pytest.raises(MissingValuesError) as err:
        load_table(str(path), "kind", sheet="Data")
    assert err.value.counts == {"f1": 1} and "--missing drop" in str(err.value)
    table = load_table(str(path), "kind", missing="drop", sheet="Data")
    assert table.X.shape == (49, 5) and "1 row(s) with missing feature values were dropped" in table.notes[-1]
    _y, classes, _ = make_labels(table, "column", "multiclass")
    assert sorted(classes) == ["high", "low", "medium"]


def test_duplicate_headers_keep_each_column(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,a,b,a,target\n" + "".join(f"{i / 2},{10 * i},{100 * i},{-i / 4},{i % 2}\n" for i in range(30)))
    table = load_table(str(path))
    assert table.feature_names == ["a", "a.1", "b", "a.2"]
    assert table.X[5].tolist() == [2.5, 50, 500, -1.25]
    assert any("repeats the name 'a'" in n for n in table.notes)


def test_missing_values_error_drop_impute_and_missing_labels(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(4)])
    frame["target"] = y.astype(float)
    frame.loc[[2, 7, 9], "f1"] = np.nan
    frame.loc[7, "f3"] = np.nan
    frame.loc[[11, 12], "target"] = np.nan
    path = tmp_path / "na.csv"
    frame.to_csv(path, index=False, na_rep="NA")
    with pytest.raises(MissingValuesError, match=r"4 feature value\(s\) are missing in 3 row\(s\)") as err:
        load_table(str(path))
    assert err.value.counts == {"f1": 3, "f3": 1}
    dropped = load_table(str(path), missing="drop")
    assert len(dropped.X) == 200 - 2 - 3 and any("2 row(s) with no label" in n for n in dropped.notes)
    recipe = Recipe().replace(**{"data.path": str(path), "data.missing": "impute"})
    data = prepare_data(recipe, (4,))
    assert not np.isnan(data.table.X).any() and len(data.y) == 198
    medians = np.nanmedian(load_table(str(path), missing="impute").X[data.splits["train"]], axis=0)
    assert np.allclose(data.fill, medians)


def test_imputation_travels_inside_the_exported_program(tmp_path, tutorial_ckpt, models_py, table_csv):
    text = table_csv.read_text().splitlines()
    text[5] = "," + text[5].split(",", 1)[1]  # f0 missing in one row
    path = tmp_path / "holes.csv"
    path.write_text("\n".join(text) + "\n")
    out = tmp_path / "export"
    code = cli.main(["convert", str(tutorial_ckpt), "--model-source", f"{models_py}:TinyRegressor", "--data",
                     str(path), "--task", "binary", "--threshold", "median", "--missing", "impute",
                     "--standardize", "--epochs", "2", "--out", str(out), "--quiet"])
    assert code == 0
    from workbench.core.export.export import load_program

    meta = json.loads((out / "metadata.json").read_text())
    program = load_program(out / meta["program"])
    from safetensors.torch import load_file

    assert meta["recipe"]["data"]["missing"] == "impute"
    fill = next(v for k, v in load_file(str(out / "weights.safetensors")).items() if k.endswith("fill"))
    row = torch.tensor([[float("nan"), 0.5, -0.2, 1.0]])
    with torch.no_grad():
        probs = program(row)
        filled = program(torch.tensor([[float(fill[0]), 0.5, -0.2, 1.0]]))
    assert torch.isfinite(probs).all() and torch.allclose(probs, filled)
    # and `evaluate` on the file with the hole passes the NaN through to the program
    assert cli.main(["evaluate", str(out), "--data", str(path), "--json"]) == 0


def test_wide_file_reads_in_seconds_and_columns_stay_apart(tmp_path):
    rng = np.random.default_rng(0)
    width = 5000  # beyond tables.WIDE: read row by row
    X = rng.normal(size=(30, width)).round(4)
    path = tmp_path / "wide.csv"
    header = ["sample"] + [f"g{i}" for i in range(width)] + ["target"]
    rows = [",".join([f"s{r}"] + [f"{v:g}" for v in X[r]] + [str(r % 2)]) for r in range(30)]
    path.write_text(",".join(header) + "\n" + "\n".join(rows) + "\n")
    start = time.perf_counter()
    table = load_table(str(path))
    assert time.perf_counter() - start < 20
    assert table.X.shape == (30, width) and np.allclose(table.X, X, atol=1e-6)
    assert summarize(read_table(path)).kind("sample") == "ID-like"


def test_a_stray_word_in_a_numeric_column_is_named(tmp_path):
    path = tmp_path / "typo.csv"
    lines = ["f0,f1,target"] + [f"{i / 2},{i * 2},{i % 2}" for i in range(40)]
    lines[31] = "15,n/a?,0"  # line 32 of the file
    path.write_text("\n".join(lines) + "\n")
    summary = summarize(read_table(path))
    assert summary.kind("f1") == "text" and "row 32 holds 'n/a?'" in summary.notes["f1"]
    with pytest.raises(WidthMismatchError) as err:
        load_table(str(path), model_shape=(2,))
    assert "Left out: 'f1' (not numeric: row 32" in str(err.value) and err.value.numeric == ["f0"]


def test_width_mismatch_names_the_numeric_columns(tmp_path):
    path = tmp_path / "t.csv"
    _frame(30).to_csv(path, index=False)
    with pytest.raises(WidthMismatchError) as err:
        load_table(str(path), "kind", model_shape=(4,))
    assert "takes 4 inputs but 5" in str(err.value) and "--features" in err.value.fix
    assert err.value.numeric == ["customer_id", "f0", "f1", "f2", "f3", "version", "price"]


def test_not_utf8_keeps_a_clear_message(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"f0,target\n" + "".join(f"{i},café\n" for i in range(10)).encode("latin-1"))
    with pytest.raises(DataError, match="UTF-8") as err:
        load_table(str(path))
    assert err.value.fix == "Save it as UTF-8 CSV."


def test_class_order_numeric_sort_and_text_numbers(tmp_path):
    from workbench.core.data.data import Table

    numbers = Table(np.zeros((6, 1), np.float32), np.array([10.0, 2, 2, 10, 1, 1]), ["x"], "mem")
    assert make_labels(numbers, "column", "multiclass")[1] == ["1", "2", "10"]
    words = Table(np.zeros((6, 1), np.float32), np.array(["10", "2", "2", "10", "9", "9"]), ["x"], "mem")
    assert make_labels(words, "column", "multiclass")[1] == ["2", "9", "10"]
    y, classes, _ = make_labels(words, "column", "multiclass", classes=("10", "9", "2"))
    assert classes == ["10", "9", "2"] and y.tolist() == [0, 2, 2, 0, 1, 1]
    with pytest.raises(DataError, match="leaves out 2"):
        make_labels(words, "column", "multiclass", classes=("10", "9"))


def test_every_split_keeps_every_class_or_says_which_cannot():
    y = np.array([0] * 300 + [1] * 60 + [2] * 4)
    for seed in range(5):
        splits = split_indices(y, (0.6, 0.15, 0.1, 0.15), seed)
        for name, idx in splits.items():
            assert set(y[idx]) == {0, 1, 2}, (seed, name)
    with pytest.raises(DataError, match="class 'rare' has only 3 sample.*4 splits"):
        split_indices(np.array([0] * 50 + [1] * 3), (0.6, 0.15, 0.1, 0.15), 0, classes=["common", "rare"])


def test_leaks_and_tiny_test_splits_are_flagged(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    frame["target"] = (frame["a"] + rng.normal(size=n) > 0).astype(int)
    frame["leak"] = frame["target"] * 10 + rng.normal(size=n)
    path = tmp_path / "leaky.csv"
    frame.to_csv(path, index=False)
    data = prepare_data(Recipe().replace(**{"data.path": str(path)}))
    assert list(data.leaks) == ["leak"] and "likely leak" in data.warnings[0]
    tiny = prepare_data(Recipe().replace(**{"data.path": str(path), "data.features": ("a", "b", "c"),
                                            "data.splits": (0.9, 0.05, 0.04, 0.01)}))
    assert any("test split has only" in w for w in tiny.warnings), tiny.warnings


def test_evaluate_maps_labels_onto_the_export_by_name(tmp_path, tutorial_ckpt, models_py, capsys):
    frame = _frame(300)
    path = tmp_path / "people.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "export"
    code = cli.main(["convert", str(tutorial_ckpt), "--model-source", f"{models_py}:TinyRegressor", "--data",
                     str(path), "--label", "kind", "--features", "f0,f1,f2,f3", "--task", "multiclass",
                     "--classes", "low,medium,high", "--epochs", "3", "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["classes"] == ["low", "medium", "high"] and meta["feature_names"] == ["f0", "f1", "f2", "f3"]
    subset = frame[frame["kind"] != "low"].sample(frac=1.0, random_state=0)  # only classes 1-2, shuffled
    new = tmp_path / "new.parquet"
    subset.to_parquet(new)
    capsys.readouterr()
    assert cli.main(["evaluate", str(out), "--data", str(new), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    from workbench.core.export.export import load_program

    with torch.no_grad():
        probs = load_program(out / meta["program"])(torch.as_tensor(
            subset[["f0", "f1", "f2", "f3"]].to_numpy(np.float32))).numpy()
    truth = subset["kind"].map({"low": 0, "medium": 1, "high": 2}).to_numpy()
    assert result["accuracy"] == pytest.approx(float((probs.argmax(1) == truth).mean()))
    assert result["accuracy"] > 0.3  # re-deriving codes from this file (medium -> 0) would score near 0
    unknown = tmp_path / "unknown.csv"
    frame.assign(kind="enormous").to_csv(unknown, index=False)
    assert cli.main(["evaluate", str(out), "--data", str(unknown)]) == 2
    assert "enormous, which the export does not know" in capsys.readouterr().err


def test_sixteen_bit_greyscale_images_keep_their_range(tmp_path):
    from PIL import Image

    for cls, value in (("dim", 4000), ("bright", 60000)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((8, 8), value, np.uint16)).save(tmp_path / "imgs" / cls / f"{i}.png")
    table = load_table(str(tmp_path / "imgs"))
    assert table.X.shape == (6, 1, 8, 8)
    bright = table.X[np.array(table.target) == table.target_names.index("bright")]
    dim = table.X[np.array(table.target) == table.target_names.index("dim")]
    assert dim.mean() == pytest.approx(4000 / 65535, abs=1e-3) and bright.mean() == pytest.approx(60000 / 65535,
                                                                                                  abs=1e-3)
    rgb = load_table(str(tmp_path / "imgs"), input_shape=(3, 4, 4))
    rgb_pixels = np.asarray(rgb.X)  # an image folder's X decodes on access
    assert rgb_pixels.max() < 0.95 and rgb_pixels.min() > 0.05


def test_quoted_cells_spanning_lines_and_ragged_rows(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('f,comment,target\n1.5,"two\nlines",0\n2.5,plain,1\n3.5,"a, b",0\n')
    raw = read_table(path)
    assert raw.rows == 3 and raw.text["comment"].tolist() == ["two\nlines", "plain", "a, b"]
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("f,g,target\n1,2,0\n3,1\n4,5,1\n")
    with pytest.raises(DataError, match="has 2 cells but the header has 3"):
        read_table(ragged)


def test_convert_warns_about_a_tiny_test_split(tmp_path, tutorial_ckpt, models_py, table_csv, capsys):
    code = cli.main(["convert", str(tutorial_ckpt), "--model-source", f"{models_py}:TinyRegressor", "--data",
                     str(table_csv), "--task", "binary", "--threshold", "median", "--splits", "0.9,0.05,0.04,0.01",
                     "--epochs", "1", "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 0
    assert "warning: the test split has only 2 rows" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert any("test split has only 2 rows" in w for w in metrics["warnings"])
