"""The README's Quickstart is what CI runs, and it installs into a virtual environment of the clone (a stock
Debian or Ubuntu python3 refuses a pip install outside one: PEP 668)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quickstart() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quickstart\n.*?```bash\n(.*?)```", text, re.S)
    assert block, "the README has a Quickstart with a bash block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_quickstart_is_two_commands_in_a_virtual_environment():
    gui, tests = _quickstart()
    for command in (gui, tests):
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -e "), command
        assert " pip install" not in command.replace(".venv/bin/pip install", ""), command  # never the system pip
    assert gui.endswith(".venv/bin/workbench gui --demo")
    assert tests.endswith(".venv/bin/python -m pytest -q")


def test_ci_runs_the_readme_test_command_exactly():
    _gui, tests = _quickstart()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in [line.strip() for line in ci]


def test_the_virtual_environment_is_not_tracked():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ".venv/" in ignored or "/.venv/" in ignored
