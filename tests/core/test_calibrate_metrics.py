import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, confusion_matrix, f1_score

from workbench.core import calibrate
from workbench.core.metrics import evaluate, reliability


def _overconfident(n=4000, k=2, seed=0):
    """Logits whose scale is 4x too large: accurate ordering, far too confident."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    true_logits = rng.normal(size=(n, k))
    true_logits[np.arange(n), y] += 1.0
    logits = 4.0 * true_logits
    return (logits[:, 1] - logits[:, 0] if k == 2 else logits), y


@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("method", ["platt", "isotonic", "temperature"])
def test_calibration_lowers_ece_on_an_overconfident_head(method, k):
    logits, y = _overconfident(k=k)
    task = "binary" if k == 2 else "multiclass"
    cal, test = slice(0, 2000), slice(2000, None)
    before = calibrate.Calibration("none", task, k).probabilities(logits[test])
    fitted = calibrate.fit(method, task, k, logits[cal], y[cal])
    after = fitted.probabilities(logits[test])
    assert np.allclose(after.sum(1), 1, atol=1e-5)
    assert reliability(after, y[test])["ece"] < 0.5 * reliability(before, y[test])["ece"]


def test_platt_and_isotonic_match_scikit_learn():
    logits, y = _overconfident()
    platt = calibrate.fit("platt", "binary", 2, logits, y).probabilities(logits)[:, 1]
    reference = LogisticRegression(C=1e4, max_iter=1000).fit(logits[:, None], y).predict_proba(logits[:, None])[:, 1]
    assert np.allclose(platt, reference, atol=1e-5)
    iso = calibrate.fit("isotonic", "binary", 2, logits, y).probabilities(logits)[:, 1]
    p = calibrate.Calibration("none", "binary", 2).probabilities(logits)[:, 1].astype(np.float64)  # as served
    reference = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(p, y).predict(p)
    assert np.allclose(iso, reference, atol=1e-5)


def test_temperature_fits_the_known_scale():
    logits, y = _overconfident(n=20000)
    t = calibrate.fit("temperature", "binary", 2, logits, y).params()["temperature"]
    assert 3.0 < t < 5.0


def test_metrics_agree_with_scikit_learn_and_hand_computed_ece():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.45, 0.55]])
    y = np.array([0, 1, 1, 1, 0])
    out = evaluate(probs, y, ["a", "b"], before=probs, n_bins=10)
    pred = probs.argmax(1)
    assert out["confusion_matrix"] == confusion_matrix(y, pred).tolist()
    assert out["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert out["brier"] == pytest.approx(brier_score_loss(y, probs[:, 1]))
    # Bins by top-label confidence: 0.9 | 0.8 | 0.7 | 0.6 and 0.55 share (0.5, 0.6].
    gaps = [abs(0.9 - 1) * 1, abs(0.8 - 0) * 1, abs(0.7 - 1) * 1, abs(0.575 - 0.5) * 2]
    assert out["ece"] == pytest.approx(sum(gaps) / 5)
    assert out["mce"] == pytest.approx(0.8)
    assert out["ece_before"] == out["ece"]
    assert out["per_class"]["b"]["support"] == 3


def test_threshold_moves_the_decision():
    probs = np.array([[0.7, 0.3], [0.6, 0.4], [0.2, 0.8]])
    y = np.array([1, 1, 1])
    assert evaluate(probs, y, ["n", "p"])["accuracy"] == pytest.approx(1 / 3)
    assert evaluate(probs, y, ["n", "p"], threshold=0.25)["accuracy"] == 1.0
