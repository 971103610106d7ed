"""Labelled data: read a table, an .npz, an image folder or a bundled scikit-learn set; derive labels; split.

Tables are read by `tables` (pyarrow) and their columns sorted into features and the rest by `columns`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.core.data.class_order import natural_order
from workbench.core.data.samples import Table
from workbench.core.errors import DataError

if TYPE_CHECKING:
    from workbench.core.data.columns import ColumnSummary
    from workbench.core.data.tables import RawTable

SKLEARN_SETS = ("diabetes", "breast_cancer", "wine", "iris", "digits")
def load_table(path: str, label: str = "target", features: tuple[str, ...] = (),
               input_shape: tuple[int, ...] | None = None, missing: str = "error", sheet: str = "",
               model_shape: tuple[int, ...] | None = None, resize: str = "resize", inputs: Any = None) -> Table:
    """Read labelled data. A table's features are `features`, or its numeric columns but the label; with
    `model_shape` a table whose chosen columns do not match the model is refused before anything runs."""
    if path.startswith("sklearn:"):
        return _sklearn(path[8:])
    p = Path(path)
    if p.is_dir():
        from workbench.core.data.images import load_image_folder

        return load_image_folder(p, input_shape, resize)
    if not p.is_file():
        raise DataError("no such data file or folder.", "Check the path.", p)
    if p.suffix.lower() == ".npz":
        return _npz(p)
    from workbench.core.data.tables import read_table

    return table_from_raw(read_table(p, sheet), label, features, missing, model_shape, inputs=inputs)


def table_from_raw(raw: RawTable, label: str, features: tuple[str, ...] = (), missing: str = "error",
                   model_shape: Sequence[int] | None = None, summary: ColumnSummary | None = None,
                   inputs: tuple[str, Any] | None = None) -> Table:
    """The Table of chosen columns from a file already read (the window reads once, then re-chooses). With
    `inputs` (data.inputs, the model's inputs) for a model taking several tensors, see data.input_columns."""
    from workbench.core.data.columns import build_matrix, summarize

    summary = summary or summarize(raw)
    if inputs is not None:
        from workbench.core.data.columns import check_named
        from workbench.core.data.input_columns import inputs_table

        check_named(summary, label, features, raw.source)  # before the mapping's counts, which would not name them

        return inputs_table(raw, summary, label, inputs[0], inputs[1], missing)
    X, target, names, notes, rows = build_matrix(raw, summary, label, features, missing, model_shape)
    return Table(X, target, names, raw.source, notes=list(raw.notes) + notes, columns=summary, rows=rows,
                 id_columns=id_values(raw, summary, rows - raw.first_row, label))


MAX_ID_COLUMNS = 3  # a sample is named by its row and at most this many ID-like columns


def id_values(raw: RawTable, summary: ColumnSummary, kept: np.ndarray, label: str) -> dict[str, np.ndarray]:
    """The ID-like columns (`columns.summarize`'s kind "ID-like") of the rows `kept` (indices into the file's
    rows), as text: a whole number without ".0", a missing cell as ""."""
    found: dict[str, np.ndarray] = {}
    for name, kind in zip(summary.names, summary.kinds):
        if kind != "ID-like" or name == label or len(found) == MAX_ID_COLUMNS:
            continue
        if name in raw.numeric:
            values = raw.numeric[name][kept]
            found[name] = np.array(["" if np.isnan(v) else f"{v:.0f}" if float(v).is_integer() else f"{v:g}"
                                    for v in values], dtype=object)
        elif name in raw.text:
            found[name] = np.array(["" if v is None else str(v) for v in raw.text[name][kept]], dtype=object)
    return found


def as_sequences(table: Table, features: int, steps: int | None = None) -> Table:
    """A flat table (N, W) as sequences (N, steps, features) for a recurrent model; `steps` from the width when
    not given. A width that is not whole steps is refused, saying how to give the shape."""
    if table.X.ndim != 2:
        return table
    assert isinstance(table.X, np.ndarray)  # an image folder's samples have 4 dimensions
    from workbench.core.data.columns import sequence_note

    width = table.X.shape[1]
    if steps is None:
        if width % features:
            raise SequenceShapeError(
                f"the model is recurrent and takes {features} features per time step, but the {width} feature "
                f"column(s) are not a whole number of steps ({width} is not a multiple of {features}).",
                f"Choose feature columns that hold whole steps (steps x {features} columns, step by step: step 1's "
                f"{features} features, then step 2's, ...), or give the input shape as steps,{features} "
                "(--input-shape; in the window, the Model tab's Input shape field).", table.source, features, width)
        steps = width // features
    elif steps * features != width:
        raise SequenceShapeError(
            f"the input shape ({steps}, {features}) takes {steps * features} values per sample, but the data has "
            f"{width}.", "Give the input shape that matches the data (--input-shape; in the window, the Model "
            "tab's Input shape field), or choose matching feature columns.", table.source, features, width)
    shape = (steps, features)
    return dataclasses.replace(table, X=table.X.reshape(len(table.X), *shape),
                               notes=[*table.notes, sequence_note(shape)])


class SequenceShapeError(DataError):
    """Flat rows that cannot be read as sequences of the model's features per step."""

    def __init__(self, problem: str, fix: str, path: object, features: int, width: int):
        self.features, self.width = features, width
        super().__init__(problem, fix, path)


def _sklearn(name: str) -> Table:
    from sklearn import datasets

    if name not in SKLEARN_SETS:
        raise DataError(f"there is no bundled data set '{name}'.", f"Choose one of: {', '.join(SKLEARN_SETS)}.")
    bunch = getattr(datasets, f"load_{name}")()
    X = np.asarray(bunch.data, dtype=np.float32)
    if name == "digits":
        X = (X / 16.0).reshape(-1, 1, 8, 8)
    names = [str(n) for n in bunch.target_names] if hasattr(bunch, "target_names") else None
    return Table(X, np.asarray(bunch.target, dtype=np.float64), list(map(str, bunch.get("feature_names", []))),
                 f"sklearn:{name}", names, pixels=name == "digits")


def _npz(path: Path) -> Table:
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ("X", "y") if k not in npz.files]
            if missing:
                raise DataError(f"the .npz has no array named {', '.join(missing)} (it has {', '.join(npz.files)}).",
                                "Save it with np.savez(path, X=inputs, y=labels).", path)
            X, y = npz["X"], npz["y"]
    except ValueError as exc:
        raise DataError(f"the .npz holds Python objects, which are not loaded for safety ({exc}).",
                        "Save plain numeric arrays.", path) from None
    except (OSError, EOFError) as exc:
        raise DataError(f"the .npz cannot be read ({exc}).", "Save it again with np.savez.", path) from None
    if X.ndim < 2 or len(X) != len(y):
        raise DataError(f"X has shape {X.shape} and y has shape {y.shape}; they need one row per sample.",
                        "Give X as (samples, features...) and y as (samples,).", path)
    X = _finite(np.asarray(X, dtype=np.float32), path)
    target = y.astype(np.float64) if y.dtype.kind in "biuf" else y.astype(str)
    return Table(X, target, [f"x{i}" for i in range(int(np.prod(X.shape[1:])))], str(path))


def _finite(X: np.ndarray, path: object, names: list[str] | None = None) -> np.ndarray:
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad.reshape(len(X), -1))[:2])
        where = f"column '{names[col]}'" if names else f"feature {col}"
        raise DataError(f"{int(bad.sum())} feature value(s) are NaN or infinite (first: row {row + 1}, {where}).",
                        "Fill or drop the missing values before converting.", path)
    return X


def make_labels(table: Table, mode: str, task: str, threshold: float | None = None,
                bins: int = 3, classes: tuple[str, ...] = ()) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """Return (integer labels, class names in code order, how they were derived).

    A class column's classes are ordered by `classes` when given, else numerically when they are numbers
    (2 before 10), else alphabetically. `info["ordered_by"]` says where an order the classes have comes from
    (a threshold, bins, the order given, numeric labels), None when alphabetical: an ordinal head refuses those."""
    target, path = table.target, table.source
    numeric = target.dtype.kind == "f"
    if mode in ("threshold", "bins") and not numeric:
        cut = "at a threshold" if mode == "threshold" else "into quantile bins"
        raise DataError(f"the label column is not numeric, so it cannot be cut {cut}.",
                        f"Use its values as the classes (leave out --{'threshold' if mode == 'threshold' else 'bins'}; "
                        "in the window, the Data tab's Class column).", path)
    if numeric and not np.isfinite(target).all():
        raise DataError(f"the label column has {int((~np.isfinite(target)).sum())} NaN or infinite value(s).",
                        "Drop those rows.", path)
    info: dict[str, Any] = {"mode": mode}
    if mode == "threshold":
        t = float(np.median(target)) if threshold is None else float(threshold)
        y = (target > t).astype(np.int64)
        names = [f"<= {t:g}", f"> {t:g}"]
        info["threshold"] = t
    elif mode == "bins":
        edges = np.quantile(target, np.linspace(0, 1, bins + 1))
        if len(np.unique(edges)) != len(edges):
            raise DataError(f"the label column has too many tied values for {bins} quantile bins.",
                            "Use fewer bins or a threshold.", path)
        y = np.digitize(target, edges[1:-1], right=True).astype(np.int64)
        names = [f"({edges[i]:.4g}, {edges[i + 1]:.4g}]" for i in range(bins)]
        names[0] = "[" + names[0][1:]
        info["edges"] = edges.tolist()
    else:
        values, y = np.unique(target, return_inverse=True)
        names = class_names(values, table.target_names)
        natural = natural_order(names) if not numeric else None  # numbers, bins, low/medium/high, ...
        order = natural[0] if natural else None
        if classes:
            # the classes' own order, which a seeded split draws in (recipe data.split_order labels)
            info["own_order"] = [names[i] for i in order] if order is not None else list(names)
            order = _given_order(names, classes, path)
        if order is not None:
            remap = np.empty(len(names), dtype=np.int64)
            remap[order] = np.arange(len(order))
            y, names = remap[y], [names[i] for i in order]
        y = y.astype(np.int64)
    info["ordered_by"] = _ordered_by(mode, names, classes)
    if task == "ordinal" and not info["ordered_by"]:
        from workbench.core.errors import RecipeError

        raise RecipeError(
            f"an ordinal head needs classes with an order, and the classes of the label column ({', '.join(names[:10])}"
            f"{', ...' if len(names) > 10 else ''}) have none: they are not numbers and no class order was given.",
            "Give the class order (--classes low,medium,high; in the window, Move up/down beside the class counts on "
            "the Data tab), cut a numeric column into bins, or choose a multiclass head.", path, "head.task")
    counts = np.bincount(y, minlength=len(names))
    if len(names) < 2:
        raise DataError(f"the labels have only one class ({names[int(np.argmax(counts))]}).",
                        "A classifier needs at least two classes: check the label column or the threshold.", path)
    if (counts == 0).any():
        raise DataError(f"the labels have only one class ({names[int(np.argmax(counts))]}).",
                        "A classifier needs at least two classes: check the label column or the threshold.", path)
    if task == "binary" and len(names) != 2:
        raise DataError(f"a binary head needs two classes, but the label column has {len(names)} classes.",
                        "Choose a multiclass or ordinal head (--task multiclass; in the window, Task on the Head & "
                        "training tab), or derive two classes with a threshold (--threshold; in the window, the Data "
                        "tab's Threshold labels).", path)
    info["counts"] = counts.tolist()
    return y, names, info


def class_names(values: np.ndarray, target_names: list[str] | None = None) -> list[str]:
    """How each distinct label value is named (and matched against an export's classes)."""
    if values.dtype.kind == "f":
        if target_names and np.array_equal(values, np.arange(len(values))):
            return [target_names[int(v)] for v in values]
        if target_names and np.all((values >= 0) & (values < len(target_names)) & (values == np.floor(values))):
            return [target_names[int(v)] for v in values]
        return [f"{v:g}" for v in values]
    return [str(v) for v in values]


def _ordered_by(mode: str, names: list[str], classes: tuple[str, ...]) -> str | None:
    """Where the classes' order comes from, or None when they have none (what an ordinal head needs)."""
    if mode in ("threshold", "bins"):
        return mode
    if classes:
        return "the class order given"
    natural = natural_order(names)
    return natural[1] if natural is not None else None


def _given_order(names: list[str], classes: tuple[str, ...], path: object) -> list[int]:
    where = {n: i for i, n in enumerate(names)}
    unknown = [c for c in classes if c not in where]
    if unknown:
        raise DataError(f"the class order names {', '.join(unknown)}, which the label column does not hold (it "
                        f"holds {', '.join(names[:20])}).", "Give the class order with the label column's values.",
                        path)
    unlisted = [n for n in names if n not in set(classes)]
    if unlisted:
        raise DataError(f"the class order leaves out {', '.join(unlisted[:20])}.",
                        "List every class of the label column, in the order wanted.", path)
    return [where[c] for c in classes]


def labels_for_classes(table: Table, classes: list[str], label_info: dict[str, Any]) -> np.ndarray:
    """Integer labels of `table` in the code order of an export's `classes`, matched by class name (a class
    column) or derived with the export's own threshold or bin edges (never re-derived from this data)."""
    target, path = table.target, table.source
    mode = label_info.get("mode", "column")
    if mode in ("threshold", "bins"):
        if target.dtype.kind != "f":
            raise DataError(f"the label column is not numeric, so the export's {mode} cannot be applied.",
                            "Give the column the export's labels were derived from.", path)
        if mode == "threshold":
            return (target > float(label_info["threshold"])).astype(np.int64)
        edges = np.asarray(label_info["edges"], dtype=np.float64)
        return np.asarray(np.digitize(target, edges[1:-1], right=True).astype(np.int64))
    values, inverse = np.unique(target, return_inverse=True)
    names = class_names(values, table.target_names)
    where = {c: i for i, c in enumerate(classes)}
    unknown = [n for n in names if n not in where]
    if unknown:
        raise DataError(f"the label column holds {', '.join(unknown[:10])}, which the export does not know (its "
                        f"classes: {', '.join(classes)}).", "Give data labelled with the export's classes.", path)
    return np.array([where[n] for n in names], dtype=np.int64)[inverse]


def split_indices(y: np.ndarray, fractions: tuple[float, ...], seed: int, path: str = "",
                  classes: list[str] | None = None, draw: list[int] | None = None) -> dict[str, np.ndarray]:
    """Stratified, seeded train / val / cal / test index arrays (an empty split when its fraction is 0).

    Every class gets at least one row in every split with a positive fraction, the rest shared out in
    proportion (largest remainders); a class with fewer rows than there are splits is refused by name. The seeded
    draws go class by class in the order `draw` (class codes; default: code order), so that the codes' order need
    not decide which rows go where."""
    names = ("train", "val", "cal", "test")
    shares = np.asarray(fractions, dtype=np.float64)
    used = shares > 0
    needed = int(used.sum())
    counts = np.bincount(y)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for code in (range(len(counts)) if draw is None else [c for c in draw if c < len(counts)]):
        count = counts[code]
        if count == 0:
            continue
        if count < needed:
            name = classes[code] if classes else str(code)
            splits = ", ".join(n for n, u in zip(("train", "validation", "calibration", "test"), used) if u)
            raise DataError(f"class '{name}' has only {count} sample(s), too few for one in each of the {needed} "
                            f"splits ({splits}).", f"Give at least {needed} samples of every class, merge rare "
                            "classes, or set a split's fraction to 0.", path)
        quota = _allocate(int(count), shares)
        rows = rng.permutation(np.flatnonzero(y == code))
        start = 0
        for name, take in zip(names, quota):
            parts[name].append(rows[start:start + take])
            start += take
    return {n: np.sort(np.concatenate(parts[n])) if parts[n] else np.array([], dtype=np.int64) for n in names}


def _allocate(count: int, fractions: np.ndarray) -> list[int]:
    """Whole rows per split: one for each used split first, then the rest in proportion, by largest remainder."""
    used = fractions > 0
    quota = used.astype(np.int64)
    left = count - int(quota.sum())
    want = np.maximum(fractions / fractions.sum() * count - quota, 0) * used
    if left <= 0:
        return [int(q) for q in quota]
    if want.sum() <= 0:
        want = used.astype(np.float64)
    share = want / want.sum() * left
    whole = np.floor(share).astype(np.int64)
    quota += whole
    for i in np.argsort(-(share - whole), kind="stable")[:left - int(whole.sum())]:
        quota[i] += 1
    return [int(q) for q in quota]


def given_split_indices(y: np.ndarray, given: dict[str, np.ndarray], fractions: tuple[float, ...], seed: int,
                        path: str = "", classes: list[str] | None = None,
                        draw: list[int] | None = None) -> dict[str, np.ndarray]:
    """The splits a folder gives (train/, val/, test/) used as given; what it lacks is carved, stratified and
    seeded, in the recipe's proportions: the calibration split from val/ when there is one (else from train/),
    a validation or test split from train/ when the folder has none."""
    train_f, val_f, cal_f, test_f = fractions
    has_val, has_test = "val" in given, "test" in given
    out = {"train": given["train"], "val": given.get("val", np.array([], dtype=np.int64)),
           "cal": np.array([], dtype=np.int64), "test": given.get("test", np.array([], dtype=np.int64))}

    def carve(rows: np.ndarray, parts: tuple[float, ...]) -> dict[str, np.ndarray]:
        if sum(f > 0 for f in parts) <= 1:  # nothing to carve: the rows stay whole in the one split asked for
            return {("train", "val", "cal", "test")[int(np.argmax(parts))]: rows}
        codes = split_indices(y[rows], parts, seed, path, classes, draw)
        return {name: rows[idx] for (name, idx), f in zip(codes.items(), parts) if f > 0}

    out.update(carve(given["train"], (train_f, 0 if has_val else val_f, 0 if has_val else cal_f,
                                      0 if has_test else test_f)))
    if has_val:
        out.update(carve(given["val"], (0, val_f if val_f > 0 or cal_f > 0 else 1, cal_f, 0)))
    return {n: np.sort(out[n]) for n in ("train", "val", "cal", "test")}
