"""Size checks made before anything is materialised: what a file declares against its length and free memory.

A few kilobytes can declare gigabytes: a zip member that inflates a thousandfold, a storage larger than
the file that holds it, a tensor view with zero strides over one element, a safetensors header whose
offsets run past the end. Each is refused here, from the declarations alone, before torch allocates.
"""

from __future__ import annotations

import json
import math
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from workbench.core.errors import CheckpointError
from workbench.core.safety.memory import available_memory
from workbench.core.safety.pickle_scan import Scan

# Deflated members of a torch archive are unusual (torch.save stores); past this ratio they are a bomb.
MAX_INFLATION = 100
SMALL = 64 << 20  # below this, nothing here is worth refusing
MAX_EXPANSION = 16  # a tensor may read its storage this many times over (broadcast views) before it is absurd
MAX_JSON_DEPTH = 64
SAFETENSORS_DTYPES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
                      "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8, "C64": 8}


def _gib(n: int) -> str:
    if n >= 1 << 50:
        return f"{float(min(n, 10 ** 300)):.3g} bytes"
    if n >= 1 << 30:
        return f"{n / (1 << 30):.2f} GiB"
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def _too_big(path: Path, what: str, declared: int) -> None:
    free = available_memory()
    if free is not None and declared > free:
        raise CheckpointError(f"{what} {_gib(declared)}, more than the {_gib(free)} of memory free now.",
                              "Free memory, or open it on a machine with more; if the file should be small, "
                              "it is damaged or made to exhaust memory.", path)


def check_zip(path: Path, shown: Path) -> int:
    """Refuse a zip whose members inflate far past the file or past free memory; return the declared total."""
    size = path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        return check_members(zf.infolist(), size, shown)


def check_members(infos: list[zipfile.ZipInfo], size: int, shown: Path, where: str = "the archive") -> int:
    """The sizes a zip's directory declares for its members (`size`: the zip's own bytes), checked before any
    member is inflated; returns the declared total."""
    total = sum(max(i.file_size, 0) for i in infos)
    for info in infos:
        packed = max(info.compress_size, 1)
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > SMALL \
                and info.file_size > MAX_INFLATION * packed:
            raise CheckpointError(
                f"{where}'s member {info.filename[:120]} inflates from {_gib(packed)} to {_gib(info.file_size)} "
                f"({info.file_size // packed:,}x), which is how a zip bomb looks; torch.save never compresses so.",
                "Open the file torch.save wrote, not a recompressed copy.", shown)
    if total > SMALL and total > MAX_INFLATION * size:
        raise CheckpointError(f"{where}'s members declare {_gib(total)} in {_gib(size)}.",
                              "Open the file torch.save wrote, not a recompressed copy.", shown)
    _too_big(shown, f"{where}'s members declare", total)
    return total


def _element_size(kind: str) -> int:
    short = kind.rpartition(".")[2].rpartition(":")[2]
    try:
        storage = torch.serialization.StorageType(short)
        return int(torch._utils._element_size(storage.dtype))
    except Exception:  # noqa: BLE001 - an unknown storage type: count its elements at one byte at least
        return 1


def _storage_bytes(storages: dict[object, tuple[str, int]], shown: Path) -> int:
    declared = 0
    for kind, numel in storages.values():
        if numel < 0:
            raise CheckpointError("a storage in the file declares a negative size.",
                                  "Copy the file again from its source.", shown)
        declared += numel * _element_size(kind)
    return declared


def check_storages(storages: dict[object, tuple[str, int]], limit: int, shown: Path) -> None:
    """Refuse storages the pickle declares beyond the bytes the file can hold for them (`limit`)."""
    declared = _storage_bytes(storages, shown)
    if declared > limit and declared > SMALL // 64:
        raise CheckpointError(f"the file's tensors declare {_gib(declared)} of storage, but the file holds only "
                              f"{_gib(limit)}.", "The file is damaged or made to exhaust memory; copy it again "
                              "from its source.", shown)


def check_declared(scan: Scan, limit: int, shown: Path) -> None:
    """Everything the file's pickles declare, checked before any of it is unpickled: storages, the memo, the
    allocations of allow-listed calls (`bytearray(n)`, tensors without storage, sparse shapes) and views."""
    check_storages(scan.storages, limit, shown)
    damaged = "The file is damaged or made to exhaust memory; copy it again from its source."
    if scan.memo_max > max(scan.ops, 1 << 16):
        raise CheckpointError(f"a pickle in the file names memo slot {scan.memo_max:,} but holds only {scan.ops:,} "
                              f"operations; unpickling it would reserve at least {_gib(8 * scan.memo_max)}.",
                              damaged, shown)
    meta = [d for d in scan.declared if d.device == "meta"]
    if meta:
        raise CheckpointError(f"the file's tensors are on the meta device ({meta[0].what}): they have shapes but no "
                              "values, so there are no weights to open.", "Save the model after its weights are "
                              "loaded or initialised (not built with device='meta').", shown)
    allocated, largest, views = 0, None, 0
    for item in scan.declared:
        if item.numel < 0:
            raise CheckpointError(f"the file declares {item.what} with a negative size.", damaged, shown)
        nbytes = item.numel * (1 if item.dtype == "bytes" else _element_size(item.dtype))
        if item.storage is None:
            allocated += nbytes
            largest = max(largest or (0, item.what), (nbytes, item.what))
            continue
        views += nbytes
        stored = max(item.storage.numel, 0) * _element_size(item.storage.kind)
        if nbytes > SMALL and nbytes > MAX_EXPANSION * max(stored, 1):
            raise CheckpointError(f"the file declares {item.what[:160]}, {_gib(nbytes)}, over a storage of "
                                  f"{_gib(stored)} (a view with zero or overlapping strides); using it would fill "
                                  "memory.", "Save real tensors (call .contiguous() or .clone() before torch.save).",
                                  shown)
    if largest is not None and allocated > max(limit, SMALL // 64):
        raise CheckpointError(f"the file asks for {largest[1][:160]} ({_gib(largest[0])}; {_gib(allocated)} in "
                              f"all) in a file of {_gib(limit)}.", damaged, shown)
    _too_big(shown, "the file's tensors declare", views + allocated)


def _tensors(obj: object, limit: int = 200_000) -> Iterator[torch.Tensor]:
    """Tensors inside a loaded object (dicts, lists, tuples, modules), without recursion."""
    stack, seen = [obj], set()
    while stack and limit:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        limit -= 1
        if isinstance(item, torch.Tensor):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, torch.nn.Module):
            stack.extend(item.state_dict(keep_vars=True).values())


def check_tensors(obj: object, shown: Path) -> None:
    """Refuse views that claim far more values than their storage holds (zero or overlapping strides)."""
    total = 0
    for tensor in _tensors(obj):
        try:
            logical = tensor.numel() * tensor.element_size()
            stored = tensor.untyped_storage().nbytes()
        except (RuntimeError, NotImplementedError):
            continue  # sparse, meta or nested tensors carry no plain storage to compare with
        total += logical
        if logical > SMALL and logical > MAX_EXPANSION * max(stored, 1):
            raise CheckpointError(
                f"a tensor of shape {tuple(tensor.shape)} claims {_gib(logical)} but its storage holds "
                f"{_gib(stored)} (a view with zero or overlapping strides); using it would fill memory.",
                "Save real tensors (call .contiguous() or .clone() before torch.save).", shown)
    _too_big(shown, "the file's tensors take", total)


def depth(value: object, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of parsed JSON, counted without recursion and up to `limit` + 1."""
    stack, deepest = [(value, 1)], 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            break
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


class TooDeep(ValueError):
    """JSON nested deeper than its reader allows (Python's parser would raise RecursionError, or the reader)."""


def json_value(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> Any:
    """Parsed JSON nested at most `limit` levels (the outermost counted); TooDeep otherwise, ValueError when it
    is not JSON."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise TooDeep(f"nested deeper than {limit} levels") from None
    if depth(value, limit) > limit:
        raise TooDeep(f"nested deeper than {limit} levels")
    return value


def parse_json(data: bytes | str, shown: Path, what: str) -> Any:
    """JSON from a file, with deep nesting refused as a typed error instead of a RecursionError."""
    try:
        return json_value(data)
    except TooDeep:
        raise CheckpointError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels, which no real file does.",
                              "Fix or remove it.", shown) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{what} is not valid JSON ({str(exc)[:200]}).", "Fix or remove it.", shown) from None


def check_safetensors(path: Path, shown: Path) -> None:
    """The header's shapes and offsets must describe the bytes the file really has."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        if length > size - 8:
            raise CheckpointError(f"the safetensors header declares {length} bytes in a {size}-byte file.",
                                  "Copy the file again from its source.", shown)
        header = parse_json(fh.read(length), shown, "the safetensors header")
    data = size - 8 - length
    if not isinstance(header, dict):
        raise CheckpointError("the safetensors header is not a table of tensors.", "Copy it again.", shown)
    total = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        ok = isinstance(entry, dict) and entry.get("dtype") in SAFETENSORS_DTYPES
        shape: Any = entry.get("shape") if ok else None
        offsets: Any = entry.get("data_offsets") if ok else None
        ok = ok and isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape) \
            and isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
        if ok:
            begin, end = offsets
            nbytes = math.prod(shape) * SAFETENSORS_DTYPES[entry["dtype"]]
            ok = 0 <= begin <= end <= data and end - begin == nbytes
        if not ok:
            raise CheckpointError(f"the safetensors header's entry for '{str(name)[:80]}' does not match the "
                                  f"bytes in the file (shape, dtype or offsets past its {data} data bytes).",
                                  "Copy the file again from its source.", shown)
        total += nbytes
    _too_big(shown, "the file's tensors take", total)
