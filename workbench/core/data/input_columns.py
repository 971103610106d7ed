"""A table's columns for a model whose forward takes several tensors: which columns feed each input (the recipe's
`data.inputs`, or a proposal from the column kinds), category columns as integer codes, and one float32 row per
sample holding the inputs one after another (what `open.multi_input.PackedInputs` cuts again).

Codes, per category column (values sorted: numbers by value, text alphabetically):
- an embedding with one row more than the column has categories is read as fastai's layout: 0 is the reserved
  "#na#" row, the categories are 1..K, and a category never seen maps to 0;
- a whole-number column whose values already lie in 0..rows-1 is used as it is (hours, weekdays as codes);
- otherwise the categories are 0..K-1 (pandas' category codes), and a category never seen maps to the most
  frequent one's code. Either way, evaluate reports how many rows held an unseen category.
A column with more categories than its embedding has rows is refused, naming both.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from workbench.core import notes as N
from workbench.core.data.samples import Table
from workbench.core.errors import DataError
from workbench.core.recipe_inputs import format_inputs, parse_inputs

if TYPE_CHECKING:
    from workbench.core.data.columns import ColumnSummary
    from workbench.core.data.tables import RawTable

class ModelInputs(Protocol):
    """What open.multi_input.ModelInputs says of a model's inputs (data does not import open)."""

    names: list[str]
    embeddings: dict[str, list[int]]
    widths: dict[str, int]
    embedding_names: list[str]
    steps: dict[str, int]

    def codes(self, name: str) -> bool: ...

    def describe(self) -> str: ...

    def takes(self, name: str, columns: int | None = None) -> str: ...


INPUTS_FIX = "Map the columns to the model's inputs (--inputs; in the window, the Data tab's Model inputs box)"


class InputsError(DataError):
    """The columns do not fit the model's inputs; `proposal` is a data.inputs text to start from ('' if none)."""

    def __init__(self, problem: str, fix: str, path: object, proposal: str = ""):
        self.proposal = proposal
        super().__init__(problem, fix, path)


def propose(raw: RawTable, summary: ColumnSummary, label: str, found: ModelInputs) -> dict[str, list[str]]:
    """Category columns (text, then whole-number columns with few values) to the input feeding embeddings, as many
    as it has embeddings; the other numeric columns to the other input. A sequence input beside a static one takes
    the columns named with a step suffix (see `step_columns`). {} when the model does not say."""
    if found.steps and len(found.names) == 2:
        return _propose_sequence(summary, label, found)
    if not found.embeddings or len(found.names) != 2:
        return {}
    fed = next(iter(found.embeddings))
    sizes = found.embeddings[fed]
    text = [n for n in summary.names if n != label and summary.kind(n) == "text" and n in raw.text]
    if not sizes:  # a program that does not say how many embeddings it has: its text columns, as given
        codes = text
    else:
        whole = [n for n in summary.names if n != label and n in raw.numeric and summary.kind(n) == "numeric"
                 and _few_whole_values(raw.numeric[n], max(sizes) or FEW_CODES)]
        codes = (text + whole)[:len(sizes)]
    other = next(n for n in found.names if n != fed)
    rest = [n for n in summary.default_features(label) if n not in codes]
    return {fed: codes, other: rest} if fed in found.names else {}


_STEP = re.compile(r"^(.*?)[_\-. ]?(?:t|step)?(\d+)$", re.IGNORECASE)


def step_columns(names: list[str], per_step: int | None = None) -> list[str]:
    """The columns named as steps of a series (q_0..q_59 beside p_0..p_59, t1..t60), ordered step by step (step
    1's features in the table's order, then step 2's): the base names sharing the same steps, the group of
    `per_step` names first, then the longest series; [] when no base name is seen at two steps or more."""
    steps: dict[str, dict[int, str]] = {}
    for name in names:
        match = _STEP.match(name)
        if match:
            steps.setdefault(match.group(1), {})[int(match.group(2))] = name
    groups: dict[frozenset[int], list[str]] = {}
    for base, seen in steps.items():
        if len(seen) >= 2:
            groups.setdefault(frozenset(seen), []).append(base)
    if not groups:
        return []
    chosen = max(groups, key=lambda g: (len(groups[g]) == per_step, len(g) * len(groups[g])))
    return [steps[b][t] for t in sorted(chosen) for b in groups[chosen]]


def _propose_sequence(summary: ColumnSummary, label: str, found: ModelInputs) -> dict[str, list[str]]:
    sequence = next(iter(found.steps))
    static = next(n for n in found.names if n != sequence)
    features = summary.default_features(label)
    series = step_columns(features, found.steps[sequence])
    if not series:
        return {}
    return {sequence: series, static: [n for n in features if n not in series]}


FEW_CODES = 50  # whole-number values a column may take to be proposed as codes to embeddings of unknown rows


def _few_whole_values(values: np.ndarray, most: int) -> bool:
    present = values[~np.isnan(values)]
    return bool(len(present)) and bool(np.all(present == np.floor(present))) and len(np.unique(present)) <= most


def inputs_table(raw: RawTable, summary: ColumnSummary, label: str, text: str, found: ModelInputs,
                 missing: str = "error") -> Table:
    """The Table of a several-input model: X holds the inputs' columns in order, categories as codes."""
    from workbench.core.data.columns import build_matrix

    path = raw.source
    try:
        mapping = parse_inputs(text) or propose(raw, summary, label, found)
    except ValueError as exc:
        raise InputsError(f"data.inputs: {exc}.", INPUTS_FIX + ", as x_cat=col1,col2;x_cont=col3.", path) from None
    _check_mapping(mapping, summary, found, path)
    categories: dict[str, dict[str, Any]] = {}
    encoded: dict[str, np.ndarray] = {}
    for name in found.names:
        if not found.codes(name):
            continue
        for j, column in enumerate(mapping[name]):
            size = found.embeddings[name][j] if j < len(found.embeddings[name]) else 0
            layer = found.embedding_names[j] if j < len(found.embedding_names) else f"{name}[{j}]"
            categories[column] = codebook(raw, column, size, layer)
            encoded[column] = encode(raw, column, categories[column])[0]
    coded = dataclasses.replace(raw, numeric={**raw.numeric, **encoded}, block=None,
                                text={k: v for k, v in raw.text.items() if k not in encoded})
    flat = [c for name in found.names for c in mapping[name]]
    X, target, names, notes, rows = build_matrix(coded, summary, label, flat, missing, None)
    layout = [(name, list(mapping[name]), found.codes(name)) for name in found.names]
    notes.append(N.info("Model inputs: " + "; ".join(
        f"{n} = {', '.join(c)}" + (" (category codes)" if k else "") for n, c, k in layout) + ".",
        "model_inputs", "data.inputs"))
    return Table(X, target, names, raw.source, notes=list(raw.notes) + notes, columns=summary, rows=rows,
                 inputs=layout, categories=categories)


def _check_mapping(mapping: dict[str, list[str]], summary: ColumnSummary, found: ModelInputs, path: object) -> None:
    takes = f"the model takes {len(found.names)} inputs ({found.describe()})"
    proposal = format_inputs(mapping) if mapping else ""
    if not mapping:
        raise InputsError(f"{takes}; which columns feed each is not known from the model.",
                          f"{INPUTS_FIX}, e.g. {'; '.join(f'{n}=...' for n in found.names)}.", path)
    absent = [n for n in found.names if n not in mapping]
    unknown = [n for n in mapping if n not in found.names]
    if absent or unknown:
        raise InputsError(f"{takes}, but data.inputs " + (f"gives no columns for {', '.join(absent)}" if absent
                                                          else f"names {', '.join(unknown)}, which it does not take")
                          + ".", f"{INPUTS_FIX}: one entry per input.", path, proposal)
    missing = [c for cols in mapping.values() for c in cols if c not in summary.index]
    if missing:
        raise InputsError(f"the column(s) {', '.join(missing)} given for the model's inputs are not in the table.",
                          f"{INPUTS_FIX}; columns: {', '.join(summary.names[:30])}.", path, proposal)
    for name, per_step in found.steps.items():
        got = len(mapping[name])
        if got == 0 or got % per_step:
            raise InputsError(f"{takes}: {name} takes sequences of {per_step} features per step, but {got} columns "
                              f"are given ({', '.join(mapping[name][:6]) or 'none'}{', ...' if got > 6 else ''}), "
                              f"not a whole number of steps.",
                              f"{INPUTS_FIX}, giving {name} a multiple of {per_step} columns, step by step (step 1's "
                              f"{per_step} features, then step 2's).", path, proposal)
    for name in found.names:
        want, got = found.widths.get(name), len(mapping[name])
        if want is not None and want != got:
            what = "category columns (one per embedding)" if found.codes(name) else "columns"
            raise InputsError(f"{takes}: {name} takes {want} {what} but {got} are given "
                              f"({', '.join(mapping[name]) or 'none'}).",
                              f"{INPUTS_FIX}, giving {name} {want} {what}.", path, proposal)


def codebook(raw: RawTable, column: str, rows: int, layer: str) -> dict[str, Any]:
    """The codes of one category column for an embedding of `rows` rows (see the module's docstring)."""
    values, counts = _values(raw, column)
    k = len(values)
    numbers = column in raw.numeric
    if numbers and k and all(float(v).is_integer() and 0 <= v < rows for v in values):
        return {"values": [float(v) for v in values], "codes": [int(v) for v in values], "layout": "as given",
                "unseen": int(values[int(np.argmax(counts))]), "embedding": layer, "rows": rows}
    if rows and k > rows:  # a program's embeddings are not read: 0 rows known
        raise DataError(f"column '{column}' has {k} categories but the embedding '{layer}' that it feeds has {rows} "
                        "rows, so some categories would have no row.",
                        "Map another column to that embedding (--inputs; in the window, the Data tab's Model inputs "
                        "box), or merge rare categories in the table.", raw.source)
    shown = [float(v) for v in values] if numbers else [str(v) for v in values]
    if k + 1 == rows:  # fastai's TabularModel: row 0 is "#na#"
        return {"values": shown, "codes": list(range(1, k + 1)), "layout": "fastai (0 reserved)", "unseen": 0,
                "embedding": layer, "rows": rows}
    return {"values": shown, "codes": list(range(k)), "layout": "sorted", "unseen": int(np.argmax(counts)),
            "embedding": layer, "rows": rows}


def _values(raw: RawTable, column: str) -> tuple[list[Any], np.ndarray]:
    if column in raw.numeric:
        cells = raw.numeric[column]
        values, counts = np.unique(cells[~np.isnan(cells)], return_counts=True)
        return list(values), counts
    cells = np.array([str(v).strip() for v in raw.text[column] if v is not None], dtype=object)
    values, counts = np.unique(cells.astype(str), return_counts=True)
    return list(values), counts


def encode(raw: RawTable, column: str, book: dict[str, Any]) -> tuple[np.ndarray, list[str]]:
    """The column as float codes (NaN where a cell is empty) and the categories it holds that `book` has not."""
    lookup = _lookup(book)
    if column in raw.numeric:
        cells: list[Any] = [None if np.isnan(v) else float(v) for v in raw.numeric[column]]
    else:
        cells = [None if v is None else str(v).strip() for v in raw.text[column]]
    out = np.full(len(cells), np.nan)
    unseen: list[str] = []
    for i, cell in enumerate(cells):
        if cell is None:
            continue
        code = _code(cell, lookup, book)
        if code is None:
            unseen.append(str(cell))
            code = book["unseen"]
        out[i] = code
    return out, unseen


def _lookup(book: dict[str, Any]) -> dict[str, int]:
    return {_key(v): c for v, c in zip(book["values"], book["codes"])}


def _code(cell: Any, lookup: dict[str, int], book: dict[str, Any]) -> int | None:
    """A present cell's code in `book`, or None for a category it never saw."""
    code = lookup.get(_key(cell))
    if code is None and book["layout"] == "as given" and isinstance(cell, (int, float)) \
            and float(cell).is_integer() and 0 <= cell < book["rows"]:
        code = int(cell)  # a code the embedding has, though the training table did not hold it
    return code


def _key(value: Any) -> str:
    return repr(float(value)) if isinstance(value, (int, float, np.floating, np.integer)) else str(value)


def encode_for_export(raw: RawTable, inputs: list[dict[str, Any]], categories: dict[str, dict[str, Any]]
                      ) -> tuple[RawTable, list[str], list[N.Note]]:
    """A table read to evaluate an export: its category columns coded with the export's codes, the columns in the
    export's order, and a note per column holding categories the export never saw."""
    encoded, notes = {}, []
    for column, book in categories.items():
        if column not in raw.numeric and column not in raw.text:
            raise DataError(f"the export's input column '{column}' is not in the table.",
                            "Evaluate on a table with the columns the export was trained on.", raw.source)
        encoded[column], unseen = encode(raw, column, book)
        if unseen:
            where = {"fastai (0 reserved)": "the reserved code 0"}.get(book["layout"], "the most frequent category")
            shown = ", ".join(sorted(set(unseen))[:5])
            notes.append(N.warning(f"column '{column}': {len(unseen)} row(s) hold categories the export never saw "
                                   f"({shown}); they are read as {where}.", "unseen_categories"))
    coded = dataclasses.replace(raw, numeric={**raw.numeric, **encoded}, block=None,
                                text={k: v for k, v in raw.text.items() if k not in encoded})
    return coded, [c for spec in inputs for c in spec["columns"]], notes


def mapping_rows(found: ModelInputs, table: Table | None, text: str) -> list[tuple[str, str, list[str]]]:
    """(input, what it takes, its columns) for each input, as the window's Model inputs box shows them: the
    table's mapping when it was built, else the recipe's text, else no columns yet."""
    if table is not None and table.inputs:
        chosen = {name: columns for name, columns, _ in table.inputs}
    else:
        try:
            chosen = parse_inputs(text)
        except ValueError:
            chosen = {}
    return [(name, found.takes(name, len(chosen.get(name, [])) or None), list(chosen.get(name, [])))
            for name in found.names]


def category_codes(cells: list[Any], book: dict[str, Any]) -> np.ndarray:
    """A category column's cells (as a DataFrame gives them) as the export's codes: a category it never saw, or an
    empty cell, as its unseen code; for `as_sklearn()`, which takes a table's rows as they are."""
    lookup = _lookup(book)
    out = []
    for cell in cells:
        empty = cell is None or (isinstance(cell, float) and np.isnan(cell))
        code = None if empty else _code(cell.strip() if isinstance(cell, str) else cell, lookup, book)
        out.append(book["unseen"] if code is None else code)
    return np.asarray(out, dtype=np.float32)
