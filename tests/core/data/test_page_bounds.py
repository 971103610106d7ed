"""Parquet pages and Feather/Arrow buffers that declare far more than their file holds are refused from their
headers before pyarrow decompresses them; real files written by pandas still read.

Each bomb is a file pyarrow wrote for 10,000 random float64 values whose one compressed page (Parquet) or
buffer (Feather) is refilled, in the same number of bytes, with zstd frames of zeros declaring far more:
the footer's sizes stay small, so only the page header or the buffer's length prefix tells. A small one
is read to show pyarrow allocates what the header declares; a large one must be refused in a fresh process.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from tests.core.data.test_table_bounds import _read, _refusal
from workbench.core.errors import DataError

ROWS = 10_000
SKIPPABLE = 0x184D2A50  # a zstd frame the decoder skips: pads the page to the bytes it had


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while data[i] & 0x80:
        n, shift, i = n | (data[i] & 0x7F) << shift, shift + 7, i + 1
    return n | data[i] << shift, i + 1


def _zeros(total: int, room: int) -> bytes:
    """zstd frames that decompress to `total` zero bytes, padded with a skippable frame to exactly `room` bytes."""
    import pyarrow as pa

    chunk = 64 << 20
    full, rest = divmod(total, chunk)
    frames = pa.compress(np.zeros(chunk, np.uint8), codec="zstd", asbytes=True) * full
    frames += pa.compress(np.zeros(rest, np.uint8), codec="zstd", asbytes=True) if rest else b""
    assert room - len(frames) >= 8, (room, len(frames))
    return frames + struct.pack("<II", SKIPPABLE, room - len(frames) - 8) + b"\0" * (room - len(frames) - 8)


def _values() -> np.ndarray:
    return np.random.default_rng(0).random(ROWS)  # incompressible: leaves room for the frames of zeros


def _parquet_bomb(path: Path, declared: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([pa.field("a", pa.float64(), nullable=False)])  # no levels: the page is all values
    pq.write_table(pa.table({"a": _values()}, schema=schema), path, compression="zstd", use_dictionary=False,
                   write_statistics=False)
    column = pq.ParquetFile(path).metadata.row_group(0).column(0)
    start, end = column.data_page_offset, column.data_page_offset + column.total_compressed_size
    data = path.read_bytes()
    assert data[start:start + 3] == b"\x15\x00\x15"  # PageHeader: type DATA_PAGE, then uncompressed_page_size
    _, i = _read_varint(data, start + 3)
    compressed, j = _read_varint(data, i + 1)  # compressed_page_size (zigzag), then the rest of the header
    rest = data[j:end - (compressed >> 1)]
    head = b"\x15\x00\x15" + _varint(declared << 1) + b"\x15"
    room = end - start - len(head) - len(rest)
    size = next(room - k for k in range(1, 6) if len(_varint((room - k) << 1)) == k)
    page = head + _varint(size << 1) + rest + _zeros(declared, size)
    assert len(page) == end - start
    path.write_bytes(data[:start] + page + data[end:])
    return path


def _feather_bomb(path: Path, declared: int) -> Path:
    import pyarrow as pa
    from pyarrow import feather

    values = _values()
    feather.write_feather(pa.table({"a": values}), path, compression="zstd")
    packed = pa.compress(values, codec="zstd", asbytes=True)
    data = path.read_bytes()
    at = data.find(packed)  # the buffer: its uncompressed length (int64), then the zstd frame
    assert at > 8 and struct.unpack("<q", data[at - 8:at])[0] == ROWS * 8
    path.write_bytes(data[:at - 8] + struct.pack("<q", declared) + _zeros(declared, len(packed))
                     + data[at + len(packed):])
    return path


@pytest.mark.parametrize("make", [_parquet_bomb, _feather_bomb], ids=["parquet", "feather"])
def test_pyarrow_allocates_what_a_page_or_buffer_declares_not_what_the_footer_says(tmp_path, make):
    declared = 200 << 20  # below the budget's floor: read, but at the cost the header declares
    path = make(tmp_path / f"small.{'parquet' if make is _parquet_bomb else 'feather'}", declared)
    assert path.stat().st_size < 100_000
    growth, message = _read(path)
    assert message == "READ 10000 a" and growth > 150, (growth, message)


@pytest.mark.parametrize("make", [_parquet_bomb, _feather_bomb], ids=["parquet", "feather"])
def test_a_page_or_buffer_declaring_1_5_gib_in_a_75_kb_file_is_refused_from_its_header(tmp_path, make):
    suffix = "parquet" if make is _parquet_bomb else "feather"
    path = make(tmp_path / f"bomb.{suffix}", 1536 << 20)  # 1,500 MiB of zeros in about 50 KB of zstd frames
    assert path.stat().st_size < 100_000
    if suffix == "parquet":
        import pyarrow.parquet as pq

        assert pq.ParquetFile(path).metadata.row_group(0).column(0).total_uncompressed_size < 100_000
    growth, message = _read(path)  # read today: 1.5 GB more RSS, and the table comes back
    _refusal(message, path)
    assert "declare 1.50 GiB uncompressed" in message and "decompression bomb" in message, message
    assert growth < 300, (growth, message)


def test_feather_declaring_200_million_null_rows_is_refused_from_its_batches(tmp_path):
    import pyarrow as pa
    from pyarrow import feather

    path = tmp_path / "rows.feather"
    feather.write_feather(pa.table({"a": pa.nulls(200_000_000), "target": pa.nulls(200_000_000)}), path)
    assert path.stat().st_size < 1 << 20  # 3,052 batches of null columns: no buffers; 3.2 GB as float64
    growth, message = _read(path)
    _refusal(message, path)
    assert "200,000,000 rows" in message and growth < 300, (growth, message)


@pytest.mark.parametrize("compression", ["snappy", "gzip", "zstd", "lz4", "brotli", None])
def test_parquet_written_by_pandas_reads_with_every_codec(tmp_path, compression):
    import pandas as pd

    from workbench.core.data.tables import read_table

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.random(30_000), "s": rng.choice(["a", "b", None], 30_000),
                          "target": np.arange(30_000) % 3})
    path = tmp_path / "real.parquet"
    frame.to_parquet(path, compression=compression, row_group_size=7_000, data_page_size=8_192)
    table = read_table(path)
    assert table.rows == 30_000 and np.array_equal(table.numeric["x"], frame["x"].to_numpy())


@pytest.mark.parametrize("compression", ["lz4", "zstd", "uncompressed"])
def test_feather_written_by_pandas_reads_with_every_codec(tmp_path, compression):
    import pandas as pd

    from workbench.core.data.tables import read_table

    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.random(30_000), "c": pd.Categorical(rng.choice(["u", "v"], 30_000)),
                          "target": np.arange(30_000) % 2})
    path = tmp_path / "real.feather"
    frame.to_feather(path, compression=compression, chunksize=7_000)
    table = read_table(path)
    assert table.rows == 30_000 and np.array_equal(table.numeric["x"], frame["x"].to_numpy())
    assert list(table.text["c"][:3]) == list(frame["c"][:3])


def test_a_damaged_page_header_or_arrow_footer_is_a_data_error_naming_the_file(tmp_path):
    from workbench.core.data.tables import read_table

    path = _parquet_bomb(tmp_path / "damaged.parquet", 1 << 20)
    import pyarrow.parquet as pq

    start = pq.ParquetFile(path).metadata.row_group(0).column(0).data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 2] = 0x1D  # field 2 of type 13, which the compact protocol does not have
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="page header") as caught:
        read_table(path)
    assert str(path) in str(caught.value)
    arrow = _feather_bomb(tmp_path / "damaged.feather", 1 << 20)
    data = bytearray(arrow.read_bytes())
    data[-10:-6] = struct.pack("<i", len(data))  # a footer longer than the file
    arrow.write_bytes(bytes(data))
    with pytest.raises(DataError, match="Arrow metadata") as caught:
        read_table(arrow)
    assert str(arrow) in str(caught.value)


@pytest.mark.parametrize("suffix", ["parquet", "feather"])
def test_chunks_or_batches_read_past_the_overlap_limit_are_refused_as_damaged(tmp_path, monkeypatch, suffix):
    import pandas as pd

    from workbench.core.data import declared_sizes
    from workbench.core.data.tables import read_table

    path = tmp_path / f"real.{suffix}"
    frame = pd.DataFrame({"x": np.random.default_rng(3).random(20_000), "target": np.arange(20_000) % 2})
    frame.to_parquet(path) if suffix == "parquet" else frame.to_feather(path, chunksize=1_000)
    assert read_table(path).rows == 20_000
    monkeypatch.setattr(declared_sizes, "_OVERLAP", 0.01)  # as if the footer laid every chunk over the others
    with pytest.raises(DataError, match="damaged"):
        read_table(path)
