"""Read one class out of a Python file or a notebook without running the file.

The file is parsed with `ast`; what is kept is the class definition and, transitively, the top-level
imports, classes, functions and assignments it refers to, in the file's order. Everything else (an app's
UI code, a training loop, downloads, ``if __name__ == "__main__":``) is dropped, so it never runs.
Notebooks (``.ipynb``) are read as their code cells in order, without shell (``!``) or magic (``%``) lines.
"""

from __future__ import annotations

import ast
import builtins
import json

from workbench.core.errors import ModelSourceError

# Modules whose import name differs from the package to install.
PACKAGE_NAMES = {"sklearn": "scikit-learn", "cv2": "opencv-python", "PIL": "pillow", "yaml": "pyyaml",
                 "skimage": "scikit-image", "lightning": "lightning", "pytorch_lightning": "pytorch-lightning",
                 "torch_geometric": "torch-geometric", "timm": "timm", "bs4": "beautifulsoup4",
                 "dateutil": "python-dateutil", "attr": "attrs", "Crypto": "pycryptodome"}
_BUILTINS = set(dir(builtins)) | {"__file__", "__name__", "__doc__", "__builtins__", "__class__"}


def notebook_code(raw: bytes | str, shown: object = None) -> str:
    """The code cells of a notebook, in order, without IPython shell and magic lines."""
    try:
        cells = json.loads(raw).get("cells", [])
    except (ValueError, AttributeError, RecursionError):
        raise ModelSourceError("the notebook is not valid .ipynb JSON.", "Save it again from Jupyter.",
                               shown) from None
    parts = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        if text.lstrip().startswith("%%"):
            continue  # a cell magic: the cell is not Python
        lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith(("!", "%"))]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def source_text(raw: bytes | str, filename: str, shown: object = None) -> str:
    if str(filename).lower().endswith(".ipynb"):
        return notebook_code(raw, shown)
    return raw.decode("utf-8-sig", errors="replace") if isinstance(raw, bytes) else raw


def _bound(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name.split(".")[0]) for a in node.names if a.name != "*"}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(node, ast.Try) and _only_imports(node):
        return set().union(*(_bound(s) for s in [*node.body, *(s for h in node.handlers for s in h.body)]))
    return set()


def _only_imports(node: ast.Try) -> bool:
    """`try: import x / except ImportError: x = None`: an optional import, kept as a whole."""
    allowed = (ast.Import, ast.ImportFrom, ast.Assign, ast.Pass)
    return all(isinstance(s, allowed) for s in node.body) and all(
        isinstance(s, allowed) for h in node.handlers for s in h.body) and not node.finalbody


def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _function_free(node: ast.AST) -> set[str]:
    """Names a function reads that it does not bind itself (approximate: nested scopes are merged)."""
    stores = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    stores |= {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)}
    for inner in ast.walk(node):
        if inner is not node and isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stores.add(inner.name)
        elif isinstance(inner, (ast.Import, ast.ImportFrom)):
            stores |= {(a.asname or a.name.split(".")[0]) for a in inner.names}
    declared = {name for n in ast.walk(node) if isinstance(n, (ast.Global, ast.Nonlocal)) for name in n.names}
    return _loads(node) - (stores - declared)


def _used(node: ast.AST) -> set[str]:
    """The module-level names a top-level statement needs."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return _function_free(node) - _BUILTINS
    if isinstance(node, ast.ClassDef):
        found = set().union(set(), *(_loads(n) for n in [*node.bases, *node.keywords, *node.decorator_list]))
        own = set()
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found |= _function_free(stmt)
                found |= set().union(set(), *(_loads(d) for d in stmt.decorator_list))
            elif isinstance(stmt, ast.ClassDef):
                found |= _used(stmt)
                own.add(stmt.name)
            else:
                found |= _loads(stmt) - own
                own |= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        return found - _BUILTINS
    return _loads(node) - _BUILTINS


class SourcePlan:
    """A parsed file's top-level statements and the names each binds: which statements a name needs."""

    def __init__(self, text: str, filename: str, shown: object = None, what: str = "the model source"):
        self.text = text
        try:
            tree = ast.parse(text, filename=str(filename))
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
            raise ModelSourceError(f"{what} cannot be parsed as Python{where}: {exc}.",
                                   "Fix the syntax error in that file.", shown) from None
        self.body = tree.body
        self.binders: dict[str, list[int]] = {}
        for i, node in enumerate(self.body):
            for name in _bound(node):
                self.binders.setdefault(name, []).append(i)
        self.future = {i for i, n in enumerate(self.body) if isinstance(n, ast.ImportFrom) and n.module == "__future__"}

    def binding(self, name: str, definitions: tuple[type, ...]) -> list[int]:
        """The statements that bind `name` as one of `definitions` (or, failing that, by an import or an
        assignment)."""
        found = [i for i in self.binders.get(name, []) if isinstance(self.body[i], definitions)]
        return found or [i for i in self.binders.get(name, [])
                         if isinstance(self.body[i], (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.Try))]

    def needed(self, targets: list[int]) -> set[int]:
        """`targets` and, transitively, the statements binding the names they need, with __future__ imports."""
        keep = set(self.future)
        todo = list(targets)
        while todo:
            i = todo.pop()
            if i in keep:
                continue
            keep.add(i)
            for name in _used(self.body[i]):
                todo += [j for j in self.binders.get(name, []) if j not in keep]
        needed = set().union(*(_used(self.body[i]) for i in keep))
        if needed - set(self.binders):  # names that only a star import can provide
            keep |= self.star_imports()
        return keep

    def star_imports(self) -> set[int]:
        return {i for i, n in enumerate(self.body)
                if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)}

    def definitions(self) -> set[int]:
        """Every statement that only defines names (what `from module import *` would want), nothing else."""
        kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Assign,
                 ast.AnnAssign)
        return {i for i, n in enumerate(self.body) if isinstance(n, kinds) or (isinstance(n, ast.Try) and _bound(n))}

    def code(self, indices: set[int]) -> str:
        return _at_original_lines(self.text, [self.body[i] for i in sorted(indices)])


def extract(raw: bytes | str, class_name: str, filename: str = "<source>", shown: object = None) -> str:
    """The code that defines `class_name` and what it needs from the file, as Python source."""
    plan = SourcePlan(source_text(raw, filename, shown), filename, shown)
    targets = plan.binding(class_name, (ast.ClassDef,))
    if not targets:
        classes = [n.name for n in plan.body if isinstance(n, ast.ClassDef)]
        raise ModelSourceError(f"the model source has no class '{class_name}'.",
                               f"Classes it defines: {', '.join(classes) or 'none'}.", shown)
    return plan.code(plan.needed(targets))


def _at_original_lines(text: str, nodes: list[ast.stmt]) -> str:
    """The kept statements' own text, each on its original lines (so tracebacks and TorchScript's source lookup
    point at the right lines), blank lines elsewhere."""
    lines = text.split("\n")
    out = [""] * len(lines)
    for node in nodes:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        for number in range(first, node.lineno):  # decorators sit on their own lines before the statement
            out[number - 1] = lines[number - 1]
        segment = (ast.get_source_segment(text, node) or "").split("\n")
        for k, part in enumerate(segment):
            index = node.lineno - 1 + k
            part = part.lstrip() if k == 0 else part
            out[index] = f"{out[index]}; {part}" if out[index].strip() else part
    return "\n".join(out).rstrip() + "\n"


def imported_modules(code: str) -> list[str]:
    """Top-level modules the (extracted) code imports, in order."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return list(dict.fromkeys(found))


def package_for(module: str) -> str:
    root = module.split(".")[0]
    return PACKAGE_NAMES.get(root, root.replace("_", "-"))
