"""CSV text that a spreadsheet opens as data, never as formulas: every CSV the workbench writes goes through here.

A text cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return (or their full-width forms, which some
spreadsheets read the same way) is run as a formula by Excel, LibreOffice and Google Sheets. As OWASP advises for
CSV injection, such a cell gets a leading single quote, and every text cell is quoted. Numbers stay numbers:
a number (or text that reads as a plain number, such as a class named "-1") is written as it is, unquoted.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Sequence

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
Cell = object  # text, a number (numpy's too) or None


def neutralised(text: str) -> str:
    """The text as a spreadsheet shows it but never runs it: a formula's first character is preceded by `'`."""
    if _NUMBER.fullmatch(text):
        return text
    return "'" + text if text.lstrip(" ").startswith(TRIGGERS) else text


def _cell(value: Cell, float_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # a bool is an int to Python, but True is not 1 to a reader
        value = str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return format(float(value), float_format)
    text = neutralised(str(value))  # text, and the non-finite floats: "-inf" would read as a formula
    if _NUMBER.fullmatch(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def csv_text(rows: Iterable[Sequence[Cell]], float_format: str = "") -> str:
    """Rows as CSV text, one line each ("\\n"): numbers unquoted (floats with `float_format`, by default the
    shortest text that reads back the same float), text quoted and neutralised, None as an empty cell."""
    return "".join(",".join(_cell(v, float_format) for v in row) + "\n" for row in rows)
