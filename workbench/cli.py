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
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object such as '{\"hidden\": 64}'")
    return value


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="the regression checkpoint to open")
    p.add_argument("--model-source", help="path/to/models.py:ClassName, for weights without an architecture")
    p.add_argument("--model-args", type=_json_dict, help="constructor arguments as JSON, e.g. '{\"hidden\": 64}'")
    p.add_argument("--input-shape", type=_shape, help="input shape of one sample, e.g. 10 or 1,8,8")
    p.add_argument("--trust", action="store_true",
                   help="trust this exact file (by hash) so it may be fully unpickled; only for files you know")
    p.add_argument("--mlp-activation", default="relu", help="activation between rebuilt Linear layers")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__.splitlines()[0])
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
    c.add_argument("--data", help="CSV, .npz, image folder, or sklearn:<diabetes|breast_cancer|wine|iris|digits>")
    c.add_argument("--label", help="label column (default: target)")
    c.add_argument("--features", help="comma-separated feature columns (default: all but the label)")
    c.add_argument("--task", choices=["binary", "multiclass"])
    c.add_argument("--threshold", help="binary labels: label > T; a number or 'median'")
    c.add_argument("--bins", type=int, help="multiclass labels: K quantile bins of the label column")
    c.add_argument("--splits", help="train,val,cal,test fractions, e.g. 0.6,0.15,0.1,0.15")
    c.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None)
    c.add_argument("--dropout", type=float)
    c.add_argument("--hidden", type=int, help="width of an optional hidden layer in the head")
    c.add_argument("--freeze", help="none, body, or upto:<layer name>")
    c.add_argument("--warm-start", action=argparse.BooleanOptionalAction, default=None)
    c.add_argument("--loss", choices=["auto", "bce", "cross_entropy", "focal"])
    c.add_argument("--pos-weight", type=float)
    c.add_argument("--class-weights", help="comma-separated, one per class")
    c.add_argument("--label-smoothing", type=float)
    c.add_argument("--focal-gamma", type=float)
    c.add_argument("--optimizer", choices=["adamw", "adam", "sgd"])
    c.add_argument("--lr", type=float)
    c.add_argument("--weight-decay", type=float)
    c.add_argument("--schedule", choices=["none", "cosine", "step", "plateau"])
    c.add_argument("--epochs", type=int)
    c.add_argument("--batch-size", type=int)
    c.add_argument("--patience", type=int, help="early stopping patience in epochs; 0 turns it off")
    c.add_argument("--device", choices=["auto", "cpu", "cuda"])
    c.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction, default=None,
                   help="torch autocast on a GPU (bfloat16, or float16 with a gradient scaler)")
    c.add_argument("--seed", type=int)
    c.add_argument("--calibration", choices=["none", "platt", "isotonic", "temperature"])
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
    e.add_argument("--trust", action="store_true", help="trust this export's program (by hash): only for exports you know")

    m = sub.add_parser("compare", help="compare exported runs side by side on their test split")
    m.add_argument("runs", nargs="+", help="export folders written by `workbench convert`")
    m.add_argument("--report", help="also write an HTML comparison to this file")
    m.add_argument("--overwrite", action="store_true", help="replace an existing --report file")
    m.add_argument("--json", action="store_true")

    d = sub.add_parser("demo", help="build a demo checkpoint from scikit-learn data and convert it")
    d.add_argument("--out", default="workbench-demo", help="folder for the demo files (default: workbench-demo)")
    d.add_argument("--digits", action="store_true", help="the 8x8 digits CNN instead of the diabetes MLP")
    d.add_argument("--json", action="store_true")
    return parser


def _recipe_from_args(args):
    from workbench.core import recipe as rc

    base = rc.load(args.recipe) if args.recipe else rc.Recipe()
    changes: dict = {}
    simple = {"data": "data.path", "label": "data.label", "task": "head.task", "dropout": "head.dropout",
              "hidden": "head.hidden", "freeze": "head.freeze", "warm_start": "head.warm_start",
              "standardize": "data.standardize", "loss": "train.loss", "pos_weight": "train.pos_weight",
              "label_smoothing": "train.label_smoothing", "focal_gamma": "train.focal_gamma",
              "optimizer": "train.optimizer", "lr": "train.lr", "weight_decay": "train.weight_decay",
              "schedule": "train.schedule", "epochs": "train.epochs", "batch_size": "train.batch_size",
              "patience": "train.patience", "device": "train.device", "seed": "seed",
              "mixed_precision": "train.mixed_precision",
              "calibration": "calibration", "model_source": "model_source", "model_args": "model_args",
              "input_shape": "input_shape"}
    for arg, field in simple.items():
        value = getattr(args, arg, None)
        if value is not None:
            changes[field] = value
    if args.features:
        changes["data.features"] = tuple(f.strip() for f in args.features.split(","))
    if args.class_weights:
        changes["train.class_weights"] = tuple(_floats(args.class_weights, "--class-weights"))
    if args.splits:
        changes["data.splits"] = tuple(_floats(args.splits, "--splits"))
    if args.threshold is not None and args.bins is not None:
        _usage("give either --threshold (binary) or --bins (multiclass), not both")
    if args.threshold is not None:
        changes["data.label_mode"] = "threshold"
        changes["data.threshold"] = None if args.threshold == "median" else _floats(args.threshold, "--threshold")[0]
    elif args.bins is not None:
        changes |= {"data.label_mode": "bins", "data.bins": args.bins}
    recipe = base.replace(**changes)
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
    outputs = _ConvertOutputs(args, recipe)
    run, result = convert_checkpoint(args.checkpoint, recipe, args.out, args.trust,
                                     () if args.quiet or args.json else (_Progress(),), None, args.overwrite,
                                     args.mlp_activation, baseline=args.baseline, onnx=args.onnx)
    outputs.write(run, result)
    if args.json:
        print(json.dumps(run.metrics, indent=2))
    else:
        print(_summary(run.metrics))
        print(f"exported to {result.folder}: {', '.join(result.files)} "
              f"(round trip within {result.round_trip_max_abs_diff:.1e})")
    return 0


class _ConvertOutputs:
    """--report and --save-recipe: checked before any work, never over the run's inputs or its export."""

    def __init__(self, args, recipe):
        from workbench.core import export as export_mod
        from workbench.core.output_paths import inputs

        self.args, self.out = args, Path(args.out).expanduser().resolve()
        self.protected = inputs(source=args.checkpoint, data=recipe.data.path, model_source=recipe.model_source,
                                recipe=args.recipe)
        export_mod.check_target(self.out, Path(args.checkpoint), args.overwrite, self.protected)
        self.check()

    def check(self) -> None:
        from workbench.core.output_paths import check_output_file

        files = {self.out / name: "a file of this run's export" for name in EXPORT_FILES}
        paths = (self.args.report, self.args.save_recipe)
        for i, path in enumerate(paths):
            if path:
                check_output_file(path, {**self.protected, **files}, self.args.overwrite, paths[:i] + paths[i + 1:],
                                  self.out)

    def write(self, run, result) -> None:
        from workbench.core.folder_swap import record_files

        self.check()
        if self.args.report:
            from workbench.core.report import run_report

            run_report(run, self.args.report)
        if self.args.save_recipe:
            run.recipe.save(self.args.save_recipe)
        written = [Path(p).expanduser().resolve() for p in (self.args.report, self.args.save_recipe) if p]
        record_files(result.folder, [p for p in written if result.folder in p.parents])


EXPORT_FILES = ("metadata.json", "metrics.json", "recipe.json", "model.pt2", "model.ts", "model.onnx",
                "weights.safetensors", ".workbench-export.json")


def cmd_evaluate(args) -> int:
    import numpy as np

    from workbench.core.data import load_table, make_labels
    from workbench.core.export_read import probabilities, read_metadata
    from workbench.core.metrics import evaluate

    folder = Path(args.export_dir)
    meta = read_metadata(folder)
    table = load_table(args.data, args.label, tuple(meta["recipe"]["data"]["features"]),
                       tuple(meta["input_shape"]))
    d = meta["recipe"]["data"]
    threshold = meta["metrics"]["labels"].get("threshold", d["threshold"])
    y, classes, _ = make_labels(table, d["label_mode"], meta["task"], threshold, d["bins"])
    probs = probabilities(folder, meta, table.X, args.trust)
    result = evaluate(probs, y, meta["classes"])
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{len(y)} samples: accuracy {result['accuracy']:.3f}  macro F1 {result['macro_f1']:.3f}  "
              f"ECE {result['ece']:.3f}  Brier {result['brier']:.3f}")
    return 0 if np.isfinite(result["accuracy"]) else 1


def cmd_compare(args) -> int:
    from workbench.core.compare import format_table, inputs_of_runs, load_run_dir, table

    runs = [load_run_dir(folder) for folder in args.runs]
    if args.report:
        from workbench.core.output_paths import check_output_file

        check_output_file(args.report, inputs_of_runs(args.runs), args.overwrite)
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
    demo.claim(folder, demo.FILES["digits" if args.digits else "diabetes"])  # before anything is printed or built
    if folder.is_dir():
        from workbench.core.export import check_target

        check_target(folder / "export", None, True)
    print(f"building the demo regression checkpoint in {folder} ...", file=sys.stderr)
    ckpt, recipe = build(folder)
    print(f"converting {ckpt.name} ({recipe.head.task} head) ...", file=sys.stderr)
    run, result = convert_checkpoint(ckpt, recipe, folder / "export", overwrite=True,
                                     callbacks=() if args.json else (_Progress(),))
    demo.save_recipe(folder, recipe)
    if args.json:
        print(json.dumps(run.metrics, indent=2))
        return 0
    print(_summary(run.metrics))
    print(f"exported to {result.folder}")
    print(f"try it yourself:  workbench convert {ckpt} --recipe {folder / 'recipe.json'} --out {folder / 'mine'}")
    return 0


def _start_gui(args) -> int:
    try:
        from workbench.gui.app import main as gui_main
    except ImportError as exc:
        print(f"workbench: the desktop window needs the GUI extras ({exc.name} is missing). "
              "Install them with: pip install -e '.[gui]'", file=sys.stderr)
        return EXIT_USER_ERROR
    return gui_main(getattr(args, "checkpoint", None), getattr(args, "demo", False))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {"inspect": cmd_inspect, "convert": cmd_convert, "evaluate": cmd_evaluate, "demo": cmd_demo,
                "compare": cmd_compare}
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
