"""workbench.core must never import Qt or pyqtgraph; checked two ways so the check cannot silently vanish."""

import ast
import pathlib
import subprocess
import sys

import pytest

from tests.tools import installed_tool

CORE = pathlib.Path(__file__).resolve().parents[2] / "workbench" / "core"
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "workbench.gui", "shiboken6")


def test_no_qt_import_anywhere_in_core_source():
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN or n in FORBIDDEN]
    assert not offenders


def test_import_linter_contracts():
    exe = installed_tool("lint-imports")
    if exe is None:
        pytest.fail("import-linter is a test dependency; install the test extras")
    done = subprocess.run([exe], capture_output=True, text=True, cwd=CORE.parents[1])
    assert done.returncode == 0, done.stdout + done.stderr


def test_importing_core_does_not_load_qt():
    code = ("import sys, workbench.core.workflow.pipeline, workbench.core.workflow.demo; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
