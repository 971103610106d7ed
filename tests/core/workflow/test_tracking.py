"""MLflow tracking: an export logged to a local SQLite store and read back with MlflowClient; without MLflow the
option says how to install it (exit 2)."""

from __future__ import annotations

import json
import os
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from workbench.core.workflow import tracking


def test_without_mlflow_the_option_says_how_to_install_it(monkeypatch, tutorial_ckpt, models_py, table_csv,
                                                          tmp_path, capsys):
    from workbench.cli import main

    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    code = main(["convert", str(tutorial_ckpt), "--model-source", f"{models_py}:TinyRegressor", "--data",
                 str(table_csv), "--threshold", "median", "--out", str(tmp_path / "out"), "--mlflow"])
    assert code == 2
    err = capsys.readouterr().err
    assert "MLflow is not installed" in err and "conversion-workbench[tracking]" in err
    assert not (tmp_path / "out").exists()  # refused before any work


def test_an_export_round_trips_through_a_sqlite_store(tutorial_ckpt, table_csv, models_py, tmp_path, capfd):
    mlflow = pytest.importorskip("mlflow")
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("alembic")
    from workbench.core.open.load import load_checkpoint
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.pipeline import export_run, prepare_data, train_run

    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold",
                                 "model_source": f"{models_py}:TinyRegressor", "train.epochs": 2})
    loaded = load_checkpoint(tutorial_ckpt, recipe.model_source)
    run = train_run(recipe, loaded, prepare_data(recipe, loaded.input_shape))
    folder = export_run(run, tmp_path / "export").folder
    meta = json.loads((folder / "metadata.json").read_text())
    uri = "sqlite:///" + (tmp_path / "store" / "mlflow.db").as_posix()
    capfd.readouterr()
    shown = warnings.showwarning
    logged = tracking.log_export(folder, uri)
    err = capfd.readouterr().err  # MLflow's INFO lines, advice to pyfunc authors and download bar are not the user's
    assert "INFO mlflow" not in err and "Add type hints" not in err and "Downloading artifacts" not in err, err
    assert warnings.showwarning is shown and "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR" not in os.environ

    client = mlflow.MlflowClient(uri)
    got = client.get_run(logged["run_id"])
    assert got.data.params["train.lr"] == str(meta["recipe"]["train"]["lr"])
    assert got.data.params["data.label_mode"] == "threshold" and got.data.params["calibration"] == "auto"
    test = meta["metrics"]["test"]
    assert got.data.metrics["test_accuracy"] == pytest.approx(test["accuracy"])
    assert got.data.metrics["test_brier_ci_low"] == pytest.approx(test["ci"]["brier"][0])
    assert got.data.metrics["test_brier_ci_high"] == pytest.approx(test["ci"]["brier"][1])
    exported = {a.path for a in client.list_artifacts(logged["run_id"], "export")}
    assert {"export/README.md", "export/metadata.json", "export/model.pt2", "export/reliability.png"} <= exported
    assert "reliability.png" in {a.path for a in client.list_artifacts(logged["run_id"])}
    assert (tmp_path / "store" / "artifacts").is_dir()  # beside the store, not ./mlruns

    model = mlflow.pyfunc.load_model(logged["model_uri"])  # from code: nothing unpickled
    names = meta["feature_names"]
    assert model.metadata.signature.inputs.input_names() == names  # a table's columns, by name
    X = run.data.table.X[run.data.splits["test"][:5]].astype(np.float32)
    expected = run.probabilities("test")[:5]
    assert np.allclose(model.predict(pd.DataFrame(X, columns=names)), expected, atol=1e-5)
    # as pandas reads a table (float64), its columns in another order, and a copy reordered: matched by name
    as_read = pd.DataFrame(X.astype(np.float64), columns=names)
    assert np.allclose(model.predict(as_read[names[::-1]]), expected, atol=1e-5)
    assert np.allclose(model.predict(as_read[names[2:] + names[:2]].copy()), expected, atol=1e-5)
    with pytest.raises(mlflow.exceptions.MlflowException, match=names[1]):  # a missing column, named
        model.predict(as_read.drop(columns=names[1]))


def test_a_several_input_export_predicts_through_mlflow_from_a_table(tmp_path):
    """A pyfunc of a model of several inputs called the program with one tensor; it now cuts a DataFrame (text
    categories, as pandas reads the CSV) into the model's inputs with the export's own codes."""
    mlflow = pytest.importorskip("mlflow")
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("alembic")
    from tests.core.workflow.several_inputs_models import tabular_checkpoint
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.journey import convert_checkpoint

    (tmp_path / "model").mkdir()
    ckpt, source, args, csv = tabular_checkpoint(tmp_path / "model")
    recipe = Recipe().with_changes(**{"model_source": source, "model_args": args, "data.path": str(csv),
                                      "data.label": "fare", "data.label_mode": "threshold", "train.epochs": 2})
    run, result = convert_checkpoint(ckpt, recipe, tmp_path / "export", trusted=True)
    uri = "sqlite:///" + (tmp_path / "store" / "mlflow.db").as_posix()
    model = mlflow.pyfunc.load_model(tracking.log_export(result.folder, uri)["model_uri"])
    rows = pd.read_csv(csv).iloc[run.data.splits["test"]]
    assert model.metadata.signature.inputs.input_names() == ["city", "weekday", "distance", "wait", "tip"]
    expected = run.probabilities("test")
    assert np.allclose(model.predict(rows.drop(columns=["fare"])), expected, atol=1e-5)
    unseen = rows.assign(city="Edinburgh")  # read as the export's unseen code, as workbench evaluate reads it
    assert model.predict(unseen).shape == expected.shape
    with pytest.raises(mlflow.exceptions.MlflowException, match="weekday"):
        model.predict(rows.drop(columns=["weekday"]))
