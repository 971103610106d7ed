"""The learning-rate range test, the automatic budget, and the "auto" fields they hang on."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from workbench.core import recipe as rc
from workbench.core.recipe import TrainRecipe
from workbench.core.train import lr_finder
from workbench.core.train.train import MAX_EPOCHS, MIN_EPOCHS, TARGET_STEPS, auto_epochs, train


def _quadratic(scale: float, seed: int = 0):
    """Least squares with features of size `scale`: plain SGD is stable below 2 / lambda_max, where
    lambda_max = 2 * scale^2 * (largest eigenvalue of the unit features' covariance)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(512, 8, generator=g) * scale
    y = X @ torch.randn(8, generator=g)
    lam_max = float(torch.linalg.eigvalsh(2 * X.T @ X / len(X)).max())
    return X, y, lam_max


def _range_test(X, y, model):
    def batches(i):
        j = (i * 64) % (len(X) - 64)
        return X[j:j + 64], y[j:j + 64]

    return lr_finder.range_test(model, nn.functional.mse_loss,
                                lambda lr: torch.optim.SGD(model.parameters(), lr=lr), batches,
                                lambda m, x: m(x).squeeze(1))


@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_the_pick_lies_below_the_stable_rate_and_follows_the_curvature(scale):
    X, y, lam_max = _quadratic(scale)
    torch.manual_seed(0)
    model = nn.Linear(8, 1, bias=False)
    found = _range_test(X, y, model)
    stable = 2 / lam_max
    assert stable / 100 <= found.pick <= stable, (found.pick, stable)
    assert found.pick_index >= 0 and found.note == ""


def test_the_models_weights_are_restored_after_the_test():
    X, y, _ = _quadratic(1.0)
    model = nn.Sequential(nn.Linear(8, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _range_test(X, y, model)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_a_flat_curve_falls_back_and_says_so():
    index, note = lr_finder.suggest(list(np.logspace(-6, 0, 50)), [1.0] * 50)
    assert index == -1 and "hardly fell" in note


def test_auto_training_records_its_choices():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(1000, 4, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).float()
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    result = train(model, "binary", 2, X, y, X[:100], y[:100], TrainRecipe(device="cpu", epochs=20), seed=0)
    assert result.epochs == 20
    assert result.lr_finder and result.lr == result.lr_finder["pick"] and 1e-5 <= result.lr <= 0.3
    assert result.history[-1]["val_accuracy"] > 0.95


def test_the_budget_gives_small_data_enough_steps():
    assert auto_epochs(5) * 5 >= min(TARGET_STEPS, MAX_EPOCHS * 5)  # 300 rows at batch 64 no longer stop at 150
    assert auto_epochs(1) == MAX_EPOCHS and auto_epochs(10_000) == MIN_EPOCHS
    assert TARGET_STEPS <= auto_epochs(7) * 7 < TARGET_STEPS + 7


def test_lr_and_epochs_take_auto_or_a_number_everywhere(capsys):
    from workbench import cli

    assert rc.Recipe().train.lr == "auto" and rc.Recipe().train.epochs == "auto"
    for text, value in (("auto", "auto"), ("AUTO", "auto"), ("0.01", 0.01)):
        args = cli.build_parser().parse_args(["convert", "m.pt", "--data", "d.csv", "--out", "o", "--lr", text])
        assert cli._recipe_from_args(args).train.lr == value
    for bad in (["--lr", "fast"], ["--lr", "0"], ["--epochs", "many"], ["--epochs", "2.5"]):
        assert cli.main(["convert", "m.pt", "--data", "d.csv", "--out", "o", *bad]) == 2, bad
        err = capsys.readouterr().err
        assert bad[0] in err and "Traceback" not in err
    with pytest.raises(rc.RecipeError, match="train.lr"):
        rc.Recipe().replace(**{"train.lr": "fast"})
    with pytest.raises(rc.RecipeError, match="train.lr"):
        rc.Recipe().replace(**{"train.lr": 20.0})


def test_an_old_recipe_keeps_its_old_defaults(tmp_path):
    path = tmp_path / "v2.json"
    path.write_text(json.dumps({"version": 2, "train": {"batch_size": 16}}))
    train_part = rc.load(path).train
    assert (train_part.lr, train_part.epochs, train_part.schedule, train_part.patience) == (1e-3, 30, "none", 5)
    path.write_text(json.dumps({"version": 2, "train": {"lr": 0.05}}))
    assert rc.load(path).train.lr == 0.05
    path.write_text(json.dumps({"version": 3, "train": {"lr": "auto"}}))
    assert rc.load(path).train.lr == "auto"
    saved = tmp_path / "saved.json"
    rc.Recipe().save(saved)
    assert rc.load(saved) == rc.Recipe()


def test_the_runs_recipe_with_the_picked_rate_reproduces_the_model():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(200, 4, generator=g)
    y = (X[:, 0] - X[:, 2] > 0).float()
    models = []
    for lr in ("auto", None):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Dropout(0.2), nn.Linear(4, 1))
        recipe = TrainRecipe(device="cpu", epochs=4, lr=lr if lr else models[0][1])
        result = train(model, "binary", 2, X, y, X[:40], y[:40], recipe, seed=3)
        models.append((model, result.lr))
    assert all(torch.equal(a, b) for a, b in zip(models[0][0].state_dict().values(),
                                                 models[1][0].state_dict().values()))


def test_stop_during_the_range_test_stops_it():
    X, y, _ = _quadratic(1.0)
    model = nn.Linear(8, 1, bias=False)
    calls = []
    found = lr_finder.range_test(model, nn.functional.mse_loss, lambda lr: torch.optim.SGD(model.parameters(), lr=lr),
                                 lambda i: (X[:64], y[:64]), lambda m, x: m(x).squeeze(1),
                                 should_stop=lambda: calls.append(1) or len(calls) > 5)
    assert len(found.lrs) == 5
    assert found.pick_index == -1 and "stopped after 5 steps" in found.note  # not "diverged"


def test_one_cycle_trains_at_a_multiple_of_the_valley_but_not_past_the_lowest_loss():
    lrs = list(np.logspace(-6, 1, 100))
    falling = list(np.linspace(1.0, 0.2, 70)) + list(np.linspace(0.2, 3.0, 30))  # lowest loss at index 69
    found = lr_finder.FinderResult(lrs, falling)
    found.pick_index, _ = lr_finder.suggest(lrs, falling)
    found.pick = lrs[found.pick_index]
    valley = found.pick
    found.for_one_cycle()
    assert found.valley == valley and found.pick_index > 0
    assert found.pick == lrs[found.pick_index] and 2.5 < found.pick / valley < 3.5
    steep = lr_finder.FinderResult(lrs, falling, pick=lrs[68], pick_index=68)
    steep.for_one_cycle()
    assert steep.pick_index == 69  # three times the rate would be past the lowest loss
    flat = lr_finder.FinderResult(lrs, [1.0] * 100)
    flat.for_one_cycle()
    assert flat.pick == lr_finder.FALLBACK_LR and flat.valley is None


def test_a_head_on_frozen_features_records_the_valley_under_one_cycle_only():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(1000, 4, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).float()
    torch.manual_seed(0)
    def fit(epochs: int, head_only: bool = True):
        return train(nn.Linear(4, 1), "binary", 2, X, y, X[:100], y[:100], TrainRecipe(device="cpu", epochs=epochs),
                     seed=0, head_only=head_only)

    long = fit(8)
    assert long.schedule == "onecycle" and long.lr_finder["valley"] and long.lr == long.lr_finder["pick"]
    assert long.lr > long.lr_finder["valley"]
    assert fit(8, head_only=False).lr_finder["valley"] is None  # a body being fine-tuned keeps the valley
    short = fit(1)
    assert short.schedule == "none" and short.lr_finder["valley"] is None  # a constant rate trains at the valley


def _fastai_valley(lrs, losses, num_it):
    """fastai's suggestion, as its published code computes it (fastai/callback/schedule.py): `lr_find` passes
    recorder.lrs[num_it//10:-5] and the same losses to `valley`, which takes the point 2/3 of the way down the
    longest run of decreasing losses (its max_start/max_end bookkeeping kept exactly)."""
    lrs, losses = lrs[num_it // 10:-5], losses[num_it // 10:-5]
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[idx])


def _curves():
    """Range-test shaped curves: a plateau, a fall, a climb, noise; some stop early as a diverging test does."""
    rng = np.random.default_rng(0)
    lrs = list(np.geomspace(lr_finder.START_LR, lr_finder.END_LR, lr_finder.STEPS))
    for k in range(40):
        x = np.linspace(0, 1, lr_finder.STEPS)
        centre, width = rng.uniform(0.3, 0.8), rng.uniform(0.05, 0.3)
        loss = 1 - 0.8 / (1 + np.exp(-(x - centre) / (width / 4))) + 3 * np.maximum(x - centre - width, 0) ** 2
        loss = loss + rng.normal(0, 0.01, len(x))
        length = lr_finder.STEPS if k % 3 else int(rng.integers(40, lr_finder.STEPS))
        yield lrs[:length], list(loss[:length])


def test_the_valley_is_fastais_on_the_same_curve_with_its_trimming():
    trimming_mattered = 0
    for lrs, losses in _curves():
        index, note = lr_finder.suggest(lrs, losses)
        assert not note and lrs[index] == _fastai_valley(lrs, losses, lr_finder.STEPS)
        trimming_mattered += index != lr_finder.valley(losses)
    assert trimming_mattered >= 10  # the untrimmed search picks elsewhere on many of these curves


def test_a_real_range_test_picks_fastais_valley():
    torch.manual_seed(0)
    X = torch.randn(256, 4)
    y = (X[:, 0] > 0).float()
    model = torch.nn.Linear(4, 1)
    def batch(i):
        rows = slice((i * 32) % 256, (i * 32) % 256 + 32)
        return X[rows], y[rows]

    found = lr_finder.range_test(model, torch.nn.functional.binary_cross_entropy_with_logits,
                                 lambda lr: torch.optim.SGD(model.parameters(), lr=lr), batch,
                                 lambda m, x: m(x).squeeze(1))
    expected = _fastai_valley(found.lrs, found.losses, lr_finder.STEPS)
    assert found.pick == float(np.clip(expected, 1e-5, lr_finder.MAX_PICK))
