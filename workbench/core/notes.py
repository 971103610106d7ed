"""Typed notes and warnings: what a step wants the user to know, as data (Orange's `Msg`).

`code` is stable, so the window and scripts branch on it, never on the wording; `field` names the recipe field a
note concerns (the window places it beside that control); `text` is one sentence for the CLI and the report,
naming no flag and no widget.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

KINDS = ("note", "warning")


@dataclass(frozen=True)
class Note:
    kind: str  # "note" or "warning"
    code: str
    text: str
    field: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
