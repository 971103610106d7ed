"""Repeated training: the same recipe over K training seeds on one split, for the spread seed noise makes.

Runs with the same recipe and split and only the seed changed were called "better" or "worse" in 38 of 300
compared cells: a paired test-sampling interval says nothing of the noise training's own randomness adds (the
head's initialisation, the batch order, dropout, the range test's batches). `train.repeats` = K trains the recipe
with training seeds seed, seed+1, ..., seed+K-1 on the split that `seed` makes, and records each one's test
metrics with their mean, standard deviation, minimum and maximum (`metrics["repeats"]`); Compare weighs that
spread (compare.paired). The first run, with the recipe's own seed, is the one kept and exported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from workbench.core.open.load import LoadedModel
from workbench.core.recipe import Recipe
from workbench.core.train.distributed import Distributed
from workbench.core.train.train import StopToken
from workbench.core.workflow.pipeline import PreparedData, Run, train_run

METRICS = ("accuracy", "macro_f1", "ece", "brier", "roc_auc")


def summary(per_seed: list[dict[str, Any]], split_seed: int) -> dict[str, Any]:
    """Mean, sample standard deviation, minimum and maximum of each metric over the seeds (a dict for
    metrics.json)."""
    names = [m for m in METRICS if all(m in row for row in per_seed)]
    values = {m: np.array([row[m] for row in per_seed], dtype=np.float64) for m in names}
    k = len(per_seed)
    return {"k": k, "seeds": [row["seed"] for row in per_seed], "split_seed": split_seed, "per_seed": per_seed,
            "mean": {m: float(v.mean()) for m, v in values.items()},
            "sd": {m: float(v.std(ddof=1)) if k > 1 else 0.0 for m, v in values.items()},
            "min": {m: float(v.min()) for m, v in values.items()},
            "max": {m: float(v.max()) for m, v in values.items()},
            "covers": f"training seeds only: every run uses the split seed {split_seed} makes"}


def _row(run: Run, seed: int) -> dict[str, Any]:
    test = run.metrics["test"]
    return {"seed": seed, "calibration": run.metrics.get("calibration"),
            **{m: float(test[m]) for m in METRICS if test.get(m) is not None}}


def train_repeats(recipe: Recipe, loaded: LoadedModel, data: PreparedData, callbacks: Iterable[object] = (),
                  stop: StopToken | None = None, dist: Distributed | None = None) -> Run:
    """`train_run` `recipe.train.repeats` times (training seeds seed, seed+1, ... on `data`'s split); the first
    run, with the repeats' summary in its metrics. Under torchrun every rank trains every repeat; rank 0 keeps
    the summary."""
    callbacks = list(callbacks)
    first = train_run(recipe, loaded, data, callbacks, stop, dist)
    k = recipe.train.repeats
    if k <= 1:
        return first
    rows = [_row(first, recipe.seed)] if first.metrics else []
    for i in range(1, k):
        if stop is not None and stop.stopped:
            break
        seed = recipe.seed + i
        again = train_run(recipe.replace(seed=seed), loaded, data, callbacks, stop, dist)
        if again.metrics and not again.training.cancelled:
            rows.append(_row(again, seed))
    if first.metrics:
        first.extra_metrics["repeats"] = first.metrics["repeats"] = summary(rows, recipe.seed)
    return first
