"""Atomic writes: a temporary file in the same folder, fsync, then rename over the target.

Every file the workbench writes for the user (recipes, reports, sessions, the trust store) goes through
here, so a folder that is missing, read-only or full is reported once, as a user error naming the file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from workbench.core.errors import ExportError


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ExportError(f"the file cannot be written ({exc.strerror or exc}).",
                              "Choose a folder that exists, that you can write to and that has free space.",
                              path) from None
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))
