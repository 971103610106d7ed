"""Column roles and the feature matrix: each column's kind (numeric, text, ID-like, constant, empty, date/time)
and missing cells, the default label and features, and the float32 matrix of the chosen columns.

A text column is never an error: it is left out of the default features with the reason beside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from workbench.core import notes as N
from workbench.core.data.tables import RawTable
from workbench.core.errors import DataError

MISSING_POLICIES = ("error", "drop", "impute")
DEFAULT_LABEL = "target"  # the recipe's default label column (DataRecipe.label; a test holds them equal)
NOT_FEATURES = ("text", "ID-like", "empty", "date/time")  # kinds left out of the default features
_ID_NAME = re.compile(r"(^|[_\s.-])(id|ids|index|idx|key|uuid|guid|row|rownum|no)$|^unnamed", re.IGNORECASE)
_LABEL_NAMES = ("target", "label", "labels", "class", "y", "outcome")


class MissingValuesError(DataError):
    """Chosen feature columns have missing cells and the policy is 'error'; `counts` maps column -> cells."""

    def __init__(self, problem: str, fix: str, path: object, counts: dict[str, int], rows: int):
        self.counts, self.rows = counts, rows
        super().__init__(problem, fix, path)


class WidthMismatchError(DataError):
    """The chosen features do not match the model's input width; `numeric` lists the columns to choose from."""

    def __init__(self, problem: str, fix: str, path: object, expected: int, chosen: int, numeric: list[str],
                 gui: str | None = None):
        self.expected, self.chosen, self.numeric = expected, chosen, numeric
        super().__init__(problem, fix, path, gui)


class NotNumericError(DataError):
    """A chosen feature column holds text; `column` names it."""

    def __init__(self, problem: str, fix: str, path: object, column: str):
        self.column = column
        super().__init__(problem, fix, path)


@dataclass
class ColumnSummary:
    """Every column's kind, missing cells and a note (why it is left out, what is odd about it)."""

    names: list[str]
    kinds: list[str]
    missing: list[int]
    is_number: list[bool]  # the cells are numbers (it can be a feature, ticked or not)
    notes: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {n: i for i, n in enumerate(self.names)}

    def kind(self, name: str) -> str:
        return self.kinds[self.index[name]]

    def missing_of(self, name: str) -> int:
        return self.missing[self.index[name]]

    def usable(self, name: str) -> bool:
        """A column that can be a feature at all (numbers, possibly constant or with missing cells)."""
        i = self.index[name]
        return self.is_number[i] and self.kinds[i] != "empty"

    def numeric_names(self, label: str = "") -> list[str]:
        return [n for n, k, num in zip(self.names, self.kinds, self.is_number) if num and k != "empty"
                and n != label]

    def default_features(self, label: str, width: int | None = None) -> list[str]:
        """Numeric columns except the label, ID-like and constant ones (which can still be ticked). When the
        model takes `width` inputs and only counting the constant columns too gives that width, they are in."""
        plain = [n for n, k in zip(self.names, self.kinds) if k == "numeric" and n != label]
        if width is not None and len(plain) != width:
            with_constants = [n for n, k in zip(self.names, self.kinds) if k in ("numeric", "constant")
                              and n != label]
            if len(with_constants) == width:
                return with_constants
        return plain

    def default_label(self, current: str = "") -> str:
        """The current label when the table has it, else a column named like a label, else the last one that
        is not ID-like."""
        if current in self.index:
            return current
        lowered = {n.lower(): n for n in self.names}
        for name in _LABEL_NAMES:
            if name in lowered:
                return lowered[name]
        for name, kind in zip(reversed(self.names), reversed(self.kinds)):
            if kind not in ("ID-like", "empty", "constant"):
                return name
        return self.names[-1]


def summarize(raw: RawTable) -> ColumnSummary:
    import pandas as pd

    kinds, missing, notes, is_number = [], [], {}, []
    fast = _block_stats(raw)
    for name in raw.names:
        if name in fast:
            kind, count, note = fast[name]
            if note:
                notes[name] = note
        elif name in raw.numeric:
            values = raw.numeric[name]
            nan = np.isnan(values)
            count = int(nan.sum())
            present = values[~nan] if count else values
            if not len(present):
                kind, notes[name] = "empty", "every cell is empty: left out"
            elif present.min() == present.max():
                kind, notes[name] = "constant", f"constant ({present[0]:g}): no information, left out"
            elif _id_like_numbers(name, present, raw.rows):
                kind, notes[name] = "ID-like", "looks like a row number or ID (every value differs): left out"
            else:
                kind = "numeric"
        else:
            cells = raw.text[name]
            present_mask = pd.notna(cells)
            count = int(len(cells) - present_mask.sum())
            if name in raw.kinds:
                kind = raw.kinds[name] if raw.kinds[name] == "date/time" else "text"
                notes[name] = f"{raw.kinds[name]}, not a number: left out"
            elif not present_mask.any():
                kind, notes[name] = "empty", "every cell is empty: left out"
            elif raw.rows >= 20 and pd.Series(cells[present_mask]).nunique() == int(present_mask.sum()):
                kind, notes[name] = "ID-like", "text, every value differs (an ID or a name): left out"
            else:
                kind, notes[name] = "text", "text, not numbers: left out"
            if name in raw.bad_cells:
                row, cell, bad = raw.bad_cells[name]
                kind = "text"
                notes[name] = (f"not numeric: row {row} holds '{cell[:30]}'" + (f" ({bad - 1} more)" if bad > 1 else "")
                               + "; fix those cells to use it")
        kinds.append(kind)
        missing.append(count)
        is_number.append(name in raw.numeric)
    return ColumnSummary(list(raw.names), kinds, missing, is_number, notes, raw.rows)


def _block_stats(raw: RawTable) -> dict[str, tuple[str, int, str]]:
    """Kinds and missing counts of a wide file's numeric columns in one vectorised pass: {name: (kind, missing,
    note)} for the plain numeric and constant columns; the rest are looked at one by one."""
    if raw.block is None:
        return {}
    import warnings

    matrix, names, numeric = raw.block
    nan = np.isnan(matrix)
    counts = nan.sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: looked at one by one
        low, high = np.nanmin(matrix, axis=0), np.nanmax(matrix, axis=0)
    whole = np.all((matrix == np.floor(matrix)) | nan, axis=0)
    out = {}
    for j in np.flatnonzero(numeric & (counts < raw.rows) & ~(whole & (counts == 0) & (low != high))):
        name = names[j]
        if low[j] == high[j]:
            out[name] = ("constant", int(counts[j]), f"constant ({low[j]:g}): no information, left out")
        else:
            out[name] = ("numeric", int(counts[j]), "")
    return out


def _id_like_numbers(name: str, values: np.ndarray, rows: int) -> bool:
    """Whole numbers, every one different, and either named like an ID or counting 0..n / 1..n."""
    if rows < 3 or len(values) != rows:
        return False
    if values[0] != np.floor(values[0]) or not np.array_equal(values, np.floor(values)):
        return False
    counting = rows >= 20 and values.max() - values.min() == rows - 1
    if not (counting or _ID_NAME.search(name)):
        return False
    return len(np.unique(values)) == rows


def table_width(model_shape: Sequence[int] | None) -> int | None:
    """How many columns a table needs for the model: its width, or steps x features for a sequence (T, F)."""
    if not model_shape or len(model_shape) not in (1, 2):
        return None
    return int(np.prod(model_shape))


def check_width(model_shape: Sequence[int] | None, features: list[str], summary: ColumnSummary | None, label: str,
                path: object) -> None:
    """Refuse features that do not match a one-dimensional model input or a sequence (steps, features),
    naming the numeric columns."""
    expected = table_width(model_shape)
    if expected is None or expected == len(features):
        return
    numeric = summary.numeric_names(label) if summary else []
    shown = ", ".join(numeric[:40]) + (f", … ({len(numeric)} in all)" if len(numeric) > 40 else "")
    chosen = ", ".join(features[:12]) + (", …" if len(features) > 12 else "")
    notes = summary.notes if summary else {}
    odd = [f"'{n}' ({notes[n].split(';')[0]})" for n in (summary.names if summary else [])
           if notes.get(n, "").startswith("not numeric")][:3]
    takes = f"{expected} inputs" if model_shape is None or len(model_shape) == 1 else \
        f"sequences of {model_shape[0]} steps of {model_shape[1]} features ({expected} columns, step by step)"
    raise WidthMismatchError(
        f"the model takes {takes} but {len(features)} feature column(s) are chosen ({chosen})."
        + (f" Left out: {', '.join(odd)}." if odd else ""),
        _width_fix(expected, numeric, shown, window=False), path, expected, len(features), numeric,
        gui=_width_fix(expected, numeric, shown, window=True))


def _width_fix(expected: int, numeric: list[str], shown: str, window: bool) -> str:
    """What to do, never asking for more columns than the table has."""
    if len(numeric) < expected:
        have = f"the table has only {len(numeric)} numeric column(s) besides the label" if numeric else \
            "the table has no numeric column besides the label"
        return (f"The model needs {expected}, and {have}: give a table with {expected} numeric feature columns, "
                f"or open a model that takes {len(numeric)}." if numeric else
                f"The model needs {expected}, and {have}: give a table with {expected} numeric feature columns.")
    if window:
        return f"Tick {expected} of the {len(numeric)} numeric columns: {shown}."
    return f"Choose {expected} with --features from the numeric columns: {shown}."


def check_named(summary: ColumnSummary, label: str, features: Sequence[str], path: object) -> None:
    """The label column and the feature columns named are in the table (each refused by name, with the table's
    columns): for every model, one input or several."""
    if label not in summary.index:
        which = f"'{label}'" if label != DEFAULT_LABEL else f"'{label}' (the default label column)"
        raise DataError(f"there is no label column {which}.", "Name the label column (--label; in the window, the "
                        f"Data tab's Label column) from: {_listing(summary.names)}.", path)
    unknown = [f for f in features if f not in summary.index]
    if unknown:
        raise DataError(f"feature column(s) {', '.join(unknown[:10])} are not in the table.",
                        f"Columns: {_listing(summary.names)}.", path)


def _chosen_features(raw: RawTable, summary: ColumnSummary, label: str, features: Sequence[str],
                     model_shape: Sequence[int] | None) -> list[str]:
    """The feature columns to read (the defaults when none are chosen), each checked: present, numeric, not the
    label, as many as the model reads."""
    path = raw.source
    check_named(summary, label, features, path)
    features = list(features) or summary.default_features(label, table_width(model_shape))
    if label in features:
        raise DataError(f"the label column '{label}' is also chosen as a feature, which would let the model read "
                        "the answer.", "Leave it out of the features.", path)
    text = [f for f in features if f in raw.text]
    if text:
        note = summary.notes.get(text[0], "")
        raise NotNumericError(f"column '{text[0]}' is not numeric ({note.split(';')[0]}).",
                              "Leave it out of --features (text columns are left out by default), or encode it "
                              "as numbers.", path, text[0])
    if not features:
        raise DataError("the table has no numeric feature columns besides the label.",
                        f"Columns: {_listing(summary.names)}; encode the inputs as numbers.", path)
    check_width(model_shape, features, summary, label, path)
    return features


def build_matrix(raw: RawTable, summary: ColumnSummary, label: str, features: tuple[str, ...] | list[str],
                 missing: str = "error", model_shape: Sequence[int] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, list[str], list[str], np.ndarray]:
    """(X float32, target, feature names, notes, kept row numbers) from the chosen columns, applying `missing`.

    With missing='impute' the NaN cells stay in X; the train split's medians fill them (see pipeline)."""
    path = raw.source
    features = _chosen_features(raw, summary, label, features, model_shape)
    notes: list[str] = []
    if label in raw.numeric:
        target = raw.numeric[label]
        has_label = ~np.isnan(target)
    else:
        target = raw.text[label]
        has_label = np.array([v is not None for v in target], dtype=bool)
    keep = has_label
    dropped_labels = int((~has_label).sum())
    if dropped_labels:
        notes.append(N.info(f"{dropped_labels} row(s) with no label were dropped.", "unlabelled_rows", "data.label"))
    if raw.block is not None:  # a wide file: one fancy-index of its matrix, not a million small copies
        X = raw.block[0][:, [summary.index[f] for f in features]].astype(np.float32)
    else:  # one contiguous row per feature, then transposed in one pass: 4x faster than strided column writes
        by_feature = np.empty((len(features), raw.rows), dtype=np.float32)
        for j, name in enumerate(features):
            by_feature[j] = raw.numeric[name]
        X = np.ascontiguousarray(by_feature.T)
        del by_feature
    if dropped_labels:
        X, target = X[keep], target[keep]
    rows = np.flatnonzero(keep) + raw.first_row
    if np.isinf(X).any():
        r, c = (int(v[0]) for v in np.nonzero(np.isinf(X)))
        raise DataError(f"{int(np.isinf(X).sum())} feature value(s) are infinite (first: row {rows[r]}, column "
                        f"'{features[c]}').", "Replace them with numbers or leave the cells empty.", path)
    nan = np.isnan(X)
    if nan.any():
        per_column = nan.sum(axis=0)
        counts = {features[j]: int(per_column[j]) for j in np.flatnonzero(per_column)}
        bad_rows = nan.any(axis=1)
        listing = ", ".join(f"'{k}' {v}" for k, v in list(counts.items())[:8]) + (", …" if len(counts) > 8 else "")
        if missing == "drop":
            X, target, rows = X[~bad_rows], target[~bad_rows], rows[~bad_rows]
            notes.append(N.info(f"{int(bad_rows.sum())} row(s) with missing feature values were dropped ({listing}).",
                                "missing_dropped", "data.missing"))
        elif missing == "impute":
            notes.append(N.info(f"{int(nan.sum())} missing feature value(s) ({listing}) are filled with the train "
                                "split's medians, here and inside the exported program.", "missing_imputed",
                                "data.missing"))
        else:
            first = int(np.flatnonzero(bad_rows)[0])
            raise MissingValuesError(
                f"{int(nan.sum())} feature value(s) are missing in {int(bad_rows.sum())} row(s) (first: row "
                f"{rows[first]}); per column: {listing}.",
                "Choose --missing drop (leave those rows out) or --missing impute (fill with the train split's "
                "medians, inside the exported program too).", path, counts, int(bad_rows.sum()))
    if not len(X):
        raise DataError("no rows are left once rows with missing values are dropped.",
                        "Fill the missing cells, or choose to impute them.", path)
    if target.dtype == object:
        target = np.array([str(v).strip() for v in target])
    if model_shape and len(model_shape) == 2:
        X = X.reshape(len(X), *map(int, model_shape))
        notes.append(sequence_note(model_shape))
    return X, target, features, notes, rows


def sequence_note(shape: Sequence[int]) -> str:
    return N.info(f"Each row is read as a sequence of {shape[0]} steps of {shape[1]} features (the feature columns "
                  f"in order: step 1's {shape[1]}, then step 2's, and so on).", "rows_as_sequences", "input_shape")


def _listing(names: list[str]) -> str:
    return ", ".join(names[:30]) + (f", … ({len(names)} in all)" if len(names) > 30 else "")
