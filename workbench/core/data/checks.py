"""Warnings about prepared data that do not stop a run: likely label leaks and splits too small to trust."""

from __future__ import annotations

import numpy as np

from workbench.core import notes as N

LEAK_SEPARATION = 0.99  # a single feature that orders this share of the train split by class is flagged
SAMPLE = 20_000  # rows of the train split the leak check looks at
TINY_TEST_ROWS = 30
TINY_TEST_PER_CLASS = 5


def likely_leaks(X_train: np.ndarray, y_train: np.ndarray, names: list[str], seed: int = 0) -> dict[str, float]:
    """Features that alone separate the classes almost perfectly on the train split: {name: separation}.

    Sorted by one feature, the rows of a perfect separator fall into one run per class (K - 1 changes of
    class); separation is 1 - (extra changes / rows). Ties are broken in random order, so a constant or
    coarse feature cannot look separating."""
    if X_train.ndim != 2 or len(X_train) < 20 or not len(names):
        return {}
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(X_train))[:SAMPLE]
    X, y = X_train[rows], y_train[rows]
    k = len(np.unique(y))
    if k < 2:
        return {}
    order = np.argsort(X, axis=0, kind="stable")  # rows are already shuffled: ties fall in random order
    changes = (np.diff(y[order], axis=0) != 0).sum(axis=0)
    separation = 1.0 - np.maximum(changes - (k - 1), 0) / max(len(y) - k, 1)
    nan = np.isnan(X).any(axis=0)
    return {names[j]: float(separation[j]) for j in np.flatnonzero((separation >= LEAK_SEPARATION) & ~nan)}


def split_warnings(y: np.ndarray, splits: dict[str, np.ndarray], classes: list[str]) -> list[N.Note]:
    """A test split too small for its numbers to mean much (a 2-row test split can show AUC 1.0)."""
    test = splits.get("test", np.array([], dtype=np.int64))
    counts = np.bincount(y[test], minlength=len(classes))
    out = []
    if len(test) < TINY_TEST_ROWS:
        out.append(N.warning(f"the test split has only {len(test)} rows: its accuracy, AUC and calibration figures "
                             "are very uncertain (aim for at least 30, more data or a larger test fraction).",
                             "small_test_split", "data.splits"))
    small = [f"{classes[i]} ({int(c)})" for i, c in enumerate(counts) if c < TINY_TEST_PER_CLASS]
    if small:
        out.append(N.warning(f"the test split has fewer than {TINY_TEST_PER_CLASS} rows of class "
                             f"{', '.join(small)}: per-class figures for it are very uncertain.",
                             "small_test_class", "data.splits"))
    return out


def leak_warnings(leaks: dict[str, float]) -> list[N.Note]:
    return [N.warning(f"feature '{name}' alone separates the classes on the train split ({score:.1%} in order): "
                      "a likely leak of the label; leave it out unless it will be known at prediction time.",
                      "likely_leak", "data.features")
            for name, score in sorted(leaks.items(), key=lambda kv: -kv[1])[:10]]
