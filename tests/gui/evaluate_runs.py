"""Tiny runs with 2, 3 or 10 classes for the Evaluate tab, scored by core's own metrics, and a session that shows
them: the panel is exercised without training anything (a run's numbers come from core's `metrics.evaluate`)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from workbench.core.data.samples import Table
from workbench.core.evaluate.errors_list import split_samples
from workbench.core.evaluate.metrics import evaluate
from workbench.core.recipe import Recipe
from workbench.core.workflow.pipeline import label_and_split

LONG_NAMES = ["%s grade of the tumour" % w for w in
              ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")]


class Run:
    """What the Evaluate tab reads of a run: recipe, data, metrics, probabilities, threshold, samples."""

    def __init__(self, k: int, seed: int = 0, n: int = 400):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, 3)).astype(np.float32)
        codes = np.arange(n) % k
        names = LONG_NAMES[:k] if k > 2 else ["benign", "malignant"]
        ids = np.array([f"P{1000 + i}" for i in range(n)], dtype=object)
        table = Table(X, np.array([names[c] for c in codes]), ["a", "b", "c"], "table.csv", rows=np.arange(n) + 2,
                      id_columns={"patient_id": ids})
        task = "binary" if k == 2 else "multiclass"
        self.recipe = Recipe().replace(**{"head.task": task, "data.label_mode": "column", "calibration": "none"})
        self.data = label_and_split(table, self.recipe)
        self.binary, self.ordinal, self.threshold = k == 2, False, None
        self.prior_estimate: dict = {}  # as core's Run: no decide.prior_from estimate
        logits = rng.normal(size=(n, k)) + 2.0 * np.eye(k)[self.data.y]
        self.probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        test = self.data.splits["test"]
        self.metrics = {"warnings": [], "test": evaluate(self.probs[test], self.data.y[test], self.data.classes,
                                                         before=self.probs[test])}

    def probabilities(self, split: str = "test", calibrated: bool = True) -> np.ndarray:
        return self.probs[self.data.splits[split]]

    def test_samples(self):
        return split_samples(self.data, self.probabilities("test"), self.threshold)


class Model:
    """The few things of core's SessionModel the Evaluate tab asks."""

    def __init__(self):
        self.run = None
        self.current = None
        self.current_entry = None

    def job_on(self, _run_id):
        return None


class Session(QObject):
    run_changed = Signal(object)
    jobs_changed = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self):
        super().__init__()
        self.model = Model()

    def show(self, run) -> None:
        self.model.run = run
        self.run_changed.emit(run)
