"""Reference implementations for the decision tests: MAPIE's SplitConformalClassifier around fixed probabilities,
and TorchCP's split predictors loaded without its package __init__ (which imports its graph and LLM modules and
their heavy dependencies: torch_geometric, transformers, torchsort)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin


class FixedProbabilities(ClassifierMixin, BaseEstimator):
    """A prefit classifier whose inputs are its probabilities: MAPIE then conformalizes exactly those."""

    def __init__(self, n_classes: int = 2):
        self.n_classes = n_classes
        self.classes_ = np.arange(n_classes)
        self.n_features_in_ = n_classes

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return np.asarray(X, dtype=np.float64)

    def predict(self, X):
        return np.asarray(X).argmax(axis=1)


def mapie_sets(probs_cal, y_cal, probs_test, alpha, score, seed=7):
    """MAPIE's sets; APS is MAPIE's randomised APS (its calibration scores always are), seeded."""
    classification = pytest.importorskip("mapie.classification")
    mapie = classification.SplitConformalClassifier(FixedProbabilities(probs_cal.shape[1]), confidence_level=1 - alpha,
                                                    conformity_score=score, prefit=True, random_state=seed)
    mapie.conformalize(probs_cal, y_cal)
    params = {"conformity_score_params": {"include_last_label": "randomized"}} if score == "aps" else {}
    _, sets = mapie.predict_set(probs_test, **params)
    return sets[:, :, 0]


def mapie_uniforms(n_cal, n_test, seed=7):
    """The uniform draws MAPIE's randomised APS makes with `random_state=seed` (a fresh RandomState each time)."""
    return np.random.RandomState(seed).uniform(size=n_cal), np.random.RandomState(seed).uniform(size=(n_test, 1))[:, 0]


_TORCHCP: list[types.SimpleNamespace] = []


def torchcp():
    """TorchCP's classification predictors and scores, or a skip when TorchCP is not installed."""
    if _TORCHCP:
        return _TORCHCP[0]
    spec = importlib.util.find_spec("torchcp")
    if spec is None or spec.origin is None:
        pytest.skip("TorchCP is not installed (it is not in the test extra: it pulls torch_geometric, transformers "
                    "and torchsort, which builds a C++ extension)")
    root = Path(spec.origin).parent
    for name, sub in (("torchcp", root), ("torchcp.classification", root / "classification")):
        if name not in sys.modules or not hasattr(sys.modules[name], "__path__"):
            package = types.ModuleType(name)
            package.__path__ = [str(sub)]
            sys.modules[name] = package
    try:
        from torchcp.classification.predictor.class_conditional import ClassConditionalPredictor
        from torchcp.classification.predictor.split import SplitPredictor
        from torchcp.classification.score.aps import APS
        from torchcp.classification.score.lac import LAC
    except ImportError as exc:
        pytest.skip(f"TorchCP's classification modules do not import here ({exc})")
    _TORCHCP.append(types.SimpleNamespace(SplitPredictor=SplitPredictor, APS=APS, LAC=LAC,
                                          ClassConditionalPredictor=ClassConditionalPredictor))
    return _TORCHCP[0]


def dirichlet_task(rng, n, n_classes, concentration=0.7):
    """Calibrated probabilities by construction: labels drawn from the rows' own probabilities."""
    probs = rng.dirichlet(np.full(n_classes, concentration), size=n)
    y = (probs.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return probs, y
