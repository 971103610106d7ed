"""What no output of the workbench may replace: every file a run or the open model was made from.

One answer for every writer (an export, a report, a saved session or recipe, the drill-down's CSV), in the
window, the command line and a notebook alike: the checkpoint and every file opening it read (config.json, the
model source and each sibling module it reaches), the data, and the inputs of the runs a comparison names.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.safety.output_paths import inputs

if TYPE_CHECKING:
    from workbench.core.workflow.pipeline import Run
    from workbench.core.workflow.session import SessionModel


def run_inputs(run: Run) -> dict[Path, str]:
    """A live run's inputs: its checkpoint and every file opening it read, its data and its model source."""
    r = run.recipe
    return inputs(source=run.loaded.path, data=r.data.path, model_source=r.model_source, read=run.loaded.files)


def session_inputs(model: SessionModel, runs: Iterable[dict[str, Any]] = ()) -> dict[Path, str]:
    """The open model's and data's files, the current run's, and those of the run summaries given (a
    comparison's runs, read from their metadata as `compare.inputs_of_run` does)."""
    from workbench.core.evaluate.compare import inputs_of_run

    recipe, loaded = model.recipe, model.loaded
    protected = inputs(source=loaded.path if loaded is not None else None, data=recipe.data.path,
                       model_source=recipe.model_source, read=loaded.files if loaded is not None else ())
    if model.run is not None:
        protected = {**run_inputs(model.run), **protected}
    for run in runs:
        protected = {**inputs_of_run((run.get("metrics") or {}).get("source"), run.get("recipe")), **protected}
    return protected
