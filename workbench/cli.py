"""The `workbench` command: the same jobs as the window, headless (inspect, convert, evaluate, demo).

A user's mistake ends with a one-paragraph message on stderr and exit status 2, never a traceback.
With no sub-command it starts the desktop window.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, cast

from workbench.core.recipe import MLP_ACTIVATIONS

if TYPE_CHECKING:
    from workbench.core.data.images import ImageSamples

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


def _add_model_args(p: argparse.ArgumentParser, activation: bool = True) -> None:
    """The options that open a checkpoint; `activation`: also --mlp-activation (convert has it as a recipe
    field, generated with the others)."""
    p.add_argument("checkpoint", help="the regression checkpoint to open")
    p.add_argument("--model-source", help="path/to/models.py:ClassName, for weights without an architecture")
    p.add_argument("--model-args", type=_json_dict, help="constructor arguments as JSON, e.g. '{\"hidden\": 64}'")
    p.add_argument("--input-shape", type=_shape, help="input shape of one sample, e.g. 10 or 1,8,8")
    p.add_argument("--trust", action="store_true",
                   help="trust this exact checkpoint (by hash) so it may be fully unpickled, and a --recipe that "
                        "names a model source, so that code may run; only for files you know")
    if activation:
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
    _add_model_args(c, activation=False)
    c.add_argument("--recipe", help="a recipe file (JSON or TOML); flags given here override it")
    c.add_argument("--save-recipe", help="also write the final recipe to this file")
    _add_recipe_options(c)
    c.add_argument("--threshold", help="binary labels: label > T; a number or 'median'")
    c.add_argument("--bins", type=_ranged_int("--bins", "data.bins"),
                   help="multiclass or ordinal labels: K quantile bins of the label column")
    c.add_argument("--baseline", action="store_true",
                   help="no training: Platt-calibrate the regression output itself (binary tasks), or cut it "
                        "into ordered classes at its quantiles (ordinal tasks, multiclass ones with ordered classes)")
    c.add_argument("--report", help="also write an HTML report of the run to this file")
    c.add_argument("--onnx", action="store_true", help="also write model.onnx (needs the onnx extras)")
    c.add_argument("--out", required=True, help="a new folder for the export")
    c.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")
    c.add_argument("--json", action="store_true", help="print the metrics as JSON")
    c.add_argument("--quiet", action="store_true", help="no progress lines")

    e = sub.add_parser("evaluate", help="evaluate an exported model on labelled data, with torch alone")
    e.add_argument("export_dir")
    e.add_argument("--data", required=True, help="a table, .npz, image folder or sklearn:<name>")
    e.add_argument("--label", help="the label column (default: the export's)")
    e.add_argument("--features", help="comma-separated feature columns (default: the export's)")
    e.add_argument("--sheet", default="", help="the Excel sheet to read (default: the first)")
    e.add_argument("--json", action="store_true")
    e.add_argument("--trust", action="store_true",
                   help="trust this export's program (by hash): only for exports you know")

    m = sub.add_parser("compare", help="compare exported runs side by side on their test split")
    m.add_argument("runs", nargs="+", help="export folders written by `workbench convert`")
    m.add_argument("--report", help="also write an HTML comparison to this file")
    m.add_argument("--overwrite", action="store_true", help="replace an existing --report file")
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

    from workbench.core.fields import base_type, takes_word

    for name, flag, kind, spec in _recipe_options():
        base = base_type(kind)
        help_text = spec.help + (f" ({spec.range_text()})" if spec.range_text() else "")
        metavar = {} if base is bool or spec.choices else {"metavar": flag[2:].upper().replace("-", "_")}
        if takes_word(kind):
            p.add_argument(flag, dest=name, type=_word_or_number(flag, base, spec.choices), help=help_text,
                           metavar="|".join(spec.choices) + ("|0.01" if base is float else "|N"))
        elif base is bool:
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


def _word_or_number(flag: str, number: type, words: tuple[str, ...]):
    def parse(text: str):
        if text.strip().lower() in words:
            return text.strip().lower()
        try:
            return number(text)
        except ValueError:
            kind = "a number" if number is float else "a whole number"
            raise argparse.ArgumentTypeError(f"{flag} takes {' or '.join(words)} or {kind}, not '{text}'") from None
    return parse


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
        flag = flags.get(exc.field or "", exc.field)
        if exc.field in changes and flag:
            reason = exc.problem.split(exc.field, 1)[-1].strip().rstrip(".")
            raise RecipeError(f"{flag} {reason}.", f"Give {flag} another value.", field=exc.field) from None
        raise RecipeError(exc.problem, f"Change {flag} (on the command line or in the recipe file).",
                          args.recipe, exc.field) from None
    if not recipe.data.path:
        _usage("say which data to train on with --data (or a recipe with data.path)")
    return recipe


class _Usage(Exception):
    pass


def _usage(message: str) -> NoReturn:
    raise _Usage(message)


def _floats(text: str, flag: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        _usage(f"{flag} takes numbers separated by commas, not '{text}'")


class _Progress:
    """Prints one line per epoch to stderr."""

    def on_train_begin(self, info):
        ranks = info.get("processes", 1)
        where = f"{info['device']} in {ranks} processes" if ranks > 1 else info["device"]
        print(f"training on {where}: {info['n_train']} samples, {info['epochs']} epochs at most", file=sys.stderr)

    def on_batch_end(self, info):
        pass

    def on_epoch_end(self, info):
        print(f"epoch {info['epoch']:3d}/{info['epochs']}  train loss {info['train_loss']:.4f}  "
              f"val loss {info['val_loss']:.4f}  val acc {info['val_accuracy']:.3f}", file=sys.stderr)

    def on_train_end(self, info):
        why = "stopped early" if info["stopped_early"] else "cancelled" if info["cancelled"] else "done"
        print(f"{why}; best epoch {info['best_epoch']} restored ({info['seconds']:.1f} s)", file=sys.stderr)


def cmd_inspect(args) -> int:
    from workbench.core.open.layer_tree import inspect_model
    from workbench.core.open.load import load_checkpoint

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


def _with_ci(t: dict, key: str) -> str:
    ci = t.get("ci", {}).get(key)
    return f"{t[key]:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{t[key]:.3f}"


def _change(t: dict, key: str) -> str:
    change = t.get("calibration_change", {}).get(key)
    text = f"{t[key + '_before']:.3f} -> {t[key]:.3f}"
    if not change:
        return text
    verdict = "within noise" if change["within_noise"] else ("worse" if change["low"] > 0 else "better")
    return text + f" (change {t[key] - t[key + '_before']:+.3f}, " \
        f"95% CI [{change['low']:+.3f}, {change['high']:+.3f}], " \
        f"{verdict})"


def _summary(metrics: dict) -> str:
    """The metrics a person reads first, each with its bootstrap 95% interval, and what the defaults chose."""
    t = metrics["test"]
    auc_name = "ROC AUC" if t.get("roc_auc_definition", "ROC AUC") == "ROC AUC" else "macro one-vs-rest AUC"
    lines = [f"classes: {', '.join(metrics['classes'])}",
             f"test ({t['n']} rows; 95% bootstrap intervals in brackets)",
             f"  test accuracy {_with_ci(t, 'accuracy')}   macro F1 {_with_ci(t, 'macro_f1')}"
             + (f"   {auc_name} {_with_ci(t, 'roc_auc')}" if "roc_auc" in t else ""),
             f"  ECE ({t.get('ece_bins', 15)} bins) {_with_ci(t, 'ece')}   Brier {_with_ci(t, 'brier')}"]
    if "mae_classes" in t:  # ordered classes (see ordinal_metrics)
        lines.append(f"  class-distance error {_with_ci(t, 'mae_classes')}   weighted kappa {_with_ci(t, 'qwk')}   "
                     f"within one class {_with_ci(t, 'within_one')}")
    if "ece_before" in t:
        lines += [f"calibration ({metrics['calibration']}) on the test split:",
                  f"  ECE {_change(t, 'ece')}", f"  Brier {_change(t, 'brier')}"]
    if "brier_definition" in t:
        lines.append(f"  ({t['brier_definition']})")
    training = metrics.get("training", {})
    finder = training.get("lr_finder")
    if finder:
        lines.append(f"learning rate {training['lr']:.3g} picked by the range test "
                     f"({len(finder['lrs'])} steps from {finder['lrs'][0]:.0e} to {finder['lrs'][-1]:.0e})"
                     + (f": {finder['note']}" if finder.get("note") else "")
                     + (f", one-cycle's peak at {finder['pick'] / finder['valley']:.1f}x the valley "
                        f"{finder['valley']:.3g}" if finder.get("valley") else ""))
    if training.get("epochs"):
        lines.append(f"trained {training['epochs_run']} of at most {training['epochs']} epochs; best epoch "
                     f"{training['best_epoch']} restored")
    lines += [f"note: {note}" for note in training.get("notes", [])]
    for note in metrics.get("calibration_check", {}).get("notes", []):
        lines.append(f"note: {note}")
    lines += [f"warning: {w}" for w in metrics.get("warnings", [])]
    return "\n".join(lines)


def cmd_convert(args) -> int:
    from workbench.core.train.distributed import secondary
    from workbench.core.workflow.journey import convert_checkpoint

    recipe = _recipe_from_args(args)
    outputs = _ConvertOutputs(args, recipe)
    quiet = args.quiet or args.json or secondary()  # under torchrun, rank 0 speaks for all
    run, result = convert_checkpoint(args.checkpoint, recipe, args.out, args.trust,
                                     () if quiet else (_Progress(),), None, args.overwrite,
                                     baseline=args.baseline, onnx=args.onnx,
                                     # a source the recipe file names runs only once trusted; a typed one runs
                                     source_named_by=args.recipe if args.recipe and not args.model_source else None)
    if secondary():  # rank 0 reports, writes the report and the recipe; the others write nothing
        return 0
    for note in run.loaded.notes:
        if note.startswith(("Runs ", "Warning")):  # which Python file ran to build the model; what cannot be adapted
            print(f"note: {note}", file=sys.stderr)
    if run.data.images:  # where the splits came from, streaming, and what "auto" chose for the images
        d = run.recipe.data
        for note in [*run.data.table.notes, f"images: normalise {d.normalize}, resize {d.resize}, augment "
                                             f"{d.augment}"]:
            print(f"note: {note}", file=sys.stderr)
    outputs.write(run, result)
    if args.json:
        print(json.dumps(run.metrics, indent=2))
    else:
        print(_summary(run.metrics))
        assert result is not None  # --out was given
        print(f"exported to {result.folder}: {', '.join(result.files)} "
              f"(round trip within {result.round_trip_max_abs_diff:.1e})")
    return 0


class _ConvertOutputs:
    """--report and --save-recipe: checked before any work, never over the run's inputs or its export."""

    def __init__(self, args, recipe):
        from workbench.core.export import export as export_mod
        from workbench.core.safety.output_paths import inputs

        self.args, self.out = args, Path(args.out).expanduser().resolve()
        self.protected = inputs(source=args.checkpoint, data=recipe.data.path, model_source=recipe.model_source,
                                recipe=args.recipe)
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

        self.check()
        if self.args.report:
            from workbench.core.evaluate.report import run_report

            run_report(run, self.args.report)
        if self.args.save_recipe:
            run.recipe.save(self.args.save_recipe)
        written = [Path(p).expanduser().resolve() for p in (self.args.report, self.args.save_recipe) if p]
        record_files(result.folder, [p for p in written if result.folder in p.parents])


EXPORT_FILES = ("metadata.json", "metrics.json", "recipe.json", "model.pt2", "model.ts", "model.onnx",
                "weights.safetensors", ".workbench-export.json")


def cmd_evaluate(args) -> int:
    import numpy as np

    from workbench.core.data.data import labels_for_classes, load_table
    from workbench.core.evaluate.metrics import evaluate
    from workbench.core.export.export_read import check_inputs, probabilities, read_metadata

    folder = Path(args.export_dir)
    meta = read_metadata(folder)
    d = meta["recipe"]["data"]
    features = tuple(f.strip() for f in args.features.split(",") if f.strip()) if args.features else \
        tuple(meta.get("feature_names") or d.get("features", ()))
    missing = d.get("missing", "error")  # with impute, NaN cells are kept: the program fills them itself
    shape = tuple(meta["input_shape"])
    table = load_table(args.data, args.label or d.get("label", "target"), features,
                       shape if len(shape) == 3 else None, missing, args.sheet, shape, d.get("resize", "resize"))
    if table.given_splits and "test" in table.given_splits:  # a train/ test/ folder: its test images only
        table = dataclasses.replace(table, X=cast("ImageSamples", table.X).subset(table.given_splits["test"]),
                                    target=table.target[table.given_splits["test"]], given_splits=None)
        print(f"the folder's {table.split_folders['test']}/ split: {len(table.target)} images", file=sys.stderr)
    check_inputs(meta, table.X, args.data)
    y = labels_for_classes(table, meta["classes"], {"mode": d.get("label_mode", "column"),
                                                    **meta["metrics"].get("labels", {})})
    probs = probabilities(folder, meta, table.X, args.trust)
    ordinal = meta["task"] == "ordinal"
    result = evaluate(probs, y, meta["classes"], ordinal=ordinal,
                      ordered=ordinal or bool(meta["metrics"].get("labels", {}).get("ordered_by")))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{len(y)} samples: accuracy {result['accuracy']:.3f}  macro F1 {result['macro_f1']:.3f}  "
              f"ECE {result['ece']:.3f}  Brier {result['brier']:.3f}"
              + (f"  class-distance error {result['mae_classes']:.3f}" if "mae_classes" in result else ""))
    return 0 if np.isfinite(result["accuracy"]) else 1


def cmd_compare(args) -> int:
    from workbench.core.evaluate.compare import format_table, inputs_of_runs, load_run_dir, table

    runs = [load_run_dir(folder) for folder in args.runs]
    if args.report:
        from workbench.core.safety.output_paths import check_output_file

        check_output_file(args.report, inputs_of_runs(args.runs), args.overwrite)
    result = table(runs)
    if args.report:
        from workbench.core.evaluate.report import comparison_report

        comparison_report(runs, args.report)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0


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
        print(json.dumps(run.metrics, indent=2))
        return 0
    print(_summary(run.metrics))
    assert result is not None  # the demo always exports
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
        kept = f" with {log}"
    except OSError:
        kept = ""
    print(f"workbench: internal error ({type(exc).__name__}: {exc}). This is a bug, not your mistake; "
          f"please report it{kept}.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
