"""The decision step's notes and proportion intervals: core's typed notes (`core.notes`: the window places them
beside the control of `field`, the command line prints them, code branches on `code`, never on the wording), made
with the decision step's argument order, and the Wilson interval of `evaluate.uncertainty`."""

from __future__ import annotations

from workbench.core import notes as N
from workbench.core.evaluate.uncertainty import wilson
from workbench.core.notes import Note as Note


def warning(code: str, text: str, field: str = "") -> Note:
    """A guarantee or an estimate may not hold."""
    return N.warning(text, code, field)


def note(code: str, text: str, field: str = "") -> Note:
    """What was chosen and why."""
    return N.info(text, code, field)


def proportion_interval(k: int, n: int, level: float = 0.95) -> list[float] | None:
    """Wilson score interval of k successes in n trials (it does not collapse to a point at 0 or n); None for
    n = 0, where there is nothing to estimate."""
    return None if n <= 0 else wilson(k, n, level)
