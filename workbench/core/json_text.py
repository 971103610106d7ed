"""JSON that every reader accepts: Python's encoder writes NaN and Infinity, which are not JSON (JavaScript's
JSON.parse, jq and most other languages refuse the file). A number that is not finite (a validation accuracy
without validation rows, an interval over too few rows) is written as null."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def finite(value: Any) -> Any:
    """`value` with every non-finite float (numpy's too) replaced by None, containers rebuilt as dicts and lists."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def dumps(value: Any, indent: int | None = None) -> str:
    """json.dumps of `value`, non-finite numbers as null (and refused if any were left)."""
    try:
        return json.dumps(value, indent=indent, allow_nan=False)
    except ValueError:  # only a non-finite number raises it: rebuild without them (slower, so only then)
        return json.dumps(finite(value), indent=indent, allow_nan=False)
