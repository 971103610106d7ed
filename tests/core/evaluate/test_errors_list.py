"""The samples behind a confusion-matrix cell: which rows, in which order, and the CSV written safely."""

import csv

import numpy as np
import pytest
import torch

from workbench.core.data.samples import Table
from workbench.core.errors import ExportError
from workbench.core.evaluate import errors_list as el
from workbench.core.recipe import Recipe
from workbench.core.safety.output_paths import OutputExistsError, inputs
from workbench.core.workflow.pipeline import label_and_split


def _prepared(n=60, paths=False):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    target = np.arange(n) % 3
    rows = np.arange(n) * 2 + 5  # the file's row numbers (some dropped rows between them)
    table = Table(X, target.astype(np.float64), ["a", "b", "c"], "t.csv", rows=None if paths else rows,
                  paths=[f"/img/{i}.png" for i in range(n)] if paths else None)
    recipe = Recipe().replace(**{"head.task": "multiclass", "data.label_mode": "column"})
    return label_and_split(table, recipe)


def test_a_cell_lists_exactly_its_samples_most_confident_first():
    data = _prepared()
    test = data.splits["test"]
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.ones(3), size=len(test))
    samples = el.split_samples(data, probs)
    y, pred = data.y[test], probs.argmax(1)
    for i in range(3):
        for j in range(3):
            found = el.cell(samples, i, j)
            assert sorted(found.tolist()) == np.flatnonzero((y == i) & (pred == j)).tolist()
            assert np.all(np.diff(probs[found, j]) <= 0)
    total = sum(len(el.cell(samples, i, j)) for i in range(3) for j in range(3))
    assert total == len(test)
    # Ids are the user's row numbers of those test rows, not positions in the split.
    assert samples.id_name == "row" and samples.ids == [str(r) for r in data.table.rows[test]]
    first = el.rows(samples, el.cell(samples, 0, 1)[:1])
    if first:
        k = int(el.cell(samples, 0, 1)[0])
        assert first[0] == {"row": str(data.table.rows[test][k]), "true": data.classes[0],
                            "predicted": data.classes[1], "p_predicted": probs[k, 1], "p_true": probs[k, 0],
                            "columns": dict(zip("abc", data.table.X[test[k]].astype(float).tolist()))}


def test_binary_cells_follow_the_threshold():
    data = _prepared()
    test = data.splits["test"]
    data.y = (data.y > 0).astype(np.int64)
    data.classes = ["no", "yes"]
    p1 = np.linspace(0.05, 0.95, len(test))
    probs = np.stack([1 - p1, p1], 1)
    at_half = el.split_samples(data, probs)
    at_low = el.split_samples(data, probs, threshold=0.2)
    assert len(el.cell(at_low, 0, 1)) > len(el.cell(at_half, 0, 1))
    assert set(el.cell(at_low, 0, 1)) == set(np.flatnonzero((data.y[test] == 0) & (p1 >= 0.2)))


def test_images_are_named_by_their_file():
    data = _prepared(paths=True)
    samples = el.split_samples(data, np.full((len(data.splits["test"]), 3), 1 / 3))
    assert samples.id_name == "file"
    assert samples.ids == [f"/img/{i}.png" for i in data.splits["test"]]


def test_csv_is_written_atomically_never_over_an_input(tmp_path):
    data = _prepared()
    samples = el.split_samples(data, np.eye(3)[data.y[data.splits["test"]]])
    records = el.rows(samples, el.cell(samples, 2, 2))
    source = tmp_path / "table.csv"
    source.write_text("keep")
    protected = inputs(data=str(source))
    with pytest.raises(ExportError):
        el.save_csv(source, records, samples.id_name, protected)
    assert source.read_text() == "keep"
    out = tmp_path / "errors.csv"
    el.save_csv(out, records, samples.id_name, protected)
    with open(out, newline="") as fh:
        read = list(csv.DictReader(fh))
    assert [r["row"] for r in read] == [r["row"] for r in records] and len(read) == len(records) > 0
    assert read[0]["true"] == data.classes[2] and float(read[0]["p_predicted"]) == 1.0
    with pytest.raises(OutputExistsError):
        el.save_csv(out, records, samples.id_name, protected)
    el.save_csv(out, records[:1], samples.id_name, protected, overwrite=True)
    assert len(out.read_text().splitlines()) == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_image_folder_keeps_each_sample_file(tmp_path):
    from PIL import Image

    from workbench.core.data.data import load_table

    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        for k in range(2):
            Image.new("L", (4, 4), 40 * k).save(tmp_path / name / f"{k}.png")
    table = load_table(str(tmp_path))
    assert table.paths == [str(tmp_path / c / f"{k}.png") for c in ("cat", "dog") for k in range(2)]


def test_metrics_keep_each_test_sample_named_images_relative_to_their_folder(tmp_path):
    from types import SimpleNamespace

    from PIL import Image

    from workbench.core.data.data import load_table
    from workbench.core.train.train import TrainResult
    from workbench.core.workflow.pipeline import evaluate_run

    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        for k in range(6):
            Image.new("L", (4, 4), 20 * k).save(tmp_path / name / f"{k}.png")
    recipe = Recipe().replace(**{"head.task": "binary", "data.label_mode": "column", "data.path": str(tmp_path)})
    data = label_and_split(load_table(str(tmp_path)), recipe)
    test = data.splits["test"]
    probs = np.full((len(test), 2), 0.5)
    training = TrainResult(device="cpu")  # what a baseline's run carries: no epochs
    run = SimpleNamespace(kind="baseline", data=data, recipe=recipe, calibration_check={}, threshold=None,
                          calibration=None, calibration_auto=None, extra_metrics={},
                          training=training, probabilities=lambda split="test", calibrated=True: probs,
                          inspection=SimpleNamespace(simplified={}), model=torch.nn.Linear(16, 2))
    rows_kept = evaluate_run(run)["test_rows"]
    names = [f"{c}/{k}.png" for c in ("cat", "dog") for k in range(6)]
    assert rows_kept["file"] == [names[i] for i in test]


FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1", " =1+1",
            "\uff1d1+1"]


def test_the_csv_neutralises_cells_a_spreadsheet_would_run_and_keeps_numbers_numbers(tmp_path):
    # class names and sample ids that start like formulas (OWASP's CSV injection list), and numbers that do too
    records = [{"file": f"cls/{k}.png" if k % 2 else text, "true": text, "predicted": "-0.5",
                "p_predicted": 0.25, "p_true": -0.5} for k, text in enumerate(FORMULAS)]
    out = el.save_csv(tmp_path / "errors.csv", records, "file", {})
    raw = out.read_bytes().decode()  # as written: read_text would turn the CR inside a cell into a line end
    with open(out, newline="") as fh:
        read = list(csv.DictReader(fh))
    assert len(read) == len(FORMULAS)
    for record, row in zip(records, read):
        for key in ("file", "true"):
            text = row[key]
            assert text == ("'" + record[key] if record[key] in FORMULAS else record[key])
            assert not text.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r", "\uff1d")), text
        assert row["predicted"] == "-0.5" and row["p_true"] == "-0.500000" and row["p_predicted"] == "0.250000"
    # numbers are written bare, so a spreadsheet reads them as numbers; every text cell is quoted
    assert all(line.endswith(",-0.5,0.250000,-0.500000") for line in raw.split("\n")[1:-1])
    assert raw.split("\n")[0] == '"file","true","predicted","p_predicted","p_true"'


def test_every_csv_the_tool_writes_goes_through_the_one_neutralising_writer():
    import re
    from pathlib import Path

    import workbench

    root = Path(workbench.__file__).parent
    writers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                     if re.search(r"\bcsv\.(writer|DictWriter)\b|\.to_csv\(", p.read_text()))
    assert writers == [], f"CSV written outside safety/csv_cells.py: {writers}"


def test_a_table_file_names_its_samples_by_their_id_columns_and_shows_their_features(tmp_path):
    """The drill-down of a table shows each sample's ID-like columns and its feature values (Orange's rows), and
    the CSV carries them; the ID columns are never features."""
    from workbench.core.data.data import load_table

    rng = np.random.default_rng(0)
    lines = ["patient_id,name,a,b,target"] + [f"{1000 + i},P{i:03d},{rng.normal():.4f},{rng.normal():.4f},{i % 2}"
                                              for i in range(60)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    table = load_table(str(path), label="target")
    assert table.feature_names == ["a", "b"] and list(table.id_columns) == ["patient_id", "name"]
    data = label_and_split(table, Recipe().replace(**{"head.task": "binary", "data.label_mode": "column"}))
    test = data.splits["test"]
    samples = el.split_samples(data, np.full((len(test), 2), 0.5))
    assert samples.id_columns == ["patient_id", "name"]
    records = el.rows(samples, np.arange(len(test)))
    for record, position in zip(records, test):
        row = int(record["row"]) - 2  # the file's line: a header, then one line per sample
        patient, name, a, b, _ = lines[row + 1].split(",")
        assert record["columns"]["patient_id"] == patient and record["columns"]["name"] == name
        assert record["columns"]["a"] == pytest.approx(float(a), abs=1e-6)
        assert record["columns"]["b"] == pytest.approx(float(b), abs=1e-6)
    out = tmp_path / "samples.csv"
    el.save_csv(out, records, samples.id_name, inputs(data=str(path)))
    with open(out, newline="") as fh:
        read = list(csv.DictReader(fh))
    assert list(read[0]) == ["row", "true", "predicted", "p_predicted", "p_true", "patient_id", "name", "a", "b"]
    assert [r["patient_id"] for r in read] == [r["columns"]["patient_id"] for r in records]
