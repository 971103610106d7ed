"""Evaluate an exported model on new labelled data, with torch alone: `workbench evaluate`, the notebook's
`evaluate_export` and the `EvaluateExport` command.

The data's labels are matched to the export's classes by name (a threshold or bins with the export's own cut
points); the export's program is run only once trusted when it needs full unpickling (see export_read).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from workbench.core import notes as N
from workbench.core.workflow.jobs import Job

if TYPE_CHECKING:
    from workbench.core.data.images import ImageSamples


@dataclasses.dataclass
class Evaluation:
    """The metrics on the new data (`metrics.evaluate`'s dict), how many samples, and what the reading said."""

    metrics: dict[str, Any]
    n: int
    notes: list[N.Note] = dataclasses.field(default_factory=list)


def _sheet_for(data: str, given: str, exported: str, notes: list[N.Note]) -> str:
    """The workbook sheet to read: the one given, else the sheet the export was trained on when this workbook has
    it (said in a note), else the first."""
    if given or not exported or Path(data).suffix.lower() not in (".xlsx", ".xlsm") or not Path(data).is_file():
        return given
    from workbench.core.data.tables import sheet_names

    if exported not in sheet_names(data):
        return given
    notes.append(N.info(f"sheet '{exported}' of {Path(data).name}, the sheet the export was trained on",
                        "sheet_from_export"))
    return exported


def _features_for(given: tuple[str, ...], exported: tuple[str, ...], notes: list[N.Note]) -> tuple[str, ...]:
    """The columns to feed the export, in its order: the export's own by default; the export's features named in
    another order are put back in its order (the program reads them by position); other names are fed by position
    in place of the export's, and a note says which column stands for which."""
    if not given or given == exported or not exported:
        return given or exported
    if sorted(given) == sorted(exported):
        notes.append(N.info("the columns given are the export's features in another order; they are fed in the "
                            f"export's order ({', '.join(exported)})", "features_reordered"))
        return exported
    if len(given) == len(exported):
        pairs = [f"{g} for {e}" for g, e in zip(given, exported) if g != e]
        notes.append(N.info("the columns given are fed by position in place of the export's features: "
                            + ", ".join(pairs[:10]) + (", ..." if len(pairs) > 10 else ""), "features_by_position"))
    return given


def _trained_on(meta: dict[str, Any], data: str) -> bool:
    """Whether `data` is the export's training data: the same bundled set, or a file or image folder of the same
    SHA-256 (as the export recorded it)."""
    from workbench.core.safety.snapshot import fingerprint

    trained = meta.get("data") or {}
    if data.startswith("sklearn:"):
        return bool(data == (meta.get("recipe") or {}).get("data", {}).get("path"))
    if not trained.get("sha256") or not Path(data).exists():
        return False
    return bool(fingerprint(data) == trained["sha256"])  # a file's hash, or an image folder's (names and contents)


def evaluate_export(folder: str | Path, data: str, label: str | None = None, features: tuple[str, ...] = (),
                    sheet: str = "", trusted: bool = False, missing: str = "") -> Evaluation:
    """Score the export in `folder` on `data` (a table, .npz, image folder or sklearn:<name>). `label` and
    `features` default to the export's; an image folder split into train/ test/ is scored on its test images."""
    from workbench.core.data.data import labels_for_classes, load_table
    from workbench.core.evaluate.metrics import evaluate
    from workbench.core.export.export_read import check_inputs, probabilities, read_metadata

    folder = Path(folder)
    meta = read_metadata(folder)
    d = meta["recipe"]["data"]
    notes: list[N.Note] = []
    sheet = _sheet_for(data, sheet, d.get("sheet", ""), notes)
    features = _features_for(tuple(features), tuple(meta.get("feature_names") or d.get("features", ())), notes)
    # with impute, NaN cells are kept: the program fills them itself; "drop" leaves such rows out, counted
    missing = missing or d.get("missing", "error")
    shape = tuple(meta["input_shape"])
    with _evaluates_missing():
        if meta.get("inputs"):  # a model of several inputs: the export's own category codes, unseen ones reported
            table = _several_inputs_table(meta, data, label or d.get("label", "target"), missing, sheet, notes)
        else:
            table = load_table(data, label or d.get("label", "target"), features,
                               shape if len(shape) == 3 else None, missing, sheet, shape, d.get("resize", "resize"))
    notes.extend(N.info(n) if isinstance(n, str) else n for n in table.notes)  # rows dropped, cells filled
    if table.given_splits and "test" in table.given_splits:  # a train/ test/ folder: its test images only
        test = table.given_splits["test"]
        table = dataclasses.replace(table, X=cast("ImageSamples", table.X).subset(test), target=table.target[test],
                                    given_splits=None)
        notes.append(N.info(f"the folder's {table.split_folders['test']}/ split: {len(table.target)} images",
                            "folder_test_split"))
    elif _trained_on(meta, data):  # (a folder's test/ split alone is what the export was tested on: no note)
        notes.append(N.warning("this is the data the export was trained on: its rows include the train and "
                               "validation splits, so these scores are optimistic. The export's own test-split "
                               "scores are in its metrics.json; score new data to judge it.", "training_data"))
    check_inputs(meta, table.X, data)
    y = labels_for_classes(table, meta["classes"], {"mode": d.get("label_mode", "column"),
                                                    **meta["metrics"].get("labels", {})})
    probs = probabilities(folder, meta, table.X, trusted)
    from workbench.core.decide.exported import export_policy, labelled_report
    from workbench.core.evaluate.scores import Decided

    ordinal = meta["task"] == "ordinal"
    stated = export_policy(meta)  # a cost matrix decides by least expected cost, as the export does (no threshold)
    decided = Decided(stated.decide(probs), None, stated.rule(probs.shape[1])) \
        if stated.costs is not None and (probs.shape[1] > 2 or stated.threshold is None) else None
    result = evaluate(probs, y, meta["classes"], threshold=meta.get("decision_threshold"),  # the exported threshold
                      ordinal=ordinal, ordered=ordinal or bool(meta["metrics"].get("labels", {}).get("ordered_by")),
                      decisions=decided)
    result["decisions"] = labelled_report(meta, probs, y)  # its policy, conformal coverage and refer band
    return Evaluation(result, int(len(y)), notes)


def _several_inputs_table(meta: dict[str, Any], data: str, label: str, missing: str, sheet: str,
                          notes: list[N.Note]) -> Any:
    from workbench.core.data.columns import build_matrix, summarize
    from workbench.core.data.input_columns import encode_for_export
    from workbench.core.data.samples import Table
    from workbench.core.data.tables import read_table

    raw = read_table(data, sheet)
    coded, columns, found = encode_for_export(raw, meta["inputs"], meta.get("categories") or {})
    notes.extend(found)
    summary = summarize(raw)
    if missing == "impute":  # the program takes category codes as integers, which cannot be missing: its own
        coded = _fill_categories(coded, meta.get("categories") or {}, notes)  # imputation never sees them
    X, target, names, more, rows = build_matrix(coded, summary, label, columns, missing, None)
    return Table(X, target, names, raw.source, notes=more, columns=summary, rows=rows)


def _fill_categories(coded: Any, books: dict[str, Any], notes: list[N.Note]) -> Any:
    """Empty category cells read as the export's unseen code (the code a category it never saw is read as), said
    in a note; the program's imputation fills only value columns."""
    import dataclasses

    import numpy as np

    filled = dict(coded.numeric)
    for name, book in books.items():
        empty = np.isnan(filled[name]) if name in filled else np.zeros(0, bool)
        if empty.any():
            filled[name] = np.where(empty, float(book["unseen"]), filled[name])
            notes.append(N.warning(f"column '{name}': {int(empty.sum())} row(s) have no category; they are read as "
                                   "the export's code for a category it never saw.", "empty_categories"))
    return dataclasses.replace(coded, numeric=filled)


def unlabelled_report(folder: str | Path, unlabelled: str, sheet: str = "", trusted: bool = False,
                      missing: str = "") -> dict[str, Any]:
    """The export's program on rows without labels (from where the model is used): their estimated class
    prevalence (EM and BBSE) and whether their scores still look like the calibration split's. Rows missing a
    feature value are handled as `evaluate_export` handles labelled ones (`missing`, else the export's own)."""
    from workbench.core.decide.exported import shift_report
    from workbench.core.decide.unlabelled import read_unlabelled
    from workbench.core.export.export_read import check_inputs, probabilities, read_metadata

    folder = Path(folder)
    meta = read_metadata(folder)
    d = meta["recipe"]["data"]
    features = tuple(meta.get("feature_names") or d.get("features", ()))
    read: list[N.Note] = []  # rows dropped, counted
    with _evaluates_missing():
        X = read_unlabelled(unlabelled, features, missing or d.get("missing", "error"), sheet,
                            tuple(meta["input_shape"]), d.get("resize", "resize"), meta.get("categories"), read)
    check_inputs(meta, X, unlabelled)
    found, notes = shift_report(meta, probabilities(folder, meta, X, trusted))
    found["notes"] = [n.to_dict() for n in read + notes]
    return found


@contextmanager
def _evaluates_missing() -> Iterator[None]:
    """Missing feature values refused while reading for `evaluate`: the fix names what evaluate takes (--missing
    drop), not convert's --missing impute, which only a retrained export can apply inside its program."""
    from workbench.core.data.columns import MissingValuesError

    try:
        yield
    except MissingValuesError as exc:
        raise MissingValuesError(exc.problem, "The export was trained to refuse them (data.missing error): give "
                                 "--missing drop to score the complete rows (the others left out and counted), or "
                                 "fill the cells.", exc.path, exc.counts, exc.rows) from None


class EvaluateExport(Job[Evaluation]):
    """`evaluate_export` as a session command (it changes nothing in the session; its result is returned)."""

    kind = "evaluate"

    def __init__(self, session: Any, folder: str | Path, data: str, label: str | None = None,
                 features: tuple[str, ...] = (), sheet: str = "", trusted: bool = False, missing: str = "") -> None:
        super().__init__(session, f"Evaluating {Path(folder).name} on {Path(data).name} …")
        self.args = (Path(folder), str(data), label, tuple(features), sheet)
        self.trusted, self.missing = trusted, missing

    def work(self, callbacks: Iterable[object] = ()) -> Evaluation:
        return evaluate_export(*self.args, trusted=self.trusted, missing=self.missing)

    def commit(self, result: Evaluation) -> Evaluation:
        return result

    def retry_trusted(self) -> EvaluateExport:
        folder, data, label, features, sheet = self.args
        return EvaluateExport(self.session, folder, data, label, features, sheet, True, self.missing)


def finite(result: Evaluation) -> bool:
    return bool(np.isfinite(result.metrics["accuracy"]))
