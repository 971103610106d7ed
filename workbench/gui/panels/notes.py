"""Core's typed notes (`workbench.core.notes`) as the window shows them: one line each, coloured by kind (what ran
or was trusted in red, warnings in amber, the rest plain), never told apart by their wording."""

from __future__ import annotations

import html

from workbench.core.errors import FIELD_LABELS, for_window
from workbench.core.notes import as_note

from .. import theme

COLOURS = {"safety": "error", "warning": "warning"}  # theme colour names


def notes_html(notes, kind: str = "info", bullet: str = "• ", limit: int = 8) -> str:
    """Rich text for `notes` (Notes, or plain strings read back from a file, taken as `kind`)."""
    lines = []
    for note in [as_note(n, kind) for n in notes][:limit]:
        said = for_window(note)  # the window's words: no command-line flag, and a field named by its control
        if note.field in FIELD_LABELS:
            said = said.replace(f"({note.field} ", f"({FIELD_LABELS[note.field]} ")
        text = html.escape(said[:1].upper() + said[1:])
        colour = theme.colour(COLOURS[note.kind]) if note.kind in COLOURS else None
        lines.append(f"<span style='color:{colour}'>{bullet}{text}</span>" if colour else bullet + text)
    return "<br>".join(lines)
