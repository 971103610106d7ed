"""What a pickle would import, read without running it, and the per-file trust store.

Trust is by the file's sha256, so a changed file is untrusted again. The store is a small JSON file
in the user's config folder (``WORKBENCH_CONFIG_DIR`` overrides where).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickletools
import zipfile
from pathlib import Path

from .atomic import write_text_atomic

SAFE_ROOTS = ("torch", "numpy", "collections", "_codecs", "copyreg")
SAFE_BUILTINS = {"set", "frozenset", "slice", "complex", "range", "bytearray", "tuple", "list", "dict",
                 "int", "float", "bool", "str", "bytes", "object"}
# Modules whose functions run commands, touch files, open connections or load more code.
DANGEROUS_ROOTS = {"os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "importlib", "runpy",
                   "pty", "code", "codeop", "pickle", "_pickle", "marshal", "ctypes", "webbrowser",
                   "urllib", "http", "requests", "multiprocessing", "threading", "signal", "tempfile",
                   "pathlib", "io", "glob", "ftplib", "smtplib", "telnetlib", "asyncio", "platform",
                   "base64", "zlib", "types", "functools", "operator", "inspect"}
DANGEROUS_BUILTINS = {"eval", "exec", "compile", "open", "__import__", "input", "breakpoint", "exit",
                      "quit", "help", "globals", "locals", "vars", "setattr", "delattr", "getattr"}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _globals_in_pickle(data: bytes) -> list[str]:
    found: list[str] = []
    strings: list[object] = []
    memo: dict[int, object] = {}
    try:
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            name = op.name
            if name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                found.append(f"{module}.{attr}")
            elif name == "STACK_GLOBAL":
                if len(strings) >= 2 and all(isinstance(s, str) for s in strings[-2:]):
                    found.append(f"{strings[-2]}.{strings[-1]}")
                else:
                    found.append("<unreadable global>")
            elif name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8", "STRING",
                          "SHORT_BINSTRING", "BINSTRING"):
                strings.append(arg)
            elif name == "MEMOIZE":
                memo[len(memo)] = strings[-1] if strings else None
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[int(arg)] = strings[-1] if strings else None
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                strings.append(memo.get(int(arg)))
            else:
                strings.append(None)
    except Exception:  # noqa: BLE001 - a malformed pickle still shows what was read before it broke
        found.append("<pickle could not be fully read>")
    return found


def pickle_globals(path: Path) -> list[str]:
    """Every `module.name` the file's pickle(s) would import, in order, without unpickling."""
    path = Path(path)
    found: list[str] = []
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.filename.endswith(".pkl"):
                    found += _globals_in_pickle(zf.read(info))
    else:
        found += _globals_in_pickle(path.read_bytes())
    return list(dict.fromkeys(found))


def dangerous_globals(names: list[str]) -> list[str]:
    out = []
    for full in names:
        module, _, attr = full.rpartition(".")
        root = module.split(".")[0]
        if full.startswith("<"):
            out.append(full)
        elif module == "builtins" or module == "__builtin__":
            if attr not in SAFE_BUILTINS or attr in DANGEROUS_BUILTINS:
                out.append(full)
        elif root in DANGEROUS_ROOTS:
            out.append(full)
    return out


def unfamiliar_globals(names: list[str]) -> list[str]:
    """Imports outside torch and numpy: the model's own classes, or something worse."""
    return [n for n in names if n.split(".")[0] not in SAFE_ROOTS and n not in dangerous_globals([n])
            and not n.startswith("builtins.")]


def describe(names: list[str]) -> str:
    danger = dangerous_globals(names)
    other = unfamiliar_globals(names)
    lines = []
    if danger:
        lines.append("DANGER: it would call " + ", ".join(danger) + ", which can run programs, read or write "
                     "files or reach the network on your computer. Do not trust it unless you made it.")
    if other:
        lines.append("It would run code from: " + ", ".join(other) + " (normally the model's own classes).")
    if not lines:
        lines.append("It only imports torch and numpy types.")
    return " ".join(lines)


def _store_path() -> Path:
    base = os.environ.get("WORKBENCH_CONFIG_DIR") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "conversion-workbench")
    return Path(base) / "trusted.json"


def trusted_hashes() -> set[str]:
    try:
        return set(json.loads(_store_path().read_text()).get("sha256", []))
    except (OSError, ValueError, AttributeError):
        return set()


def is_trusted(sha256: str) -> bool:
    return sha256 in trusted_hashes()


def trust(sha256: str) -> None:
    store = _store_path()
    store.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(store, json.dumps({"sha256": sorted(trusted_hashes() | {sha256})}, indent=1))
