"""What a Parquet file's pages and an Arrow IPC (Feather v2) file's buffers declare they decode to, read from
their headers without decoding anything.

pyarrow sizes its decompression buffer from these headers alone: a 75 KB Parquet file whose one page
declares 1.5 GB of zstd-compressed zeros, or a Feather file whose buffer does, grows the reader by 1.5 GB
although the footer's sizes are small. Here every page header (Thrift compact protocol) of every column
chunk, and every buffer's length prefix in every record batch (flatbuffers), is read with bounded reads,
so table_bounds can refuse the file before pyarrow allocates. Anything malformed is a DataError.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from workbench.core.errors import DataError

MAX_HEADER = 16 << 20  # Arrow's own limit on a Parquet page header
_DEPTH = 32
_FIXED = {1: 0, 2: 0, 3: 1, 7: 8}  # compact types of a fixed width: booleans (in the field type), byte, double
_IPC_MAGIC = b"ARROW1"
_OVERLAP = 4  # times the file's size a walk of its chunks or batch metadata may read before it is taken as damaged


class _Damaged(Exception):
    pass


def _read(f: BinaryIO, pos: int, n: int, size: int) -> bytes:
    """n bytes at pos, never asking for more than the file holds (a declared length is not trusted)."""
    if pos < 0 or n < 0 or pos + n > size:
        raise _Damaged
    f.seek(pos)
    data = f.read(n)
    if len(data) != n:
        raise _Damaged
    return data


class _Compact:
    """A Thrift compact-protocol reader over a header that starts at `pos`, read in growing windows."""

    def __init__(self, f: BinaryIO, pos: int, end: int) -> None:
        self.f, self.start, self.end = f, pos, min(end, pos + MAX_HEADER)
        self.buf, self.i = b"", 0

    def _need(self, n: int) -> None:
        while self.i + n > len(self.buf):
            want = min(max(2 * len(self.buf), 256, self.i + n), self.end - self.start)
            if want <= len(self.buf):
                raise _Damaged
            self.f.seek(self.start)
            self.buf = self.f.read(want)
            if len(self.buf) != want:
                raise _Damaged

    def byte(self) -> int:
        self._need(1)
        self.i += 1
        return self.buf[self.i - 1]

    def varint(self) -> int:
        n = shift = 0
        while shift < 70:
            b = self.byte()
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
        raise _Damaged

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def skip(self, kind: int, depth: int) -> None:
        if depth > _DEPTH:
            raise _Damaged
        if kind in _FIXED:
            self._need(_FIXED[kind])
            self.i += _FIXED[kind]
        elif kind in (4, 5, 6):
            self.varint()
        elif kind == 8:
            n = self.varint()
            self._need(n)
            self.i += n
        elif kind in (9, 10):
            head = self.byte()
            count = self.varint() if head >> 4 == 15 else head >> 4
            for _ in range(count):
                self.skip(3 if head & 15 in (1, 2) else head & 15, depth + 1)  # list booleans take a byte
        elif kind == 11:
            count = self.varint()
            types = self.byte() if count else 0
            for _ in range(count):
                for part in (types >> 4, types & 15):
                    self.skip(3 if part in (1, 2) else part, depth + 1)  # so do booleans in maps
        elif kind == 12:
            self.fields(lambda field, k: False, depth + 1)
        else:
            raise _Damaged

    def fields(self, take: Any, depth: int = 0) -> None:
        """Walk a struct; take(field, type) reads a field it wants (returning True) or leaves it to be skipped."""
        field = 0
        while True:
            head = self.byte()
            if head == 0:
                return
            field = field + (head >> 4) if head >> 4 else self.zigzag()
            if not take(field, head & 15):
                self.skip(head & 15, depth)


def _page_header(f: BinaryIO, pos: int, end: int) -> tuple[int, int, int]:
    """(header length, uncompressed size, compressed size) of the page header at pos."""
    reader = _Compact(f, pos, end)
    sizes = {2: -1, 3: -1}

    def take(field: int, kind: int) -> bool:
        if field in sizes and kind == 5:
            sizes[field] = reader.zigzag()
            return True
        return False

    reader.fields(take)
    if sizes[2] < 0 or sizes[3] < 0:
        raise _Damaged
    return reader.i, sizes[2], sizes[3]


def parquet_page_bytes(path: Path, meta: Any) -> int:
    """The uncompressed sizes all pages of the file declare in their headers (pyarrow FileMetaData `meta`)."""
    size = path.stat().st_size
    total, walked, seen = 0, 0, {}
    try:
        with path.open("rb") as f:
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                for c in range(group.num_columns):
                    column = group.column(c)
                    start = int(column.data_page_offset)
                    if column.has_dictionary_page and 0 < int(column.dictionary_page_offset or 0) < start:
                        start = int(column.dictionary_page_offset)
                    key = (start, int(column.total_compressed_size))
                    if key not in seen:
                        seen[key] = _chunk_pages(f, start, min(start + key[1], size))
                        walked += max(min(start + key[1], size) - start, 0)
                        if walked > _OVERLAP * size:  # column chunks laid over each other: a walk without end
                            raise _Damaged
                    total += seen[key]
    except (_Damaged, OSError):
        raise DataError("a page header of the file cannot be read (the file is damaged).",
                        "Write it again (pandas: df.to_parquet), or save it as UTF-8 CSV.", path) from None
    return total


def _chunk_pages(f: BinaryIO, pos: int, end: int) -> int:
    total = 0
    while pos < end:
        length, uncompressed, compressed = _page_header(f, pos, end)
        total += uncompressed
        pos += length + compressed
    return total


def _table(buf: bytes, pos: int) -> tuple[int, bytes]:
    """(table position, vtable) of the flatbuffers table at pos."""
    if not 0 <= pos <= len(buf) - 4:
        raise _Damaged
    vt = pos - struct.unpack_from("<i", buf, pos)[0]
    if not 0 <= vt <= len(buf) - 4:
        raise _Damaged
    vsize = struct.unpack_from("<H", buf, vt)[0]
    if vsize < 4 or vt + vsize > len(buf):
        raise _Damaged
    return pos, buf[vt:vt + vsize]


def _field(buf: bytes, table: tuple[int, bytes], index: int) -> int:
    """Where field `index` of the table lies in buf, or 0 when absent."""
    pos, vtable = table
    if 4 + 2 * index + 2 > len(vtable):
        return 0
    off = struct.unpack_from("<H", vtable, 4 + 2 * index)[0]
    return pos + off if off else 0


def _vector(buf: bytes, at: int, width: int) -> list[int]:
    """Start positions of the elements of the vector that field position `at` points to."""
    if not at:
        return []
    start = at + struct.unpack_from("<I", buf, at)[0]
    count = struct.unpack_from("<I", buf, start)[0]
    if start + 4 + count * width > len(buf):
        raise _Damaged
    return [start + 4 + i * width for i in range(count)]


def _child(buf: bytes, at: int) -> tuple[int, bytes]:
    return _table(buf, at + struct.unpack_from("<I", buf, at)[0])


def arrow_declared(path: Path) -> tuple[int, int, int] | None:
    """(rows, columns, buffer bytes once decompressed) an Arrow IPC file declares, summed over its record and
    dictionary batches; None for a file that is not Arrow IPC (Feather v1 cannot compress)."""
    size = path.stat().st_size
    try:
        with path.open("rb") as f:
            if size < 18 or _read(f, 0, 6, size) != _IPC_MAGIC or _read(f, size - 6, 6, size) != _IPC_MAGIC:
                return None
            length = struct.unpack("<i", _read(f, size - 10, 4, size))[0]
            footer = _read(f, size - 10 - length, length, size)
            root = _table(footer, struct.unpack_from("<I", footer, 0)[0])
            blocks = [(index,) + struct.unpack_from("<qi4xq", footer, at)[:2] for index in (2, 3)
                      for at in _vector(footer, _field(footer, root, index), 24)]
            rows = columns = buffers = 0
            if sum(max(length, 0) for _, _, length in dict.fromkeys(blocks)) > _OVERLAP * size:
                raise _Damaged  # batches laid over each other: reading each would take without end
            for index, offset, meta_length in dict.fromkeys(blocks):
                batch_rows, batch_columns, batch_bytes = _batch(f, offset, meta_length, size)
                buffers += batch_bytes
                if index == 3:  # a record batch's rows and columns; a dictionary's only weigh as buffers
                    rows, columns = rows + batch_rows, max(columns, batch_columns)
            return rows, columns, buffers
    except (_Damaged, struct.error, OSError):
        raise DataError("the Arrow metadata of the file cannot be read (the file is damaged).",
                        "Write it again (pandas: df.to_feather), or save it as UTF-8 CSV.", path) from None


def _batch(f: BinaryIO, offset: int, meta_length: int, size: int) -> tuple[int, int, int]:
    """(rows, columns, buffer bytes) of the record or dictionary batch whose message starts at offset."""
    meta = _read(f, offset, meta_length, size)
    skip = 8 if meta[:4] == b"\xff\xff\xff\xff" else 4
    buf = meta[skip:]
    message = _table(buf, struct.unpack_from("<I", buf, 0)[0])
    kind_at, header_at = _field(buf, message, 1), _field(buf, message, 2)
    kind = buf[kind_at] if kind_at else 0
    if kind not in (2, 3) or not header_at:
        return 0, 0, 0
    batch = _child(buf, header_at)
    if kind == 2:  # a dictionary batch holds its values as a record batch
        data_at = _field(buf, batch, 1)
        if not data_at:
            return 0, 0, 0
        batch = _child(buf, data_at)
    rows_at = _field(buf, batch, 0)
    rows = struct.unpack_from("<q", buf, rows_at)[0] if rows_at else 0
    columns = len(_vector(buf, _field(buf, batch, 1), 16))
    compressed = bool(_field(buf, batch, 3))
    body, total = offset + meta_length, 0
    for at in _vector(buf, _field(buf, batch, 2), 16):
        start, length = struct.unpack_from("<qq", buf, at)
        if compressed and length >= 8:
            declared = struct.unpack("<q", _read(f, body + start, 8, size))[0]
            if declared < -1:
                raise _Damaged
            total += length - 8 if declared == -1 else declared
        else:
            total += length
    if rows < 0 or total < 0:
        raise _Damaged
    return rows, columns, total
