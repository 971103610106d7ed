"""Tables that declare far more than they hold are refused before pandas or pyarrow allocate it; tables that
decode large from a few distinct values are read without copying them for every row.

Each hostile file is read in a fresh process: exit with a one-paragraph DataError naming the file, and peak
RSS far below what the file declares (or, for the workbook, in seconds rather than minutes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from workbench.core.errors import DataError

ROOT = Path(__file__).parents[3]


def _read(path: Path, timeout: float = 120) -> tuple[int, str]:
    """read_table in a fresh process: (peak RSS growth in MiB, the DataError text or a summary of the table)."""
    script = textwrap.dedent(f'''
        import re, resource
        from workbench.core.data.tables import read_table
        from workbench.core.errors import WorkbenchError
        def peak():  # KiB; Linux keeps ru_maxrss across fork and exec, so the test runner's peak would hide ours
            try:
                with open("/proc/self/status") as status:
                    return int(re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1))
            except OSError:
                return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")  # reset the peak to what the process holds now
        except OSError:
            pass
        before = peak()
        try:
            table = read_table({str(path)!r})
            message = f"READ {{table.rows}} " + " ".join(sorted(table.names))
        except WorkbenchError as exc:
            message = str(exc)
        print((peak() - before) // 1024)
        print(message)
    ''')
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout,
                          env=os.environ.copy(), cwd=str(ROOT))
    assert done.returncode == 0, done.stderr[-2000:]
    growth, message = done.stdout.split("\n", 1)
    return int(growth), message.strip()


def _refusal(message: str, path: Path) -> None:
    assert message.startswith(str(path)) and "\n" not in message and len(message) < 600, message


def test_a_megabyte_of_parquet_declaring_200_million_rows_is_refused_from_its_footer(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "rows.parquet"
    n = 200_000_000  # null columns: nothing to encode, 8 bytes a cell once read as float64
    pq.write_table(pa.table({"a": pa.nulls(n), "target": pa.nulls(n)}), path, row_group_size=n)
    assert path.stat().st_size < 2 << 20
    growth, message = _read(path)
    _refusal(message, path)
    assert "200,000,000 rows" in message and "GiB" in message and growth < 300, (growth, message)


def test_text_that_decodes_large_from_one_dictionary_value_is_read_without_copies(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "dictionary.parquet"
    n = 1_000_000  # one 2,000-character value: 2 GB once every row holds its own copy
    words = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array(["x" * 2000]))
    pq.write_table(pa.table({"note": words, "target": pa.array(np.arange(n) % 2)}), path)
    assert path.stat().st_size < 1 << 20
    growth, message = _read(path)
    assert message == "READ 1000000 note target" and growth < 500, (growth, message)


def test_dictionary_text_keeps_missing_cells_and_trims_values():
    import pyarrow as pa

    from workbench.core.data.table_bounds import dictionary_text

    column = pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array([1, None, 0, 1]), pa.array(["a ", " b"])),
                               pa.DictionaryArray.from_arrays(pa.array([0]), pa.array(["c"]))])
    assert dictionary_text(column).tolist() == ["b", None, "a", "b", "c"]


def _workbook(path: Path, sheet_rows: bytes = b"", shared: bytes | None = None) -> Path:
    """A minimal .xlsx (openpyxl's own parts) whose first sheet's rows are `sheet_rows`."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["a", "target"])
    for i in range(20):
        book.active.append([i, i % 2])
    plain = path.with_suffix(".plain.xlsx")
    book.save(plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml" and sheet_rows:
                start, end = data.index(b"<sheetData>") + len(b"<sheetData>"), data.index(b"</sheetData>")
                data = data[:start] + sheet_rows + data[end:]
            out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        if shared is not None:
            info = zipfile.ZipInfo("xl/sharedStrings.xml")
            info.compress_type = zipfile.ZIP_DEFLATED
            with out.open(info, "w") as member:
                member.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
                for _ in range(300):
                    member.write(shared)
                member.write(b"</sst>")
    plain.unlink()
    return path


def test_a_workbook_with_a_cell_in_column_xfd_of_every_row_is_refused_in_seconds(tmp_path):
    header = b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="inlineStr"><is><t>target' \
             b'</t></is></c></row>'
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>%d</v></c><c r="XFD%d"><v>1</v></c></row>'
                    % (r, r, r, r, r % 2, r) for r in range(2, 20_002))
    path = _workbook(tmp_path / "wide.xlsx", header + rows)
    assert path.stat().st_size < 1 << 20
    growth, message = _read(path, timeout=60)  # read as pandas pads it: 327 million cells, many minutes
    _refusal(message, path)
    assert "column 16,384" in message and "sheet1.xml" in message and growth < 300, (growth, message)


def test_a_workbook_whose_shared_strings_inflate_a_thousandfold_is_refused_before_openpyxl(tmp_path):
    path = _workbook(tmp_path / "strings.xlsx", shared=b"<si><t>" + b"y" * (1 << 20) + b"</t></si>")
    assert path.stat().st_size < 2 << 20
    growth, message = _read(path)
    _refusal(message, path)
    assert "zip bomb" in message and growth < 300, (growth, message)


def test_a_real_workbook_with_a_stray_cell_far_below_still_reads(tmp_path):
    from workbench.core.data.tables import read_table

    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>%d</v></c></row>' % (r, r, r, r, r % 2)
                    for r in range(2, 200))
    header = b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="inlineStr"><is><t>target' \
             b'</t></is></c></row>'
    path = _workbook(tmp_path / "stray.xlsx", header + rows + b'<row r="40000"><c r="Z40000"><v>1</v></c></row>')
    table = read_table(path)  # 40,000 rows by 26 columns once padded: a million cells, not refused
    assert table.rows == 199 and table.names[:2] == ["a", "target"] and len(table.names) == 26


def test_a_damaged_workbook_is_a_data_error(tmp_path):
    from workbench.core.data.tables import read_table

    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not a workbook")
    with pytest.raises(DataError, match=str(path)):
        read_table(path)
