"""Bootstrap intervals: they agree with the point metrics, cover the truth about 95% of the time, and paired
intervals say "within noise" when two runs do not differ."""

import numpy as np
import pytest
from sklearn import metrics as skm

from workbench.core.evaluate import metrics, uncertainty


def _probs(rng, n, k, signal=1.5):
    y = rng.integers(0, k, n)
    z = rng.normal(size=(n, k))
    z[np.arange(n), y] += signal
    p = np.exp(z)
    return p / p.sum(1, keepdims=True), y


@pytest.mark.parametrize("k", [2, 4])
def test_each_replicate_formula_matches_the_point_metric(k):
    rng = np.random.default_rng(0)
    probs, y = _probs(rng, 300, k)
    probs[:7] = np.round(probs[:7], 1)  # ties for the AUC
    probs /= probs.sum(1, keepdims=True)
    once = np.ones((1, len(y)))
    edges = metrics.reliability(probs, y, "auto")["edges"]
    got = uncertainty.replicates(probs, y, edges=edges, counts=once)
    pred = metrics.predict(probs)
    assert got["accuracy"][0] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["macro_f1"][0] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert got["brier"][0] == pytest.approx(metrics.brier(probs, y))
    assert got["ece"][0] == pytest.approx(metrics.reliability(probs, y, edges=edges)["ece"])
    reference = skm.roc_auc_score(y, probs[:, 1]) if k == 2 else skm.roc_auc_score(y, probs, multi_class="ovr")
    assert got["roc_auc"][0] == pytest.approx(reference)


def test_resamples_are_stratified_and_seeded():
    y = np.array([0] * 30 + [1] * 10 + [2] * 5)
    counts = uncertainty.resample_counts(y, resamples=50)
    for k, size in ((0, 30), (1, 10), (2, 5)):
        assert np.all(counts[:, y == k].sum(1) == size)
    assert np.array_equal(counts, uncertainty.resample_counts(y, resamples=50))


def test_accuracy_intervals_cover_the_true_accuracy_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    true_acc, n, trials, hits = 0.8, 200, 200, 0
    for _ in range(trials):
        y = rng.integers(0, 2, n)
        correct = rng.random(n) < true_acc
        pred = np.where(correct, y, 1 - y)
        probs = np.stack([1 - pred * 0.9 - 0.05, pred * 0.9 + 0.05], 1)
        low, high = uncertainty.intervals(probs, y, metrics=("accuracy",))["accuracy"]
        hits += low <= true_acc <= high
    assert 0.89 <= hits / trials <= 0.99, hits / trials


def test_paired_difference_of_a_run_with_itself_is_within_noise_and_a_real_gain_is_not():
    rng = np.random.default_rng(2)
    probs, y = _probs(rng, 400, 3, signal=2.0)
    same = uncertainty.paired_difference(probs, probs, y)
    assert all(v["within_noise"] and v["low"] == v["high"] == 0 for v in same.values())
    worse, _ = _probs(np.random.default_rng(2), 400, 3, signal=0.2)
    diff = uncertainty.paired_difference(worse, probs, y, ("accuracy",))["accuracy"]
    assert diff["low"] > 0 and not diff["within_noise"]


def test_evaluate_reports_intervals_that_contain_the_value_and_definitions():
    rng = np.random.default_rng(3)
    probs, y = _probs(rng, 150, 3)
    out = metrics.evaluate(probs, y, ["a", "b", "c"], before=probs)
    for name in ("accuracy", "macro_f1", "ece", "brier", "roc_auc"):
        low, high = out["ci"][name]
        assert low <= out[name] + 1e-9 and out[name] - 1e-9 <= high, name
    assert "[0, 2]" in out["brier_definition"] and "one-vs-rest" in out["roc_auc_definition"]
    assert out["calibration_change"]["ece"]["within_noise"]


def test_compare_says_better_only_when_the_paired_interval_excludes_zero():
    from workbench.core.evaluate.compare import format_table, table

    rng = np.random.default_rng(5)
    good, y = _probs(rng, 300, 3, signal=2.5)
    bad, _ = _probs(np.random.default_rng(5), 300, 3, signal=0.3)

    def run(name, probs):
        test = metrics.evaluate(probs, y, ["a", "b", "c"])
        return {"name": name, "metrics": {"test": test, "test_rows": {"y": y.tolist(), "probs": probs.tolist()}},
                "recipe": None}

    result = table([run("weak", bad), run("strong", good), run("same", bad)])
    accuracy = result["columns"].index("accuracy")
    strong, same = result["paired"]
    assert strong["columns"][accuracy]["verdict"] == "better"
    assert same["columns"][accuracy]["verdict"] == "within noise"
    row = result["rows"][0]  # unordered classes: no class-distance or kappa column, so no interval there either
    assert all(ci for ci, value in zip(row["intervals"], row["values"]) if value is not None)
    text = format_table(result)
    assert "strong - weak: accuracy" in text and "95% CI" in text
    del result  # a run without its test rows gets no paired interval, and says so
    plain = run("plain", good)
    del plain["metrics"]["test_rows"]
    assert table([run("weak", bad), plain])["paired"][0]["columns"] is None


def test_runs_on_the_same_rows_with_their_classes_reordered_are_paired_by_class_name():
    from workbench.core.evaluate.compare import table

    rng = np.random.default_rng(6)
    probs, y = _probs(rng, 240, 3, signal=1.0)
    names = ["low", "medium", "high"]
    order = [2, 0, 1]  # the second run's classes: high, low, medium
    to_b = np.argsort(order)  # a code in the first run's order -> the second run's code

    def run(name, classes, p, codes):
        test = metrics.evaluate(p, codes, classes)
        return {"name": name, "recipe": None,
                "metrics": {"classes": classes, "test": test, "test_rows": {"y": codes.tolist(), "probs": p.tolist()}}}

    first = run("first", names, probs, y)
    again = run("reordered", [names[i] for i in order], probs[:, order], to_b[y])
    result = table([first, again])
    assert result["paired"][0]["columns"] is not None  # the same rows: paired, not "not the same test rows"
    assert result["same_classes"] and any(result["best"])  # the same classes in another order are ranked
    diff = uncertainty.compare_runs(first["metrics"], again["metrics"])
    assert all(v["low"] == v["high"] == 0 for v in diff.values()), diff  # the same decisions, the same scores
    other = run("other rows", names, probs, np.roll(y, 1))
    assert uncertainty.compare_runs(first["metrics"], other["metrics"]) is None
