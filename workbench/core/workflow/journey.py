"""The whole conversion headless, as the session's commands in a row: what `workbench convert` and
`workbench demo` run (the window and a notebook run the same commands one by one)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from workbench.core import progress
from workbench.core.export.export import ExportResult, check_target
from workbench.core.recipe import Recipe, resolve_data
from workbench.core.train import distributed
from workbench.core.train.train import StopToken
from workbench.core.workflow.commands import OpenModel, ReadData
from workbench.core.workflow.pipeline import Run
from workbench.core.workflow.run_commands import Baseline, Export, Train
from workbench.core.workflow.session import SessionModel


def open_session(checkpoint: str | Path, recipe: Recipe, trusted: bool = False,
                 source_named_by: str | Path | None = None) -> SessionModel:
    """A session with `recipe`, its model opened and its data read; raises the typed error that stands in the way.
    `source_named_by`: the recipe file that named `recipe.model_source`, whose code then runs only once trusted."""
    session = SessionModel()
    session.set_recipe(recipe)
    OpenModel(session, checkpoint, recipe.model_source or None, recipe.model_args or None,
              tuple(recipe.input_shape) or None, recipe.mlp_activation, trusted, source_named_by).run()
    ReadData(session, recipe.data.path).run()
    session.require_data()
    return session


def convert_checkpoint(checkpoint: str | Path, recipe: Recipe, out: str | Path | None = None, trusted: bool = False,
                       callbacks: Iterable[object] = (), stop: StopToken | None = None, overwrite: bool = False,
                       baseline: bool = False, onnx: bool = False,
                       source_named_by: str | Path | None = None) -> tuple[Run, ExportResult | None]:
    """The whole job headless: open, read, train (or, with `baseline`, calibrate the regression output alone),
    calibrate, evaluate and (with `out`) export. `stop`: a token whose stop() ends training early (its best epoch
    is kept)."""
    if out is not None:
        check_target(Path(out), Path(checkpoint), overwrite)
    # The data as an absolute path: the export's recipe then opens from any folder, and two runs on one file
    # share a split whether it was typed relative or absolute.
    recipe = resolve_data(recipe, Path.cwd())
    # Under torchrun every rank opens, reads and trains; rank 0 alone calibrates, evaluates and exports (the
    # baseline trains nothing: every rank computes it, rank 0 writes it).
    dist = distributed.from_env(recipe.train.device) if not baseline else None
    callbacks = list(callbacks)
    try:
        # every slow step (decoding images, the feature cache, the range test, the export) reports to the callbacks
        with progress.reporting(callbacks):
            session = open_session(checkpoint, recipe, trusted, source_named_by)
            job = Baseline(session) if baseline else Train(session, dist=dist)
            if stop is not None:
                job.stop = stop
            run: Run = job.run(callbacks)
            if distributed.secondary():
                return run, None
            result = Export(session, out, overwrite=overwrite, onnx=onnx).run() if out is not None else None
    finally:
        if dist is not None:
            dist.close()
    return run, result
