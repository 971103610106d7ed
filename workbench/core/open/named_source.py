"""A model source (`path/to/models.py:Class`) to run: read once, and run only when the user typed it or trusts the
file that named it (a recipe, a session, a config.json beside safetensors weights)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.core.errors import ModelSourceError, TrustStoreError, UntrustedFileError
from workbench.core.safety import trust
from workbench.core.safety.snapshot import read_bytes_once
from workbench.core.safety.source_closure import SourceClosure, read_closure

MAX_SMALL_FILE = 16 << 20  # a config.json or a model source larger than this is not one


@dataclass
class Source:
    """A model source to run: `spec` with an absolute file, every file that would run read once, who named it."""

    spec: str
    file: Path
    closure: SourceClosure
    named_by: Path | None  # None: the user typed it

    @property
    def sha256(self) -> str:
        """What trust is recorded for: the source and every sibling module it reaches, together."""
        return self.closure.sha256


def read_source(spec: str, named_by: Path | None) -> Source:
    file_part, sep, class_name = spec.rpartition(":")
    if not sep or not file_part or not class_name:
        raise ModelSourceError(f"the model source '{spec}' is not of the form path/to/models.py:ClassName.",
                               "Name the Python file and the class, separated by a colon.", named_by)
    file = Path(file_part).expanduser()
    if named_by is not None and not file.is_absolute():
        file = named_by.parent / file  # a file's own references are relative to that file, not to the cwd
    try:
        if not file.is_file() or file.stat().st_size > MAX_SMALL_FILE:  # not a FIFO, a device or a huge file
            raise FileNotFoundError(file)
        code, _ = read_bytes_once(file)
    except OSError:
        named = f" (named by {named_by})" if named_by else ""
        raise ModelSourceError(f"the model source file does not exist or is not a plain Python file{named}.",
                               "Check the path before the colon.", file) from None
    return Source(f"{file}:{class_name}", file, read_closure(file, code, class_name), named_by)


def require_source_trust(source: Source, trusted: bool, hashes: list[str]) -> None:
    """Code named by a file runs only once its own bytes are trusted (or the user trusts the naming file now)."""
    if source.named_by is None:
        return
    if trusted:
        hashes.append(source.sha256)
        return
    if trust.is_trusted(source.sha256):
        return
    imported = _imports_of(_would_run(source))
    danger = trust.dangerous_globals(imported)
    files = source.closure.files
    siblings = len(files) - 1
    raise UntrustedFileError(
        f"{source.named_by.name} names the model source {source.file}; opening the model would run the class "
        f"{source.spec.rpartition(':')[2]} from that file and the code it refers to (not the rest of the "
        "file)" + (f", and code from {siblings} module(s) beside it that it imports" if siblings else "")
        + ", so it was not run. Files that would run: " + source.closure.describe() + "."
        + (f" It imports {', '.join(imported[:12])}." if imported else "")
        + (" DANGER: " + ", ".join(danger) + " can run programs or change files." if danger else ""),
        "If you know where these files come from, trust them (command line: add --trust; in the window: answer "
        "the trust prompt). Trust is recorded for the exact content of every file listed; or name the model "
        "source yourself with --model-source (the Model source field).",
        source.named_by, [*map(str, files), *imported], danger, files=[str(f) for f in files])


def _would_run(source: Source) -> bytes:
    """The part of the source file that would run: the class and what it needs (the whole file if unreadable)."""
    run = source.closure.run
    return run.encode() if run is not None else source.closure.code


def vouch(source: Source) -> None:
    """A source the user names is code they vouch for: a recipe or config.json naming that same content may run it.

    Best effort: a store that cannot be written only means the user is asked again later.
    """
    try:
        if not trust.is_trusted(source.sha256):
            trust.trust(source.sha256)
    except TrustStoreError:
        pass


def _imports_of(code: bytes) -> list[str]:
    """Modules a Python file imports, read with ast (never run), for the trust message."""
    import ast

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ["<the file could not be parsed>"]
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return list(dict.fromkeys(found))
