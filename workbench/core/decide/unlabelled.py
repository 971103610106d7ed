"""Rows without labels from where a model will be used: a table with the model's feature columns (any label
column is ignored), an `.npz` with `X`, an image folder (its classes are ignored) or a bundled sklearn set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from workbench.core import notes as N
from workbench.core.errors import DataError


def check_prior_from(path: str, data: Any = None, recipe: Any = None) -> None:
    """The recipe's `decide.prior_from` names rows that exist and, given the session's prepared `data` and the
    `recipe`, whose table has no missing feature cell the run's `data.missing` refuses: checked before training
    (the table read once more, as the estimate reads it after training), so neither is found only after the whole
    run, and named as the prior's file, not the training data."""
    if not path or path.startswith("sklearn:") or Path(path).expanduser().exists():
        if data is not None and recipe is not None and Path(path).expanduser().is_file() \
                and recipe.data.missing == "error" and getattr(data, "table", None) is not None:
            read_prior_rows(path, data, recipe)  # images, .npz and sklearn sets have no missing cells to refuse
        return
    raise DataError("the unlabelled rows to estimate the deployment prior from (--prior-from; in the window, the "
                    "Unlabelled data for the prior field) do not exist: no such file or folder.",
                    "Check the path, or give the prior itself with --prior.", Path(path).expanduser())


def read_prior_rows(path: str, data: Any, recipe: Any, notes: list[N.Note] | None = None) -> Any:
    """The `decide.prior_from` rows read as the run's own data is (its feature columns, `data.missing`, sheet,
    input shape); rows with a missing cell refused in the prior file's words, or dropped and said in `notes`."""
    from workbench.core.data.columns import MissingValuesError

    d = recipe.data
    features = data.table.feature_names if data.table.columns is not None else ()
    try:
        return read_unlabelled(path, features, d.missing, d.sheet, tuple(data.input_shape), d.resize,
                               # a model of several inputs: its category columns as the training data's codes
                               getattr(data.table, "categories", None) or None, notes=notes)
    except MissingValuesError as exc:  # its fix (--missing) is the training data's; this file needs its own
        problem = exc.problem[:1].lower() + exc.problem[1:]
        raise DataError(f"the unlabelled rows to estimate the deployment prior from (--prior-from; in the window, "
                        f"the Unlabelled data for the prior field) are incomplete: {problem}",
                        "Fill or remove those rows in that file. --missing drop (leave them out) or --missing impute "
                        "(the train split's medians) would take them too, but changes how the training data's "
                        "missing values are handled as well.", exc.path,
                        gui="Fill or remove those rows in that file. Choosing drop or impute under Missing values on "
                            "the Data tab would take them too, but changes how the training data's missing values "
                            "are handled as well.") from None


def read_unlabelled(path: str, features: tuple[str, ...] | list[str], missing: str = "error", sheet: str = "",
                    input_shape: tuple[int, ...] | None = None, resize: str = "resize",
                    categories: dict[str, Any] | None = None, notes: list[N.Note] | None = None) -> Any:
    """The inputs of unlabelled rows (an array, or an image folder's samples). A table's rows with a missing
    feature value are handled as labelled data's are (data.columns): refused under `missing` error (a
    MissingValuesError with the counts), dropped under drop (counted in a note added to `notes`), kept under
    impute, when the program fills them."""
    p = Path(path).expanduser()
    if path.startswith("sklearn:") or p.is_dir():
        from workbench.core.data.data import load_table

        shape = tuple(input_shape) if input_shape and len(input_shape) == 3 else None
        return load_table(path, input_shape=shape, resize=resize).X
    if not p.is_file():
        raise DataError("no such data file or folder.", "Check the path.", p)
    if p.suffix.lower() == ".npz":
        return _npz(p)
    from workbench.core.data.tables import read_table

    raw = read_table(p, sheet)
    if categories:  # an export of several inputs: its category columns as its codes (data.input_columns)
        from workbench.core.data.input_columns import encode_for_export

        raw = encode_for_export(raw, [], categories)[0]
    if not features:
        raise DataError("the export does not name its feature columns, so an unlabelled table cannot be matched "
                        "to it.", "Give the rows as an .npz with X.", p)
    block_names = list(raw.block[1]) if raw.block is not None else []
    absent = [f for f in features if f not in raw.numeric and f not in block_names]
    if absent:
        raise DataError(f"the table has no numeric column(s) {', '.join(absent[:10])}, which the model takes.",
                        "Give rows with the export's feature columns.", p)
    columns = [raw.numeric[f] if f in raw.numeric else np.asarray(raw.block[0][:, block_names.index(f)])  # type: ignore[index]
               for f in features]
    X = np.stack(columns, axis=1).astype(np.float32) if columns else np.zeros((raw.rows, 0), np.float32)
    if missing != "impute":
        X = _complete_rows(X, list(features), missing, p, raw.first_row, notes)
    if not len(X):
        raise DataError("the table has no complete rows.", "Give rows with every feature value.", p)
    return X


def _complete_rows(X: np.ndarray, features: list[str], missing: str, path: Path, first_row: int,
                   notes: list[N.Note] | None) -> np.ndarray:
    """X without its rows that miss a feature value under drop, said in a note with the counts; under error such
    rows are refused as labelled data's are, never left out unsaid."""
    bad = np.isnan(X).any(axis=1)
    if not bad.any():
        return X
    per_column = np.isnan(X).sum(axis=0)
    counts = {features[j]: int(per_column[j]) for j in np.flatnonzero(per_column)}
    listing = ", ".join(f"'{k}' {v}" for k, v in list(counts.items())[:8]) + (", …" if len(counts) > 8 else "")
    if missing != "drop":
        from workbench.core.data.columns import MissingValuesError

        raise MissingValuesError(
            f"{int(per_column.sum())} feature value(s) are missing in {int(bad.sum())} row(s) (first: row "
            f"{int(np.flatnonzero(bad)[0]) + first_row}); per column: {listing}.",
            "Choose --missing drop (leave those rows out) or --missing impute (fill with the train split's medians, "
            "inside the exported program too).", path, counts, int(bad.sum()))
    if notes is not None:
        notes.append(N.info(f"{int(bad.sum())} row(s) with missing feature values were dropped ({listing}).",
                            "missing_dropped", "data.missing"))
    return np.asarray(X[~bad])


def _npz(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "X" not in npz.files:
                raise DataError(f"the .npz has no array named X (it has {', '.join(npz.files)}).",
                                "Save it with np.savez(path, X=inputs).", path)
            return np.asarray(npz["X"], dtype=np.float32)
    except ValueError as exc:
        raise DataError(f"the .npz holds Python objects, which are not loaded for safety ({exc}).",
                        "Save plain numeric arrays.", path) from None
    except (OSError, EOFError) as exc:
        raise DataError(f"the .npz cannot be read ({exc}).", "Save it again with np.savez.", path) from None
