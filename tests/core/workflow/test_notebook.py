"""The notebook API (`import workbench as wb`) on the session's commands: options named as `convert`'s flags and
checked by the same descriptions, runs that show themselves, a scikit-learn view whose probabilities are the
export's, and the example notebook, executed."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import workbench as wb
from workbench.core.errors import RecipeError

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def session(user_mlp):
    ckpt, source, args, table = user_mlp
    s = wb.open(ckpt, model_source=source, model_args=args)
    s.read_data(table, label="risk", threshold="median")
    return s


def test_importing_workbench_stays_cheap():
    code = "import sys, workbench; heavy = [m for m in ('torch', 'numpy', 'PySide6') if m in sys.modules]; " \
           "assert not heavy, heavy; assert callable(workbench.open)"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_options_are_the_convert_flags_with_underscores():
    from workbench.cli import _recipe_options
    from workbench.core.workflow.options import option_names, recipe_changes

    assert set(option_names()) == {flag[2:].replace("-", "_") for _n, flag, *_ in _recipe_options()}
    assert recipe_changes({"lr": 0.01, "reliability_binning": "mass", "features": ["a", "b"], "bins": 4}) == {
        "train.lr": 0.01, "binning": "mass", "data.features": ("a", "b"), "data.label_mode": "bins",
        "head.task": "multiclass", "data.bins": 4}
    with pytest.raises(RecipeError, match="dropout=1.5"):
        recipe_changes({"dropout": 1.5})
    with pytest.raises(RecipeError, match="no option 'dropuot'"):
        recipe_changes({"dropuot": 0.1})


def test_a_run_in_a_notebook(session, tmp_path):
    from sklearn.base import is_classifier
    from sklearn.calibration import CalibrationDisplay
    from sklearn.metrics import roc_auc_score

    from workbench.core.export.export_read import probabilities, read_metadata

    run = session.train(task="binary", seed=1, epochs=3, lr=0.01)
    assert session.recipe.seed == 1 and run.metrics["test"]["n"] > 0 and session.runs[0].id == run.id
    page = run._repr_html_()
    assert "data:image/svg+xml;base64," in page and "Confusion matrix" in page and "95% interval" in page
    assert "Wilson for accuracy" in page
    clf = run.as_sklearn()
    assert is_classifier(clf) and list(clf.classes_) == run.run.data.classes
    X = run.run.data.table.X[run.run.data.splits["test"]]
    result = run.export(tmp_path / "export")
    exported = probabilities(result.folder, read_metadata(result.folder), X)
    assert np.allclose(clf.predict_proba(X), exported, atol=1e-6)
    assert np.allclose(clf.predict_proba(X), run.run.probabilities("test"), atol=1e-6)
    with pytest.raises(wb.WorkbenchError, match=r"overwrite=True") as again:  # the notebook's words
        run.export(tmp_path / "export")
    assert "--overwrite" not in str(again.value) and "dialog" not in str(again.value)
    y = clf.classes_[run.run.data.labels("test")]
    assert roc_auc_score(y, clf.predict_proba(X)[:, 1]) == pytest.approx(run.metrics["test"]["roc_auc"])
    CalibrationDisplay.from_estimator(clf, X, y, n_bins=5)
    run.set_threshold(0.7)
    assert list(clf.predict(X)) == list(clf.classes_[(clf.predict_proba(X)[:, 1] >= 0.7).astype(int)])
    baseline = session.baseline()
    table = session.compare(run, baseline).table
    assert [r["kind"] for r in table["rows"]] == ["trained", "baseline"] and table["same_test_split"]
    run.calibrate("platt")
    assert run.metrics["calibration"] == "platt"
    assert "calibration auto" not in run.name  # the name says what the run does now, not what was first asked


def test_a_notebook_session_saves_and_continues(session, tmp_path):
    run = session.train(task="binary", epochs=2, lr=0.01)
    session.save(tmp_path / "s.json")
    again = wb.open_session(tmp_path / "s.json")
    assert np.array_equal(again.runs[0].run.probabilities("test"), run.run.probabilities("test"))


def test_a_notebooks_report_and_session_never_replace_an_input_and_ask_before_replacing(session, user_mlp,
                                                                                         tmp_path):
    """run.report('table.csv') replaced a stranger's training data with HTML (and their models.py), where the
    command line's --report refuses it; session.save replaced any file without a word."""
    from workbench.core.errors import ExportError
    from workbench.core.safety.output_paths import OutputExistsError

    _ckpt, source, _args, table = user_mlp
    run = session.train(task="binary", epochs=2, lr=0.01)
    before = (table.read_bytes(), open(source.rpartition(":")[0], "rb").read())
    for target in (table, source.rpartition(":")[0]):
        with pytest.raises(ExportError, match="writing here would destroy it"):
            run.report(target)
        with pytest.raises(ExportError, match="writing here would destroy it"):
            session.save(target, overwrite=True)
    assert (table.read_bytes(), open(source.rpartition(":")[0], "rb").read()) == before
    page = tmp_path / "report.html"
    run.report(page)
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        run.report(page)
    run.report(page, overwrite=True)
    assert page.read_text().startswith("<!doctype html>")
    session.save(tmp_path / "s.json")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        session.save(tmp_path / "s.json")
    session.save(tmp_path / "s.json", overwrite=True)


def test_the_example_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="the notebook test needs the test extra (nbformat)")
    nbclient = pytest.importorskip("nbclient", reason="the notebook test needs the test extra (nbclient)")
    pytest.importorskip("ipykernel", reason="the notebook test needs the test extra (ipykernel)")
    from jupyter_client.kernelspec import NoSuchKernel

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(ROOT / "examples" / "quickstart.ipynb", as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except NoSuchKernel as exc:
        pytest.skip(f"no Jupyter kernel can start here: {exc}")
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


def test_a_class_column_sets_the_task_and_a_failed_read_keeps_the_last_data(user_mlp, tmp_path):
    """read_data on a 3-class column switches the default binary head to multiclass (as the window does) and
    says so; a task the user names is kept; a typo in a label raises and leaves the data read before."""
    import pandas as pd

    ckpt, source, args, table = user_mlp
    frame = pd.read_csv(table)
    frame["level"] = pd.cut(frame["risk"], 3, labels=["low", "medium", "high"]).astype(str)
    frame.to_csv(tmp_path / "levels.csv", index=False)
    s = wb.open(ckpt, model_source=source, model_args=args)
    with pytest.warns(UserWarning, match="Task set to multiclass"):
        s.read_data(tmp_path / "levels.csv", label="level", features=["f0", "f1", "f2", "f3"])
    assert s.recipe.head.task == "multiclass"
    s.set(task="ordinal")
    with pytest.raises(wb.WorkbenchError, match="nope"):
        s.read_data(tmp_path / "levels.csv", label="nope")
    assert s.recipe.data.label == "level" and s.recipe.head.task == "ordinal"
    frame.head(40).assign(f0=100.0).to_csv(tmp_path / "other.csv", index=False)  # another file, that fails
    with pytest.raises(wb.WorkbenchError, match="nope"):
        s.read_data(tmp_path / "other.csv", label="level", features=["nope"])
    assert s.recipe.data.path == str(tmp_path / "levels.csv") and len(s.model.table.target) == len(frame)
    assert float(np.asarray(s.model.table.X)[:, 0].mean()) < 50  # the rows read before, not the failed file's
    run = s.train(epochs=1)
    assert run.metrics["task"] == "ordinal"
    with pytest.raises(wb.WorkbenchError, match="not both"):
        s.set(threshold=0.5, bins=3)


def test_a_continuous_label_is_cut_at_the_median_with_a_warning_unless_labels_are_named(user_mlp):
    """read_data on the regression target itself: binary labels at its median, said in a UserWarning; threshold=
    or bins= name the labels and get no warning."""
    ckpt, source, args, table = user_mlp
    s = wb.open(ckpt, model_source=source, model_args=args)
    with pytest.warns(UserWarning, match="Labels cut at the median"):
        s.read_data(table)
    assert s.recipe.data.label_mode == "threshold" and len(s.model.data.classes) == 2
    s2 = wb.open(ckpt, model_source=source, model_args=args)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s2.read_data(table, bins=3)
    assert s2.recipe.data.label_mode == "bins" and not s2.model.auto_labels


def test_a_refused_train_leaves_the_recipe_as_it_was(user_mlp):
    """train(cut_at=<no such layer>) raises; the session's recipe is the one before the call, so the next train
    (without the bad option) runs instead of raising the same error again."""
    ckpt, source, args, table = user_mlp
    s = wb.open(ckpt, model_source=source, model_args=args)
    s.read_data(table, threshold="median")
    before = s.recipe
    with pytest.raises(RecipeError, match="no layer 'nope'"):
        s.train(epochs=1, cut_at="nope")
    assert s.recipe == before
    assert s.train(epochs=1).metrics["test"]["accuracy"] > 0


def test_a_class_column_named_after_a_median_cut_is_read_as_its_values(user_mlp, tmp_path):
    """read_data(cls.csv, label="cls") after a file whose continuous label was cut at its median: the new label
    column is read as its classes (it was cut at a threshold too, or refused as not numeric)."""
    import pandas as pd

    ckpt, source, args, table = user_mlp
    frame = pd.read_csv(table)
    frame["cls"] = np.arange(len(frame)) % 3
    frame["kind"] = np.where(np.arange(len(frame)) % 2, "a", "b")
    frame.drop(columns=["risk"]).to_csv(tmp_path / "cls.csv", index=False)
    s = wb.open(ckpt, model_source=source, model_args=args)
    with pytest.warns(UserWarning, match="Labels cut at the median"):
        s.read_data(table)
    with pytest.warns(UserWarning, match="Task set to multiclass"):
        s.read_data(tmp_path / "cls.csv", label="cls", features=["f0", "f1", "f2", "f3"])
    assert s.recipe.data.label_mode == "column" and s.model.data.classes == ["0", "1", "2"]
    s.read_data(tmp_path / "cls.csv", label="kind", features=["f0", "f1", "f2", "f3"])
    assert s.model.data.classes == ["a", "b"]
    # a threshold the user gave belongs to its column: another label column named without one is read as its
    # classes (it was refused: "cannot be cut at a threshold", and threshold="" could not undo it)
    s.read_data(table, label="risk", threshold=0.5)
    s.read_data(tmp_path / "cls.csv", label="kind", features=["f0", "f1", "f2", "f3"])
    assert s.recipe.data.label_mode == "column" and s.model.data.classes == ["a", "b"]


def test_a_run_compared_with_itself_is_refused(user_mlp):
    """compare(run, run) is refused by core's compare, as the command line refuses one export folder twice."""
    ckpt, source, args, table = user_mlp
    s = wb.open(ckpt, model_source=source, model_args=args)
    s.read_data(table, threshold="median")
    run = s.train(epochs=1)
    with pytest.raises(wb.WorkbenchError, match="named twice"):
        s.compare(run, run)


def test_a_notebooks_errors_name_its_arguments_not_the_command_lines_flags(user_mlp, tmp_path):
    from workbench.core.errors import DataError

    ckpt, source, args, table = user_mlp
    s = wb.open(ckpt, model_source=source, model_args=args)
    rows = table.read_text().splitlines()
    holed = tmp_path / "holed.csv"
    holed.write_text("\n".join([rows[0], ",".join([""] + rows[1].split(",")[1:]), *rows[2:]]) + "\n")
    with pytest.raises(DataError) as caught:
        s.read_data(holed, label="risk", threshold="median")
    said = str(caught.value)
    assert "missing='drop'" in said and "--" not in said, said
    assert "missing='drop'" in caught.value.fix


def test_list_options_take_comma_separated_text_as_their_flags_do():
    from workbench.core.workflow.options import recipe_changes

    assert recipe_changes({"classes": "low, medium,high", "features": "a,b", "splits": "0.6,0.2,0.05,0.15"}) == {
        "data.classes": ("low", "medium", "high"), "data.features": ("a", "b"),
        "data.splits": (0.6, 0.2, 0.05, 0.15)}
    with pytest.raises(RecipeError, match="splits="):
        recipe_changes({"splits": "0.6,lots"})


def test_a_session_saved_while_a_field_was_not_valid_opens_with_its_runs_and_says_which_field(session, tmp_path):
    """The window saves the recipe as its fields hold it, a split being typed included (0.55 + 0.15 + 0.1 + 0.25):
    such a file used to be refused whole, every run in it lost."""
    import json

    run = session.train(task="binary", epochs=2, lr=0.01, seed=4)
    path = session.save(tmp_path / "s.json")
    doc = json.loads(path.read_text())
    doc["recipe"]["data"]["splits"] = [0.55, 0.15, 0.1, 0.25]
    path.write_text(json.dumps(doc))
    with pytest.warns(UserWarning, match="Splits: .*its default is used"):
        again = wb.open_session(path)
    assert len(again.runs) == 1 and again.runs[0].metrics["test"] == run.metrics["test"]
    assert again.recipe.data.splits == wb.Session().recipe.data.splits and again.recipe.seed == 4


def test_a_checkpoint_refused_for_want_of_its_class_is_what_the_session_opens_again(user_mlp, tmp_path):
    from workbench.core.errors import WorkbenchError

    ckpt, source, args, _table = user_mlp
    s = wb.open(ckpt, model_source=source, model_args=args)
    with pytest.raises(WorkbenchError):
        s.open_model(ckpt, model_source=source, model_args={"no_such_argument": 1})
    assert s.model.refused_model == ckpt and s.model.loaded is not None  # the model open before stays open
    s.open_model(ckpt, model_source=source, model_args=args)
    assert s.model.refused_model is None
