"""One reading of the pickles inside a program (a TorchScript zip or a torch.export `.pt2`), and one short verdict.

The loader (`workbench inspect`, the window) and the export reader (`workbench evaluate`) both ask here what a
program would unpickle, so the same file gets the same answer from either. A `.pt2` holds pickles in several
places: `*.pkl` members, the `torch.save` archives torch.export writes for sample inputs and for weights or
constants saved by pickle, custom and opaque objects; compiled AOTInductor code loads as a native library.
Every size the zip directory declares is checked before a member is inflated, and at most `BUDGET` bytes
of pickles are read for a message: what is not read is reported as unread, never as harmless.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, cast

from workbench.core.safety import trust
from workbench.core.safety.bounds import check_members
from workbench.core.safety.pickle_scan import Scan, scan_legacy, scan_stream

BUDGET = 256 << 20  # bytes of pickle members read to word one refusal
CONFIG_LIMIT = 16 << 20  # a payload config larger than this is not read (its payloads are then all scanned)
SHOWN = 8  # names listed in a verdict, per kind
NAME_CHARS = 120
_NATIVE = ("data/aotinductor/", "data/executorch/", "data/mtia/")


TORCHSCRIPT = "TorchScript code (runs when loaded)"


@dataclass
class ProgramReading:
    """What a program would run: `names` (its code, then its pickles' imports), `scan` (their declared sizes)
    and `declared` (the bytes its members inflate to)."""

    names: list[str]
    scan: Scan
    declared: int


def read_program(source: Path | bytes, shown: Path) -> ProgramReading:
    """Every pickle the program at `source` (a path, or the bytes already read and hashed) holds, read without
    running it; a zip bomb is refused (CheckpointError) before any member inflates."""
    scan = Scan()
    declared, torchscript = 0, False
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as zf:
            size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
            names = [_relative(i.filename) for i in zf.infolist()]
            torchscript = "archive_format" not in names and any(n.startswith("code/") for n in names)
            declared = _scan_archive(zf, size, scan, shown)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        scan.add("<the archive could not be fully read>")
    return ProgramReading(([TORCHSCRIPT] if torchscript else []) + scan.imports, scan, declared)


def _relative(name: str) -> str:
    return name.partition("/")[2].lower() if "/" in name else name.lower()  # torch reads below one root folder


def _scan_archive(zf: zipfile.ZipFile, size: int, scan: Scan, shown: Path) -> int:
    infos = zf.infolist()
    declared = check_members(infos, size, shown, "the program")
    pt2 = any(_relative(i.filename) == "archive_format" for i in infos)
    raw = _raw_payloads(zf, infos) if pt2 else set()
    budget = BUDGET
    for info in infos:
        rel = _relative(info.filename)
        if pt2 and rel.startswith(_NATIVE) and not info.is_dir():
            scan.add(f"<compiled native code in {rel.rpartition('/')[0]}/, loaded as a library>")
            continue
        pickled = rel.endswith(".pkl")
        payload = pt2 and rel.startswith("data/") and not rel.endswith(".json") and rel not in raw
        if not (pickled or payload) or info.is_dir():
            continue
        if info.file_size > budget:
            scan.add(f"<{info.filename[:NAME_CHARS]} ({info.file_size:,} bytes) was not read>")
            continue
        budget -= info.file_size
        try:
            with zf.open(info) as member:
                if pickled:
                    scan_stream(member, scan)
                else:
                    _scan_payload(member, info, scan, shown)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
            scan.add(f"<{info.filename[:NAME_CHARS]} could not be read>")
    return declared


def _raw_payloads(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> set[str]:
    """Members a payload config names as raw tensor bytes (not pickled): those are not pickles to read."""
    raw: set[str] = set()
    for info in infos:
        rel = _relative(info.filename)
        if not (rel.startswith(("data/weights/", "data/constants/")) and rel.endswith("_config.json")):
            continue
        if info.file_size > CONFIG_LIMIT:
            continue
        try:
            config = json.loads(zf.read(info)).get("config", {})
            for entry in config.values():
                if entry.get("use_pickle") is False and isinstance(entry.get("path_name"), str):
                    raw.add(rel.rpartition("/")[0] + "/" + entry["path_name"].lower())
        except (ValueError, AttributeError, RecursionError, zipfile.BadZipFile, OSError):
            continue  # unreadable: every payload beside it is read as a possible pickle
    return raw


def _scan_payload(member: IO[bytes], info: zipfile.ZipInfo, scan: Scan, shown: Path) -> None:
    """A payload torch.export hands to torch.load or pickle.loads: a torch.save zip, else pickles in a row."""
    head = member.read(4)
    if head == b"PK\x03\x04":
        data = head + member.read()  # bounded: its declared size was checked and counted against the budget
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            check_members(inner.infolist(), len(data), shown, f"the program's member {info.filename[:NAME_CHARS]}")
            for nested in inner.infolist():
                if nested.filename.lower().endswith(".pkl"):
                    with inner.open(nested) as stream:
                        scan_stream(stream, scan)
        return
    member.seek(0)  # a member opened from a zip seeks (backwards by reading again from its start)
    scan_legacy(cast(BinaryIO, member), scan)


def _listed(items: list[str]) -> str:
    shown = [item if len(item) <= NAME_CHARS else item[:NAME_CHARS - 3] + "..." for item in items[:SHOWN]]
    return ", ".join(shown) + (f" and {len(items) - SHOWN:,} more" if len(items) > SHOWN else "")


def verdict(names: list[str]) -> str:
    """What the names a file would import mean, in a few lines however many there are (trust sorts them)."""
    danger = trust.dangerous_globals(names)
    other = trust.unfamiliar_globals(names)
    lines = []
    if danger:
        lines.append(f"DANGER: it would call {_listed(danger)}, which can run programs, read or write files or "
                     "reach the network on your computer. Do not trust it unless you made it.")
    if other:
        lines.append(f"It would run code that could not be proven harmless: {_listed(other)} (normally the model's "
                     "own classes; trust it only if you know where it comes from).")
    return " ".join(lines) or "It only imports torch and numpy types."
