"""The test samples behind a confusion-matrix cell (Orange's selected cell, fastai's top losses): which rows
of the user's data were true class i and predicted j, how confident the model was, most confident first; and
that list as a CSV table.

A sample is named the way the user can find it again: its row number in the table file (the line a
spreadsheet shows, header included), its image file, or its index in an array (.npz, bundled sets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.core.evaluate.scores import predict

if TYPE_CHECKING:
    from workbench.core.data.samples import Table


@dataclass
class SplitSamples:
    """The test split, one entry per sample, in split order."""

    ids: list[str]  # row number, file path or array index, as text
    id_name: str  # "row", "file" or "index": the CSV's first column
    y: np.ndarray  # true class codes
    probs: np.ndarray  # (n, K) probabilities the run reports (calibrated when it is)
    predicted: np.ndarray  # class codes under the run's decision rule (binary threshold included)
    classes: list[str]
    positions: np.ndarray  # each sample's index into the data's full input array (for thumbnails)
    # the sample's ID-like columns (text), then its feature values (a flat table's), one entry per sample
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    id_columns: list[str] = field(default_factory=list)  # which of `columns` are ID-like columns

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:  # a notebook's print: what it holds, not every array
        wrong = int((self.predicted != self.y).sum())
        return (f"<SplitSamples: {len(self)} test samples by {self.id_name}, {len(self.classes)} classes "
                f"({', '.join(map(str, self.classes[:6]))}{', ...' if len(self.classes) > 6 else ''}), {wrong} decided "
                f"wrongly; .ids .y .probs .predicted .classes .columns>")


def sample_ids(table: Table, positions: np.ndarray) -> tuple[list[str], str]:
    """How samples at `positions` of a `samples.Table` are named: file row, image path, or array index."""
    if table.paths is not None:
        return [table.paths[i] for i in positions], "file"
    if table.rows is not None:
        return [str(int(table.rows[i])) for i in positions], "row"
    return [str(int(i)) for i in positions], "index"


def split_samples(data: Any, probs: np.ndarray, threshold: float | None = None, ordinal: bool = False) -> SplitSamples:
    """The test split of prepared data (`pipeline.PreparedData`) with the test probabilities of a run (`ordinal`:
    an ordinal head's, decided by their median class)."""
    positions = np.asarray(data.splits["test"])
    probs = np.asarray(probs, dtype=np.float64)
    if len(probs) != len(positions):
        raise ValueError(f"{len(probs)} probabilities for a test split of {len(positions)} samples")
    ids, id_name = sample_ids(data.table, positions)
    columns = sample_columns(data.table, positions)
    return SplitSamples(ids, id_name, np.asarray(data.y)[positions], probs, predict(probs, threshold, ordinal),
                        list(data.classes), positions, columns, list(data.table.id_columns))


MAX_FEATURES = 200  # a wider table's samples are listed without their feature values (a row of 200 is unreadable)


def sample_columns(table: Table, positions: np.ndarray) -> dict[str, np.ndarray]:
    """What a table's drill-down shows of each sample at `positions`: its ID-like columns (text), then its
    feature values as the model reads them (before standardisation; imputed cells filled) when the table is flat
    and at most MAX_FEATURES wide. Images and sequences show none."""
    found = {name: np.asarray(values)[positions] for name, values in table.id_columns.items()}
    X = table.X
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] <= MAX_FEATURES and not table.pixels:
        rows = X[positions]
        for j, name in enumerate(table.feature_names[:X.shape[1]]):
            found.setdefault(name, rows[:, j].astype(np.float64))
    return found


def cell(samples: SplitSamples, true: int, predicted: int) -> np.ndarray:
    """Indices (into `samples`) of the samples of true class `true` predicted as `predicted`, the most
    confident first (probability of the predicted class; ties keep split order)."""
    found = np.flatnonzero((samples.y == true) & (samples.predicted == predicted))
    confidence = samples.probs[found, predicted]
    return found[np.argsort(-confidence, kind="stable")]


def rows(samples: SplitSamples, which: np.ndarray) -> list[dict[str, Any]]:
    """One plain record per sample in `which`: id, true and predicted class, p(predicted), p(true), and under
    "columns" its ID-like columns and feature values (`sample_columns`) when it has any."""
    out = []
    for i in which:
        t, p = int(samples.y[i]), int(samples.predicted[i])
        record = {samples.id_name: samples.ids[i], "true": samples.classes[t], "predicted": samples.classes[p],
                  "p_predicted": float(samples.probs[i, p]), "p_true": float(samples.probs[i, t])}
        if samples.columns:
            record["columns"] = {name: _plain(values[i]) for name, values in samples.columns.items()}
        out.append(record)
    return out


def _plain(value: Any) -> str | float | None:
    """A numpy cell as text or a float (None for a missing number)."""
    if isinstance(value, str):
        return value
    number = float(value)
    return None if np.isnan(number) else number


def to_csv(records: list[dict[str, Any]], id_name: str = "row") -> str:
    """The records as CSV text (probabilities with 6 decimals), a header even when there is no record. Ids and
    class names are text a spreadsheet must not run (`csv_cells`)."""
    from workbench.core.safety.csv_cells import csv_text

    columns = list(records[0].get("columns", {})) if records else []
    header = [id_name, "true", "predicted", "p_predicted", "p_true", *columns]
    return csv_text([header, *([r[id_name], r["true"], r["predicted"], r["p_predicted"], r["p_true"],
                                *r.get("columns", {}).values()] for r in records)], ".6f")


def save_csv(path: str | Path, records: list[dict[str, Any]], id_name: str, protected: dict[Path, str],
             overwrite: bool = False) -> Path:
    """Write the list atomically; never over or into the run's inputs (`output_paths.inputs`), and over another
    existing file only with `overwrite` (else `OutputExistsError`)."""
    from workbench.core.safety.atomic import write_text_atomic
    from workbench.core.safety.output_paths import check_output_file

    real = check_output_file(path, protected, overwrite)
    write_text_atomic(real, to_csv(records, id_name))
    return real
