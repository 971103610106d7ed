"""What a file handed to the workbench is, read from its content (the suffix only breaks ties): a checkpoint, a
table or image folder, a saved session or a recipe. The window routes a file dropped on it by this answer, so a
CSV is read as data and never tried as a checkpoint."""

from __future__ import annotations

import zipfile
from pathlib import Path

from workbench.core.errors import DataError
from workbench.core.open.formats import sniff

MODEL, DATA, SESSION, RECIPE = "model", "data", "session", "recipe"
CHECKPOINT_FORMATS = ("torchscript", "export", "torch-zip", "safetensors", "legacy-pickle")
_HEAD = 64 * 1024  # enough of a text file to tell a table from JSON


def kind_of(path: str | Path) -> str:
    """"model", "data", "session" or "recipe"; DataError naming the file when it is none of them."""
    path = Path(path)
    if path.is_dir():
        return DATA  # an image folder (one sub-folder per class) or a folder of tables
    try:
        found = sniff(path)
    except OSError as exc:
        raise DataError(f"the file cannot be read ({exc.strerror or exc}).", "Check the path.", path) from None
    if found in CHECKPOINT_FORMATS:
        return MODEL
    if found == "zip":  # xlsx and numpy's .npz are zip archives too
        return _zip_kind(path)
    if found == "empty":
        raise DataError("the file is empty.", "Drop a checkpoint, a table, an image folder or a session.", path)
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
    if head.startswith(b"PAR1") or head.startswith(b"ARROW1"):
        return DATA
    text = _text(head)
    if text is None:
        raise DataError("the file is neither a checkpoint, a table, a session nor a recipe.",
                        "Drop a .pt/.safetensors checkpoint, a CSV/xlsx/Parquet table, an image folder or a "
                        "session file.", path)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return SESSION if _looks_like_session(stripped) else RECIPE
    if path.suffix.lower() == ".toml" or stripped.startswith("[") and "]" in stripped.split("\n", 1)[0] \
            and "," not in stripped.split("\n", 1)[0]:
        return RECIPE
    return DATA  # delimited text: a CSV, TSV or semicolon table


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DataError("the zip archive is damaged.", "Copy the file again.", path) from None
    if any(n.startswith("xl/") for n in names) or all(n.endswith(".npy") for n in names):
        return DATA
    raise DataError("the zip archive is neither a PyTorch checkpoint, a workbook nor an .npz array file.",
                    "Unpack it and drop what it holds.", path)


def _text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    for encoding in ("utf-8", "latin-1"):
        try:
            return head.decode(encoding)
        except UnicodeDecodeError:  # a multi-byte character cut by the read: drop its last bytes
            try:
                return head[:-3].decode(encoding)
            except UnicodeDecodeError:
                continue
    return None


def _looks_like_session(text: str) -> bool:
    """A session file holds a list of runs (see session_files); a recipe never has one."""
    return '"runs"' in text[:_HEAD] and '"version"' in text[:_HEAD]
