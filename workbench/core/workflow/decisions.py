"""The run's program (model, calibration and, with a deployment prior, the prior correction) as one module, its
probabilities on new rows, and the deployment prior estimated from the recipe's unlabelled file.

Kept apart from `pipeline` so neither the export nor the decision step grows it; the run is typed by the shape
it has (decide.decisions.RunLike plus the model parts), never imported from pipeline.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from workbench.core.data.preprocess import Impute
from workbench.core.decide import prior_shift
from workbench.core.decide.decisions import Decisions, fit_decisions
from workbench.core.export.export import CalibratedClassifier, Standardize


class _ProgramRun(Protocol):  # what a pipeline.Run has
    model: nn.Module
    calibration: Any
    data: Any
    recipe: Any
    threshold: float | None
    prior_estimate: dict[str, Any]

    @property
    def binary(self) -> bool: ...

    def probabilities(self, split: str = "test", calibrated: bool = True) -> np.ndarray: ...


def program(run: _ProgramRun, decisions: Decisions | None = None) -> CalibratedClassifier:
    """Raw inputs -> the probabilities handed on: imputation and standardisation as the run applied them, the
    model, the calibration and, when `decisions` carry a deployment prior, its correction."""
    d = run.data
    assert run.calibration is not None  # every run is calibrated ("none" included) before it is used
    steps: list[nn.Module] = [Impute(d.fill)] if d.fill is not None else []
    norm = input_norm(run)
    steps += [Standardize(*norm)] if norm is not None else []
    preprocess = (steps[0] if len(steps) == 1 else nn.Sequential(*steps)) if steps else None
    calibration: nn.Module = run.calibration
    weights = None if decisions is None else decisions.weights
    if weights is not None:
        calibration = prior_shift.PriorCorrection(calibration, weights)
    return CalibratedClassifier(run.model, calibration, run.binary, preprocess)


def input_norm(run: _ProgramRun) -> tuple[np.ndarray, np.ndarray] | None:
    d = run.data
    if d.images and d.image_norm is not None:
        return tuple(d.image_norm)
    return (d.mean, d.std) if d.mean is not None and d.std is not None else None


def new_probabilities(run: _ProgramRun, X: Any, batch_size: int = 1024) -> np.ndarray:
    """The run's calibrated probabilities (no prior correction) for new raw inputs (an array or image samples)."""
    module = program(run).eval()
    with torch.no_grad():
        parts = [module(torch.as_tensor(np.asarray(X[i:i + batch_size]))).numpy() for i in range(0, len(X), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, len(run.data.classes)), dtype=np.float32)


def estimate_prior(run: _ProgramRun) -> None:
    """With `decide.prior_from`, estimate the deployment prior from that file's rows under the run's current
    calibration and record it in the run's recipe (`decide.prior`) and `run.prior_estimate`."""
    c = run.recipe.decide
    if not c.prior_from:
        run.prior_estimate = {}
        return
    from workbench.core.decide.unlabelled import check_prior_from, read_prior_rows

    check_prior_from(c.prior_from)
    d = run.data
    dropped: list[Any] = []  # notes of the file's rows left out under data.missing drop
    X = read_prior_rows(c.prior_from, d, run.recipe, dropped)
    probs = new_probabilities(run, X)
    y_cal = run.data.labels("cal")
    source = prior_shift.class_prior(y_cal, len(d.classes))
    found = prior_shift.estimate(c.prior_method, probs, source, run.probabilities("cal"), y_cal)
    found["from"] = c.prior_from
    if dropped:  # under data.missing drop: how many of the file's rows the estimate left out
        found["notes"] = [str(n) for n in dropped]
    if not found["reliable"]:
        _refuse(found, prior_shift.estimate("bbse" if c.prior_method == "em" else "em", probs, source,
                                            run.probabilities("cal"), y_cal), list(d.classes), c.prior_from)
    run.prior_estimate = found
    run.recipe = run.recipe.replace(**{"decide.prior": tuple(round(float(v), 6) for v in found["prior"])})


def _refuse(found: dict[str, Any], other: dict[str, Any], classes: list[str], path: str) -> None:
    """An estimate that empties a class the model predicts, or that EM did not settle on, is not applied: the
    export would never decide that class (and its sets would miss it) with nothing to say so."""
    from workbench.core.errors import DataError

    shares = ", ".join(f"{v:.3f}" for v in other["prior"])
    name = {"em": "EM", "bbse": "BBSE"}[other["method"]]
    alternative = (f"Estimate it with --prior-method {other['method']} (in the window, the Prior estimator; {name} "
                   f"gives {shares} on these rows) or give" if other["reliable"] else "Give")
    # the window's own words: for_window would keep "in the window" and the command that compares the estimates
    window = (f"Choose {other['method']} in Prior estimator ({name} gives {shares} on these rows), or type"
              if other["reliable"] else "Type")
    raise DataError(f"the deployment prior estimated from these rows (--prior-from) was not applied: "
                    f"{prior_shift.unreliable_text(found, classes)}",
                    f"{alternative} the class shares you mean with --prior (in the window, the Deployment prior "
                    "field); `workbench evaluate EXPORT --unlabelled FILE` compares the estimates.", path,
                    gui=f"{window} the class shares you mean in the Deployment prior field.")


def export_metadata(run: _ProgramRun) -> tuple[CalibratedClassifier, dict[str, Any]]:
    """The program to export and the metadata keys of its decisions."""
    decisions = fit_decisions(run)
    meta = decisions.metadata()
    if decisions.target_prior is not None:
        meta["output"] = ("class probabilities corrected to the deployment prior (see prior_shift), shape (N, K), "
                          "columns in the order of 'classes'")
        if run.prior_estimate:
            meta["prior_shift"] = {**meta["prior_shift"], "estimate": run.prior_estimate}
    return program(run, decisions), meta
