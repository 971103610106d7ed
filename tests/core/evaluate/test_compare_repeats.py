"""Compare's verdict accounts for training-seed noise when runs were repeated, and says when it does not."""

import numpy as np
import pytest

from workbench.core.evaluate import compare, uncertainty


def _run(name, probs, y, repeats=None):
    test = {"accuracy": float((probs.argmax(1) == y).mean()), "reliability": {"ece": 0.0, "count": [1],
                                                                            "confidence": [0.5], "accuracy": [0.5]}}
    metrics = {"test": test, "test_rows": {"y": y.tolist(), "probs": probs.tolist(), "threshold": None}}
    if repeats is not None:
        metrics["repeats"] = repeats
    return {"name": name, "metrics": metrics, "recipe": None}


def _repeats(values):
    values = np.asarray(values)
    return {"k": len(values), "seeds": list(range(len(values))), "mean": {"accuracy": float(values.mean())},
            "sd": {"accuracy": float(values.std(ddof=1))}, "min": {}, "max": {}}


@pytest.fixture
def two_runs():
    """Run b is right on 40 more of 400 test rows than run a: a clear difference in test sampling alone."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    right_a = rng.random(400) < 0.75
    right_b = right_a | (rng.random(400) < 0.4)
    probs = lambda right: np.where(np.eye(2)[np.where(right, y, 1 - y)] > 0, 0.8, 0.2)  # noqa: E731
    return probs(right_a), probs(right_b), y


def _accuracy_cell(runs):
    pair = compare.paired(runs)[0]
    return pair, pair["columns"][0]


def test_single_runs_say_the_verdict_covers_test_sampling_only(two_runs):
    a, b, y = two_runs
    pair, cell = _accuracy_cell([_run("a", a, y), _run("b", b, y)])
    assert cell["verdict"] == "better" and cell["seed"] is None
    assert pair["covers"] == cell["covers"] == "test sampling only; seed noise not measured"
    assert "seed noise not measured" in compare.format_table(compare.table([_run("a", a, y), _run("b", b, y)]))


def test_seed_spread_widens_the_verdict(two_runs):
    a, b, y = two_runs
    d = float((b.argmax(1) == y).mean() - (a.argmax(1) == y).mean())
    noisy_a, noisy_b = _repeats([0.70, 0.80, 0.62, 0.85]), _repeats([0.70 + d, 0.60 + d, 0.85 + d, 0.72 + d])
    pair, cell = _accuracy_cell([_run("a", a, y, noisy_a), _run("b", b, y, noisy_b)])
    assert cell["within_noise"]
    assert cell["verdict"] == "within noise" and cell["seed"]["both_repeated"]
    assert cell["seed"]["low"] < 0 < cell["seed"]["high"] and pair["covers"] == "test sampling and training seeds"
    # the same difference over steady seeds stays "better", now covering both
    steady_a = _repeats([0.74, 0.75, 0.76, 0.75])
    steady_b = _repeats([0.74 + d, 0.75 + d, 0.76 + d, 0.75 + d])
    _, cell = _accuracy_cell([_run("a", a, y, steady_a), _run("b", b, y, steady_b)])
    assert cell["verdict"] == "better" and cell["seed"]["low"] > 0
    # one repeated run: its seed spread is taken for both, around the first runs' difference
    _, cell = _accuracy_cell([_run("a", a, y), _run("b", b, y, noisy_b)])
    assert cell["verdict"] == "within noise" and not cell["seed"]["both_repeated"]
    assert cell["seed"]["centre"] == pytest.approx(d)


def test_seed_interval_is_welchs():
    from scipy import stats

    a, b = [0.70, 0.72, 0.71], [0.75, 0.79, 0.74, 0.78]
    got = uncertainty.seed_interval(_repeats(a), _repeats(b), "accuracy")
    reference = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert got["difference"] - got["half_width"] == pytest.approx(reference.low)
    assert got["difference"] + got["half_width"] == pytest.approx(reference.high)
