"""The histogram ordinal head: finer bins of the target nested in quantile-bin classes (data.fine_bins), a softmax
over them summed into the classes, trained on the fine bins; head.ordinal auto picks it where a probe on the fine
bins orders the validation rows at least as well as one on the classes; it exports, reopens and is refused where
the labels have no finer bins."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from workbench.core.data.fine_bins import MIN_ROWS, SUB, fine_bins
from workbench.core.errors import RecipeError
from workbench.core.train.ordinal import HistogramLayer, OrdinalLoss, choose_head, log_above, new_layer


def test_fine_bins_are_a_classs_distinct_values_or_its_quantiles_and_nest_in_the_classes():
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 10, 500).astype(float)  # two values a class, as the digits' value bins
    y = (digits // 2).astype(int)
    train = np.arange(300)
    fine = fine_bins(digits, y, train, 5)
    assert fine.sizes == [2] * 5 and fine.count == 10 and "distinct values" in fine.how
    assert np.array_equal(fine.labels, digits.astype(int))  # rising with the target, class by class
    continuous = rng.normal(size=800)
    y = np.searchsorted(np.quantile(continuous, [1 / 3, 2 / 3]), continuous)
    fine = fine_bins(continuous, y, np.arange(600), 3)
    assert fine.sizes == [SUB] * 3 and "quantile bins" in fine.how
    starts = np.concatenate([[0], np.cumsum(fine.sizes)])
    assert all(starts[k] <= f < starts[k + 1] for f, k in zip(fine.labels, y))  # nested in the classes
    assert np.all(np.diff(fine.labels[np.argsort(continuous)]) >= 0)  # ordered as the target
    counts = np.bincount(fine.labels[:600])
    assert counts.min() >= MIN_ROWS
    assert fine_bins(np.repeat([1.0, 2.0, 3.0], 50), np.repeat([0, 1, 2], 50), np.arange(150), 3) is None
    few = fine_bins(continuous[:30], y[:30], np.arange(30), 3)  # under 2 * MIN_ROWS train rows a class
    assert few is None


def test_the_layer_sums_its_fine_bins_into_the_classes_in_eval_mode_only():
    layer = HistogramLayer([2, 3, 1])
    z = torch.randn(7, 6, generator=torch.Generator().manual_seed(0))
    fine = F.log_softmax(z, 1)
    assert torch.allclose(layer.train()(z), fine)
    classes = layer.eval()(z)
    expected = torch.stack([fine[:, :2].exp().sum(1), fine[:, 2:5].exp().sum(1), fine[:, 5].exp()], 1)
    assert classes.shape == (7, 3) and torch.allclose(classes.exp(), expected, atol=1e-6)
    assert torch.all(torch.diff(log_above(classes), dim=1) <= 1e-6)  # cumulative probabilities fall with k
    with pytest.raises(RecipeError, match="quantile bins"):
        new_layer("histogram", 3, None)


def test_its_loss_is_the_fine_bins_cross_entropy_and_the_classes_at_validation_with_class_weights():
    z = torch.randn(9, 5, generator=torch.Generator().manual_seed(1))
    sizes = [2, 3]
    fine_target = torch.tensor([0, 1, 2, 3, 4, 0, 2, 4, 1])
    loss = OrdinalLoss("histogram", 2, torch.tensor([1.0, 3.0]), sizes)
    fine_weight = torch.tensor([1.0, 1.0, 3.0, 3.0, 3.0])
    logp = F.log_softmax(z, 1)
    expected = -(fine_weight[fine_target] * logp.gather(1, fine_target[:, None]).squeeze(1)).mean()
    assert torch.allclose(loss(logp, fine_target), expected)
    layer = HistogramLayer(sizes).eval()
    classes = layer(z)
    target = torch.tensor([0, 0, 1, 1, 1, 0, 1, 1, 0])
    assert torch.allclose(loss(classes, target), -(torch.tensor([1.0, 3.0])[target] * classes.gather(
        1, target[:, None]).squeeze(1)).mean())


def _clusters(rng, n=1200, values=10, dims=6):
    """Classes of two values each (as the digits' value bins), every value its own cluster in feature space placed
    without regard to the value; the regression output is the value plus much noise."""
    v = rng.integers(0, values, n)
    centres = rng.normal(scale=3.0, size=(values, dims))
    features = centres[v] + rng.normal(size=(n, dims))
    output = v + 4.0 * rng.normal(size=n)
    y = v // 2
    half = n // 2
    part = {"train": slice(0, half), "val": slice(half, n)}
    return ({s: output[p] for s, p in part.items()}, {s: features[p] for s, p in part.items()},
            {s: y[p] for s, p in part.items()}, values // 2, {s: v[p] for s, p in part.items()}, [2] * (values // 2))


def test_auto_chooses_histogram_where_a_probe_on_the_fine_bins_orders_at_least_as_well():
    out, features, y, k, fine, sizes = _clusters(np.random.default_rng(0))
    choice = choose_head(out, features, y, k, fine, sizes)
    assert choice["chosen"] == "histogram", choice
    assert choice["fine_probe_distance"] <= choice["class_probe_median_distance"] and "finer bins" in choice["rule"]
    assert choose_head(out, features, y, k)["chosen"] == "multinomial"  # no fine bins: as before


@pytest.fixture(scope="module")
def digits_bins(tmp_path_factory):
    from workbench.core.open.load import load_checkpoint
    from workbench.core.workflow import demo
    from workbench.core.workflow.pipeline import prepare_data

    ckpt, recipe = demo.build_digits(tmp_path_factory.mktemp("digits"), epochs=1)
    recipe = recipe.replace(**{"data.label_mode": "bins", "data.label": "target", "data.bins": 5,
                               "head.task": "ordinal", "head.ordinal": "histogram", "train.epochs": 3})
    loaded = load_checkpoint(ckpt, recipe.model_source)
    return ckpt, recipe, loaded, prepare_data(recipe, loaded.input_shape)


def test_a_histogram_run_trains_on_the_fine_bins_and_reports_the_classes(digits_bins, monkeypatch):
    from workbench.core.train import train as train_mod
    from workbench.core.workflow import pipeline

    _ckpt, recipe, loaded, data = digits_bins
    seen = {}
    real = train_mod.train

    def spy(model, task, n_classes, X, y, X_val, y_val, *args, **kwargs):
        seen["train"], seen["val"] = np.asarray(y), np.asarray(y_val)
        return real(model, task, n_classes, X, y, X_val, y_val, *args, **kwargs)

    monkeypatch.setattr(pipeline, "train", spy)
    run = pipeline.train_run(recipe, loaded, data)
    digit = data.table.target.astype(int)
    assert np.array_equal(seen["train"], digit[data.splits["train"]])  # the digit itself: two a class
    assert np.array_equal(seen["val"], data.labels("val"))  # validated (and early-stopped) on the classes
    p = run.probabilities("test")
    assert p.shape == (len(data.splits["test"]), 5) and np.allclose(p.sum(1), 1, atol=1e-5)
    summary = run.metrics["ordinal"]
    assert summary["head"] == "histogram" and summary["fine_bins"]["per_class"] == [2] * 5
    assert "train loss" in summary["fine_bins"]["loss"] and run.recipe.head.warm_start == "off"  # what auto chose
    assert summary["warm_start"] is None  # cold unless asked for
    assert run.metrics["test"]["accuracy"] > 0.3  # five classes of a fifth each; a one-epoch demo body


def test_a_histogram_run_exports_reopens_and_is_refused_without_fine_bins(digits_bins, tmp_path):
    from workbench.core.export.export_read import probabilities, read_metadata
    from workbench.core.workflow import journey
    from workbench.core.workflow.pipeline import train_run

    ckpt, recipe, loaded, data = digits_bins
    run, _ = journey.convert_checkpoint(ckpt, recipe.replace(**{"train.epochs": 2}), tmp_path / "out")
    X = run.data.table.X[run.data.splits["test"]]
    exported = probabilities(tmp_path / "out", read_metadata(tmp_path / "out"), X)
    assert exported.shape == (len(X), 5) and np.allclose(exported, run.probabilities("test"), atol=1e-5)
    import workbench as wb

    session = wb.open(ckpt, model_source=recipe.model_source)
    session.read_data("sklearn:digits", label="target", bins=5)
    view = session.train(task="ordinal", ordinal="histogram", epochs=1)
    session.save(tmp_path / "s.json")
    again = wb.open_session(tmp_path / "s.json")
    assert np.allclose(again.runs[0].run.probabilities("test"), view.run.probabilities("test"))
    with pytest.raises(RecipeError, match="finer bins") as refused:
        train_run(recipe.replace(**{"data.bins": 5}), loaded, _one_value_bins(data))
    assert refused.value.field == "head.ordinal" and refused.value.path is None  # the head's fault, not the file's
    assert "Ordinal head" in refused.value.window_fix and "--" not in refused.value.window_fix
    from workbench.core import recipe as rc

    with pytest.raises(RecipeError, match="label column gives") as refused:  # the default labels: a class column
        rc.Recipe().replace(**{"head.task": "ordinal", "head.ordinal": "histogram"})
    assert refused.value.field == "head.ordinal"
    from workbench.core.recipe_unused import refused_choices

    ordinal = rc.Recipe().replace(**{"head.task": "ordinal", "head.ordinal": "coral"})  # the window greys it out
    assert "quantile bins" in refused_choices(ordinal, "head.ordinal")["histogram"]
    assert "histogram" not in refused_choices(ordinal.replace(**{"data.label_mode": "bins"}), "head.ordinal")


def _one_value_bins(data):
    """The data with a target of one value a class: no finer bins inside them."""
    import dataclasses

    table = dataclasses.replace(data.table, target=data.y.astype(float))
    return dataclasses.replace(data, table=table)


def test_a_histogram_head_exports_to_a_program_and_to_onnx(tmp_path):
    pytest.importorskip("onnxruntime")
    from workbench.core.evaluate import calibrate
    from workbench.core.export.export import CalibratedClassifier, _onnx, _program

    model = torch.nn.Sequential(torch.nn.Linear(3, 7), HistogramLayer([2, 3, 2])).eval()
    X = torch.randn(200, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logp = model(X).numpy()
    cal = calibrate.fit("temperature", "ordinal", 3, logp, np.random.default_rng(0).integers(0, 3, 200))
    module = CalibratedClassifier(model, cal, False).eval()
    with torch.no_grad():
        expected = module(X[:16]).numpy()
    assert expected.shape == (16, 3)
    assert _program(module, X[:16], tmp_path)[1] == "torch.export"
    with torch.no_grad():
        got = torch.export.load(str(tmp_path / "model.pt2")).module()(X[:16]).numpy()
    assert np.allclose(got, expected, atol=1e-6)
    assert _onnx(module, X[:16], expected, tmp_path, tmp_path)["round_trip_max_abs_diff"] < 1e-4


def test_auto_says_its_pick_in_the_runs_notes_and_name_and_the_export_names_the_fine_bins(digits_bins, tmp_path):
    import json

    import workbench as wb

    ckpt, recipe, _loaded, _data = digits_bins
    session = wb.open(ckpt, model_source=recipe.model_source)
    session.read_data("sklearn:digits", label="target", bins=5)
    session.train(task="ordinal", ordinal="multinomial", epochs=1)
    view = session.train(task="ordinal", ordinal="auto", epochs=1)
    chosen = view.run.recipe.head.ordinal
    notes = " ".join(view.metrics["training"]["notes"])
    assert f"Ordinal head auto chose {chosen}" in notes and "linear probe" in notes
    assert f"ordinal auto ({chosen})" in view.name  # the head trained, not only what was asked
    histogram = session.train(task="ordinal", ordinal="histogram", epochs=1)
    assert "different scales" in " ".join(histogram.metrics["training"]["notes"])
    result = histogram.export(tmp_path / "export")
    meta = json.loads((result.folder / "metadata.json").read_text())
    assert meta["ordinal"]["head"] == "histogram" and meta["ordinal"]["fine_bins"]["per_class"] == [2] * 5
