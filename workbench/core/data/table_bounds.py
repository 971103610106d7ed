"""Tables checked against what they declare before they are read: Parquet row groups, sizes and page headers,
Feather/Arrow batches and buffers, and an Excel workbook's zip parts and the extent of its sheets.

A megabyte of Parquet can declare 300 million rows (runs of one value encode in a few bytes), and a
workbook of a few hundred kilobytes can place one cell in column XFD of every row, which pandas pads
into billions of empty cells. Both are read from the footer or streamed from the XML and refused by
name before pandas or pyarrow allocate; a Parquet file is then decoded a batch at a time against the
same budget, so values that only decode large (dictionary pages) are refused part way, not at the end.
pyarrow sizes each page's or buffer's decompression from its own header, not the footer, so those
headers are read too (declared_sizes).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from workbench.core.data.declared_sizes import arrow_declared, parquet_page_bytes
from workbench.core.errors import DataError
from workbench.core.safety.memory import available_memory

FLOOR = 1 << 30  # a table that takes less memory than this is never refused for its ratio to the file
MAX_RATIO = 200  # bytes in memory per byte of file past which a table is taken for a decompression bomb
CELL_BYTES = 8  # a float64 or a pointer to a string: what each cell costs once read
XLSX_RATIO = 100  # a workbook's XML compresses ten- to thirtyfold; a hundredfold past FLOOR is a bomb
PADDED_FLOOR = 20_000_000  # empty cells pandas may pad a sheet with before the padding is checked
PADDED_RATIO = 50  # padded cells per cell the sheet really holds, past which it is refused
BATCH_ROWS = 65_536
_TAG = re.compile(rb"<(?:\w+:)?(row|c)\b([^>]*)>")
_REF = re.compile(rb'\br="([A-Z]*)(\d*)"')


def _size(n: int) -> str:
    if n >= 1 << 50:
        return f"{float(min(n, 10 ** 300)):.3g} bytes"
    return f"{n / (1 << 30):.2f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else \
        f"{n:,} bytes"


def _budget(path: Path, declared: int, what: str) -> None:
    """Refuse `declared` bytes for the table at `path` past free memory, or past MAX_RATIO times the file."""
    size = path.stat().st_size
    free = available_memory()
    if free is not None and declared > free:
        raise DataError(f"{what} {_size(declared)} once read, more than the {_size(free)} of memory free now.",
                        "Read fewer rows or columns, or use a machine with more memory.", path)
    if declared > FLOOR and declared > MAX_RATIO * max(size, 1):
        raise DataError(f"{what} {_size(declared)} once read, from a file of {_size(size)} "
                        f"({declared // max(size, 1):,} times its size), which is how a decompression bomb looks.",
                        "If the table is real, save it with fewer rows, or as CSV.", path)


def read_parquet(path: Path) -> Any:  # a pyarrow Table
    """A Parquet file whose footer (rows, columns, sizes) fits the budget, decoded a batch at a time; text
    columns are kept as dictionaries, so a million copies of one long string stay one string."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        meta = parquet.metadata
        cells = footer = 0
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            cells += max(group.num_rows, 0) * group.num_columns * CELL_BYTES
            footer += sum(max(group.column(c).total_uncompressed_size, 0) for c in range(group.num_columns))
        _budget(path, cells + footer, f"the file declares {meta.num_rows:,} rows of {meta.num_columns:,} columns,")
        pages = parquet_page_bytes(path, meta)  # what pyarrow will allocate to decompress, whatever the footer says
        _budget(path, cells + max(footer, pages), f"the file's pages declare {_size(pages)} uncompressed "
                f"({meta.num_rows:,} rows of {meta.num_columns:,} columns),")
        text = [f.name for f in parquet.schema_arrow if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    with pq.ParquetFile(path, read_dictionary=text) as parquet:
        batches, decoded = [], 0
        seen: set[tuple[int, ...]] = set()
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            decoded += _batch_bytes(batch, seen)
            _budget(path, decoded, "its values take more than")
            batches.append(batch)
        return pa.Table.from_batches(batches, schema=parquet.schema_arrow)


def read_feather(path: Path) -> Any:  # a pyarrow Table
    """A Feather/Arrow IPC file whose batches (rows, columns) and buffers (their declared uncompressed lengths)
    fit the budget, then read by pyarrow; a Feather v1 file cannot compress, so only its rows are checked."""
    from pyarrow import feather

    declared = arrow_declared(path)
    if declared is not None:
        rows, columns, buffers = declared
        _budget(path, rows * columns * CELL_BYTES + buffers,
                f"the file's buffers declare {_size(buffers)} uncompressed ({rows:,} rows of {columns:,} columns),")
    table = feather.read_table(path)
    _budget(path, table.num_rows * table.num_columns * CELL_BYTES + table.nbytes,
            f"the file holds {table.num_rows:,} rows of {table.num_columns:,} columns,")
    return table


def _batch_bytes(batch: Any, seen: set[tuple[int, ...]]) -> int:
    """Memory a decoded batch takes, and will take as numpy columns; a dictionary shared by batches counts once."""
    import pyarrow as pa

    total = int(batch.num_rows) * int(batch.num_columns) * CELL_BYTES
    for column in batch.columns:
        if not pa.types.is_dictionary(column.type):
            total += int(column.nbytes)
            continue
        total += int(column.indices.nbytes)
        key = tuple(b.address for b in column.dictionary.buffers() if b is not None)
        if key not in seen:
            seen.add(key)
            total += int(column.dictionary.nbytes)
    return total


def dictionary_text(column: Any) -> Any:  # a pyarrow ChunkedArray of dictionary-encoded strings -> numpy objects
    """Cells of a dictionary-encoded text column as an object array that shares one str per distinct value (None
    where missing), without decoding a copy of the text for every row."""
    import numpy as np
    import pyarrow.compute as pc

    out = np.empty(len(column), dtype=object)
    start = 0
    for chunk in column.chunks:
        values = pc.utf8_trim_whitespace(chunk.dictionary).to_numpy(zero_copy_only=False).astype(object)
        valid = chunk.indices.is_valid().to_numpy(zero_copy_only=False)
        indices = chunk.indices.fill_null(0).to_numpy(zero_copy_only=False)
        part = values[indices] if len(values) else np.full(len(chunk), None, dtype=object)
        part[~valid] = None
        out[start:start + len(chunk)] = part
        start += len(chunk)
    return out


def check_workbook(path: Path) -> None:
    """An .xlsx whose parts inflate within the budget and whose sheets pandas would not pad past all reason."""
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = sum(max(i.file_size, 0) for i in infos)
            _budget_xml(path, size, total)
            for info in infos:
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    _check_sheet(path, zf, info)
    except zipfile.BadZipFile:
        raise DataError("the workbook cannot be read (it is not a valid .xlsx: a damaged zip archive).",
                        "Open it in Excel and save it again as .xlsx, or save the sheet as UTF-8 CSV.", path) from None


def _budget_xml(path: Path, size: int, total: int) -> None:
    free = available_memory()
    if free is not None and total > free:
        raise DataError(f"the workbook's parts take {_size(total)} unpacked, more than the {_size(free)} of memory "
                        "free now.", "Save the sheet as CSV, or use a machine with more memory.", path)
    if total > FLOOR // 4 and total > XLSX_RATIO * max(size, 1):
        raise DataError(f"the workbook's parts unpack to {_size(total)} from {_size(size)} "
                        f"({total // max(size, 1):,} times), which is how a zip bomb looks.",
                        "Open it in Excel and save it again, or save the sheet as CSV.", path)


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _check_sheet(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Stream the sheet's XML for its rows and cells: pandas pads every row to the widest, from row 1."""
    rows = cols = cells = row = col = 0
    rest = b""
    with zf.open(info) as member:
        while True:
            chunk = member.read(1 << 20)
            buffer = rest + chunk
            end = buffer.rfind(b">") + 1 if chunk else len(buffer)
            for tag in _TAG.finditer(buffer, 0, end):
                ref = _REF.search(tag.group(2))
                if tag.group(1) == b"row":
                    row = int(ref.group(2)) if ref and ref.group(2) else row + 1
                    col = 0
                    rows = max(rows, row)
                else:
                    col = _column(ref.group(1)) if ref and ref.group(1) else col + 1
                    cols = max(cols, col)
                    cells += 1
            rest = buffer[end:]
            if not chunk:
                break
            if len(rest) > 1 << 20:  # a tag longer than a megabyte is no spreadsheet's
                break
    padded = rows * cols
    if padded > PADDED_FLOOR and padded > PADDED_RATIO * max(cells, 1):
        raise DataError(f"the sheet {info.filename.rpartition('/')[2]} reaches row {rows:,} and column {cols:,}, "
                        f"{padded:,} cells to read, though it holds only {cells:,}.",
                        "Delete the stray cells far below or right of the table in Excel, or save the sheet as "
                        "CSV.", path)
