"""Image folders: both layouts (root/<class> and root/{train,val,valid,test}/<class>), resize policies,
normalisation as the model expects, augmentation, streaming from disk past a memory limit, and the export's
input statement that `workbench evaluate` checks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from workbench.core.data.data import load_table
from workbench.core.data.image_norm import IMAGENET_MEAN, resolve_augment, resolve_normalize
from workbench.core.data.image_stream import ImageBatches
from workbench.core.errors import DataError
from workbench.core.open.load import LoadedModel
from workbench.core.recipe import Recipe
from workbench.core.workflow.pipeline import export_run, prepare_data, prepare_images, train_run


def image(path, size=(12, 10), value=128, mode="RGB", seed=0):
    """A small image whose brightness is `value` plus noise (class signal in the brightness)."""
    rng = np.random.default_rng(seed)
    w, h = size
    channels = 3 if mode == "RGB" else 1
    arr = np.clip(value + rng.normal(0, 8, (h, w, channels)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr if channels == 3 else arr[..., 0], mode).save(path)


def folder(root, counts, mode="RGB", sizes=((12, 10), (16, 16), (9, 14))):
    """root/<split>/<class>/ (or root/<class>/ when split is '') with `counts[(split, class)]` images each."""
    for (split, cls), n in counts.items():
        for i in range(n):
            value = {"dark": 50, "light": 200, "mid": 125}[cls]
            image(root / split / cls / f"{i:03d}.png", sizes[i % len(sizes)], value, mode, seed=i)
    return root


class TinyCNN(nn.Module):
    def __init__(self, channels=3):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(channels, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                      nn.Flatten())
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        return self.head(self.features(x))


def loaded(model, tmp_path, shape=(3, 8, 8)):
    path = tmp_path / "model.pt"
    path.write_bytes(b"stand-in")
    return LoadedModel(model, path, "0" * 64, "full", [], shape)


def test_class_folders_grey_and_rgb_of_several_sizes(tmp_path):
    rgb = folder(tmp_path / "rgb", {("", "dark"): 4, ("", "light"): 4})
    table = load_table(str(rgb), input_shape=(3, 8, 8))
    assert table.X.shape == (8, 3, 8, 8) and table.X.dtype == np.float32 and table.given_splits is None
    assert table.target_names == ["dark", "light"] and table.X.in_memory
    X = np.asarray(table.X)
    assert 0 <= X.min() and X.max() <= 1 and X[4:].mean() > X[:4].mean() + 0.4
    grey = folder(tmp_path / "grey", {("", "dark"): 3, ("", "light"): 3}, mode="L")
    first = load_table(str(grey))  # no model shape: the first image's channels and size
    assert first.X.shape == (6, 1, 10, 12)
    assert load_table(str(grey), input_shape=(3, 6, 6)).X.shape == (6, 3, 6, 6)


def _float_tiffs(root, high):
    """Float32 TIFFs (Pillow's mode F) in root/<class>/, pixels from 0 to `high`: dark and light halves."""
    for k, cls in enumerate(("dark", "light")):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            pixels = np.full((6, 6), (0.2 + 0.6 * k) * high, dtype=np.float32)
            pixels[0, 0], pixels[-1, -1] = 0.0, high  # the whole range in every image
            Image.fromarray(pixels).save(root / cls / f"{i}.tif")
    return root


def test_float_tiffs_in_0_to_1_keep_their_values_and_other_ranges_are_refused_by_name(tmp_path):
    unit = load_table(str(_float_tiffs(tmp_path / "unit", 1.0)), input_shape=(1, 6, 6))
    X = np.asarray(unit.X)
    assert X.shape == (6, 1, 6, 6)
    np.testing.assert_allclose(X[:3, 0, 2, 2], 0.2, atol=1e-4)  # kept, at 16 bits: not turned white
    np.testing.assert_allclose(X[3:, 0, 2, 2], 0.8, atol=1e-4)
    assert X[:, 0, 0, 0].max() == 0.0 and X[:, 0, -1, -1].min() == 1.0
    with pytest.raises(DataError) as refused:
        load_table(str(_float_tiffs(tmp_path / "bytes", 255.0)), input_shape=(1, 6, 6))
    assert refused.value.path.endswith(".tif") and "floating-point pixels from 0 to 255" in str(refused.value)
    assert "[0, 1]" in refused.value.fix


def test_crop_keeps_the_centre_without_stretching(tmp_path):
    arr = np.zeros((20, 40), np.uint8)
    arr[:, 10:30] = 255  # a white centre square between black side bands
    for cls in ("a", "b"):
        (tmp_path / "f" / cls).mkdir(parents=True)
        Image.fromarray(arr).save(tmp_path / "f" / cls / "0.png")
    stretched = load_table(str(tmp_path / "f"), input_shape=(1, 8, 8), resize="resize").X[0, 0]
    cropped = load_table(str(tmp_path / "f"), input_shape=(1, 8, 8), resize="crop").X[0, 0]
    assert stretched[:, 0].max() < 0.1  # the black band squeezed in
    assert cropped.min() > 0.9  # only the white centre, at its own aspect


@pytest.mark.parametrize("val_name", ["val", "valid"])
def test_pre_split_folder_is_used_as_given(tmp_path, val_name):
    counts = {(s, c): n for s, n in (("train", 12), (val_name, 6), ("test", 5)) for c in ("dark", "light")}
    root = folder(tmp_path / "split", counts)
    table = load_table(str(root), input_shape=(3, 8, 8))  # was refused: "the class folder 'train' is empty"
    assert table.target_names == ["dark", "light"]
    assert {k: len(v) for k, v in table.given_splits.items()} == {"train": 24, "val": 12, "test": 10}
    assert table.split_folders["val"] == val_name and any("Splits from the folder's" in n for n in table.notes)
    data = prepare_data(Recipe().replace(**{"data.path": str(root), "head.task": "binary"}), (3, 8, 8))
    given = table.given_splits
    assert np.array_equal(data.splits["train"], given["train"]) and np.array_equal(data.splits["test"], given["test"])
    # the calibration split is carved from val/, stratified, in the recipe's val:cal proportion (0.15:0.1)
    assert set(data.splits["val"]) | set(data.splits["cal"]) == set(given["val"].tolist())
    assert len(data.splits["cal"]) == 4 and sorted(data.y[data.splits["cal"]].tolist()) == [0, 0, 1, 1]


def test_pre_split_without_val_carves_it_from_train(tmp_path):
    root = folder(tmp_path / "split", {(s, c): n for s, n in (("train", 20), ("test", 4)) for c in ("dark", "light")})
    data = prepare_data(Recipe().replace(**{"data.path": str(root)}), (3, 8, 8))
    assert len(data.splits["test"]) == 8
    carved = np.concatenate([data.splits[s] for s in ("train", "val", "cal")])
    assert sorted(carved.tolist()) == list(range(40)) and len(data.splits["val"]) and len(data.splits["cal"])


def test_pre_split_folder_problems_are_named(tmp_path):
    root = folder(tmp_path / "mixed", {("train", "dark"): 2, ("train", "light"): 2, ("", "mid"): 2})
    with pytest.raises(DataError, match="mixes split folders"):
        load_table(str(root), input_shape=(3, 8, 8))
    root = folder(tmp_path / "extra", {("train", "dark"): 2, ("train", "light"): 2, ("test", "mid"): 2})
    with pytest.raises(DataError, match="mid that train/ lacks"):
        load_table(str(root), input_shape=(3, 8, 8))


def test_normalize_auto_picks_imagenet_for_torchvision_and_none_for_a_custom_cnn():
    torchvision = pytest.importorskip("torchvision")
    resnet = torchvision.models.resnet18(weights=None)
    assert resolve_normalize("auto", resnet) == "imagenet"
    assert resolve_normalize("auto", nn.Sequential(resnet)) == "imagenet"  # wrapped
    assert resolve_normalize("auto", TinyCNN()) == "none"
    assert resolve_normalize("imagenet", TinyCNN()) == "imagenet" and resolve_normalize("none", resnet) == "none"


def test_normalisation_reaches_the_batches(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    root = folder(tmp_path / "f", {("", "dark"): 4, ("", "light"): 4})
    data = prepare_data(Recipe().replace(**{"data.path": str(root)}), (3, 8, 8))
    plain = data.inputs("train")[:].numpy()
    prepare_images(data, Recipe(), torchvision.models.resnet18(weights=None))
    assert data.normalize == "imagenet"
    normed = data.inputs("train")[:].numpy()
    assert np.allclose(normed, (plain - np.array(IMAGENET_MEAN).reshape(3, 1, 1)) / data.image_norm[1], atol=1e-5)
    custom = Recipe().replace(**{"data.normalize": "custom", "data.norm_mean": (0.5,), "data.norm_std": (0.5,)})
    prepare_images(data, custom, TinyCNN())
    assert np.allclose(data.inputs("train")[:].numpy(), plain * 2 - 1, atol=1e-5)


def test_augment_auto_follows_whether_the_body_trains(tmp_path):
    from workbench.core.train.frozen_body import body_trains

    model = TinyCNN()
    assert resolve_augment("auto", body_trains(model, "head")) == "on"
    for p in model.features.parameters():
        p.requires_grad_(False)
    assert resolve_augment("auto", body_trains(model, "head")) == "off"
    assert resolve_augment("on", body_trains(model, "head")) == "on"
    root = folder(tmp_path / "f", {("", "dark"): 4, ("", "light"): 4}, sizes=((16, 16),))
    samples = load_table(str(root), input_shape=(3, 16, 16)).X
    rows = np.arange(8)
    plain = torch.cat(list(ImageBatches(samples, rows).batches(torch.arange(8), 4)))
    torch.manual_seed(1)
    augmented = torch.cat(list(ImageBatches(samples, rows, augment=True).batches(torch.arange(8), 4)))
    assert augmented.shape == plain.shape and not torch.allclose(augmented, plain)
    evaluation = torch.cat(list(ImageBatches(samples, rows, augment=True).batches(None, 4)))
    assert torch.equal(evaluation, plain)  # evaluation passes are never augmented


def test_a_folder_larger_than_memory_streams_from_disk_and_trains(tmp_path, monkeypatch):
    import workbench.core.data.images as images

    root = folder(tmp_path / "big", {("", "dark"): 30, ("", "light"): 30})
    in_memory = load_table(str(root), input_shape=(3, 8, 8)).X
    monkeypatch.setattr(images, "available_memory", lambda: 10_000)  # 60 x 3 x 8 x 8 bytes = 11.5 kB > half
    table = load_table(str(root), input_shape=(3, 8, 8))
    assert not table.X.in_memory and any("streamed from disk" in n for n in table.notes)
    assert np.array_equal(np.asarray(table.X), np.asarray(in_memory))
    streamed = ImageBatches(table.X, np.arange(60), workers=1)
    order = torch.randperm(60)
    got = torch.cat(list(streamed.batches(order, 16)))
    assert torch.equal(got, torch.as_tensor(np.asarray(in_memory))[order])  # decoded in workers, in order
    recipe = Recipe().replace(**{"data.path": str(root), "train.epochs": 2, "train.lr": 0.01,
                                 "train.schedule": "none", "calibration": "none", "data.augment": "on"})
    run = train_run(recipe, loaded(TinyCNN(), tmp_path), prepare_data(recipe, (3, 8, 8)))
    assert len(run.training.history) == 2 and run.logits["test"].shape == (len(run.data.splits["test"]),)
    assert run.recipe.data.augment == "on" and run.recipe.data.normalize == "none"


def test_export_states_its_input_and_evaluate_refuses_0_to_255(tmp_path):
    root = folder(tmp_path / "f", {(s, c): n for s, n in (("train", 16), ("val", 6), ("test", 6))
                                   for c in ("dark", "light")})
    recipe = Recipe().replace(**{"data.path": str(root), "train.epochs": 3, "train.lr": 0.01,
                                 "train.schedule": "none", "data.normalize": "imagenet"})
    run = train_run(recipe, loaded(TinyCNN(), tmp_path), prepare_data(recipe, (3, 8, 8)))
    assert run.recipe.data.augment == "on"  # auto: the whole model trains
    export_run(run, tmp_path / "export")
    meta = json.loads((tmp_path / "export" / "metadata.json").read_text())
    spec = meta["input_spec"]
    assert spec["range"] == [0.0, 1.0] and spec["layout"] == "NCHW" and spec["channel_order"] == "RGB"
    assert spec["size"] == [8, 8] and spec["dtype"] == "float32" and spec["normalization"] == "imagenet"
    assert spec["normalization_inside_program"] and "in [0, 1]" in meta["input"] and "raw" not in meta["input"]
    # the program takes 0..1 pixels and normalises them itself
    program = torch.export.load(tmp_path / "export" / "model.pt2").module()
    X = np.asarray(run.data.table.X[run.data.splits["test"]])
    with torch.no_grad():
        assert np.abs(program(torch.as_tensor(X)).numpy() - run.probabilities("test")).max() < 1e-5

    def evaluate(data):
        return subprocess.run([sys.executable, "-m", "workbench.cli", "evaluate", str(tmp_path / "export"), "--data",
                               str(data), "--json"], capture_output=True, text=True, timeout=300)

    done = evaluate(root)  # the folder itself: its test/ split
    assert done.returncode == 0, done.stderr
    assert "test/ split: 12 images" in done.stderr
    assert json.loads(done.stdout)["accuracy"] == pytest.approx(run.metrics["test"]["accuracy"], abs=1e-6)
    y = np.array(run.data.classes)[run.data.labels("test")]  # labelled by class name, as the folder is
    np.savez(tmp_path / "pixels255.npz", X=X * 255, y=y)
    done = evaluate(tmp_path / "pixels255.npz")
    assert done.returncode == 2 and "the values reach 2" in done.stderr and "Divide 8-bit pixels by 255" in done.stderr
    np.savez(tmp_path / "normed.npz", X=(X - 0.45) / 0.22, y=y)
    done = evaluate(tmp_path / "normed.npz")
    assert done.returncode == 2 and "normalised already" in done.stderr
    np.savez(tmp_path / "ok.npz", X=X, y=y)
    assert evaluate(tmp_path / "ok.npz").returncode == 0


def test_digits_export_states_pixels_and_tables_state_raw_features(table_csv):
    from workbench.core.workflow.pipeline import input_description

    digits = prepare_data(Recipe().replace(**{"data.path": "sklearn:digits", "head.task": "multiclass",
                                              "train.loss": "auto"}))
    spec = input_description(digits, Recipe(), None)["input_spec"]
    assert spec["range"] == [0.0, 1.0] and spec["shape"] == ["N", 1, 8, 8] and spec["channel_order"] == "grey"
    table = prepare_data(Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold"}))
    described = input_description(table, Recipe(), None)
    assert described["input_spec"]["range"] is None and described["input"].startswith("raw features")


def test_recipe_fields_for_images_and_old_recipes_keep_their_behaviour():
    from workbench.core.errors import RecipeError
    from workbench.core.recipe import from_dict

    assert Recipe().data.normalize == "auto" and Recipe().data.augment == "auto"
    old = from_dict({"version": 3, "data": {"path": "imgs"}})
    assert old.data.normalize == "none" and old.data.augment == "off"  # version 3 fed 0..1 pixels, unaugmented
    with pytest.raises(RecipeError, match="data.normalize custom needs a mean and a std"):
        Recipe().replace(**{"data.normalize": "custom", "data.norm_mean": (0.5, 0.5)})
    with pytest.raises(RecipeError, match="data.augment"):
        Recipe().replace(**{"data.augment": "sometimes"})


@pytest.mark.parametrize("in_memory", [True, False])
def test_a_rank_reads_only_its_share_of_each_batch(tmp_path, in_memory, monkeypatch):
    """Under torchrun a rank asks for batches of its own sizes (its share of every global batch) and gets
    exactly those rows, streamed from disk or from kept pixels."""
    from workbench.core.train.distributed import share

    if not in_memory:
        monkeypatch.setattr("workbench.core.data.images.available_memory", lambda: 1)
    root = folder(tmp_path / "f", {("", "dark"): 6, ("", "light"): 5})
    table = load_table(str(root), (3, 8, 8))
    assert table.X.in_memory is in_memory
    batches = ImageBatches(table.X, np.arange(11), workers=0)
    order = torch.randperm(11, generator=torch.Generator().manual_seed(0))
    n, bs = 11, 4
    for rank in (0, 1):
        mine = [share(s * bs, min((s + 1) * bs, n), rank, 2)[:2] for s in range(3)]
        got = list(batches.batches(torch.cat([order[a:b] for a, b in mine]), bs, [b - a for a, b in mine]))
        assert [len(x) for x in got] == [b - a for a, b in mine]
        for x, (a, b) in zip(got, mine):
            assert torch.allclose(x, batches[order[a:b]])
