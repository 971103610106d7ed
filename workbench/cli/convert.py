"""`workbench convert`: the recipe from the command line (and a recipe file), then the session's commands in a row
(open, read, train or baseline, export: `journey.convert_checkpoint`), the summary, and --report/--save-recipe."""

from __future__ import annotations

import sys
from pathlib import Path

from workbench.cli.options import _recipe_from_args
from workbench.cli.output import _Progress, _summary, print_notes
from workbench.core import json_text


def cmd_convert(args) -> int:
    from workbench.core.train.distributed import secondary
    from workbench.core.workflow.journey import convert_checkpoint

    if _launch_notes(args):
        return 0
    recipe = _recipe_from_args(args)
    outputs = _ConvertOutputs(args, recipe)
    if args.mlflow is not None:
        from workbench.core.workflow.tracking import require_mlflow

        require_mlflow()  # before any work: without MLflow the option says how to install it
    quiet = args.quiet or args.json or secondary()  # under torchrun, rank 0 speaks for all
    run, result = convert_checkpoint(args.checkpoint, recipe, args.out, args.trust,
                                     () if quiet else (_Progress(),), None, args.overwrite,
                                     baseline=args.baseline, onnx=args.onnx,
                                     # a source the recipe file names runs only once trusted; a typed one runs
                                     source_named_by=args.recipe if args.recipe and not args.model_source else None)
    if secondary():  # rank 0 reports, writes the report and the recipe; the others write nothing
        return 0
    print_notes(run.loaded.notes)  # which Python file ran to build the model; what cannot be adapted
    # The data's notes: rows dropped or imputed, labels left out; for images, where the splits came from and what
    # "auto" chose
    d = run.recipe.data
    images = [f"images: normalise {d.normalize}, resize {d.resize}, augment {d.augment}"] if run.data.images else []
    print_notes([*run.data.table.notes, *images], only_shown=False)
    outputs.write(run, result)
    if args.json:
        print(json_text.dumps(run.metrics, indent=2))
    else:
        print(_summary(run.metrics))
        assert result is not None  # --out was given
        print(f"exported to {result.folder}: {', '.join(result.files)} "
              f"(round trip within {result.round_trip_max_abs_diff:.1e})")
    if args.mlflow is not None:
        from workbench.core.workflow.tracking import log_export

        assert result is not None  # --out is required
        logged = log_export(result.folder, args.mlflow or None)
        print(f"logged to MLflow: run {logged['run_id']} in {logged['uri']} (experiment {logged['experiment']}; "
              f"model {logged['model_uri']})", file=sys.stderr)
    return 0


def _launch_notes(args) -> bool:
    """Under torchrun: say what this process waits for, or why it does nothing; True when it has nothing to do."""
    from workbench.core.train import distributed

    idle = distributed.idle_rank_note(args.baseline)
    if idle:
        print(f"note: {idle}", file=sys.stderr)
        return True
    note = distributed.join_note(args.baseline)
    if note and not args.quiet:
        print(f"note: {note}", file=sys.stderr)
    return False


class _ConvertOutputs:
    """--report and --save-recipe: checked before any work, never over the run's inputs or its export."""

    def __init__(self, args, recipe):
        from workbench.core.export import export as export_mod
        from workbench.core.open.load import companions
        from workbench.core.safety.output_paths import inputs

        self.args, self.out = args, Path(args.out).expanduser().resolve()
        self.protected = inputs(source=args.checkpoint, data=recipe.data.path, model_source=recipe.model_source,
                                recipe=args.recipe, read=companions(args.checkpoint))
        export_mod.check_target(self.out, Path(args.checkpoint), args.overwrite, self.protected)
        self.check()

    def check(self) -> None:
        from workbench.core.safety.output_paths import check_output_file

        files = {self.out / name: "a file of this run's export" for name in EXPORT_FILES}
        paths = (self.args.report, self.args.save_recipe)
        for i, path in enumerate(paths):
            if path:
                check_output_file(path, {**self.protected, **files}, self.args.overwrite, paths[:i] + paths[i + 1:],
                                  self.out)

    def write(self, run, result) -> None:
        from workbench.core.safety.folder_swap import record_files
        from workbench.core.safety.output_paths import inputs

        # every file opening the model read (its model source's siblings included); what was named keeps its name
        self.protected = {**inputs(read=run.loaded.files), **self.protected}
        self.check()
        if self.args.report:
            from workbench.core.evaluate.report import run_report

            run_report(run, self.args.report)
        if self.args.save_recipe:
            run.recipe.save(self.args.save_recipe)
        written = [Path(p).expanduser().resolve() for p in (self.args.report, self.args.save_recipe) if p]
        record_files(result.folder, [p for p in written if result.folder in p.parents])


EXPORT_FILES = ("metadata.json", "metrics.json", "recipe.json", "model.pt2", "model.ts", "model.onnx",
                "weights.safetensors", ".workbench-export.json", "README.md", "reliability.png", "confusion.png")
