"""Typed notes and warnings of the decision step (kind, code, text, field), like Orange's `Msg` objects: the
window places them beside the control of `field`, the command line prints `text`, and code branches on `code`,
never on the wording."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Note:
    kind: str  # "warning" (a guarantee or an estimate may not hold) or "note" (what was chosen and why)
    code: str  # stable identifier, e.g. "conformal.small_calibration"
    text: str  # one sentence for a person, naming no command-line flag and no widget
    field: str = ""  # the recipe field it is about, e.g. "decide.conformal_alpha"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def warning(code: str, text: str, field: str = "") -> Note:
    return Note("warning", code, text, field)


def note(code: str, text: str, field: str = "") -> Note:
    return Note("note", code, text, field)


def proportion_interval(k: int, n: int, level: float = 0.95) -> list[float] | None:
    """Wilson score interval of k successes in n trials (it does not collapse to a point at 0 or n); None for
    n = 0."""
    if n <= 0:
        return None
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]
