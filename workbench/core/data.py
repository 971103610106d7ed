"""Labelled data: read a table, an .npz, an image folder or a bundled scikit-learn set; derive labels."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

SKLEARN_SETS = ("diabetes", "breast_cancer", "wine", "iris", "digits")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


@dataclass
class Table:
    """Inputs and the raw label column, before labels are derived."""

    X: np.ndarray  # float32, (N, *input_shape)
    target: np.ndarray  # float64 or str, (N,)
    feature_names: list[str]
    source: str
    target_names: list[str] | None = None  # names for integer class codes (sklearn sets, image folders)


def load_table(path: str, label: str = "target", features: tuple[str, ...] = (),
               input_shape: tuple[int, ...] | None = None) -> Table:
    if path.startswith("sklearn:"):
        return _sklearn(path[8:])
    p = Path(path)
    if p.is_dir():
        from .images import load_image_folder

        return load_image_folder(p, input_shape)
    if not p.is_file():
        raise DataError("no such data file or folder.", "Check the path.", p)
    if p.suffix.lower() == ".npz":
        return _npz(p)
    if p.suffix.lower() in (".csv", ".tsv", ".txt"):
        return _csv(p, label, features)
    raise DataError(f"the data format '{p.suffix}' is not supported.",
                    "Use a .csv table, an .npz with X and y, or an image folder (root/<class>/*.png).", p)


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
                 f"sklearn:{name}", names)


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


def _finite(X: np.ndarray, path, names: list[str] | None = None) -> np.ndarray:
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad.reshape(len(X), -1))[:2])
        where = f"column '{names[col]}'" if names else f"feature {col}"
        raise DataError(f"{int(bad.sum())} feature value(s) are NaN or infinite (first: row {row + 1}, {where}).",
                        "Fill or drop the missing values before converting.", path)
    return X


def _csv(path: Path, label: str, features: tuple[str, ...]) -> Table:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(4096)
            fh.seek(0)
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
            rows = list(csv.reader(fh, dialect))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"the table cannot be read ({exc}).", "Save it as UTF-8 CSV.", path) from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise DataError("the table is empty.", "Give a CSV with a header row and one row per sample.", path)
    header, body = [h.strip() for h in rows[0]], rows[1:]
    if not body:
        raise DataError("the table has a header but no rows.", "Add the samples below the header.", path)
    if label not in header:
        raise DataError(f"there is no label column '{label}'.", f"Columns: {', '.join(header)}.", path)
    features = tuple(features) or tuple(h for h in header if h != label)
    missing = [f for f in features if f not in header]
    if missing:
        raise DataError(f"feature column(s) {', '.join(missing)} are not in the table.",
                        f"Columns: {', '.join(header)}.", path)
    short = next((i for i, r in enumerate(body) if len(r) != len(header)), None)
    if short is not None:
        raise DataError(f"row {short + 2} has {len(body[short])} cells but the header has {len(header)}.",
                        "Fix that row.", path)
    index = {h: i for i, h in enumerate(header)}
    cols = [index[f] for f in features]
    X = np.empty((len(body), len(cols)), dtype=np.float32)
    for r, row in enumerate(body):
        for c, col in enumerate(cols):
            try:
                X[r, c] = float(row[col])
            except ValueError:
                raise DataError(f"column '{features[c]}' is not numeric (row {r + 2} holds '{row[col][:40]}').",
                                "Encode it as numbers or leave it out with --features.", path) from None
    X = _finite(X, path, list(features))
    raw = np.array([row[index[label]].strip() for row in body])
    try:
        target = raw.astype(np.float64)
    except ValueError:
        target = raw
    return Table(X, target, list(features), str(path))


def make_labels(table: Table, mode: str, task: str, threshold: float | None = None,
                bins: int = 3) -> tuple[np.ndarray, list[str], dict]:
    """Return (integer labels, class names in code order, how they were derived)."""
    target, path = table.target, table.source
    numeric = target.dtype.kind == "f"
    if mode in ("threshold", "bins") and not numeric:
        raise DataError(f"the label column is not numeric, so it cannot be cut by a {mode}.",
                        "Use the column as classes (label mode 'column').", path)
    if numeric and not np.isfinite(target).all():
        raise DataError(f"the label column has {int((~np.isfinite(target)).sum())} NaN or infinite value(s).",
                        "Drop those rows.", path)
    info: dict = {"mode": mode}
    if mode == "threshold":
        t = float(np.median(target)) if threshold is None else float(threshold)
        y = (target > t).astype(np.int64)
        classes = [f"<= {t:g}", f"> {t:g}"]
        info["threshold"] = t
    elif mode == "bins":
        edges = np.quantile(target, np.linspace(0, 1, bins + 1))
        if len(np.unique(edges)) != len(edges):
            raise DataError(f"the label column has too many tied values for {bins} quantile bins.",
                            "Use fewer bins or a threshold.", path)
        y = np.digitize(target, edges[1:-1], right=True).astype(np.int64)
        classes = [f"({edges[i]:.4g}, {edges[i + 1]:.4g}]" for i in range(bins)]
        classes[0] = "[" + classes[0][1:]
        info["edges"] = edges.tolist()
    else:
        values, y = np.unique(target, return_inverse=True)
        y = y.astype(np.int64)
        if table.target_names and numeric and np.array_equal(values, np.arange(len(values))):
            classes = [table.target_names[int(v)] for v in values]
        else:
            classes = [f"{v:g}" if numeric else str(v) for v in values]
    counts = np.bincount(y, minlength=len(classes))
    if (counts == 0).any() or len(classes) < 2:
        raise DataError(f"the labels have only one class ({classes[int(np.argmax(counts))]}).",
                        "A classifier needs at least two classes: check the label column or the threshold.", path)
    if task == "binary" and len(classes) != 2:
        raise DataError(f"a binary head needs two classes, but the label column has {len(classes)}.",
                        "Choose a multiclass head, or derive two classes with a threshold.", path)
    info["counts"] = counts.tolist()
    return y, classes, info


def split_indices(y: np.ndarray, fractions: tuple[float, ...], seed: int, path: str = "") -> dict[str, np.ndarray]:
    """Stratified, seeded train / val / cal / test index arrays (an empty split when its fraction is 0)."""
    from sklearn.model_selection import train_test_split

    names = ("train", "val", "cal", "test")
    needed = sum(1 for f in fractions if f > 0)
    counts = np.bincount(y)
    small = [(i, int(c)) for i, c in enumerate(counts) if 0 < c < needed * 2]
    if small:
        raise DataError(f"class {small[0][0]} has only {small[0][1]} sample(s), too few for {needed} stratified "
                        "splits.", f"Give at least {needed * 2} samples of every class, or merge rare classes.", path)
    rest = np.arange(len(y))
    out: dict[str, np.ndarray] = {}
    for name, frac in zip(names[::-1], fractions[::-1]):
        if name == "train":
            out[name] = rest
            break
        if frac <= 0:
            out[name] = np.array([], dtype=np.int64)
            continue
        try:
            size = max(int(round(frac * len(y))), len(counts))  # whole samples, at least one per class
            rest, taken = train_test_split(rest, test_size=size, random_state=seed, stratify=y[rest])
        except ValueError as exc:
            raise DataError(f"the {name} split cannot be made ({exc}).",
                            "Use more data or larger split fractions.", path) from None
        out[name] = np.sort(taken)
    out["train"] = np.sort(out["train"])
    return {n: out[n] for n in names}


def table_columns(path: str) -> list[str]:
    """The header of a CSV, for choosing the label and feature columns before loading."""
    p = Path(path)
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(4096)
            if not sample.strip():
                raise DataError("the table is empty.", "Give a CSV with a header row.", p)
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
            return [h.strip() for h in next(csv.reader(sample.splitlines(), dialect))]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"the table cannot be read ({exc}).", "Save it as UTF-8 CSV.", p) from None
