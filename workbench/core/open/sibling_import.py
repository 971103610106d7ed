"""Import a model source's sibling modules (``from core.model import Block``) without running their top level.

While a model class is defined and built, a finder on ``sys.meta_path`` serves the modules of the source's
closure (see source_closure; their submodules at any later time too): the sibling modules and packages it
reaches, from the bytes that were read and hashed before anything ran, never from the disk again. Their
modules start empty; each name asked of them (``from m import X``, ``m.X``) runs only the statements that
define it and what it needs, read the same way as the source's own class (see source_extract). A package's
``__init__.py`` is read the same way, so importing ``core.model`` runs nothing of ``core/__init__.py`` unless
a name from it is used.

A name the standard library or an installed package provides is imported from there, never from beside the
source, even where the source's folder is on the import path. A sibling outside the closure (an import built at
run time) is refused by name, and so is compiled code (``.pyc``, extension modules): neither was read.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.abc
import importlib.machinery
import linecache
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench.core.errors import ModelSourceError
from workbench.core.safety.source_closure import (
    MARK,
    Sibling,
    SourceClosure,
    is_ours,
    is_sibling,
    provided_elsewhere,
    sibling_spec,
)
from workbench.core.safety.source_extract import SourcePlan, source_text

_lock = threading.RLock()  # one model source is defined at a time; the finder and sys.modules are shared


class _Names:
    """A sibling module's ``__getattr__``: defines a name the first time it is asked for."""

    def __init__(self, module: types.ModuleType, plan: SourcePlan | None, closure: SourceClosure) -> None:
        self.module, self.plan, self.closure = module, plan, closure
        self.done: set[int] = set()

    def __call__(self, name: str) -> Any:
        module = self.module
        if self.plan is None or (name.startswith("__") and name.endswith("__") and name != "__all__"):
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
        if name == "__all__" and name not in self.plan.binders:
            self._run(self.plan.definitions())  # `from m import *` without __all__: every definition, no more
            raise AttributeError(name)  # ... and the import takes the public names from the module's dict
        targets = self.plan.binding(name, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        if not targets and self.plan.star_imports():
            targets = sorted(self.plan.star_imports())
        if targets:
            self._run(self.plan.needed(targets))
        try:
            return vars(module)[name]
        except KeyError:
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}") from None

    def _run(self, indices: set[int]) -> None:
        todo = indices - self.done
        if not todo or self.plan is None:
            return
        self.done |= todo
        code = compile(self.plan.code(todo), str(self.module.__file__), "exec")
        # A name first asked for later (in forward) may import: its siblings still come from the closure.
        with sibling_imports(self.closure):
            exec(code, vars(self.module))  # noqa: S102 - part of a sibling of the model source the user vouched for


class _Loader(importlib.abc.Loader):
    def __init__(self, entry: Sibling, closure: SourceClosure):
        self.entry, self.closure = entry, closure

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        plan = None
        file = self.entry.file
        if file is not None:
            text = source_text(self.entry.code, str(file))
            plan = SourcePlan(text, str(file), file, f"{module.__name__} (imported by the model source)")
            # What runs is what source lookups see (TorchScript compiles a class from its source).
            linecache.cache[str(file)] = (len(text), None, text.splitlines(True), str(file))
        vars(module)[MARK] = plan
        vars(module)["__getattr__"] = _Names(module, plan, self.closure)


class _Finder(importlib.abc.MetaPathFinder):
    """Serves the submodules of sibling packages from their closure, always; top-level names only while a model
    source is defined or built (`active`)."""

    serves_siblings = True  # never asked whether a module is installed (source_closure.provided_elsewhere)

    def __init__(self) -> None:
        self.active: SourceClosure | None = None

    def find_spec(self, fullname: str, path: object = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        parent = fullname.rpartition(".")[0]
        closure = _closure_of(sys.modules.get(parent)) if parent else self.active
        if closure is None:
            return None  # not below a sibling package, and no model source is being defined: a plain import
        entry = closure.modules.get(fullname)
        if entry is None:
            return _not_a_sibling(fullname, closure)
        # A package's __path__ stays empty: nothing but this finder imports its submodules, from the closure.
        spec = importlib.machinery.ModuleSpec(fullname, _Loader(entry, closure),
                                              origin=str(entry.file) if entry.file else None,
                                              is_package=entry.locations is not None)
        spec.has_location = entry.file is not None
        return spec


def _closure_of(module: types.ModuleType | None) -> SourceClosure | None:
    names = vars(module).get("__getattr__") if module is not None and is_sibling(module) else None
    return names.closure if isinstance(names, _Names) else None


def _not_a_sibling(fullname: str, closure: SourceClosure) -> importlib.machinery.ModuleSpec | None:
    parent = fullname.rpartition(".")[0]
    if parent:
        owner = closure.modules.get(parent)
        found = sibling_spec(fullname, owner.locations or ()) if owner is not None else None
    else:
        real = provided_elsewhere(fullname, closure.folders)
        if real is not None:  # the installed module, even where a folder of the source is on sys.path
            return real if real.loader is not None else None
        found = sibling_spec(fullname, closure.folders)
    if found is None:
        return None
    where = Path(found.origin) if found.origin else Path(next(iter(found.submodule_search_locations or [""])))
    raise ModelSourceError(f"the model source imports '{fullname}' ({where}) in a way that could not be read "
                           "before it ran (an import built at run time), so it was not run.",
                           f"Import it with a plain import statement (import {fullname}) in the model source "
                           "or a module it imports, so that it is read, and trusted, with them.", where)


_FINDER = _Finder()


def forget_siblings() -> None:
    """Drop the modules of earlier model sources and their siblings, so this one's `core` (or `models`) is not
    another folder's."""
    for name, module in list(sys.modules.items()):
        if is_ours(module):
            del sys.modules[name]


@contextlib.contextmanager
def sibling_imports(closure: SourceClosure) -> Iterator[None]:
    """Top-level imports of the closure's modules are served from it, while this is active."""
    with _lock:
        if _FINDER not in sys.meta_path:
            at = next((i for i, f in enumerate(sys.meta_path) if f is importlib.machinery.PathFinder), 0)
            sys.meta_path.insert(at, _FINDER)  # after the built-in and frozen importers, as the path is searched
        before, _FINDER.active = _FINDER.active, closure
        try:
            yield
        finally:
            _FINDER.active = before
