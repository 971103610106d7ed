import numpy as np
import pytest
from PIL import Image

from workbench.core.data.data import load_table, make_labels, split_indices
from workbench.core.errors import DataError
from workbench.core.recipe import Recipe
from workbench.core.workflow.pipeline import prepare_data


def test_csv_columns_and_string_labels(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,kind\n1,2,cat\n3,4,dog\n5,6,cat\n")
    table = load_table(str(path), "kind", ("b",))
    assert table.X.tolist() == [[2], [4], [6]] and table.feature_names == ["b"]
    y, classes, _ = make_labels(table, "column", "binary")
    assert classes == ["cat", "dog"] and y.tolist() == [0, 1, 0]


def test_threshold_and_quantile_bins():
    from workbench.core.data.data import Table

    table = Table(np.zeros((9, 1), np.float32), np.arange(9, dtype=float), ["x"], "mem")
    y, classes, info = make_labels(table, "threshold", "binary")
    assert info["threshold"] == 4 and y.tolist() == [0] * 5 + [1] * 4 and classes == ["<= 4", "> 4"]
    y, classes, _ = make_labels(table, "bins", "multiclass", bins=3)
    assert np.bincount(y).tolist() == [3, 3, 3] and len(classes) == 3


def test_npz_and_no_pickles(tmp_path):
    good = tmp_path / "d.npz"
    np.savez(good, X=np.ones((4, 3)), y=np.array([0, 1, 0, 1]))
    assert load_table(str(good)).X.shape == (4, 3)
    bad = tmp_path / "objects.npz"
    np.savez(bad, X=np.array([{"a": 1}] * 4, dtype=object), y=np.zeros(4))
    with pytest.raises(DataError, match="Python objects"):
        load_table(str(bad))


def test_image_folder_resized_to_model_input(tmp_path):
    for cls, value in (("dark", 20), ("light", 230)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((12 + i, 10, 3), value, np.uint8)).save(tmp_path / "imgs" / cls / f"{i}.png")
    table = load_table(str(tmp_path / "imgs"), input_shape=(1, 8, 8))
    assert table.X.shape == (6, 1, 8, 8) and table.target_names == ["dark", "light"]
    y, classes, _ = make_labels(table, "column", "binary")
    assert classes == ["dark", "light"] and table.X[y == 1].mean() > 0.8


def test_stratified_seeded_splits():
    y = np.array([0] * 60 + [1] * 40)
    a = split_indices(y, (0.6, 0.15, 0.1, 0.15), seed=3)
    b = split_indices(y, (0.6, 0.15, 0.1, 0.15), seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert sorted(np.concatenate(list(a.values())).tolist()) == list(range(100))
    assert [len(a[k]) for k in ("train", "val", "cal", "test")] == [60, 15, 10, 15]
    assert abs(y[a["test"]].mean() - 0.4) < 0.07  # stratified
    assert not np.array_equal(split_indices(y, (0.6, 0.15, 0.1, 0.15), seed=4)["test"], a["test"])


def test_standardisation_is_fitted_on_train_only(table_csv):
    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold",
                                 "data.standardize": True})
    data = prepare_data(recipe)
    train = data.table.X[data.splits["train"]]
    assert np.allclose(data.mean, train.mean(0), atol=1e-5)
    assert np.allclose(data.inputs("train").mean(0), 0, atol=1e-5)
    assert not np.allclose(data.inputs("test").mean(0), 0, atol=1e-5)


def test_feature_count_must_match_model(table_csv):
    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold"})
    with pytest.raises(DataError, match=r"model takes 10 inputs but 4 feature"):
        prepare_data(recipe, (10,))


def test_mixed_image_sizes_and_modes_are_resized_and_converted(tmp_path):
    modes = [("L", (9, 7)), ("RGB", (20, 16)), ("RGBA", (8, 8)), ("P", (13, 30))]
    for cls in ("x", "y"):
        (tmp_path / "mixed" / cls).mkdir(parents=True)
        for i, (mode, size) in enumerate(modes):
            Image.new(mode, size, 128 if mode != "RGB" else (10, 200, 30)).save(tmp_path / "mixed" / cls / f"{i}.png")
    table = load_table(str(tmp_path / "mixed"), input_shape=(3, 8, 8))
    assert table.X.shape == (8, 3, 8, 8) and table.X.dtype == np.float32
    grey = load_table(str(tmp_path / "mixed"), input_shape=(1, 8, 8))
    assert grey.X.shape == (8, 1, 8, 8)


@pytest.mark.parametrize("side", [6, 128])  # small images decode serially, large ones in threads
def test_image_decoding_keeps_folder_order_and_names_the_first_broken_file(tmp_path, side):
    root = tmp_path / "imgs"
    for cls, base in (("a", 0), ("b", 100)):
        (root / cls).mkdir(parents=True)
        for i in range(40):
            Image.fromarray(np.full((side, side), base + i, np.uint8)).save(root / cls / f"{i:02d}.png")
    table = load_table(str(root))
    assert table.X.shape == (80, 1, side, side)
    expected = [(base + i) / 255.0 for base in (0, 100) for i in range(40)]
    assert table.X[:, 0, 0, 0] == pytest.approx(expected, abs=1e-6)
    assert table.target.tolist() == [0.0] * 40 + [1.0] * 40
    for name in ("30.png", "05.png"):
        (root / "b" / name).write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot be decoded") as err:
        load_table(str(root))
    assert err.value.path.endswith("05.png")


def test_image_folder_too_large_for_memory_streams_with_numbers(tmp_path, monkeypatch):
    import workbench.core.data.images as images

    root = tmp_path / "imgs"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / cls / f"{i}.png")
    monkeypatch.setattr(images, "available_memory", lambda: 10_000)  # 6 x 32 x 32 bytes = 6.1 kB > half of it
    table = load_table(str(root))
    assert not table.X.in_memory and table.X.shape == (6, 1, 32, 32)
    assert "would take 0.0 MB of memory and 0.0 MB is free: they are streamed from disk" in table.notes[0]
    monkeypatch.setattr(images, "available_memory", lambda: None)  # unknown: trust the machine
    assert load_table(str(root)).X.in_memory
