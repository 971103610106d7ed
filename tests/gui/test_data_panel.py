"""The Data tab with an analyst's table: text and ID columns set aside, the width checked before anything
runs, ticks kept across label changes, missing values and class order chosen in the window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from ..conftest import make_table


@pytest.fixture
def people(tmp_path):
    X, y = make_table(200)
    frame = pd.DataFrame({"customer_id": np.arange(5000, 5200), "name": [f"person {i}" for i in range(200)]})
    for j in range(4):
        frame[f"f{j}"] = X[:, j]
    frame["site"] = np.where(np.arange(200) % 3, "north", "south")
    frame["score"] = y
    frame["extra"] = np.random.default_rng(3).normal(size=200)
    frame["churned"] = np.where(y > 0, "yes", "no")
    path = tmp_path / "people.csv"
    frame.to_csv(path, index=False)
    return path, frame


def _open(qtbot, window, files, path):
    window.model_panel.source.setText(files["source"])
    window.open_checkpoint(str(files["ckpt"]))
    qtbot.waitUntil(lambda: window.session.model.inspection is not None, timeout=30000)
    window.load_data(str(path))
    qtbot.waitUntil(lambda: window.session.model.raw is not None, timeout=30000)


def _row(panel, name):
    return panel.columns.columns_model.names.index(name)


def _tick(panel, name, on=True):
    model = panel.columns.columns_model
    model.setData(model.index(_row(panel, name), 0), Qt.Checked if on else Qt.Unchecked, Qt.CheckStateRole)


def test_text_columns_reach_train_without_a_flag(window, files, people, qtbot, dialogs):
    path, _frame = people
    _open(qtbot, window, files, path)
    panel, s = window.data_panel, window.session.model
    assert s.recipe.data.label == "churned"  # the last column that is not an ID
    model = panel.columns.columns_model
    kinds = {n: model.data(model.index(i, 1)) for i, n in enumerate(model.names)}
    assert kinds["customer_id"] == "ID-like" and kinds["name"] == "ID-like" and kinds["site"] == "text"
    assert not model.flags(model.index(_row(panel, "site"), 0)) & Qt.ItemIsUserCheckable
    assert "left out" in model.data(model.index(_row(panel, "site"), 3))
    # score and extra are numeric too: 6 ticked against the model's 4 inputs, said before anything runs
    assert panel.columns.width_note.text() == "6 feature(s) ticked · the model takes 4 inputs"
    assert "takes 4 inputs; 6 are ticked" in panel.columns.problem.text() and "--" not in panel.columns.problem.text()
    assert not window.form.train_button.isEnabled()
    assert "Data tab: The model takes 4 inputs" in window.form.reason.text()
    _tick(panel, "score", False)
    _tick(panel, "extra", False)
    qtbot.waitUntil(lambda: s.data is not None, timeout=5000)
    assert s.recipe.data.features == ("f0", "f1", "f2", "f3") and panel.columns.problem.text() == ""
    assert [panel.counts.preview.item(r, 0).text() for r in range(2)] == ["no", "yes"]
    assert window.form.train_button.isEnabled() and not dialogs.errors


def test_changing_the_label_keeps_the_ticks(window, files, people, qtbot):
    path, _frame = people
    _open(qtbot, window, files, path)
    panel, s = window.data_panel, window.session.model
    for name in ("score", "extra", "f3"):
        _tick(panel, name, False)
    assert s.recipe.data.features == ("f0", "f1", "f2")
    panel.columns.label.setCurrentText("score")
    assert s.recipe.data.label == "score" and s.recipe.data.features == ("f0", "f1", "f2")
    assert panel.columns.columns_model.ticked == {"f0", "f1", "f2"}
    panel.columns.label.setCurrentText("extra")  # the old label does not become a feature
    assert s.recipe.data.features == ("f0", "f1", "f2")


def test_missing_values_are_chosen_beside_the_message(window, files, people, qtbot, tmp_path):
    _path, frame = people
    frame.loc[[3, 8], "f2"] = np.nan
    holes = tmp_path / "holes.csv"
    frame.drop(columns=["score", "extra"]).to_csv(holes, index=False)
    _open(qtbot, window, files, holes)
    panel, s = window.data_panel, window.session.model
    assert s.data is None and "2 value(s) are missing" in panel.columns.problem.text()
    assert "Missing values" in panel.columns.problem.text() and "--" not in panel.columns.problem.text()
    assert panel.counts.empty.isVisibleTo(panel) and "problem shown on this tab" in panel.counts.empty.text()
    model = panel.columns.columns_model
    assert model.data(model.index(_row(panel, "f2"), 2)) == "2"
    panel.columns.missing.setCurrentIndex(panel.columns.missing.findData("drop"))
    panel.columns.missing.activated.emit(panel.columns.missing.currentIndex())
    qtbot.waitUntil(lambda: s.data is not None, timeout=5000)
    assert len(s.data.y) == 198 and "dropped" in panel.notes.text()
    assert not panel.counts.empty.isVisibleTo(panel) and panel.counts.preview.rowCount() == 2


def test_class_order_is_set_in_the_counts_table(window, files, people, qtbot):
    path, _frame = people
    _open(qtbot, window, files, path)
    panel, s = window.data_panel, window.session.model
    for name in ("score", "extra"):
        _tick(panel, name, False)
    qtbot.waitUntil(lambda: s.data is not None, timeout=5000)
    panel.counts.preview.selectRow(0)
    qtbot.mouseClick(panel.counts.down, Qt.LeftButton)
    assert s.recipe.data.classes == ("yes", "no") and s.data.classes == ["yes", "no"]
    assert [panel.counts.preview.item(r, 0).text() for r in range(2)] == ["yes", "no"]


def test_a_table_with_many_columns_opens_promptly(window, qtbot, tmp_path):
    import time

    rng = np.random.default_rng(0)
    width, rows = 50_000, 25
    path = tmp_path / "wide.csv"
    header = ",".join([f"g{i}" for i in range(width)] + ["target"])
    body = "\n".join(",".join(f"{v:.3f}" for v in rng.normal(size=width)) + f",{r % 2}" for r in range(rows))
    path.write_text(header + "\n" + body + "\n")
    start = time.perf_counter()
    window.load_data(str(path))
    qtbot.waitUntil(lambda: window.session.model.table is not None, timeout=60000)
    assert time.perf_counter() - start < 30
    panel = window.data_panel
    assert panel.columns.columns_model.rowCount() == width + 1 and window.session.model.table.X.shape == (rows, width)
    assert panel.columns.label.count() == width + 1 and window.session.model.recipe.data.label == "target"
    _tick(panel, "g7", False)
    assert len(window.session.model.recipe.data.features) == width - 1


def test_an_image_folder_split_into_train_valid_test_shows_its_splits(window, qtbot, tmp_path):
    from PIL import Image

    root = tmp_path / "pets"
    for split, n in (("train", 10), ("valid", 5), ("test", 4)):
        for cls, value in (("cat", 40), ("dog", 210)):
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(np.full((10, 12, 3), value + i, np.uint8)).save(root / split / cls / f"{i}.png")
    window.load_data(str(root))
    qtbot.waitUntil(lambda: window.session.model.data is not None, timeout=30000)
    panel = window.data_panel
    assert panel.split_source.text().startswith("Splits from the folder's train/ valid/ test/ (calibration "
                                                "from valid/")
    assert panel.split_source.isVisibleTo(panel)
    table = panel.counts.preview
    rows = {table.item(r, 0).text(): [int(table.item(r, c).text()) for c in range(1, 6)]
            for r in range(table.rowCount())}
    # all, train, validation, calibration, test: train/ and test/ as given, valid/ shared with calibration
    assert rows["cat"][0] == 19 and rows["cat"][1] == 10 and rows["cat"][4] == 4
    assert rows["cat"][2] + rows["cat"][3] == 5 and rows["cat"][3] >= 1
    assert rows["dog"][1:] == rows["cat"][1:]
    # the pixels are one row, not hundreds of 'px' columns, and an image has no missing cells to choose about
    model = panel.columns.columns_model
    assert model.rowCount() == 1 and model.data(model.index(0, 0)) == "each image's pixels (3×10×12)"
    assert model.data(model.index(0, 1)) == "image" and not panel.columns.missing.isEnabled()


def test_missing_values_can_be_chosen_for_a_table_read_after_an_image_folder(window, files, people, qtbot, tmp_path):
    from PIL import Image

    root = tmp_path / "shapes"
    for cls, value in (("dark", 30), ("light", 220)):
        (root / cls).mkdir(parents=True)
        for i in range(8):
            Image.fromarray(np.full((6, 6, 3), value + i, np.uint8)).save(root / cls / f"{i}.png")
    window.load_data(str(root))
    qtbot.waitUntil(lambda: window.session.model.data is not None, timeout=30000)
    assert not window.data_panel.columns.missing.isEnabled()
    _path, frame = people
    frame.loc[[3, 8], "f2"] = np.nan
    holes = tmp_path / "holes.csv"
    frame.drop(columns=["score", "extra"]).to_csv(holes, index=False)
    window.load_data(str(holes))
    qtbot.waitUntil(lambda: window.session.model.raw is not None and not window.session.model.jobs, timeout=30000)
    assert window.session.model.table is None  # its missing cells wait for a choice, which can be made
    assert window.data_panel.columns.missing.isEnabled()
