"""What a file would run, read without running it, and the per-file trust store.

Trust is by sha256, so a changed file is untrusted again. Pickles are trusted by the checkpoint's hash;
a model source named by a file (config.json beside safetensors weights, a recipe) is trusted by the
hash of every Python file that would run (the source and the sibling modules it reaches, see
source_closure), since that code, not the file naming it, is what executes.

Reading a pickle sorts every import into three kinds: proven harmless (an explicit allowlist: torch's
own weights-only list, torch.nn layer classes, plain containers, numpy arrays), DANGER (names that
reach commands, files, the network or more code), and unknown (everything else: the model's own
classes, or anything not proven). Only a file whose every import is proven harmless is called safe.

The store is a small JSON file in the platform's config folder (core.folders; ``WORKBENCH_CONFIG_DIR``
overrides where).
Changes are read-modify-write under an exclusive lock and replaced atomically, so concurrent
``--trust`` runs keep every entry; a malformed store reads as empty and is reported once, never a crash.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

from workbench.core import folders
from workbench.core.errors import ExportError, TrustStoreError
from workbench.core.safety.atomic import write_bytes_atomic, write_text_atomic
from workbench.core.safety.pickle_scan import Scan, scan_legacy, scan_zip
from workbench.core.safety.snapshot import hash_file

SAFE_BUILTINS = {"set", "frozenset", "slice", "complex", "range", "bytearray", "tuple", "list", "dict",
                 "int", "float", "bool", "str", "bytes", "object"}
# Only to word the DANGER line; a name absent from here is still unknown, never safe.
DANGEROUS_ROOTS = {"os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "importlib", "runpy",
                   "pty", "code", "codeop", "pickle", "_pickle", "marshal", "ctypes", "_ctypes", "webbrowser",
                   "urllib", "urllib2", "http", "httplib", "requests", "multiprocessing", "threading", "signal",
                   "tempfile", "pathlib", "io", "_io", "glob", "ftplib", "smtplib", "telnetlib", "asyncio",
                   "platform", "base64", "zlib", "types", "functools", "operator", "inspect", "commands",
                   "popen2", "builtins", "__builtin__", "pdb", "bdb", "timeit", "cProfile", "profile", "trace",
                   "imp", "zipimport", "pkgutil", "site", "sysconfig", "distutils", "setuptools", "pip",
                   "ensurepip", "venv", "shelve", "dbm", "sqlite3", "mmap", "fcntl", "resource", "atexit",
                   "gc", "weakref", "copy", "pydoc", "antigravity", "this", "idlelib", "tkinter", "turtle",
                   "logging", "fileinput", "linecache", "tokenize", "ast", "dis", "_thread", "_posixsubprocess",
                   "_winapi", "msvcrt", "winreg", "tty", "select", "selectors", "ssl", "xmlrpc",
                   "socketserver", "wsgiref", "email", "mailbox", "nturl2path", "uuid", "zipfile", "tarfile",
                   "lzma", "bz2", "gzip", "ctypeslib", "dill", "cloudpickle", "joblib", "yaml", "jinja2", "IPython"}
DANGEROUS_BUILTINS = {"eval", "exec", "compile", "open", "__import__", "input", "breakpoint", "exit",
                      "quit", "help", "globals", "locals", "vars", "setattr", "delattr", "getattr", "memoryview",
                      "__loader__", "__spec__", "__build_class__", "classmethod", "staticmethod", "property",
                      "type", "super", "print", "dir", "id", "hasattr", "callable", "map", "filter", "iter",
                      "next", "apply", "execfile", "reload", "file", "raw_input"}
# Names that run things whatever module reaches them (torch.hub.load, numpy.load, torch.load, ...).
DANGEROUS_NAMES = {"system", "popen", "Popen", "exec", "eval", "spawn", "spawnl", "spawnv", "execv", "execve",
                   "execl", "execvp", "call", "check_call", "check_output", "run", "getoutput", "getstatusoutput",
                   "load", "loads", "load_state_dict_from_url", "download_url_to_file", "compile",
                   "__import__", "import_module", "getattr", "setattr", "open", "remove", "unlink", "rmtree",
                   "rmdir", "rename", "fromfile", "tofile", "load_library", "load_inline",
                   "cdll", "CDLL", "dlopen", "LoadLibrary", "ctypeslib", "_get_ctypes", "ctypes", "os", "sys",
                   "subprocess", "builtins", "__builtins__", "__globals__", "__code__", "__subclasses__",
                   "__reduce__", "__reduce_ex__", "__getattribute__", "__class__", "__dict__", "__init__",
                   "__new__", "__call__", "hub", "jit", "script", "_C",
                   # torch's own helpers that unpickle without weights_only or run source text from the file
                   "_load_from_bytes", "_forward_from_src", "_exec_with_source", "reduce_graph_module",
                   "reduce_package_graph_module", "reduce_deploy_graph_module", "PackageImporter", "cpp_extension"}
# Proven harmless beyond torch's weights-only list: containers and the reconstructors pickle itself uses.
EXTRA_HARMLESS = {"collections.OrderedDict", "collections.defaultdict", "collections.deque",
                  "collections.Counter", "copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__",
                  "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
                  "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.ndarray", "numpy.dtype",
                  "torch._utils._rebuild_parameter", "torch.nn.parameter.Parameter", "torch.nn.parameter.Buffer",
                  "torch.serialization._get_layout", "torch.storage.UntypedStorage", "torch.storage.TypedStorage",
                  "torch._tensor._rebuild_from_type_v2"} | {f"builtins.{n}" for n in SAFE_BUILTINS} | {
    # TorchScript's pickles name these (a traced module's constants): each returns its argument, unchanged
    f"torch.jit._pickle.{n}" for n in ("restore_type_tag", "build_intlist", "build_tensorlist", "build_doublelist",
                                       "build_boollist", "build_tensor_from_id")}
HEX64 = re.compile(r"[0-9a-f]{64}")


def sha256_of(path: Path) -> str:
    return hash_file(Path(path))


# ----- what a file would import ---------------------------------------------------------------------------

def scan_file(path: Path) -> Scan:
    """Every pickle stream torch.load (or torch.jit.load) would unpickle from `path`, read without running it."""
    path = Path(path)
    with open(path, "rb") as fh:
        zipped = fh.read(4) == b"PK\x03\x04"  # torch's own test: a zip only if it starts like one
        fh.seek(0)
        if not zipped:
            return scan_legacy(fh)
    try:
        with zipfile.ZipFile(path) as zf:
            return scan_zip(zf)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        scan = Scan()
        scan.add("<the zip archive could not be read>")
        return scan


def pickle_globals(path: Path) -> list[str]:
    """Every `module.name` the file's pickle(s) would import, in order, without unpickling."""
    return scan_file(path).imports


@functools.lru_cache(maxsize=1)
def _harmless() -> frozenset[str]:
    names = set(EXTRA_HARMLESS)
    try:
        from torch import _weights_only_unpickler

        names |= set(_weights_only_unpickler._get_allowed_globals())
    except Exception:  # noqa: BLE001 - a torch without the list: the extras alone are still proven
        pass
    return frozenset(names)


def _is_harmless(full: str) -> bool:
    if full in _harmless():
        return True
    module, _, attr = full.rpartition(".")
    if not module.startswith("torch.nn.modules.") or ":" in full:
        return False
    # A layer class torch.nn defines (Linear, Conv2d, Sequential): looked up without importing anything,
    # in a module torch has already loaded, and only if it really is that class, defined there.
    owner = sys.modules.get(module)
    cls = vars(owner).get(attr) if owner is not None else None
    try:
        from torch import nn

        return (isinstance(cls, type) and issubclass(cls, nn.Module) and cls.__module__ == module
                and cls.__qualname__ == attr)
    except Exception:  # noqa: BLE001
        return False


def _parts(full: str) -> list[str]:
    return [p for p in re.split(r"[.:]", full) if p]


def _reached(full: str) -> str | None:
    """Where an attribute path really leads (`torch:serialization.os.system` -> `posix.system`), statically."""
    module, sep, path = full.partition(":")
    if not sep:
        module, _, path = full.rpartition(".")
    obj = sys.modules.get(module)
    if obj is None or not path:
        return None
    for part in path.split("."):
        if not isinstance(obj, type) and type(obj).__name__ != "module":
            return None
        obj = vars(obj).get(part)
        if obj is None:
            return None
    if type(obj).__name__ == "module":
        return obj.__name__
    owner = getattr(type(obj), "__module__", None) if not hasattr(obj, "__module__") else obj.__module__
    return f"{owner}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"


def dangerous_globals(names: list[str]) -> list[str]:
    out = []
    for full in names:
        if full.startswith("<") or _is_harmless(full):
            continue
        parts = _parts(full)
        if not parts:
            continue  # an empty name imports nothing the unpickler could find; it stays unknown
        reached = _reached(full) or ""
        module = full.partition(":")[0] if ":" in full else full.rpartition(".")[0]
        builtin = module in ("builtins", "__builtin__")
        if (builtin and (parts[-1] not in SAFE_BUILTINS or parts[-1] in DANGEROUS_BUILTINS or len(parts) > 2)
                or any(p in DANGEROUS_ROOTS for p in parts[:-1] if not builtin)
                or parts[-1] in DANGEROUS_NAMES
                or reached and (_parts(reached)[0] in DANGEROUS_ROOTS - {"builtins"}
                                or _parts(reached)[-1] in DANGEROUS_NAMES)):
            out.append(full if not reached or reached == full else f"{full} (that is {reached})")
    return out


def unfamiliar_globals(names: list[str]) -> list[str]:
    """Imports neither proven harmless nor known dangerous: the model's own classes, or anything unreadable."""
    danger = {d.split(" (that is ")[0] for d in dangerous_globals(names)}
    return [n for n in names if n not in danger and not _is_harmless(n)]


def describe(names: list[str]) -> str:
    danger = dangerous_globals(names)
    other = unfamiliar_globals(names)
    lines = []
    if danger:
        lines.append("DANGER: it would call " + ", ".join(danger) + ", which can run programs, read or write "
                     "files or reach the network on your computer. Do not trust it unless you made it.")
    if other:
        lines.append("It would run code that could not be proven harmless: " + ", ".join(other)
                     + " (normally the model's own classes; trust it only if you know where it comes from).")
    if not lines:
        lines.append("It only imports torch and numpy types.")
    return " ".join(lines)


# ----- the trust store ----------------------------------------------------------------------------------

_reported: set[str] = set()
_problems: list[str] = []


def config_dir() -> Path:
    """The platform's config folder (core.folders); the old Linux-layout store is copied there once."""
    folders.migrate()
    return folders.config_dir()


def _store_path() -> Path:
    return config_dir() / "trusted.json"


def store_path() -> Path:
    """The trust store's file, as the About box shows it."""
    return _store_path()


def _note_problem(message: str) -> None:
    if message not in _reported:
        _reported.add(message)
        _problems.append(message)


def take_problems() -> list[str]:
    """Problems met reading the store since the last call, each reported once per process."""
    out = list(_problems)
    _problems.clear()
    return out


def _parse(text: str, store: Path) -> set[str]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = None
    entries = value.get("sha256") if isinstance(value, dict) else None
    if not isinstance(entries, list):
        _note_problem(f"The trust store {store} is not in the expected form; it was read as empty, so no file "
                      "is trusted until you trust it again (trusting a file rewrites the store).")
        return set()
    good = {e for e in entries if isinstance(e, str) and HEX64.fullmatch(e)}
    if len(good) != len(entries):
        _note_problem(f"The trust store {store} holds {len(entries) - len(good)} entries that are not file "
                      "hashes; they were ignored.")
    return good


def _well_formed(raw: bytes) -> bool:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    entries = value.get("sha256") if isinstance(value, dict) else None
    return isinstance(entries, list) and all(isinstance(e, str) and HEX64.fullmatch(e) for e in entries)


def trusted_hashes() -> set[str]:
    store = _store_path()
    try:
        text = store.read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError) as exc:
        _note_problem(f"The trust store {store} cannot be read ({getattr(exc, 'strerror', None) or exc}); "
                      "no file is trusted until it can be.")
        return set()
    return _parse(text, store)


def is_trusted(sha256: str) -> bool:
    return sha256 in trusted_hashes()


def _unwritable(folder: Path, why: str) -> TrustStoreError:
    return TrustStoreError(f"the trust store's folder cannot be written ({why}), so the file could not be trusted.",
                           "Make that folder a writable folder (or remove the file in its place), or set "
                           "WORKBENCH_CONFIG_DIR to a folder you can write to.", folder)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / "trusted.json.lock", "a+b")
    except OSError as exc:
        raise _unwritable(folder, exc.strerror or str(exc)) from None
    with handle:
        try:
            import fcntl

            def lock(on: bool) -> None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX if on else fcntl.LOCK_UN)
        except ImportError:  # Windows: lock the lock file's first byte instead
            import msvcrt

            def lock(on: bool) -> None:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK if on else msvcrt.LK_UNLCK,  # type: ignore[attr-defined,unused-ignore]
                               1)
        lock(True)
        try:
            yield
        finally:
            lock(False)


def trust(sha256: str) -> None:
    """Add one hash to the store: read, modify and replace it under the store's lock."""
    trust_many([sha256])


def trust_many(hashes: list[str]) -> None:
    store = _store_path()
    with _locked(store.parent):
        current = trusted_hashes()
        try:
            raw = store.read_bytes() if store.is_file() else b""
            if raw and not _well_formed(raw):  # keep what is about to be replaced, in case someone edited it
                write_bytes_atomic(store.with_name("trusted.json.bad"), raw)
            write_text_atomic(store, json.dumps({"sha256": sorted(current | set(hashes))}, indent=1))
        except OSError as exc:
            raise _unwritable(store.parent, exc.strerror or str(exc)) from None
        except ExportError as exc:
            raise _unwritable(store.parent, exc.problem) from None
