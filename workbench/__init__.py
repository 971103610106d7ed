"""Conversion Workbench: turn a trained PyTorch regression model into a calibrated classifier.

In a notebook, the same commands as the window and the command line:

    import workbench as wb
    s = wb.open("model.pt", model_source="models.py:Net")
    s.read_data("table.csv", label="price", threshold="median")
    run = s.train(task="binary", seed=1, epochs=5)

`import workbench` stays cheap (the window imports it at start-up): the API below is imported on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# name -> (module, attribute), imported when first asked for
_API = {
    "open": ("workbench.core.workflow.notebook", "open"),
    "Session": ("workbench.core.workflow.notebook", "Session"),
    "RunView": ("workbench.core.workflow.notebook", "RunView"),
    "open_session": ("workbench.core.workflow.notebook", "open_session"),
    "evaluate_export": ("workbench.core.workflow.evaluate_data", "evaluate_export"),
    "WorkbenchError": ("workbench.core.errors", "WorkbenchError"),
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        module, attribute = _API[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
