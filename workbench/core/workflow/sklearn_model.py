"""A run as a fitted scikit-learn classifier: `predict_proba`, `predict`, `classes_`, so scikit-learn's own tools
(`CalibrationDisplay.from_estimator`, `roc_auc_score`, `cross_val_predict` on fixed folds …) read it as they
read their own estimators.

It runs the module the export writes (`pipeline.calibrated_module`: the input preprocessing, the converted model
and the calibration), so its probabilities are the export's, and its decisions the export's decision policy's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

if TYPE_CHECKING:
    from workbench.core.workflow.pipeline import Run


class RunClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # scikit-learn ships no type hints
    """A trained, calibrated run as a scikit-learn classifier (already fitted: `fit` refuses to refit).

    X is what the exported program takes: rows of the table's feature columns (a pandas DataFrame is read by
    column name, a category column as its values: the run's own codes are applied), or an array of shape
    (N, *input_shape)."""

    def __init__(self, run: Run | None = None, batch_size: int = 4096) -> None:
        self.run = run
        self.batch_size = batch_size

    # ----- fitted state (scikit-learn's convention: a trailing underscore)
    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self._run.data.classes)

    @property
    def n_features_in_(self) -> int:
        return int(np.prod(self._run.data.input_shape))

    @property
    def feature_names_in_(self) -> np.ndarray | None:
        table = self._run.data.table
        return np.asarray(table.feature_names, dtype=object) if table.columns is not None else None

    @property
    def threshold_(self) -> float | None:
        """The binary decision threshold `predict` applies to `predict_proba` (the export's `decision_threshold`;
        None for other heads)."""
        from workbench.core.decide.decisions import fit_policy

        return fit_policy(self._run).threshold if len(self.classes_) == 2 else None

    @property
    def _run(self) -> Run:
        if self.run is None:
            raise ValueError("this classifier holds no run: get one from a workbench run's as_sklearn()")
        return self.run

    def __sklearn_is_fitted__(self) -> bool:
        return self.run is not None

    def fit(self, X: Any, y: Any = None) -> RunClassifier:
        raise NotImplementedError("a workbench run is already trained and calibrated; train another with "
                                  "Session.train(...) and take its as_sklearn()")

    # ----- what the export computes
    def _inputs(self, X: Any) -> torch.Tensor:
        names = self.feature_names_in_
        if hasattr(X, "columns") and names is not None:  # a DataFrame: its columns by name, in the model's order
            missing = [n for n in names if n not in set(X.columns)]
            if missing:
                raise ValueError(f"X lacks the feature column(s) {', '.join(map(str, missing[:6]))}")
            X = X[list(names)]
            books = self._run.data.table.categories or {}  # a model of several inputs: text categories as codes
            if books:
                from workbench.core.data.input_columns import category_codes

                X = X.assign(**{c: category_codes(X[c].tolist(), book) for c, book in books.items() if c in names})
        array = np.asarray(X, dtype=np.float32)
        shape = tuple(self._run.data.input_shape)
        if array.ndim == 2 and len(shape) > 1 and array.shape[1] == int(np.prod(shape)):
            array = array.reshape(len(array), *shape)  # flat rows of a sequence or image model
        if tuple(array.shape[1:]) != shape:
            raise ValueError(f"X has samples of shape {tuple(array.shape[1:])}; the model takes {shape}")
        return torch.from_numpy(np.ascontiguousarray(array))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated class probabilities (N, K), columns in the order of `classes_`."""
        from workbench.core.workflow.pipeline import calibrated_module

        module = calibrated_module(self._run).eval()
        x = self._inputs(X)
        with torch.no_grad():
            parts = [module(x[i:i + self.batch_size]) for i in range(0, len(x), self.batch_size)]
        probs: np.ndarray = torch.cat(parts).numpy() if parts else np.zeros((0, len(self.classes_)), np.float32)
        return probs

    def predict(self, X: Any) -> np.ndarray:
        """The class of each row under the run's decision policy, as the export states it (binary: p(positive) >=
        `threshold_`; a cost matrix: the least expected cost; an ordinal head: the median class)."""
        from workbench.core.decide.decisions import fit_policy

        labels: np.ndarray = self.classes_[fit_policy(self._run).decide(self.predict_proba(X))]
        return labels
