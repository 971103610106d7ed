"""`evaluate` on rows with a missing feature value, for an export trained to refuse them (data.missing error):
labelled (--data) and unlabelled (--unlabelled) rows are handled alike, refused with a fix that names only what
evaluate takes, or with --missing drop left out and counted."""

from __future__ import annotations

import pytest

from workbench.cli import main


@pytest.fixture
def export_and_rows(tutorial_ckpt, models_py, table_csv, tmp_path):
    out = tmp_path / "out"
    assert main(["convert", str(tutorial_ckpt), "--model-source", f"{models_py}:TinyRegressor", "--data",
                 str(table_csv), "--threshold", "median", "--epochs", "2", "--out", str(out), "--quiet"]) == 0
    lines = table_csv.read_text().splitlines()
    for row in (3, 17, 40):  # f1 left empty in three rows
        cells = lines[row].split(",")
        cells[1] = ""
        lines[row] = ",".join(cells)
    labelled = tmp_path / "na.csv"
    labelled.write_text("\n".join(lines) + "\n")
    unlabelled = tmp_path / "na_unlabelled.csv"
    unlabelled.write_text("\n".join(",".join(line.split(",")[:-1]) for line in lines) + "\n")
    return out, labelled, unlabelled, len(lines) - 1


@pytest.mark.parametrize("flag", ["--data", "--unlabelled"])
def test_rows_missing_a_value_are_refused_alike_naming_only_what_evaluate_takes(export_and_rows, flag, capsys):
    out, labelled, unlabelled, _ = export_and_rows
    capsys.readouterr()
    assert main(["evaluate", str(out), flag, str(labelled if flag == "--data" else unlabelled)]) == 2
    err = capsys.readouterr().err
    assert "3 feature value(s) are missing in 3 row(s)" in err and "'f1' 3" in err, err
    assert "--missing drop" in err and "impute" not in err, err
    assert len(err.strip().splitlines()) == 1  # one paragraph


@pytest.mark.parametrize("flag", ["--data", "--unlabelled"])
def test_with_drop_the_rows_are_left_out_and_counted(export_and_rows, flag, capsys):
    out, labelled, unlabelled, n = export_and_rows
    capsys.readouterr()
    assert main(["evaluate", str(out), flag, str(labelled if flag == "--data" else unlabelled), "--missing",
                 "drop"]) == 0
    said = capsys.readouterr()
    assert "3 row(s) with missing feature values were dropped ('f1' 3)" in said.out + said.err
    assert f"{n - 3} " in said.out
