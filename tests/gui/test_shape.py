"""The window's code keeps its shape: small modules and functions, one owner of busy state, panels that reach the
core model explicitly (no `__getattr__` adapter), and a layers contract inside gui that the test run checks."""

from __future__ import annotations

import ast
import pathlib

import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUI = ROOT / "workbench" / "gui"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80


def _modules():
    return sorted(GUI.rglob("*.py"))


def test_no_module_over_450_lines_and_no_function_over_80():
    long_modules = [f"{p.relative_to(GUI)}: {n}" for p in _modules()
                    if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    long_functions = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.relative_to(GUI)}:{node.lineno} {node.name}: {length}")
    assert not long_modules and not long_functions, long_modules + long_functions


def test_panels_reach_the_model_explicitly_and_only_the_runner_begins_and_ends_jobs():
    """Busy state is the session's jobs in flight: only the JobRunner begins and delivers (ends) them, nothing in
    the window sets busy or keeps a stop token of its own."""
    getattrs, runner_calls = [], []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
                getattrs.append(str(path.relative_to(GUI)))
            if isinstance(node, ast.Attribute) and node.attr in ("set_busy", "_stop", "begin_job", "end_job",
                                                                 "deliver", "deliver_error"):
                runner_calls.append(f"{path.relative_to(GUI)} .{node.attr}")
    assert not getattrs, getattrs
    assert runner_calls and all(c.startswith("jobs.py ") and "set_busy" not in c for c in runner_calls), runner_calls


def test_the_layers_inside_gui_are_a_contract():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    inside = [c for c in contracts if c.get("containers") == ["workbench.gui"]]
    assert len(inside) == 1 and inside[0]["type"] == "layers"
    layers = [layer.replace(" ", "") for layer in inside[0]["layers"]]
    order = {name: i for i, layer in enumerate(layers) for name in layer.split("|")}
    assert order["main_window"] < order["actions"] < order["workspace"] < order["panels"] < order["plots"]
    assert order["panels"] == order["dialogs"] and "|" in layers[order["panels"]], "dialogs beside panels"
    for package in ("panels", "plots", "dialogs", "actions"):
        assert (GUI / package / "__init__.py").is_file()
    # tests/core/test_layering.py runs lint-imports, which checks every contract in pyproject.toml.
