"""A private copy of the file being opened, hashed while it is copied: what is trusted is what loads.

Hashing the user's path and then loading it by path again lets a file swapped in between load under
the first file's trust. Every load therefore reads the user's file once, into a copy in a private
temporary folder, and hashes those same bytes; the loaders only ever see the copy. The copy has a
neutral name, so nothing downstream picks a loader by the user's file extension.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from workbench.core.errors import CheckpointError

BLOCK = 1 << 20


class Snapshot:
    """Context manager: `.path` is the private copy, `.sha256` its hash, `.size` its length."""

    def __init__(self, source: Path):
        self.source = Path(source)
        self.path: Path | None = None
        self.sha256 = ""
        self.size = 0
        self._folder: str | None = None

    def __enter__(self) -> Snapshot:
        self._folder = tempfile.mkdtemp(prefix="workbench-open-")  # mode 0700: no one else writes here
        self.path = Path(self._folder) / "checkpoint.snapshot"
        digest = hashlib.sha256()
        try:
            with open(self.source, "rb") as src, open(self.path, "wb") as dst:
                for block in iter(lambda: src.read(BLOCK), b""):
                    digest.update(block)
                    dst.write(block)
                    self.size += len(block)
        except OSError as exc:
            self.close()
            if exc.errno == 28:  # ENOSPC in the temporary folder, not in the user's file
                raise CheckpointError(f"there is no room to take a private copy of the file in "
                                      f"{tempfile.gettempdir()} ({exc.strerror}).",
                                      "Free space there, or point TMPDIR at a folder with room.",
                                      self.source) from None
            raise CheckpointError(f"the file cannot be read ({exc.strerror or exc}).",
                                  "Check that it exists and that you may read it.", self.source) from None
        self.sha256 = digest.hexdigest()
        return self

    def alias(self, suffix: str) -> Path:
        """The same private copy under a name with `suffix`, for loaders that insist on one (.pt2)."""
        assert self.path is not None, "alias() is for an open snapshot"
        named = self.path.with_suffix(suffix)
        if not named.exists():
            os.link(self.path, named)
        return named

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        # Tensors loaded with mmap keep their private mapping after the unlink (POSIX); where the
        # platform refuses to delete an open file the folder is left for the system's temp cleanup.
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def read_bytes_once(path: Path) -> tuple[bytes, str]:
    """The bytes of a small file (config.json, a model source) and their sha256, from one read."""
    with open(path, "rb") as fh:
        data = fh.read()
    return data, hashlib.sha256(data).hexdigest()


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(path: str) -> str | None:
    """The sha256 of a file, of an image folder (its files' relative names and contents), or None for a bundled
    data set (`sklearn:<name>`)."""
    if path.startswith("sklearn:"):
        return None
    p = Path(path)
    if p.is_file():
        return hash_file(p)
    digest = hashlib.sha256()
    for file in sorted(f for f in p.rglob("*") if f.is_file()):
        digest.update(file.relative_to(p).as_posix().encode() + b"\0" + hash_file(file).encode())
    return digest.hexdigest()
