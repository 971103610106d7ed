"""The whole conversion headless, step after step: what `workbench convert` and `workbench demo` run.

Above both `pipeline` (the steps) and `baseline` (the no-training alternative to training), so neither needs
the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from workbench.core.export.export import ExportResult, check_target
from workbench.core.open.load import load_checkpoint
from workbench.core.recipe import Recipe, resolve_data
from workbench.core.train import distributed
from workbench.core.train.train import StopToken
from workbench.core.workflow.baseline import baseline_run
from workbench.core.workflow.pipeline import Run, export_run, prepare_data, step_features
from workbench.core.workflow.repeats import train_repeats


def convert_checkpoint(checkpoint: str | Path, recipe: Recipe, out: str | Path | None = None, trusted: bool = False,
                       callbacks: Iterable[object] = (), stop: StopToken | None = None, overwrite: bool = False,
                       baseline: bool = False, onnx: bool = False,
                       source_named_by: str | Path | None = None) -> tuple[Run, ExportResult | None]:
    """The whole job headless: open, prepare, train (or, with `baseline`, calibrate the regression output
    alone), calibrate, evaluate and (with `out`) export. `source_named_by`: the recipe file that named
    `recipe.model_source`, whose code then runs only once trusted (see load.load_checkpoint)."""
    if out is not None:
        check_target(Path(out), Path(checkpoint), overwrite)
    # The data as an absolute path: the export's recipe then opens from any folder, and two runs on one file
    # share a split whether it was typed relative or absolute.
    recipe = resolve_data(recipe, Path.cwd())
    # Under torchrun every rank opens, prepares and trains; rank 0 alone calibrates, evaluates and exports (the
    # baseline trains nothing: every rank computes it, rank 0 writes it).
    dist = distributed.from_env(recipe.train.device) if not baseline else None
    try:
        loaded = load_checkpoint(checkpoint, recipe.model_source, recipe.model_args, trusted, recipe.mlp_activation,
                                 source_named_by)
        data = prepare_data(recipe, tuple(recipe.input_shape) or loaded.input_shape, step_features(loaded))
        if baseline:
            run = baseline_run(recipe, loaded, data)
        else:
            run = train_repeats(recipe, loaded, data, callbacks, stop, dist)
        if distributed.secondary():
            return run, None
        result = export_run(run, out, overwrite, onnx) if out is not None else None
    finally:
        if dist is not None:
            dist.close()
    return run, result
