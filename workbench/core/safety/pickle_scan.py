"""Read what a pickle would import, without unpickling it: every stream the loader reads, resolved as it resolves.

The reading walks the opcodes with a symbolic stack (so a `STACK_GLOBAL` sees the strings really on
the stack, through the memo), applies the unpickler's Python 2 renames (`commands` -> `subprocess`)
for protocols below 3 and torch's own module remapping, and keeps attribute paths (`torch` then
`serialization.os.system`) as `module:path` so they are never mistaken for a plain, known name.
It also records the storages each pickle declares, so their sizes can be checked before torch
allocates them. Anything that cannot be read is reported as a `<...>` entry: unknown, never safe.
"""

from __future__ import annotations

import copyreg
import io
import pickletools
import zipfile
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, cast

from workbench.core.safety.pickle_sizes import ANY, Declared, Global, Sized, StorageRef, call

# torch's UnpicklerWrapper renames this module before importing (serialization.load_module_mapping).
TORCH_MODULE_MAPPING = {"torch.tensor": "torch._tensor"}
# A legacy (non-zip) torch file holds these pickles in a row: magic number, protocol, system info,
# the object, the storage keys. torch.load unpickles all five; raw storage bytes follow.
LEGACY_STREAMS = 5
UNREADABLE = "<pickle could not be fully read>"

_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8", "STRING", "SHORT_BINSTRING",
               "BINSTRING"}
_BYTES_OPS = {"BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"}
_INT_OPS = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"}
_CALL_OPS = {"REDUCE", "NEWOBJ", "NEWOBJ_EX", "OBJ", "INST"}


@dataclass
class Scan:
    """The imports (in order, deduplicated), the storages and the allocations the file's pickles declare.

    `memo_max` is the highest memo slot a pickle names and `ops` the opcodes read: an unpickler in C or C++
    reserves a slot for every index up to the highest, so a slot far past the opcodes asks for gigabytes.
    """

    storages: dict[object, tuple[str, int]] = field(default_factory=dict)  # key -> (storage type, numel)
    declared: list[Declared] = field(default_factory=list)
    memo_max: int = -1
    ops: int = 0
    _seen: dict[str, None] = field(default_factory=dict)

    @property
    def imports(self) -> list[str]:
        return list(self._seen)

    def add(self, name: str) -> None:
        self._seen.setdefault(name, None)  # a dict, not a list: a scan of many globals stays linear


def resolve(module: str, name: str, proto: int) -> str:
    """The name the unpickler would import, as `module.name`, or `module:dotted.path` for an attribute path."""
    if proto < 3:  # fix_imports, on by default in pickle.Unpickler and in torch.load
        if (module, name) in NAME_MAPPING:
            module, name = NAME_MAPPING[(module, name)]
        elif module in IMPORT_MAPPING:
            module = IMPORT_MAPPING[module]
    module = TORCH_MODULE_MAPPING.get(module, module)
    return f"{module}:{name}" if "." in name else f"{module}.{name}"


def scan_stream(stream: IO[bytes], scan: Scan) -> bool:
    """Read one pickle from `stream` into `scan`; False if it could not be read to its STOP."""
    stack: list[Any] = []
    marks: list[list[Any]] = []
    memo: dict[Any, Any] = {}
    proto = 0
    try:
        for op, arg, _pos in pickletools.genops(stream):
            scan.ops += 1
            name = op.name
            if name == "PROTO":
                proto = int(cast(int, arg))
                continue
            if name == "MARK":
                marks.append(stack)
                stack = []
                continue
            if name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):  # they store the top, leaving it there
                index = len(memo) if name == "MEMOIZE" else arg
                if isinstance(index, int):
                    scan.memo_max = max(scan.memo_max, index)
                memo[index] = stack[-1]
                continue
            before = op.stack_before
            if pickletools.markobject in before:
                sliced = stack
                stack = marks.pop()
                popped = [stack.pop() for _ in range(before.index(pickletools.markobject))][::-1]
            else:
                sliced = []
                popped = [stack.pop() for _ in range(len(before))][::-1]
            if name == "DUP":
                stack.extend([popped[0], popped[0]])
                continue
            value = _value(name, arg, popped, sliced, proto, memo, scan)
            stack.extend([value] * len(op.stack_after))
            if name == "STOP":
                return True
    except Exception:  # noqa: BLE001 - malformed or hostile bytes: what was read so far still counts
        pass
    scan.add(UNREADABLE)
    return False


def _value(name: str, arg: Any, popped: list[Any], sliced: list[Any], proto: int, memo: dict[Any, Any],
           scan: Scan) -> Any:
    """What one opcode pushes, as far as the file spells it out (ANY where it does not)."""
    if name in _STRING_OPS:
        return arg if isinstance(arg, str) else ANY
    if name in _BYTES_OPS:
        return Sized(len(arg)) if isinstance(arg, (bytes, bytearray)) else ANY
    if name in _INT_OPS:
        return arg if isinstance(arg, int) else ANY
    if name in ("GLOBAL", "INST"):
        module, _, attr = str(arg).partition(" ")
        found = Global(resolve(module, attr, proto))
        scan.add(found.name)
        return call(found, tuple(sliced), scan.declared) if name == "INST" else found
    if name == "STACK_GLOBAL":
        module, attr = popped
        if isinstance(module, str) and isinstance(attr, str):
            found = Global(resolve(module, attr, proto))
            scan.add(found.name)
            return found
        scan.add("<a global whose name is computed while unpickling>")
        return ANY
    if name in ("EXT1", "EXT2", "EXT4"):
        registry = copyreg._inverted_registry  # type: ignore[attr-defined]  # not in typeshed
        key = registry.get(int(cast(int, arg)))  # what find_class would be asked for
        if key:
            found = Global(resolve(key[0], key[1], proto))
            scan.add(found.name)
            return found
        scan.add(f"<copyreg extension code {arg}, not registered here>")
        return ANY
    if name in ("TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_TUPLE"):
        return tuple(sliced if name == "TUPLE" else popped)
    if name in ("GET", "BINGET", "LONG_BINGET"):
        return memo.get(arg, ANY)
    if name in ("BINPERSID", "PERSID"):
        return _record_storage(popped[0] if name == "BINPERSID" else ANY, scan)
    if name in _CALL_OPS:
        func, args = (sliced[0], tuple(sliced[1:])) if name == "OBJ" and sliced else \
            (popped[0], popped[1]) if len(popped) >= 2 else (ANY, ANY)
        return call(func, args, scan.declared)
    if name == "NONE":
        return None
    return ANY


def _record_storage(pid: object, scan: Scan) -> Any:
    # torch's persistent id: ('storage', storage type, key, location, numel[, view metadata])
    if isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage":
        kind = pid[1].name if isinstance(pid[1], Global) else "?"
        numel = pid[4] if isinstance(pid[4], int) else -1
        key = pid[2] if isinstance(pid[2], (str, int)) else object()
        scan.storages[key] = (kind, numel)
        return StorageRef(key, kind, numel, pid[3] if isinstance(pid[3], str) else "")
    return ANY


def scan_legacy(data: BinaryIO, scan: Scan | None = None) -> Scan:
    """Pickles in a row, as a legacy torch file holds them (into `scan` when given)."""
    scan = Scan() if scan is None else scan
    for _ in range(LEGACY_STREAMS):
        if not data.read(1):
            break
        data.seek(-1, io.SEEK_CUR)
        if not scan_stream(data, scan):
            break
    return scan


def pickle_members(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Members a torch zip reader could unpickle: `*.pkl` in any case (its lookup ignores case), duplicates too."""
    return [info for info in zf.infolist() if info.filename.lower().endswith(".pkl")]


def scan_zip(zf: zipfile.ZipFile) -> Scan:
    scan = Scan()
    for info in pickle_members(zf):
        try:
            with zf.open(info) as member:
                scan_stream(member, scan)
        except Exception:  # noqa: BLE001 - an unreadable member is unknown, not skipped
            scan.add(f"<{info.filename} could not be read>")
    return scan
