"""`workbench probe`: where to cut. The session's Probe command on a checkpoint and labelled data; prints the table
of linear-probe accuracies per layer (or JSON for scripts), with the best layer and the smallest one within noise."""

from __future__ import annotations

from workbench.cli.options import _recipe_from_args
from workbench.core import json_text


def cmd_probe(args) -> int:
    from workbench.core.evaluate.probe_sweep import format_table
    from workbench.core.workflow.journey import open_session
    from workbench.core.workflow.probe_command import Probe

    recipe = _recipe_from_args(args)
    session = open_session(args.checkpoint, recipe, args.trust,
                           source_named_by=args.recipe if args.recipe and not args.model_source else None)
    result = Probe(session).run()
    if args.json:
        print(json_text.dumps(result.to_dict(), indent=2))
        return 0
    print(format_table(result))
    best, small = result.best, result.smallest
    if best is not None and small is not None:
        print(f"Attach the head at {small.layer} (convert --cut-at {small.layer}): within noise of the best layer, "
              f"{best.layer}, with {small.parameters:,d} parameters.")
    return 0
