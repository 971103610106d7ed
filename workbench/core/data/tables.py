"""Reading analysts' tables: CSV/TSV/TXT (delimiter and decimal mark detected), Parquet, Feather/Arrow, Excel.

The reader is pyarrow: its CSV parser is multi-threaded C++ (several times faster than pandas' own on numeric
files), keeps each column's type and missing cells, and the same library reads Parquet and Feather. pandas
(with openpyxl) reads Excel workbooks only. A file with thousands of columns is read row by row instead:
pyarrow (and pandas) spend about a quarter of a millisecond per column, which makes a 200,000-column file
take minutes.

Everything becomes a `RawTable`: one float64 array per numeric column (NaN where a cell is missing) and one
object array per other column (None where missing). Which columns become features is decided later
(`columns`), so reading a table never fails because of a text column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core import notes as N
from workbench.core.data.table_bounds import check_workbook, dictionary_text, read_feather, read_parquet
from workbench.core.errors import DataError

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")
PARQUET_SUFFIXES = (".parquet", ".pq")
ARROW_SUFFIXES = (".feather", ".arrow", ".ipc")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
TABLE_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES + ARROW_SUFFIXES + EXCEL_SUFFIXES
DELIMITERS = (",", ";", "\t", "|")
WIDE = 2000  # columns from which a CSV is read row by row (see the module docstring)
# Cells read as missing (pyarrow's defaults, which are pandas' too).
MISSING_TOKENS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                  "<NA>", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null", "None")


@dataclass
class RawTable:
    """Every column of a table as read, before any is chosen as a feature or the label."""

    source: str
    names: list[str]  # unique: duplicates are renamed "name.1", "name.2" (see notes)
    numeric: dict[str, np.ndarray]  # float64, NaN where missing
    text: dict[str, np.ndarray]  # object arrays (str), None where missing: text, dates, mixed columns
    rows: int
    first_row: int = 2  # the line or row number users see for the first data row (after a header)
    notes: list[str] = field(default_factory=list)
    bad_cells: dict[str, tuple[int, str, int]] = field(default_factory=dict)  # mostly numeric: (row, cell, count)
    kinds: dict[str, str] = field(default_factory=dict)  # non-default kinds read from the file ("date/time")
    sheets: list[str] = field(default_factory=list)  # an Excel workbook's sheet names
    format: str = ""  # "CSV (';', decimal ',')", "Parquet", ...
    # a wide file's (matrix, names, numeric mask), for column statistics in one pass
    block: tuple[Any, ...] | None = None


def is_table_path(path: str) -> bool:
    return not path.startswith("sklearn:") and Path(path).suffix.lower() in TABLE_SUFFIXES


def read_table(path: str | Path, sheet: str = "") -> RawTable:
    p = Path(path)
    if not p.is_file():
        raise DataError("no such data file or folder.", "Check the path.", p)
    suffix = p.suffix.lower()
    try:
        if suffix in CSV_SUFFIXES:
            return _read_csv(p)
        if suffix in PARQUET_SUFFIXES:
            return _from_arrow(read_parquet(p), p, "Parquet", first_row=1)
        if suffix in ARROW_SUFFIXES:
            return _from_arrow(read_feather(p), p, "Feather/Arrow", first_row=1)
        if suffix in EXCEL_SUFFIXES:
            return _read_excel(p, sheet)
    except DataError:
        raise
    except MemoryError:
        raise DataError("the table does not fit in memory.", "Use fewer rows or columns, or close other programs.",
                        p) from None
    except Exception as exc:  # noqa: BLE001 - pyarrow, openpyxl and zipfile raise many types for a broken file
        raise DataError(f"the table cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}).",
                        _how_to_save(suffix), p) from None
    raise DataError(f"the data format '{p.suffix}' is not supported.", "Use a table (.csv, .tsv, .txt, .parquet, "
                    ".feather, .xlsx), an .npz with X and y, or an image folder (root/<class>/*.png).", p)


def _how_to_save(suffix: str) -> str:
    if suffix in CSV_SUFFIXES:
        return "Save it as UTF-8 CSV."
    if suffix in EXCEL_SUFFIXES:
        return "Open it in Excel and save it again as .xlsx, or save the sheet as UTF-8 CSV."
    return "Write it again (pandas: df.to_parquet / df.to_feather), or save it as UTF-8 CSV."


def unique_names(names: list[str]) -> tuple[list[str], list[str]]:
    """Blank names become "column N", repeated names "name.1", "name.2" (as pandas does); with notes."""
    out: list[str] = []
    taken: set[str] = set()
    notes: list[str] = []
    renamed: dict[str, int] = {}
    for i, raw in enumerate(names):
        name = str(raw).strip() or f"column {i + 1}"
        if name in taken:
            k = renamed.get(name, 0)
            candidate = name
            while candidate in taken:
                k += 1
                candidate = f"{name}.{k}"
            renamed[name] = k
            notes.append(N.info(f"column {i + 1} repeats the name '{name}'; it is shown as '{candidate}'.",
                                "column_renamed"))
            name = candidate
        taken.add(name)
        out.append(name)
    return out, notes


# ----- CSV


@dataclass
class _Dialect:
    delimiter: str
    decimal: str
    encoding: str
    header: list[str]
    header_bytes: int
    longest_line: int


def _sniff(path: Path) -> _Dialect:
    """Delimiter, decimal mark and header from the first lines (all of the header line, however long)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
        while head.count(b"\n") < 3 and len(head) < (1 << 30):  # wide files: whole lines, however long
            more = fh.read(len(head))
            if not more:
                break
            head += more
        at_end = not fh.read(1)
    if not head.strip():
        raise DataError("the table is empty.", "Give a table with a header row and one row per sample.", path)
    encoding = "utf-8"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    elif head[:3] == b"\xef\xbb\xbf":
        head = head[3:]
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            raise DataError(f"the table cannot be read (it is not UTF-8 text: {exc.reason} at byte {exc.start}).",
                            "Save it as UTF-8 CSV.", path) from None
        text = head[:exc.start].decode(encoding)
    if encoding == "utf-16":
        text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not at_end and len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut
    lines = [ln for ln in lines[:60] if ln.strip()]
    delimiter = _delimiter(lines, path)
    header = next(csv.reader([lines[0]], delimiter=delimiter))
    decimal = _decimal(lines[1:], delimiter)
    header_bytes = len(lines[0].encode(encoding)) + 1
    return _Dialect(delimiter, decimal, encoding, header, header_bytes, max(len(ln) for ln in lines))


def _delimiter(lines: list[str], path: Path) -> str:
    """The candidate that splits every sampled line into the same number (> 1) of cells, the most cells
    winning; a .tsv is not trusted to hold tabs (Excel writes semicolons into .csv files in many locales)."""
    best, best_cells = ",", 1
    for delimiter in DELIMITERS:
        if not any(delimiter in ln for ln in lines[:1]):
            continue
        try:
            counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
        except csv.Error:
            continue
        if len(counts) == 1:
            cells = counts.pop()
            if cells > best_cells:
                best, best_cells = delimiter, cells
    if best_cells == 1 and len(lines) > 1:
        header_cells = {d: len(next(csv.reader(lines[:1], delimiter=d))) for d in DELIMITERS}
        delimiter = max(header_cells, key=header_cells.__getitem__)
        if header_cells[delimiter] > 1:
            return delimiter  # ragged rows: parse with the header's delimiter and name the bad row
    return best


def _decimal(lines: list[str], delimiter: str) -> str:
    """',' when the delimiter is not a comma and numbers are written like 1,5 and never like 1.5."""
    if delimiter == ",":
        return "."
    import re

    comma = re.compile(r"^\s*[-+]?\d*,\d+(?:[eE][-+]?\d+)?\s*$")
    point = re.compile(r"^\s*[-+]?\d*\.\d+(?:[eE][-+]?\d+)?\s*$")
    cells = [cell for row in csv.reader(lines[:50], delimiter=delimiter) for cell in row]
    has_comma = any(comma.match(c) for c in cells)
    has_point = any(point.match(c) for c in cells)
    return "," if has_comma and not has_point else "."


def _read_csv(path: Path) -> RawTable:
    dialect = _sniff(path)
    names, notes = unique_names(dialect.header)
    mark = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}[dialect.delimiter]
    fmt = f"CSV ({mark}-separated" + (", decimal comma)" if dialect.decimal == "," else ")")
    if len(names) >= WIDE:
        table = _read_wide_csv(path, dialect, names)
    else:
        table = _from_arrow(_arrow_csv(path, dialect, names), path, fmt, first_row=2)
    table.notes[:0] = notes
    table.format = fmt
    if table.rows == 0:
        raise DataError("the table has a header but no rows.", "Add the samples below the header.", path)
    return table


def _arrow_csv(path: Path, dialect: _Dialect, names: list[str], quoted_newlines: bool = False) -> Any:  # a pa.Table
    import pyarrow as pa
    import pyarrow.csv as pcsv

    bad: list[Any] = []

    def on_bad_row(row: Any) -> str:
        bad.append(row)
        return "skip"

    block = max(1 << 20, 4 * dialect.longest_line)  # a block must hold whole lines
    read = pcsv.ReadOptions(column_names=names, skip_rows=1, encoding=dialect.encoding, block_size=block)
    parse = pcsv.ParseOptions(delimiter=dialect.delimiter, invalid_row_handler=on_bad_row,
                              newlines_in_values=quoted_newlines)
    convert = pcsv.ConvertOptions(decimal_point=dialect.decimal, strings_can_be_null=True)
    try:
        table = pcsv.read_csv(path, read, parse, convert)
    except pa.ArrowInvalid as exc:
        # Types are inferred from the first block; a later cell that does not fit (a word in a numeric column)
        # stops the reader. Read every column as text then, and convert column by column.
        if "conversion error" not in str(exc).lower():
            raise
        bad.clear()
        convert = pcsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True)
        table = _numbers_where_possible(pcsv.read_csv(path, read, parse, convert), dialect.decimal)
    if bad and not quoted_newlines and '"' in "".join(row.text for row in bad[:20]):
        # A quoted cell spanning lines (Excel writes those): parse again allowing it (slower, so not by default).
        return _arrow_csv(path, dialect, names, quoted_newlines=True)
    if bad:
        row = bad[0]
        where = f"row {row.number + 1}" if row.number is not None else f"the row '{row.text[:60]}'"
        raise DataError(f"{where} has {row.actual_columns} cells but the header has {row.expected_columns}"
                        + (f" ({len(bad) - 1} more such rows)" if len(bad) > 1 else "") + ".",
                        "Fix that row (a missing or extra delimiter, or an unclosed quote).", path)
    return table


def _numbers_where_possible(table: Any, decimal: str) -> Any:  # pyarrow has no type hints: tables are Any
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for column in table.columns:
        values = pc.replace_substring(column, ",", ".") if decimal == "," else column
        try:
            columns.append(pc.cast(values, pa.float64()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            columns.append(column)
    return pa.table(columns, names=table.column_names)


def _read_wide_csv(path: Path, dialect: _Dialect, names: list[str]) -> RawTable:
    """Thousands of columns and (usually) few rows: one vectorised conversion per row."""
    import pandas as pd

    width = len(names)
    rows: list[np.ndarray] = []
    is_text = np.zeros(width, dtype=bool)
    missing_tokens = set(MISSING_TOKENS)
    with open(path, newline="", encoding="utf-8-sig" if dialect.encoding == "utf-8" else dialect.encoding) as fh:
        reader = csv.reader(fh, delimiter=dialect.delimiter)
        next(reader)
        for number, cells in enumerate(reader, start=2):
            if not cells or not any(c.strip() for c in cells):
                continue
            if len(cells) != width:
                raise DataError(f"row {number} has {len(cells)} cells but the header has {width}.",
                                "Fix that row (a missing or extra delimiter, or an unclosed quote).", path)
            try:  # numpy parses a row of plain numbers in one C loop
                values = np.array(cells, dtype=np.float64)
            except ValueError:  # empty cells, words, decimal commas: cell by cell, vectorised by pandas
                strings = pd.Series(cells, dtype=object)
                if dialect.decimal == ",":
                    strings = strings.str.replace(",", ".", regex=False)
                values = pd.to_numeric(strings.str.strip(), errors="coerce").to_numpy(dtype=np.float64)
                nan = np.flatnonzero(np.isnan(values))
                is_text[nan[[cells[j].strip() not in missing_tokens for j in nan]]] = True
            rows.append(values)
    matrix = np.vstack(rows) if rows else np.empty((0, width))
    numeric = {name: matrix[:, j] for j, name in enumerate(names) if not is_text[j]}
    text: dict[str, np.ndarray] = {}
    if is_text.any():  # a second pass for the few text columns, keeping their cells
        index = np.flatnonzero(is_text)
        cells_of: list[list[str | None]] = [[] for _ in index]
        with open(path, newline="", encoding="utf-8-sig" if dialect.encoding == "utf-8" else dialect.encoding) as fh:
            reader = csv.reader(fh, delimiter=dialect.delimiter)
            next(reader)
            for cells in reader:
                if cells and any(c.strip() for c in cells):
                    for k, j in enumerate(index):
                        cell = cells[j].strip()
                        cells_of[k].append(None if cell in MISSING_TOKENS else cell)
        text = {names[j]: np.array(cells_of[k], dtype=object) for k, j in enumerate(index)}
    table = RawTable(str(path), names, numeric, text, len(rows), first_row=2)
    table.block = (matrix, names, ~is_text)
    _note_mostly_numeric(table)
    return table


# ----- Arrow (CSV, Parquet, Feather) and Excel


def _from_arrow(table: Any, path: Path, fmt: str, first_row: int) -> RawTable:
    import pyarrow as pa
    import pyarrow.compute as pc

    names, notes = unique_names([str(n) for n in table.column_names])
    numeric: dict[str, np.ndarray] = {}
    text: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    for name, column in zip(names, table.columns):
        kind = column.type
        if pa.types.is_dictionary(kind) and str(kind.value_type) in ("string", "large_string"):
            text[name] = dictionary_text(column)  # one str per distinct value, not one per row
            continue
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) \
                or pa.types.is_decimal(kind) or pa.types.is_null(kind):
            numeric[name] = np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False),
                                       dtype=np.float64)
            continue
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            raise DataError(f"column '{name}' holds bytes that are not UTF-8 text.", "Save it as UTF-8 CSV.", path)
        if pa.types.is_temporal(kind):
            kinds[name] = "date/time"
            column = pc.cast(column, pa.string())
        elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            kinds[name] = str(kind)
            column = pc.cast(column, pa.string()) if _castable(column) else pa.chunked_array(
                [pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())])
        else:
            column = pc.utf8_trim_whitespace(column)
        text[name] = column.to_numpy(zero_copy_only=False).astype(object)
    raw = RawTable(str(path), names, numeric, text, table.num_rows, first_row, notes, kinds=kinds, format=fmt)
    _note_mostly_numeric(raw)
    return raw


def _castable(column: Any) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.cast(column.slice(0, 1), pa.string())
        return True
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False


def _note_mostly_numeric(table: RawTable) -> None:
    """A text column whose cells are numbers but for a few: remember the first offender (a typo, a unit)."""
    import pandas as pd

    for name, cells in table.text.items():
        if name in table.kinds:
            continue
        present = np.flatnonzero(pd.notna(cells))
        if not len(present):
            continue
        # each distinct cell parsed once (a column of one long string repeated stays one string, never copied)
        distinct: dict[Any, int] = {}
        codes = np.fromiter((distinct.setdefault(c, len(distinct)) for c in cells[present]), np.int64, len(present))
        values = pd.to_numeric(pd.Series(list(distinct), dtype=object).str.replace(",", ".", regex=False),
                               errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy()[codes])
        if 0 < len(bad) <= max(1, len(present) // 10):
            row = int(present[bad[0]])
            table.bad_cells[name] = (row + table.first_row, str(cells[row]), len(bad))


def sheet_names(path: str | Path) -> list[str]:
    import openpyxl

    check_workbook(Path(path))  # its parts and sheets' extent, before openpyxl reads its shared strings
    try:
        book = openpyxl.load_workbook(path, read_only=True)
    except Exception as exc:  # noqa: BLE001 - zipfile, XML and openpyxl errors for a broken workbook
        raise DataError(f"the workbook cannot be read ({type(exc).__name__}: {str(exc)[:200]}).",
                        _how_to_save(".xlsx"), path) from None
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def _read_excel(path: Path, sheet: str) -> RawTable:
    import pandas as pd

    sheets = sheet_names(path)
    if sheet and sheet not in sheets:
        raise DataError(f"the workbook has no sheet '{sheet}' (it has {', '.join(sheets)}).",
                        "Choose one of its sheets.", path)
    frame = pd.read_excel(path, sheet_name=sheet or sheets[0], engine="openpyxl")
    frame = frame.dropna(how="all")
    names, notes = unique_names([str(c) for c in frame.columns])
    numeric: dict[str, np.ndarray] = {}
    text: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    for name, (_label, column) in zip(names, frame.items()):
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            numeric[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        if pd.api.types.is_datetime64_any_dtype(column):
            kinds[name] = "date/time"
        values = column.to_numpy(dtype=object)
        present = pd.notna(values)
        converted = pd.to_numeric(pd.Series(values[present]), errors="coerce")
        if len(converted) and not converted.isna().any() and name not in kinds:
            out = np.full(len(values), np.nan)
            out[present] = converted.to_numpy(dtype=np.float64)
            numeric[name] = out
            continue
        text[name] = np.array([str(v).strip() if ok else None for v, ok in zip(values, present)], dtype=object)
    raw = RawTable(str(path), names, numeric, text, len(frame), 2, notes, kinds=kinds, sheets=sheets,
                   format=f"Excel (sheet '{sheet or sheets[0]}')")
    _note_mostly_numeric(raw)
    if raw.rows == 0:
        raise DataError(f"the sheet '{sheet or sheets[0]}' has a header but no rows.",
                        "Add the samples below the header, or choose another sheet.", path)
    return raw


def describe_source(table: RawTable) -> str:
    return f"{table.format}: {table.rows:,} rows, {len(table.names):,} columns"

