"""Typed notes: what the workbench tells the user without stopping (Orange's `Msg`, reduced).

A `Note` is its text plus a `kind` (info, warning, or safety: which code ran or was trusted), the recipe `field`
it concerns (dotted, "" when none) and a stable `code` naming what it is about. The window places a note beside
the control of its field and colours it by kind; the command line chooses what to print by kind. Nobody matches
on the wording.

A note is also the string it says (a `str` subclass): lists of notes read, join and serialise as text, so
metrics.json keeps its lists of strings. Notes read back from a file are plain strings; `as_note` gives them a
kind again.
"""

from __future__ import annotations

from typing import Any

KINDS = ("info", "warning", "safety")


class Note(str):
    """A message for the user: text, kind, the recipe field it concerns, and a stable code."""

    kind: str
    field: str
    code: str

    def __new__(cls, text: str, kind: str = "info", field: str = "", code: str = "") -> Note:
        if kind not in KINDS:
            raise ValueError(f"a note's kind is one of {KINDS}, not {kind!r}")
        note = super().__new__(cls, text)
        note.kind, note.field, note.code = kind, field, code
        return note

    def __reduce__(self) -> tuple[Any, ...]:  # copies and pickles keep the kind, field and code
        return Note, (str(self), self.kind, self.field, self.code)

    @property
    def text(self) -> str:
        """The note's words as a plain string (the key `to_dict` writes them under)."""
        return str(self)

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "text": str(self), "field": self.field, "code": self.code}


def info(text: str, code: str = "", field: str = "") -> Note:
    return Note(text, "info", field, code)


def warning(text: str, code: str = "", field: str = "") -> Note:
    return Note(text, "warning", field, code)


def safety(text: str, code: str = "", field: str = "") -> Note:
    """Which code ran, what was trusted or unpickled: always shown, on the command line too."""
    return Note(text, "safety", field, code)


def as_note(value: object, kind: str = "info", field: str = "", code: str = "") -> Note:
    """`value` as a Note: a Note as it is; a plain string (read back from a file) with the kind given."""
    if isinstance(value, Note):
        return value
    if isinstance(value, dict) and "text" in value:
        return Note(str(value["text"]), str(value.get("kind", kind)), str(value.get("field", field)),
                    str(value.get("code", code)))
    return Note(str(value), kind, field, code)


def shown_on_command_line(note: object) -> bool:
    """Whether `workbench convert` prints a model's note: warnings and what ran; not the informational ones."""
    return as_note(note).kind in ("warning", "safety")
