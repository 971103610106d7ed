import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, confusion_matrix, f1_score

from workbench.core.evaluate import calibrate
from workbench.core.evaluate.metrics import evaluate, reliability


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


def test_vector_scaling_recovers_a_known_scale_and_bias():
    rng = np.random.default_rng(4)
    n, k = 20000, 4
    z = rng.normal(size=(n, k)) * 2
    scale, shift = np.array([0.5, 1.0, 1.5, 0.8]), np.array([0.3, -0.2, 0.0, 0.1])
    true = np.exp(z * scale + shift)
    true /= true.sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=p) for p in true])
    fitted = calibrate.fit("platt", "multiclass", k, z, y)
    w, b = np.array(fitted.params()["weight"]), np.array(fitted.params()["bias"])
    assert np.allclose(w, np.diag(np.diag(w)))  # vector scaling: a diagonal map, K + K parameters
    assert np.allclose(np.diag(w), scale, atol=0.08)
    assert np.allclose(b - b.mean(), shift - shift.mean(), atol=0.08)  # softmax is blind to a common shift
    # the same fit unpenalised by scipy's reference optimiser gives the same probabilities
    w0, b0 = calibrate.scaling_fit(z, y, full=False, penalty=0.0)
    assert np.allclose(fitted.probabilities(z), calibrate.Calibration(
        "platt", "multiclass", k, {"weight": w0.tolist(), "bias": b0.tolist()}).probabilities(z), atol=2e-3)


def test_matrix_scaling_is_penalised_towards_the_identity_on_a_small_split():
    logits, y = _overconfident(n=60, k=10, seed=5)
    w = np.array(calibrate.fit("matrix", "multiclass", 10, logits, y).params()["weight"])
    free, _ = calibrate.scaling_fit(logits, y, full=True, penalty=0.0)
    off = ~np.eye(10, dtype=bool)
    assert np.abs(w[off]).mean() < 0.5 * np.abs(free[off]).mean()


def test_a_temperature_on_its_bound_is_reported():
    logits = np.array([-5.0, -4.0, 4.0, 5.0] * 10)
    y = np.array([0, 0, 1, 1] * 10)  # separable: the NLL falls all the way to the bound
    fitted = calibrate.fit("temperature", "binary", 2, logits, y)
    assert fitted.notes and "bound" in fitted.notes[0]
    assert not calibrate.fit("temperature", "binary", 2, *_overconfident()).notes


def test_isotonic_rows_mapped_to_zero_everywhere_become_uniform():
    cal = calibrate.Calibration("isotonic", "multiclass", 3, {"knots_x": [[0.0, 0.9, 1.0]] * 3,
                                                              "knots_y": [[0.0, 0.0, 1.0]] * 3})
    probs = cal.probabilities(np.array([[0.0, 0.1, 0.2], [10.0, 0.0, 0.0]]))
    assert np.allclose(probs[0], 1 / 3) and probs[1].argmax() == 0


def test_small_calibration_splits_and_harmful_methods_are_called_out():
    from workbench.core.evaluate.calibration_check import SMALL_SPLIT, check

    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 60)
    logits = rng.normal(size=60) * 0.1  # no signal: any fitted map only adds noise
    out = check("isotonic", "binary", 2, logits, y, fraction=0.1)
    assert out["small"] and out["n_cal"] < SMALL_SPLIT and out["suggested_fraction"] == 0.34
    assert any("60 rows" in n for n in out["notes"])
    assert out["worse"] and any("none is recommended" in n for n in out["notes"])
    logits, y = _overconfident(n=600)
    good = check("temperature", "binary", 2, logits, y, fraction=0.2)
    assert not good["small"] and not good["worse"] and not good["notes"]


def test_multiclass_auc_matches_scikit_learn_and_binary_decisions_use_p_at_least_half():
    from sklearn.metrics import roc_auc_score

    logits, y = _overconfident(n=300, k=4)
    probs = calibrate.Calibration("none", "multiclass", 4).probabilities(logits)
    out = evaluate(probs, y, list("abcd"))
    assert out["roc_auc"] == pytest.approx(roc_auc_score(y, probs, multi_class="ovr", average="macro"))
    tie = evaluate(np.array([[0.5, 0.5], [0.9, 0.1]]), np.array([1, 0]), ["n", "p"])
    assert tie["accuracy"] == 1.0 and "p(positive) >= 0.5" in tie["decision_rule"]


@pytest.mark.parametrize("n, bins", [(27, 5), (110, 10), (1000, 15)])
def test_reliability_bins_follow_the_test_size_or_equal_mass(n, bins):
    logits, y = _overconfident(n=n)
    probs = calibrate.Calibration("none", "binary", 2).probabilities(logits)
    rel = reliability(probs, y, "auto")
    assert len(rel["count"]) == bins and sum(rel["count"]) == n
    mass = reliability(probs, y, bins, "mass")
    assert max(mass["count"]) - min(mass["count"]) <= max(2, n // bins // 2)
