"""`workbench demo`: build a demo checkpoint from scikit-learn data, then convert it with the session's commands."""

from __future__ import annotations

import sys
from pathlib import Path

from workbench.cli.output import _Progress, _summary
from workbench.core import json_text


def cmd_demo(args) -> int:
    from workbench.core.workflow import demo
    from workbench.core.workflow.journey import convert_checkpoint

    folder = Path(args.out)
    build = demo.build_digits if args.digits else demo.build_diabetes
    demo.claim(folder, demo.FILES["digits" if args.digits else "diabetes"])  # before anything is printed or built
    if folder.is_dir():
        from workbench.core.export.export import check_target

        check_target(folder / "export", None, True)
    print(f"building the demo regression checkpoint in {folder} ...", file=sys.stderr)
    ckpt, recipe = build(folder)
    print(f"converting {ckpt.name} ({recipe.head.task} head) ...", file=sys.stderr)
    run, result = convert_checkpoint(ckpt, recipe, folder / "export", overwrite=True,
                                     callbacks=() if args.json else (_Progress(),))
    demo.save_recipe(folder, recipe)
    if args.json:
        print(json_text.dumps(run.metrics, indent=2))
        return 0
    print(_summary(run.metrics))
    assert result is not None  # the demo always exports
    print(f"exported to {result.folder}")
    print(f"try it yourself:  workbench convert {ckpt} --recipe {folder / 'recipe.json'} --out {folder / 'mine'}")
    return 0
