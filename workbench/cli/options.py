"""The recipe on the command line: one option per described recipe field (generated from the field's
description, as the window's form is), their parsers, and the recipe a command line asks for."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn


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
            bad = next((v for v in parts if not _reads(item, v)), text)
            kind = "a number" if item is float else "a whole number" if item is int else "a value"
            raise argparse.ArgumentTypeError(
                f"{flag} takes {kind if single else kind + ' in each place, separated by commas'}; "
                f"'{bad}' is not {kind}" + ("" if bad == text else f" (in '{text}')")) from None
        if single:
            if len(values) != 1:
                raise argparse.ArgumentTypeError(f"{flag} takes one number, not '{text}'")
            return values[0]
        return values
    return parse


def _reads(item: type, text: str) -> bool:
    try:
        item(text)
    except ValueError:
        return False
    return True


def _recipe_from_args(args):
    from workbench.core import recipe as rc
    from workbench.core.errors import RecipeError
    from workbench.core.workflow.options import implied_policy, implied_task

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
    _check_prior_flags(changes, base)
    if changes.get("decide.costs") and "decide.policy" not in changes and base.decide.policy != "cost":
        changes = implied_policy(changes)  # core's rule, as a notebook's options and the window apply it
        print("note: --costs is a cost matrix: the cost decision policy is used (--decision-policy cost).",
              file=sys.stderr)
    if args.threshold is not None and args.bins is not None:
        _usage("give either --threshold (binary) or --bins (multiclass), not both")
    if args.threshold is not None:
        changes["data.label_mode"] = "threshold"
        changes["data.threshold"] = None if args.threshold == "median" else _threshold(args.threshold)
    elif args.bins is not None:
        changes |= {"data.label_mode": "bins", "data.bins": args.bins}
        implied = implied_task("bins", base.head.task)  # core's rule, as the window and a notebook apply it
        if "head.task" not in changes and implied != base.head.task:
            changes["head.task"] = implied
            print(f"note: --bins {args.bins} makes {args.bins} classes: a multiclass head is trained (add "
                  "--task ordinal for an ordinal one).", file=sys.stderr)
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
    if "data.label" in changes and Path(recipe.data.path).expanduser().is_dir():  # else ignored without a word
        raise RecipeError(f"--label {recipe.data.label} names a table's column, but {recipe.data.path} is an image "
                          "folder, whose classes are its sub-folders.", "Leave out --label.", field="data.label")
    return recipe


def _check_prior_flags(changes: dict, base) -> None:
    """--prior states the deployment prior and --prior-from estimates it, replacing whatever prior was given, so
    the pair (or --prior beside a recipe file's prior_from) would drop --prior without a word."""
    from workbench.core.errors import RecipeError

    if not changes.get("decide.prior"):
        return
    if changes.get("decide.prior_from"):
        raise RecipeError("--prior and --prior-from both set the deployment prior: --prior states the class shares, "
                          "--prior-from estimates them from unlabelled rows and would replace --prior.",
                          "Give one of them.", field="decide.prior")
    if "decide.prior_from" not in changes and base.decide.prior_from:
        raise RecipeError(f"--prior is given, but the recipe file's decide.prior_from ({base.decide.prior_from}) "
                          "estimates the deployment prior from unlabelled rows and would replace it.",
                          "Add --prior-from '' to use --prior instead, or leave --prior out.", field="decide.prior")


class _Usage(Exception):
    pass


def _usage(message: str) -> NoReturn:
    raise _Usage(message)


def _threshold(text: str) -> float:
    """One number (or 'median', handled by the caller): a second cut would make three classes, which is --bins."""
    if _reads(float, text):
        return float(text)
    hint = "several classes cut from the label: --bins K, or a class column"
    if _reads(float, text.replace(",", ".")):  # "0,5" may be a decimal comma as well as two cuts
        hint = f"with a decimal point, {text.replace(',', '.')}; or, for {hint}"
    _usage(f"--threshold takes one number or 'median', not '{text}' ({hint})")


def _floats(text: str, flag: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        _usage(f"{flag} takes numbers separated by commas, not '{text}'")
