"""An ordinal run's conformal sets are ranges of classes: ordinal APS (Lu et al. 2022) equals a brute-force,
row-by-row split conformal reference, LAC and per-class sets are filled to ranges, coverage holds by simulation,
and the export's metadata forms the same sets."""

import math

import numpy as np
import pytest

from workbench.core.decide import conformal as cf
from workbench.core.decide.exported import export_sets


def unimodal_task(rng, n, k):
    """Probabilities peaked around a latent position, labels drawn from them (so they are calibrated)."""
    centre = rng.uniform(0, k - 1, n)
    width = rng.uniform(0.4, 1.5, n)
    logits = -((np.arange(k)[None, :] - centre[:, None]) ** 2) / width[:, None]
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=p) for p in probs])
    return probs, y


def grown_ranges(p):
    """Brute force: the ranges grown from the mode, one neighbour at a time (the more probable; the lower on a tie),
    with the mass of each: [(low, high, mass), ...]."""
    low = high = int(np.argmax(p))
    out = [(low, high, p[low])]
    while low > 0 or high < len(p) - 1:
        left = p[low - 1] if low > 0 else -1.0
        right = p[high + 1] if high < len(p) - 1 else -1.0
        if left >= right:
            low -= 1
        else:
            high += 1
        out.append((low, high, out[-1][2] + (left if left >= right else right)))
    return out


def reference_sets(cal_probs, y_cal, test_probs, alpha):
    """Split conformal by hand: the score of a labelled row is the mass of the first grown range holding its label;
    the threshold the ceil((n + 1)(1 - alpha))-th smallest score; a test set the largest grown range within it."""
    scores = sorted(min(next(m for lo, hi, m in grown_ranges(p) if lo <= y <= hi), 1.0)
                    for p, y in zip(cal_probs, y_cal))
    rank = math.ceil((len(scores) + 1) * (1 - alpha))
    tau = scores[rank - 1] if rank <= len(scores) else math.inf
    sets = np.zeros(test_probs.shape, dtype=bool)
    for i, p in enumerate(test_probs):
        inside = [(lo, hi) for lo, hi, m in grown_ranges(p) if min(m, 1.0) <= tau]
        if inside:
            lo, hi = inside[-1]
            sets[i, lo:hi + 1] = True
    return sets


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2])
def test_ordinal_aps_sets_equal_a_brute_force_reference(alpha):
    rng = np.random.default_rng(int(alpha * 100))
    probs, y = unimodal_task(rng, 500, 6)
    probs = 0.75 * probs + 0.25 * rng.dirichlet(np.ones(6), 500)  # second bumps: growth order differs from APS's
    fitted = cf.fit(probs[:300], y[:300], alpha, "aps", ordinal=True)
    ours = fitted.sets(probs[300:])
    ref = reference_sets(probs[:300], y[:300], probs[300:], alpha)
    assert (ours == ref).all()
    assert 1 < ours.sum(1).mean() < 6  # neither singletons only nor full: the comparison says something
    plain = cf.fit(probs[:300], y[:300], alpha, "aps").sets(probs[300:])
    assert not (plain == ours).all() and not is_range(plain)  # ordinal APS is not the unordered score


def is_range(sets):
    for row in sets:
        idx = np.flatnonzero(row)
        if len(idx) and idx[-1] - idx[0] + 1 != len(idx):
            return False
    return True


@pytest.mark.parametrize("method, class_conditional", [("lac", False), ("lac", True), ("aps", True)])
def test_every_ordinal_set_is_a_range_that_holds_the_unordered_set(method, class_conditional):
    rng = np.random.default_rng(3)
    probs, y = unimodal_task(rng, 800, 5)
    probs = 0.7 * probs + 0.3 * rng.dirichlet(np.ones(5), 800)  # bumps away from the mode: gaps to fill
    ordered = cf.fit(probs[:500], y[:500], 0.1, method, class_conditional, ordinal=True)
    plain = cf.fit(probs[:500], y[:500], 0.1, method, class_conditional)
    sets, unordered = ordered.sets(probs[500:]), plain.sets(probs[500:])
    assert is_range(sets)
    if method == "lac":  # the same score: the range is the unordered set, filled
        assert (sets >= unordered).all() and (cf.contiguous(unordered) == sets).all()
        assert not is_range(unordered)  # the filling did something here


def test_ordinal_coverage_by_simulation():
    """Over 200 calibration/test draws, mean coverage within its binomial band of 1 - alpha (and at least it)."""
    rng = np.random.default_rng(11)
    alpha, hits, total = 0.1, 0, 0
    for _ in range(200):
        probs, y = unimodal_task(rng, 150, 5)
        sets = cf.fit(probs[:100], y[:100], alpha, "aps", ordinal=True).sets(probs[100:])
        hits += int(sets[np.arange(50), y[100:]].sum())
        total += 50
    coverage = hits / total
    band = 3 * math.sqrt(alpha * (1 - alpha) / total) + 0.01
    assert 1 - alpha - band <= coverage <= 1 - alpha + 1 / 101 + band


def test_the_exports_metadata_forms_the_same_ranges():
    rng = np.random.default_rng(5)
    probs, y = unimodal_task(rng, 400, 5)
    fitted = cf.fit(probs[:250], y[:250], 0.1, "aps", ordinal=True)
    meta = {"conformal": fitted.metadata()}
    assert meta["conformal"]["contiguous"] and "ordinal APS" in meta["conformal"]["score"]
    assert (export_sets(meta).sets(probs[250:]) == fitted.sets(probs[250:])).all()
