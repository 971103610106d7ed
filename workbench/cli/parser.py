"""The `workbench` command's argument parser: one sub-command per job, the recipe's options generated from its
field descriptions (see `options`)."""

from __future__ import annotations

import argparse
import json

from workbench.cli.decisions import add_unlabelled_option
from workbench.cli.options import _add_recipe_options, _ranged_int
from workbench.core.recipe import MLP_ACTIVATIONS

DESCRIPTION = "The same jobs as the window, headless: inspect, convert, probe, evaluate, compare, demo."


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
    parser = argparse.ArgumentParser(prog="workbench", description=DESCRIPTION)
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
    c.add_argument("--mlflow", nargs="?", const="", metavar="URI",
                   help="also log the run to MLflow (params, metrics with intervals, the export and a pyfunc model); "
                        "without URI a local store in your data folder. Needs the tracking extra")

    r = sub.add_parser("probe", help="where to cut: a linear probe at every layer the head can be attached at")
    _add_model_args(r, activation=False)
    r.add_argument("--recipe", help="a recipe file (JSON or TOML); flags given here override it")
    _add_recipe_options(r)
    r.add_argument("--threshold", help="binary labels: label > T; a number or 'median'")
    r.add_argument("--bins", type=_ranged_int("--bins", "data.bins"), help="multiclass labels: K quantile bins")
    r.add_argument("--json", action="store_true", help="print the table as JSON")

    e = sub.add_parser("evaluate", help="evaluate an exported model on labelled data, with torch alone")
    e.add_argument("export_dir")
    e.add_argument("--data", help="a table, .npz, image folder or sklearn:<name>")
    add_unlabelled_option(e)
    e.add_argument("--label", help="the label column (default: the export's)")
    e.add_argument("--features", help="comma-separated feature columns (default: the export's)")
    e.add_argument("--sheet", default="", help="the Excel sheet to read (default: the one the export was trained on "
                                               "when the workbook has it, else the first)")
    e.add_argument("--missing", choices=("drop",), default="",
                   help="rows with a missing feature value (in --data and --unlabelled): drop leaves them out and "
                        "counts them (default: the export's own handling: refused, or filled inside the program if "
                        "it was trained to impute)")
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
    for command in sub.choices.values():
        _add_log_options(command)
    return parser


def _add_log_options(p: argparse.ArgumentParser) -> None:
    """--verbose and --log-file, on every sub-command (the rotating log in the platform's log folder is always
    written: see workbench.logs)."""
    p.add_argument("--verbose", action="store_true", help="also print debug lines on stderr and log them")
    p.add_argument("--log-file", help="also write the log (debug lines included) to this file")


class _Version(argparse.Action):
    """Like argparse's version action, but the versions are looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from workbench.core.desktop import versions

        found = versions()
        print(f"workbench {found['workbench']} (torch {found['torch']}, Python {found['python']})")
        parser.exit()


