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

# torch's UnpicklerWrapper renames this module before importing (serialization.load_module_mapping).
TORCH_MODULE_MAPPING = {"torch.tensor": "torch._tensor"}
# A legacy (non-zip) torch file holds these pickles in a row: magic number, protocol, system info,
# the object, the storage keys. torch.load unpickles all five; raw storage bytes follow.
LEGACY_STREAMS = 5
UNREADABLE = "<pickle could not be fully read>"

_ANY = object()
_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8", "STRING", "SHORT_BINSTRING",
               "BINSTRING"}
_INT_OPS = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"}


@dataclass(frozen=True)
class _Global:
    name: str


@dataclass
class Scan:
    """The imports (in order, deduplicated) and the storages the file's pickles declare."""

    imports: list[str] = field(default_factory=list)
    storages: dict[object, tuple[str, int]] = field(default_factory=dict)  # key -> (storage type, numel)

    def add(self, name: str) -> None:
        if name not in self.imports:
            self.imports.append(name)


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
            name = op.name
            if name == "PROTO":
                proto = int(cast(int, arg))
                continue
            if name == "MARK":
                marks.append(stack)
                stack = []
                continue
            if name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):  # they store the top, leaving it there
                memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
                continue
            before = op.stack_before
            if pickletools.markobject in before:
                sliced = stack
                stack = marks.pop()
                popped = [stack.pop() for _ in range(before.index(pickletools.markobject))][::-1]
            else:
                sliced = []
                popped = [stack.pop() for _ in range(len(before))][::-1]
            if name in _STRING_OPS:
                value = arg if isinstance(arg, str) else _ANY
            elif name in _INT_OPS:
                value = arg if isinstance(arg, int) else _ANY
            elif name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                value = _Global(resolve(module, attr, proto))
                scan.add(value.name)
            elif name == "STACK_GLOBAL":
                module, attr = popped
                if isinstance(module, str) and isinstance(attr, str):
                    value = _Global(resolve(module, attr, proto))
                    scan.add(value.name)
                else:
                    scan.add("<a global whose name is computed while unpickling>")
                    value = _ANY
            elif name in ("EXT1", "EXT2", "EXT4"):
                registry = copyreg._inverted_registry  # type: ignore[attr-defined]  # not in typeshed
                key = registry.get(int(cast(int, arg)))  # what find_class would be asked for
                value = _Global(resolve(key[0], key[1], proto)) if key else _ANY
                scan.add(value.name if isinstance(value, _Global)
                         else f"<copyreg extension code {arg}, not registered here>")
            elif name in ("TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_TUPLE"):
                value = tuple(sliced if name == "TUPLE" else popped)
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                value = memo.get(arg, _ANY)
            elif name == "DUP":
                stack.extend([popped[0], popped[0]])
                continue
            elif name in ("BINPERSID", "PERSID"):
                _record_storage(popped[0] if name == "BINPERSID" else _ANY, scan)
                value = _ANY
            elif name == "NONE":
                value = None
            else:
                value = _ANY
            stack.extend([value] * len(op.stack_after))
            if name == "STOP":
                return True
    except Exception:  # noqa: BLE001 - malformed or hostile bytes: what was read so far still counts
        pass
    scan.add(UNREADABLE)
    return False


def _record_storage(pid: object, scan: Scan) -> None:
    # torch's persistent id: ('storage', storage type, key, location, numel[, view metadata])
    if isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage":
        kind = pid[1].name if isinstance(pid[1], _Global) else "?"
        numel = pid[4] if isinstance(pid[4], int) else -1
        key = pid[2] if isinstance(pid[2], (str, int)) else object()
        scan.storages[key] = (kind, numel)


def scan_legacy(data: BinaryIO) -> Scan:
    scan = Scan()
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
