"""Import a model source's sibling modules (``from core.model import Block``) without running their top level.

While a model class is defined and built, a finder on ``sys.meta_path`` answers for modules found beside the
source (its folder and package root first, then a few parent folders after everything installed) and for
the submodules of such packages. Their modules start empty; each name asked of them (``from m import X``,
``m.X``) runs only the statements that define it and what it needs, read the same way as the source's own
class (see source_extract). A package's ``__init__.py`` is read the same way, so importing ``core.model``
runs nothing of ``core/__init__.py`` unless a name from it is used. Extension modules import normally.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from typing import Any

from workbench.core.open.source_extract import SourcePlan, source_text

_MARK = "__workbench_sibling__"  # set in a module this finder made; its value is the module's SourcePlan or None
_SOURCE_SUFFIXES = tuple(importlib.machinery.SOURCE_SUFFIXES)
_lock = threading.RLock()  # one model source is defined at a time; the finder and sys.modules are shared


def is_sibling(module: types.ModuleType | None) -> bool:
    return module is not None and _MARK in vars(module)


class _Names:
    """A sibling module's ``__getattr__``: defines a name the first time it is asked for."""

    def __init__(self, module: types.ModuleType, plan: SourcePlan | None) -> None:
        self.module, self.plan = module, plan
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
        exec(code, vars(self.module))  # noqa: S102 - part of a sibling of the model source the user vouched for


class _Loader(importlib.abc.Loader):
    def __init__(self, origin: str | None):
        self.origin = origin

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        plan = None
        if self.origin:
            with open(self.origin, "rb") as f:
                raw = f.read()
            plan = SourcePlan(source_text(raw, self.origin), self.origin, self.origin,
                              f"{module.__name__} (imported by the model source)")
        vars(module)[_MARK] = plan
        vars(module)["__getattr__"] = _Names(module, plan)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, front: list[str], back: list[str]):
        self.front, self.back = front, back

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if "." in fullname:
            if not is_sibling(sys.modules.get(fullname.rpartition(".")[0])):
                return None
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        else:
            spec = importlib.machinery.PathFinder.find_spec(fullname, self.front)
            if spec is None:
                rest = [p for p in sys.path if p not in self.front and p not in self.back]
                if importlib.machinery.PathFinder.find_spec(fullname, rest) is not None:
                    return None  # installed: imports as usual
                spec = importlib.machinery.PathFinder.find_spec(fullname, self.back)
        if spec is None:
            return None
        origin = spec.origin if spec.has_location and str(spec.origin).endswith(_SOURCE_SUFFIXES) else None
        if origin is None and spec.submodule_search_locations is None:
            return None  # an extension or bytecode-only module: nothing to read, it imports as usual
        package = spec.submodule_search_locations is not None
        lazy = importlib.machinery.ModuleSpec(fullname, _Loader(origin), origin=origin, is_package=package)
        if spec.submodule_search_locations is not None:
            lazy.submodule_search_locations = list(spec.submodule_search_locations)
        lazy.has_location = origin is not None
        return lazy


def forget_siblings() -> None:
    """Drop the sibling modules of earlier model sources, so this one's `core` is not another folder's."""
    for name, module in list(sys.modules.items()):
        if is_sibling(module):
            del sys.modules[name]


@contextlib.contextmanager
def sibling_imports(front: list[str], back: list[str]) -> Iterator[None]:
    """Imports of modules found in `front` folders (before installed packages) or `back` folders (after them)
    run only what is used of them, while this is active."""
    finder = _Finder(front, back)
    with _lock:
        at = next((i for i, f in enumerate(sys.meta_path) if f is importlib.machinery.PathFinder), 0)
        sys.meta_path.insert(at, finder)  # after the built-in and frozen importers, as the path is searched
        try:
            yield
        finally:
            sys.meta_path.remove(finder)
