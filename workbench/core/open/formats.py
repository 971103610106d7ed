"""What a checkpoint file is, read from its bytes (not its extension), by the same tests torch applies; and the
formats that are refused outright."""

from __future__ import annotations

import struct
import tarfile
import zipfile
from pathlib import Path


def sniff(path: Path) -> str:
    """The format, by content and by the same tests torch applies (a zip only if it starts like one)."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head:
        return "empty"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return "corrupt"  # a zip whose end (the central directory) is missing: cut short in a copy
        lower = [n.lower() for n in names]
        if any(n.endswith("/constants.pkl") for n in lower) and any("/code/" in n for n in lower):
            return "torchscript"
        if any(n.endswith("archive_format") or "/models/" in n and n.endswith(".json") for n in lower):
            return "export"
        if any(n.endswith("data.pkl") for n in lower):
            return "torch-zip"
        return "zip"
    if _is_tar(path):
        return "tar"  # torch.load would read it as its pre-1.6 tar format, unpickling members we do not show
    if len(head) >= 9:
        (size,) = struct.unpack("<Q", head[:8])
        if 2 <= size < 100_000_000 and head[8:9] == b"{":
            return "safetensors"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "legacy-pickle"
    return "unknown"


def _is_tar(path: Path) -> bool:
    """torch.load's own test for its pre-1.6 tar format, which it tries before reading a pickle."""
    try:
        with open(path, "rb") as fh, tarfile.open(fileobj=fh, mode="r:"):
            return True
    except (tarfile.TarError, OSError, ValueError, EOFError, UnicodeDecodeError):
        return False


CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".safetensors", ".pt2", ".ts")  # the open dialog's too
REFUSED = {"empty": "the file is empty", "unknown": "the file is not a PyTorch or safetensors checkpoint",
           "corrupt": "the file is truncated or corrupt (a damaged zip archive)",
           "zip": "the zip archive is not a PyTorch checkpoint",
           "tar": "the file is a tar archive (PyTorch's format before 1.6), which is not supported"}
