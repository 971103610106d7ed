"""Every file a model source would run, read once: the source and each sibling module it reaches.

A model source (``models.py:Net``) runs its class and what the class needs (source_extract), and its
imports reach modules beside it (``from core.model import Block``) that run too. What is trusted is all
of that code. The closure is found statically: the import statements of the code that would run, then
those of each sibling file reached, transitively, resolved the way the sibling finder resolves them at
run time (sibling_import serves these bytes, and nothing else). A name the standard library or an
installed package provides is never a sibling; a compiled sibling (``.pyc``, an extension module) cannot
be read, so it is never part of a closure: importing it is refused by name (an ImportError too, so an
optional import goes on without it).

A closure's hash is the source file's own sha256 when no sibling is reached (trust recorded for a lone file
stays valid); otherwise a sha256 over each file's path, relative to the source's folder, and its bytes.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.machinery
import os
import stat
import sys
import types
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.errors import ModelSourceError
from workbench.core.safety.source_extract import extract, source_text

PARENT_LEVELS = 3  # how far above the file's folder (or its package root) a sibling package is looked for
MAX_FILES = 512
MAX_BYTES = 16 << 20  # all the Python a model source reaches, together
MARK = "__workbench_sibling__"  # set in a module the sibling finder made; its value is the module's plan or None
SOURCE_MARK = "__workbench_source__"  # set in the module a model source's class is defined in
_SOURCE = importlib.machinery.SourceFileLoader
_PLAIN_FINDERS = (importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter,
                  importlib.machinery.PathFinder)


def is_sibling(module: object) -> bool:
    return isinstance(module, types.ModuleType) and MARK in vars(module)


def is_ours(module: object) -> bool:
    """A module the workbench made from a model source or its siblings (not an installed one)."""
    return is_sibling(module) or isinstance(module, types.ModuleType) and SOURCE_MARK in vars(module)


@dataclass(frozen=True)
class Sibling:
    """One module the sibling finder serves: its file's bytes as read (None for a folder without __init__.py)."""

    name: str
    file: Path | None
    code: bytes
    locations: tuple[str, ...] | None  # where its submodules are, for a package


@dataclass
class SourceClosure:
    source: Path
    code: bytes
    folders: tuple[str, ...]  # where top-level siblings are looked for, in order
    package: str  # the source's own package ("" when its folder has no __init__.py)
    class_name: str = ""
    run: str | None = None  # what would run of the source (the class and what it needs); None: unreadable
    modules: dict[str, Sibling] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def rel(self, file: Path) -> str:
        return Path(os.path.relpath(file, self.source.resolve().parent)).as_posix()

    @property
    def sibling_files(self) -> list[Path]:
        source = os.path.realpath(self.source)
        return list(dict.fromkeys(s.file for s in self.modules.values()
                                  if s.file is not None and os.path.realpath(s.file) != source))

    @property
    def files(self) -> list[Path]:
        """Every file whose code would run: the source first, then the siblings in the order they are reached."""
        return [self.source, *self.sibling_files]

    @property
    def sha256(self) -> str:
        siblings = {self.rel(s.file): s.code for s in self.modules.values() if s.file is not None}
        if not siblings:
            return hashlib.sha256(self.code).hexdigest()
        digest = hashlib.sha256(b"workbench source closure 1\0")
        for rel, code in sorted({self.source.name: self.code, **siblings}.items()):
            digest.update(f"{len(rel.encode())}:{rel}\0{len(code)}\0".encode())
            digest.update(code)
        return digest.hexdigest()

    def describe(self, limit: int = 20) -> str:
        """The files that would run, relative to the source's folder, for a message."""
        names = [str(self.source)] + [self.rel(f) for f in self.sibling_files]
        shown = ", ".join(names[:limit])
        return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def package_root(folder: Path) -> tuple[Path, list[str]]:
    """The folder above the file's package chain (folders with __init__.py) and the chain's names."""
    parts: list[str] = []
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, parts


def search_folders(source: Path) -> tuple[list[str], str]:
    """Where siblings of `source` are found (its folder, its package root, then a few parents), and its package."""
    folder = source.resolve().parent
    root, package = package_root(folder)
    folders = [folder] + ([root] if root != folder else [])
    above = root
    for _ in range(PARENT_LEVELS):
        if above.parent == above:
            break
        above = above.parent
        folders.append(above)
    return list(dict.fromkeys(str(f) for f in folders)), ".".join(package)


def provided_elsewhere(name: str, folders: tuple[str, ...] | list[str]) -> importlib.machinery.ModuleSpec | None:
    """The module `name` already is, or that Python would import from the standard library or an installed package
    (any import path that is not one of the source's folders); None when only a sibling could provide it."""
    if name in sys.modules and not is_ours(sys.modules[name]):
        return getattr(sys.modules[name], "__spec__", None) or importlib.machinery.ModuleSpec(name, None)
    for finder in (importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter):
        spec = finder.find_spec(name)
        if spec is not None:
            return spec
    ours = {os.path.realpath(f) for f in folders}
    rest = [p for p in sys.path if isinstance(p, str) and os.path.realpath(p or os.curdir) not in ours]
    spec = importlib.machinery.PathFinder.find_spec(name, rest)
    if spec is not None:
        return spec
    for other in sys.meta_path:  # e.g. an editable install's finder
        if other in _PLAIN_FINDERS or getattr(other, "serves_siblings", False):
            continue
        try:
            spec = other.find_spec(name, None)
        except Exception:  # noqa: BLE001 - a third-party finder that cannot answer provides nothing here
            spec = None
        if spec is not None:
            return spec
    return None


def sibling_spec(name: str, where: list[str] | tuple[str, ...]) -> importlib.machinery.ModuleSpec | None:
    """What `name` is in the folders `where` (the source's folders, or a sibling package's own), refusing
    compiled code by name."""
    spec = importlib.machinery.PathFinder.find_spec(name, list(where))
    tail = name.rpartition(".")[2]
    if spec is None:
        for folder in where:
            cache = Path(folder) / "__pycache__"
            found = sorted(p for p in _listing(cache) if p.startswith(f"{tail}.") and p.endswith(".pyc"))
            if found:
                raise _compiled(name, cache / found[0])
        return None
    if spec.origin is not None and spec.has_location and not isinstance(spec.loader, _SOURCE):
        raise _compiled(name, Path(spec.origin))
    return spec


def _listing(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


class CompiledSiblingError(ModelSourceError, ImportError):
    """A sibling that is only compiled code. An ImportError too, so an optional import (``try: import fast_ops``
    ``except ImportError: ...``) goes on without it; a needed one stops the build with this message."""

    def __init__(self, problem: str, fix: str, path: object):
        super().__init__(problem, fix, path)
        self.path = str(path)  # ImportError's own __init__ reset it


def _compiled(name: str, file: Path) -> CompiledSiblingError:
    return CompiledSiblingError(f"the model source imports '{name}', which beside it is only compiled code "
                                f"({file}); compiled code cannot be read before it runs, so it is never run.",
                                "Put that module's Python source (.py) beside it, or remove the compiled file.", file)


class _Reader:
    """Reads the closure of one source: each module once, breadth first, the total bounded."""

    def __init__(self, closure: SourceClosure):
        self.closure = closure
        self.absent: set[str] = set()
        self.total = len(closure.code)
        self.files: dict[str, bytes] = {os.path.realpath(closure.source): closure.code}
        self.unread: deque[Sibling] = deque()

    def follow(self, text: str, package: str) -> None:
        """Read every sibling the code reaches, and every sibling those reach."""
        for target in imports(text, package, self.star_names):
            self.module(target)
        while self.unread:
            entry = self.unread.popleft()
            assert entry.file is not None  # only files are queued
            package = entry.name if entry.locations is not None else entry.name.rpartition(".")[0]
            for target in imports(source_text(entry.code, str(entry.file)), package, self.star_names):
                self.module(target)

    def module(self, fullname: str) -> Sibling | None:
        """The sibling module `fullname` names (its parents first); None when it is not a sibling."""
        parts = fullname.split(".")
        entry: Sibling | None = None
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if name in self.closure.modules:
                entry = self.closure.modules[name]
                continue
            if name in self.absent or (entry is not None and entry.locations is None):
                return None
            try:
                spec = self.spec(name, entry)
            except CompiledSiblingError:
                spec = None  # never read, never run: importing it says so, or an optional import goes on without
            if spec is None:
                self.absent.add(name)
                return None
            entry = self.add(name, spec)
        return entry

    def spec(self, name: str, parent: Sibling | None) -> importlib.machinery.ModuleSpec | None:
        if parent is not None:
            return sibling_spec(name, parent.locations or ())
        folders = self.closure.folders
        if provided_elsewhere(name, folders) is None:
            return sibling_spec(name, folders)
        beside = importlib.machinery.PathFinder.find_spec(name, list(folders))
        if beside is not None and beside.origin and os.path.realpath(beside.origin) != os.path.realpath(
                self.closure.source):
            self.closure.notes.append(
                f"The model source imports '{name}', which is both installed (or part of Python) and beside it "
                f"({self.closure.rel(Path(beside.origin))}); the installed one is used, never the file beside it.")
        return None

    def add(self, name: str, spec: importlib.machinery.ModuleSpec) -> Sibling:
        if len(self.closure.modules) >= MAX_FILES:
            raise ModelSourceError(f"the model source reaches more than {MAX_FILES} modules beside it.",
                                   "Name a model source in a smaller project.", self.closure.source)
        locations = (tuple(spec.submodule_search_locations) if spec.submodule_search_locations is not None
                     else None)
        if spec.origin is None or not spec.has_location:  # a folder without __init__.py: it runs nothing itself
            entry = Sibling(name, None, b"", locations)
        else:
            entry = Sibling(name, Path(spec.origin), self.read(Path(spec.origin)), locations)
            self.unread.append(entry)
        self.closure.modules[name] = entry
        return entry

    def read(self, file: Path) -> bytes:
        key = os.path.realpath(file)
        if key in self.files:
            return self.files[key]
        limit = MAX_BYTES - self.total
        try:
            with open(file, "rb") as fh:
                info = os.fstat(fh.fileno())
                data = fh.read(limit + 1) if stat.S_ISREG(info.st_mode) else b""
        except OSError as exc:
            raise ModelSourceError(f"a module beside the model source cannot be read ({exc.strerror or exc}).",
                                   "Check that you may read it.", file) from None
        if not stat.S_ISREG(info.st_mode):
            raise ModelSourceError("a module beside the model source is not a plain file.", "Replace it with the "
                                   "module's Python source.", file)
        if len(data) > limit:
            raise ModelSourceError(f"the model source and the modules beside it that it imports hold more than "
                                   f"{MAX_BYTES >> 20} MiB of Python.", "Name a model source in a smaller project.",
                                   file)
        self.total += len(data)
        self.files[key] = data
        return data

    def star_names(self, package: str) -> list[str]:
        """The names `from package import *` imports as submodules: its __init__.py's literal __all__."""
        entry = self.module(package)
        if entry is None or entry.file is None or entry.locations is None:
            return []
        return _literal_all(source_text(entry.code, str(entry.file)))


def _literal_all(text: str) -> list[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
                and isinstance(node.value, (ast.List, ast.Tuple))):
            return [e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def imports(text: str, package: str, star_names: Callable[[str], list[str]] | None = None) -> list[str]:
    """Every module the code's import statements (anywhere in it) and literal ``importlib.import_module("x")`` or
    ``__import__("x")`` calls could import, absolute, in order; `package` resolves relative imports."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # it cannot run either: defining the class reports the syntax error
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module or "", node.level, package)
            if base is None:
                continue
            found.append(base)
            names = [a.name for a in node.names]
            if "*" in names and star_names is not None:
                names = star_names(base)
            found += [f"{base}.{n}" for n in names if n != "*"]  # each may be a submodule
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str) and _call_name(node.func) in ("__import__", "import_module")):
            found.append(node.args[0].value)
    return [n for n in dict.fromkeys(found) if n and all(p.isidentifier() for p in n.split("."))]


def _call_name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _absolute(module: str, level: int, package: str) -> str | None:
    """importlib's own resolution of a relative import; None where Python would refuse it."""
    if not level:
        return module
    bits = package.rsplit(".", level - 1) if package else []
    if len(bits) < level:
        return None
    return f"{bits[0]}.{module}" if module else bits[0]


def read_closure(source: Path, code: bytes, class_name: str) -> SourceClosure:
    """The closure of `class_name` in `source`, whose bytes (`code`) were read by the caller."""
    folders, package = search_folders(source)
    closure = SourceClosure(Path(source), code, tuple(folders), package, class_name)
    try:
        closure.run = extract(code, class_name, str(source), source)
    except ModelSourceError:
        pass  # defining the class will say what is wrong; meanwhile every import of the file counts
    importlib.invalidate_caches()  # a folder listing cached within the same second would hide a new file
    _Reader(closure).follow(closure.run if closure.run is not None else source_text(code, str(source)), package)
    return closure


def closure_of(spec: str) -> SourceClosure:
    """Read `path/to/models.py:Class` and the siblings it reaches from disk now."""
    file_part, sep, class_name = spec.rpartition(":")
    path = Path(file_part).expanduser()
    if not sep or not class_name or not path.is_file():
        raise ModelSourceError("the model source file does not exist.", "Check the path before the colon.", path)
    if path.stat().st_size > MAX_BYTES:
        raise ModelSourceError(f"the model source is larger than {MAX_BYTES >> 20} MiB.",
                               "Name the Python file that defines the class.", path)
    try:
        code = path.read_bytes()
    except OSError as exc:
        raise ModelSourceError(f"the model source cannot be read ({exc.strerror or exc}).",
                               "Check that you may read it.", path) from None
    return read_closure(path, code, class_name)
