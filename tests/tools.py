"""Helpers the tests share that are not fixtures."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def installed_tool(name: str) -> str | None:
    """A command-line tool of the test extras: the one beside this Python first (a virtual environment's bin/,
    which is not on PATH when the tests run as `.venv/bin/python -m pytest`), else the one on PATH."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
