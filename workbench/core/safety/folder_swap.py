"""Replace an export folder so that a crash at any point leaves the old or the new export at the target,
and delete only what this tool wrote.

An export folder carries a marker (`.workbench-export.json`) listing every file the tool wrote with its
sha256; a folder is replaced only when all its files are listed, unchanged, and the listed program is one
this tool trusted when it wrote it. A replacement is one *swap*:

1. lock ``.<name>.export-<token>.lock`` (held while the swap lives) and write the journal
   ``.<name>.export-<token>.json`` beside the target;
2. fill the staging folder ``.<name>.partial-<token>`` (its own marker says it is ours);
3. rename the old export to ``.<name>.replaced-<token>``, the staging folder to ``<name>``;
4. delete the replaced folder, then the journal, then the lock.

`recover` settles any journal whose lock no live process holds: with the target missing it puts the
replaced export back; it deletes the staging and replaced folders the journal names (by pattern, never
by the journal's contents) when they carry their marker. It runs before every export and every read.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from workbench.core.safety import trust
from workbench.core.safety.atomic import write_text_atomic

MARKER = ".workbench-export.json"
STAGING_MARKER = ".workbench-staging"
TOOL = "conversion-workbench"
HIDDEN = (MARKER, STAGING_MARKER)
_JOURNAL = re.compile(r"\.(?P<name>.+)\.export-(?P<token>[0-9a-f]{16})\.(?P<kind>json|lock)")


def _names(name: str, token: str) -> dict[str, str]:
    return {"journal": f".{name}.export-{token}.json", "lock": f".{name}.export-{token}.lock",
            "staging": f".{name}.partial-{token}", "replaced": f".{name}.replaced-{token}"}


# ------------------------------------------------------------------ the marker of an export folder

def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.name not in (MARKER, STAGING_MARKER) and
                  (p.is_symlink() or not p.is_dir()))


def write_marker(folder: Path, program: str, target: Path) -> None:
    """List every file now in `folder` (to become `target`) with its sha256, as written by this tool."""
    files = {p.relative_to(folder).as_posix(): trust.sha256_of(p) for p in _files(folder)}
    write_text_atomic(folder / MARKER, json.dumps({"tool": TOOL, "version": 1, "folder": str(target),
                                                   "program": program, "files": files}, indent=1))


def record_files(folder: Path, paths: Iterable[str | Path]) -> None:
    """Add files the tool wrote into an export afterwards (the window's plots) to its marker."""
    marker = read_marker(folder)
    if marker is None:
        return
    for path in paths:
        path = Path(path)
        marker["files"][path.relative_to(folder).as_posix()] = trust.sha256_of(path)
    write_text_atomic(folder / MARKER, json.dumps(marker, indent=1))


def read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("tool") != TOOL or not isinstance(marker.get("files"), dict):
        return None
    return marker


def foreign_files(folder: Path) -> list[str]:
    """Entries of `folder` this tool did not write (or that changed since); empty when it may be replaced."""
    entries = sorted(p.relative_to(folder).as_posix() for p in folder.iterdir() if p.name != MARKER)
    marker = read_marker(folder)
    if marker is None:
        return entries or ([MARKER] if (folder / MARKER).exists() else [])
    listed = marker["files"]
    program = listed.get(str(marker.get("program")))
    if not isinstance(program, str) or not trust.is_trusted(program) or marker.get("folder") != str(folder):
        # A marker proves nothing unless written here, for this folder, with a program this tool trusted:
        # an export's files copied into a user's folder (marker included) stay the user's.
        return entries
    foreign = []
    for path in _files(folder):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink() or rel not in listed or trust.sha256_of(path) != listed[rel]:
            foreign.append(rel)
    for path in folder.rglob("*"):
        if path.is_dir() and not path.is_symlink() and not any(f.startswith(path.relative_to(folder).as_posix() + "/")
                                                                 for f in listed):
            foreign.append(path.relative_to(folder).as_posix())
    return sorted(set(foreign))


# ------------------------------------------------------------------ the swap and its recovery

class Swap:
    """`with Swap(target) as swap: <fill swap.staging>; swap.commit()` - see the module docstring."""

    def __init__(self, target: Path):
        self.target = Path(target)
        self.parent, self.name = self.target.parent, self.target.name
        self.token = secrets.token_hex(8)
        self.paths = {k: self.parent / v for k, v in _names(self.name, self.token).items()}
        self.staging = self.paths["staging"]
        self._lock: FileLock | None = None

    def __enter__(self) -> Swap:  # noqa: PYI034 - typing.Self needs Python 3.11; we support 3.10
        recover(self.parent)
        self._lock = FileLock(str(self.paths["lock"]))
        self._lock.acquire(timeout=0)
        try:
            # Created in place, not through a temporary file, so a kill leaves no file without our name.
            fd = os.open(self.paths["journal"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w") as fh:
                json.dump({"tool": TOOL, "target": self.name, "token": self.token, "pid": os.getpid()}, fh)
            self.staging.mkdir()
            (self.staging / STAGING_MARKER).write_text(self.token)
        except BaseException:
            self._finish()
            raise
        return self

    def commit(self) -> None:
        """Put the filled staging folder in place of the target (an old export, an empty folder or nothing)."""
        (self.staging / STAGING_MARKER).unlink()  # its export marker now says it is ours
        if self.target.is_dir() and not self.target.is_symlink() and not any(self.target.iterdir()):
            self.target.rmdir()
        if self.target.exists():
            os.replace(self.target, self.paths["replaced"])
        os.replace(self.staging, self.target)
        if self.paths["replaced"].exists():
            _remove(self.paths["replaced"])

    def __exit__(self, *exc: object) -> None:
        try:
            _settle(self.parent, self.name, self.token)
        finally:
            self._finish()

    def _finish(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self.paths["lock"].unlink(missing_ok=True)
            self._lock = None


def _ours(folder: Path, token: str) -> bool:
    if not folder.is_dir() or folder.is_symlink():
        return False
    try:
        if (folder / STAGING_MARKER).read_text().strip() == token:
            return True
    except OSError:
        pass
    return read_marker(folder) is not None


def _remove(folder: Path) -> None:
    """Delete one of our folders with its markers last, so a kill midway leaves it still recognisable."""
    for child in folder.iterdir():
        if child.name not in HIDDEN:
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    for name in HIDDEN:
        (folder / name).unlink(missing_ok=True)
    folder.rmdir()


def _empty_dir(folder: Path) -> bool:
    return folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir())


def _settle(parent: Path, name: str, token: str) -> None:
    """Bring one swap to a clean end: old or new export at the target, no staging, no replaced, no journal."""
    names = _names(name, token)
    target, staging, replaced = parent / name, parent / names["staging"], parent / names["replaced"]
    if not target.exists() and not target.is_symlink() and _ours(replaced, token):
        os.replace(replaced, target)  # a crash between the two renames: the old export goes back
    for folder in (staging, replaced):
        if folder is replaced and not target.exists():
            continue
        if _ours(folder, token):
            _remove(folder)
        elif _empty_dir(folder):  # a kill after its markers went: nothing is left in it
            folder.rmdir()
    (parent / names["journal"]).unlink(missing_ok=True)


def recover(parent: Path) -> list[str]:
    """Settle every swap in `parent` that a killed run left behind; the names of the targets settled."""
    settled: list[str] = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return settled
    for entry in entries:
        m = _JOURNAL.fullmatch(entry.name)
        if not m or not entry.is_file() or entry.is_symlink():
            continue
        name, token = m["name"], m["token"]
        paths = {k: Path(parent) / v for k, v in _names(name, token).items()}
        if m["kind"] == "json":
            try:
                text = entry.read_text()
                journal = json.loads(text) if text else {"tool": TOOL, "target": name, "token": token}
            except (OSError, ValueError):
                continue
            if not isinstance(journal, dict) or (journal.get("tool"), journal.get("target"),
                                                 journal.get("token")) != (TOOL, name, token):
                continue  # settling never deletes a folder without its marker, but a stranger's file stays
        elif paths["journal"].exists() or entry.stat().st_size:
            continue  # a lock with its journal is settled through the journal; a non-empty file is not ours
        lock = FileLock(str(paths["lock"]))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue  # a live run owns it
        try:
            if m["kind"] == "json":
                _settle(Path(parent), name, token)
                settled.append(name)
        except OSError:
            continue
        finally:
            lock.release()
            if not paths["journal"].exists():
                paths["lock"].unlink(missing_ok=True)
    return settled
