"""The `workbench` command: the same jobs as the window, headless (inspect, convert, evaluate, demo).

A user's mistake ends with a one-paragraph message on stderr and exit status 2, never a traceback.
With no sub-command it starts the desktop window.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from workbench.core.recipe import MLP_ACTIVATIONS

EXIT_USER_ERROR = 2


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a shape such as 10 or 1,8,8") from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a shape such as 10 or 1,8,8")
    return shape


def _json_dict(text: str) -> dict:
    from workbench.core.fields import MAX_NESTING, depth

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})") from None
    except RecursionError:
        value = None
    if value is None or depth(value) > MAX_NESTING:
        raise argparse.ArgumentTypeError(f"nests more than {MAX_NESTING} levels deep")
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object such as '{\"hidden\": 64}'")
    return value


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="the regression checkpoint to open")
    p.add_argument("--model-source", help="path/to/models.py:ClassName, for weights without an architecture")
    p.add_argument("--model-args", type=_json_dict, help="constructor arguments as JSON, e.g. '{\"hidden\": 64}'")
    p.add_argument("--input-shape", type=_shape, help="input shape of one sample, e.g. 10 or 1,8,8")
    p.add_argument("--trust", action="store_true",
                   help="trust this exact checkpoint (by hash) so it may be fully unpickled, and a --recipe that "
                        "names a model source, so that code may run; only for files you know")
    p.add_argument("--mlp-activation", default="relu", choices=MLP_ACTIVATIONS,
                   help="activation between rebuilt Linear layers")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action=_Version, help="print the versions of the workbench, torch and Python")
    sub = parser.add_subparsers(dest="command")
    gui = sub.add_parser("gui", help="start the desktop window (the default)")
    gui.add_argument("checkpoint", nargs="?")
    gui.add_argument("--demo", action="store_true", help="open the bundled demo")

    p = sub.add_parser("inspect", help="show the layer tree and the regression head")
    _add_model_args(p)
    p.add_argument("--json", action="store_true", help="print JSON for scripts")

    c = sub.add_parser("convert", help="convert, train, calibrate, evaluate and export")
    _add_model_args(c)
    c.add_argument("--recipe", help="a recipe file (JSON or TOML); flags given here override it")
    c.add_argument("--save-recipe", help="also write the final recipe to this file")
    _add_recipe_options(c)
    c.add_argument("--threshold", help="binary labels: label > T; a number or 'median'")
    c.add_argument("--bins", type=_ranged_int("--bins", "data.bins"),
                   help="multiclass labels: K quantile bins of the label column")
    c.add_argument("--baseline", action="store_true",
                   help="no training: Platt-calibrate the regression output itself (binary tasks)")
    c.add_argument("--report", help="also write an HTML report of the run to this file")
    c.add_argument("--onnx", action="store_true", help="also write model.onnx (needs the onnx extras)")
    c.add_argument("--out", required=True, help="a new folder for the export")
    c.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")
    c.add_argument("--json", action="store_true", help="print the metrics as JSON")
    c.add_argument("--quiet", action="store_true", help="no progress lines")

    e = sub.add_parser("evaluate", help="evaluate an exported model on labelled data, with torch alone")
    e.add_argument("export_dir")
    e.add_argument("--data", required=True)
    e.add_argument("--label", default="target")
    e.add_argument("--json", action="store_true")

    m = sub.add_parser("compare", help="compare exported runs side by side on their test split")
    m.add_argument("runs", nargs="+", help="export folders written by `workbench convert`")
    m.add_argument("--report", help="also write an HTML comparison to this file")
    m.add_argument("--json", action="store_true")

    d = sub.add_parser("demo", help="build a demo checkpoint from scikit-learn data and convert it")
    d.add_argument("--out", default="workbench-demo", help="folder for the demo files (default: workbench-demo)")
    d.add_argument("--digits", action="store_true", help="the 8x8 digits CNN instead of the diabetes MLP")
    d.add_argument("--json", action="store_true")

    i = sub.add_parser("install-desktop", help="add the window to your desktop's application menu (this user only)",
                       description="Installs the desktop entry, the AppStream metainfo and the icons under "
                       "$XDG_DATA_HOME (default ~/.local/share), pointing at this installation.")
    i.add_argument("--uninstall", action="store_true", help="remove what an earlier install-desktop wrote")
    i.add_argument("--force", action="store_true", help="replace files there that the workbench did not write")
    return parser


class _Version(argparse.Action):
    """Like argparse's version action, but the versions are looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from workbench.core.desktop import versions

        found = versions()
        print(f"workbench {found['workbench']} (torch {found['torch']}, Python {found['python']})")
        parser.exit()


def _flag(name: str, spec) -> str:
    return spec.flag or "--" + name.rpartition(".")[2].replace("_", "-")


def _recipe_options():
    """(dotted field name, flag, type, spec) of every recipe field the command line sets directly."""
    from workbench.core import recipe as rc

    return [(name, _flag(name, spec), kind, spec) for name, (kind, spec) in rc.FIELDS.items()
            if spec.flag is not None]


def _ranged_int(flag: str, field: str):
    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes a whole number, not '{text}'") from None
    return parse


def _add_recipe_options(p: argparse.ArgumentParser) -> None:
    """One option per described recipe field, generated from its description (recipe.py)."""
    import typing

    from workbench.core.fields import base_type

    for name, flag, kind, spec in _recipe_options():
        base = base_type(kind)
        help_text = spec.help + (f" ({spec.range_text()})" if spec.range_text() else "")
        metavar = {} if base is bool or spec.choices else {"metavar": flag[2:].upper().replace("-", "_")}
        if base is bool:
            p.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif spec.choices:
            p.add_argument(flag, dest=name, choices=list(spec.choices), help=help_text)
        elif typing.get_origin(base) is tuple:
            item = typing.get_args(base)[0]
            p.add_argument(flag, dest=name, type=_listed(flag, item), help=help_text, **metavar)
        elif base is int:
            p.add_argument(flag, dest=name, type=_ranged_int(flag, name), help=help_text, **metavar)
        elif base is float:
            p.add_argument(flag, dest=name, type=_listed(flag, float, single=True), help=help_text, **metavar)
        else:
            p.add_argument(flag, dest=name, help=help_text, **metavar)


def _listed(flag: str, item: type, single: bool = False):
    def parse(text: str):
        parts = [v.strip() for v in text.split(",") if v.strip()]
        try:
            values = tuple(item(v) for v in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag} takes {'a number' if single else 'values separated by commas'}, not '{text}'") from None
        if single:
            if len(values) != 1:
                raise argparse.ArgumentTypeError(f"{flag} takes one number, not '{text}'")
            return values[0]
        return values
    return parse


def _recipe_from_args(args):
    from workbench.core import recipe as rc
    from workbench.core.errors import RecipeError

    base = rc.load(args.recipe, args.trust, args.model_source) if args.recipe else rc.Recipe()
    changes: dict = {}
    for name, _flag_name, _kind, _spec in _recipe_options():
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    for arg, name in (("model_source", "model_source"), ("model_args", "model_args"),
                      ("input_shape", "input_shape")):
        if getattr(args, arg, None) is not None:
            changes[name] = getattr(args, arg)
    if args.threshold is not None and args.bins is not None:
        _usage("give either --threshold (binary) or --bins (multiclass), not both")
    if args.threshold is not None:
        changes["data.label_mode"] = "threshold"
        changes["data.threshold"] = None if args.threshold == "median" else _floats(args.threshold, "--threshold")[0]
    elif args.bins is not None:
        changes |= {"data.label_mode": "bins", "data.bins": args.bins}
    try:
        recipe = base.replace(**changes)
    except RecipeError as exc:
        flags = {name: flag for name, flag, _k, _s in _recipe_options()}
        flags |= {"data.bins": "--bins", "data.threshold": "--threshold", "data.label_mode": "--threshold/--bins",
                  "input_shape": "--input-shape", "model_args": "--model-args"}
        if exc.field in changes and exc.field in flags:
            _usage(f"{flags[exc.field]} {exc.problem.split(exc.field, 1)[-1].strip().rstrip('.')}")
        raise RecipeError(exc.problem, f"Change {flags.get(exc.field, exc.field)} (on the command line or in the "
                          "recipe file).", args.recipe) from None
    if not recipe.data.path:
        _usage("say which data to train on with --data (or a recipe with data.path)")
    return recipe


class _Usage(Exception):
    pass


def _usage(message: str):
    raise _Usage(message)


def _floats(text: str, flag: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        _usage(f"{flag} takes numbers separated by commas, not '{text}'")


class _Progress:
    """Prints one line per epoch to stderr."""

    def on_train_begin(self, info):
        print(f"training on {info['device']}: {info['n_train']} samples, {info['epochs']} epochs at most",
              file=sys.stderr)

    def on_batch_end(self, info):
        pass

    def on_epoch_end(self, info):
        print(f"epoch {info['epoch']:3d}/{info['epochs']}  train loss {info['train_loss']:.4f}  "
              f"val loss {info['val_loss']:.4f}  val acc {info['val_accuracy']:.3f}", file=sys.stderr)

    def on_train_end(self, info):
        why = "stopped early" if info["stopped_early"] else "cancelled" if info["cancelled"] else "done"
        print(f"{why}; best epoch {info['best_epoch']} restored ({info['seconds']:.1f} s)", file=sys.stderr)


def cmd_inspect(args) -> int:
    from workbench.core.layers import inspect_model
    from workbench.core.load import load_checkpoint

    loaded = load_checkpoint(args.checkpoint, args.model_source or "", args.model_args, args.trust,
                             args.mlp_activation)
    shape = args.input_shape or loaded.input_shape
    if not shape:
        _usage(f"{args.checkpoint}: the input shape cannot be read from this model; give --input-shape "
               "(per sample, e.g. 3,224,224)")
    found = inspect_model(loaded.model, shape)
    if args.json:
        print(json.dumps({"path": str(loaded.path), "format": loaded.format, "sha256": loaded.sha256,
                          "notes": loaded.notes, **found.to_dict()}, indent=2))
        return 0
    print(f"{loaded.path}  [{loaded.format}]")
    for note in loaded.notes:
        print(f"  note: {note}")
    print(f"input {found.input_shape} -> output {found.output_shape}")
    print(f"{'layer':40s} {'type':18s} {'output':16s} {'params':>10s}  trainable")
    for layer in found.layers:
        shape_text = "x".join(map(str, layer.output_shape[1:])) if layer.output_shape else "-"
        role = f"  <- {layer.role}" if layer.role else ""
        print(f"{'  ' * layer.depth + layer.name:40s} {layer.type:18s} {shape_text:16s} {layer.params:10,d}  "
              f"{'yes' if layer.trainable else 'no':9s}{role}")
    head = found.head or "(the whole program; a new head goes on its output)"
    print(f"regression head: {head} ({found.head_in} -> {found.head_out})"
          + (f", followed by {', '.join(found.tail)} (removed on conversion)" if found.tail else ""))
    return 0


def _summary(metrics: dict) -> str:
    t = metrics["test"]
    lines = [f"classes: {', '.join(metrics['classes'])}",
             f"test accuracy {t['accuracy']:.3f}   macro F1 {t['macro_f1']:.3f}"
             + (f"   ROC AUC {t['roc_auc']:.3f}" if "roc_auc" in t else ""),
             f"calibration ({metrics['calibration']}): ECE {t['ece_before']:.3f} -> {t['ece']:.3f}   "
             f"Brier {t['brier_before']:.3f} -> {t['brier']:.3f}"]
    return "\n".join(lines)


def cmd_convert(args) -> int:
    from workbench.core.pipeline import convert_checkpoint

    recipe = _recipe_from_args(args)
    run, result = convert_checkpoint(args.checkpoint, recipe, args.out, args.trust,
                                     () if args.quiet or args.json else (_Progress(),), None, args.overwrite,
                                     args.mlp_activation, baseline=args.baseline, onnx=args.onnx,
                                     # a source the recipe file names runs only once trusted; a typed one runs
                                     source_named_by=args.recipe if args.recipe and not args.model_source else None)
    for note in run.loaded.notes:
        if note.startswith(("Runs ", "Warning")):  # which Python file ran to build the model; what cannot be adapted
            print(f"note: {note}", file=sys.stderr)
    if args.report:
        from workbench.core.report import run_report

        run_report(run, args.report)
    if args.save_recipe:
        run.recipe.save(args.save_recipe)
    if args.json:
        print(json.dumps(run.metrics, indent=2))
    else:
        print(_summary(run.metrics))
        print(f"exported to {result.folder}: {', '.join(result.files)} "
              f"(round trip within {result.round_trip_max_abs_diff:.1e})")
    return 0


def cmd_evaluate(args) -> int:
    import numpy as np
    import torch

    from workbench.core.data import load_table, make_labels
    from workbench.core.errors import DataError
    from workbench.core.export import load_program
    from workbench.core.metrics import evaluate

    folder = Path(args.export_dir)
    try:
        meta = json.loads((folder / "metadata.json").read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"not an export folder ({exc}).", "Give a folder written by `workbench convert`.",
                        folder) from None
    table = load_table(args.data, args.label, tuple(meta["recipe"]["data"]["features"]),
                       tuple(meta["input_shape"]))
    d = meta["recipe"]["data"]
    threshold = meta["metrics"]["labels"].get("threshold", d["threshold"])
    y, classes, _ = make_labels(table, d["label_mode"], meta["task"], threshold, d["bins"])
    with torch.no_grad():
        probs = load_program(folder / meta["program"])(torch.as_tensor(table.X)).numpy()
    result = evaluate(probs, y, meta["classes"])
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{len(y)} samples: accuracy {result['accuracy']:.3f}  macro F1 {result['macro_f1']:.3f}  "
              f"ECE {result['ece']:.3f}  Brier {result['brier']:.3f}")
    return 0 if np.isfinite(result["accuracy"]) else 1


def cmd_compare(args) -> int:
    from workbench.core.compare import format_table, load_run_dir, table

    runs = [load_run_dir(folder) for folder in args.runs]
    result = table(runs)
    if args.report:
        from workbench.core.report import comparison_report

        comparison_report(runs, args.report)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0


def cmd_demo(args) -> int:
    from workbench.core import demo
    from workbench.core.pipeline import convert_checkpoint

    folder = Path(args.out)
    build = demo.build_digits if args.digits else demo.build_diabetes
    print(f"building the demo regression checkpoint in {folder} ...", file=sys.stderr)
    ckpt, recipe = build(folder)
    print(f"converting {ckpt.name} ({recipe.head.task} head) ...", file=sys.stderr)
    run, result = convert_checkpoint(ckpt, recipe, folder / "export", overwrite=True,
                                     callbacks=() if args.json else (_Progress(),))
    recipe.save(folder / "recipe.json")
    if args.json:
        print(json.dumps(run.metrics, indent=2))
        return 0
    print(_summary(run.metrics))
    print(f"exported to {result.folder}")
    print(f"try it yourself:  workbench convert {ckpt} --recipe {folder / 'recipe.json'} --out {folder / 'mine'}")
    return 0


def cmd_install_desktop(args) -> int:
    from workbench.core import desktop

    if args.uninstall:
        done = desktop.uninstall()
        for path in done.removed:
            print(f"removed {path}")
        for path in done.kept:
            print(f"kept {path} (changed since the workbench wrote it)")
        if not done.removed and not done.kept:
            print("nothing to remove: install-desktop has not installed anything here")
        return 0
    done = desktop.install(force=args.force)
    for path in done.written:
        print(f"wrote {path}")
    print(f"{len(done.written)} files written, {len(done.unchanged)} already up to date; the menu entry starts "
          f"{' '.join(desktop.launch_command())}. Remove them with: workbench install-desktop --uninstall")
    return 0


def _start_gui(args) -> int:
    from workbench.gui.platform_check import message, missing_xcb_libraries

    missing = missing_xcb_libraries()
    if missing:
        print(message(missing), file=sys.stderr)
        return EXIT_USER_ERROR
    try:
        from workbench.gui.app import main as gui_main
    except ImportError as exc:
        print(f"workbench: the desktop window needs the GUI extras ({exc.name} is missing). "
              "Install them with: pip install -e '.[gui]'", file=sys.stderr)
        return EXIT_USER_ERROR
    return gui_main(getattr(args, "checkpoint", None), getattr(args, "demo", False))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the problem; scripts get the status back
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    commands = {"inspect": cmd_inspect, "convert": cmd_convert, "evaluate": cmd_evaluate, "demo": cmd_demo,
                "compare": cmd_compare, "install-desktop": cmd_install_desktop}
    try:
        if args.command in commands:
            return commands[args.command](args)
        return _start_gui(args)
    except _Usage as exc:
        parser.print_usage(sys.stderr)
        print(f"workbench: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - reported below, never as a raw traceback
        return _report(exc)


def _report(exc: Exception) -> int:
    """A user's mistake: its message and exit 2. Anything else is a bug: a short note and a crash log."""
    from workbench.core.errors import WorkbenchError

    if isinstance(exc, WorkbenchError):
        print(f"workbench: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    log = Path.home() / ".workbench-crash.log"
    try:
        log.write_text(traceback.format_exc())
    except OSError:
        log = None
    print(f"workbench: internal error ({type(exc).__name__}: {exc}). This is a bug, not your mistake; "
          f"please report it{f' with {log}' if log else ''}.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
