"""Table reading: seconds from a file to the float32 feature matrix, the workbench's `load_table` (format and
delimiter detection, column kinds, missing-value check included) against pandas.read_csv and pyarrow.csv on
the same files in the same run, each also converting to the float32 matrix. Target for CSV: within 1.5x of
the faster baseline. Parquet and Excel are reported against pyarrow.parquet and pandas.read_excel.

    python benchmarks/table_load.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout this script sits in, not an install
from _common import median, parser, report, timed  # noqa: E402


def _frame(rows: int, cols: int, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, cols)).astype(np.float64), columns=[f"x{i}" for i in range(cols)])
    frame["target"] = rng.integers(0, 2, rows)
    return frame


def _float32(columns) -> np.ndarray:
    X = np.empty((len(columns[0]), len(columns)), dtype=np.float32)
    for j, c in enumerate(columns):
        X[:, j] = c
    return X


def pandas_csv(path):
    import pandas as pd

    frame = pd.read_csv(path)
    return frame.drop(columns="target").to_numpy(np.float32), frame["target"].to_numpy()


def pyarrow_csv(path):
    import pyarrow.csv as pcsv

    table = pcsv.read_csv(path)
    names = [n for n in table.column_names if n != "target"]
    return _float32([table.column(n).to_numpy() for n in names]), table.column("target").to_numpy()


def pyarrow_parquet(path):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    names = [n for n in table.column_names if n != "target"]
    return _float32([table.column(n).to_numpy() for n in names]), table.column("target").to_numpy()


def pandas_excel(path):
    import pandas as pd

    frame = pd.read_excel(path, engine="openpyxl")
    return frame.drop(columns="target").to_numpy(np.float32), frame["target"].to_numpy()


def workbench(path):
    from workbench.core.data.data import load_table

    table = load_table(str(path), "target")
    return table.X, table.target


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    args = p.parse_args()
    sizes = {"csv_200k_x_64": (200_000, 64), "csv_1m_x_10": (1_000_000, 10), "parquet_1m_x_10": (1_000_000, 10),
             "xlsx_20k_x_10": (20_000, 10)}
    if args.quick:
        sizes = {k: (2000, c) for k, (_r, c) in sizes.items()}
        args.repeats = 1
    figures, ratios, targets = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (rows, cols) in sizes.items():
            frame = _frame(rows, cols)
            path = Path(tmp) / f"{name}.{name.split('_')[0]}"
            if name.startswith("csv"):
                frame.to_csv(path, index=False)  # as pandas writes it
                baselines = {"pandas.read_csv": pandas_csv, "pyarrow.csv": pyarrow_csv}
            elif name.startswith("parquet"):
                frame.to_parquet(path)
                baselines = {"pyarrow.parquet": pyarrow_parquet}
            else:
                frame.to_excel(path, index=False)
                baselines = {"pandas.read_excel": pandas_excel}
            X, _ = workbench(path)
            assert X.shape == (rows, cols) and np.allclose(X[:5], frame.iloc[:5, :cols].to_numpy(), atol=1e-6)
            times = {"workbench": median([timed(lambda p=path: workbench(p)) for _ in range(args.repeats)])}
            for label, fn in baselines.items():
                times[label] = median([timed(lambda fn=fn, p=path: fn(p)) for _ in range(args.repeats)])
            for label, seconds in times.items():
                figures[f"{name} {label} seconds"] = seconds
            fastest = min(v for k, v in times.items() if k != "workbench")
            ratios[f"{name} workbench / fastest baseline"] = times["workbench"] / fastest
            if name.startswith("csv"):
                targets[f"{name} workbench / fastest baseline"] = ("<=", 1.5)
    report("table_load", args, figures, ratios, targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
