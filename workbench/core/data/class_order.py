"""The natural order of a class column's names, when they have one: numbers ("2" before "10"), intervals and bins
("(0, 10]", "10-20", "<5", "65+") by where they start, names that start with a number ("1 - poor"), and the
common ordered words ("low / medium / high", "mild / moderate / severe"). Classes come out in that order instead
of alphabetically (high, low, medium), and an ordinal head may use it."""

from __future__ import annotations

import re

_NUM = r"[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?|[-+]?inf"
_INTERVAL = re.compile(rf"^\s*[\[(]\s*({_NUM})\s*[,;]\s*({_NUM})\s*[\])]\s*$")
_RANGE = re.compile(rf"^\s*({_NUM})\s*(?:-|–|to|\.\.)\s*({_NUM})\s*$")
_BOUND = re.compile(rf"^\s*(<=|>=|<|>|≤|≥|under|below|over|above)\s*({_NUM})\s*$", re.IGNORECASE)
_PLUS = re.compile(rf"^\s*({_NUM})\s*\+\s*$")
_LEADING = re.compile(rf"^\s*({_NUM})(?:\s*[-:.)]\s*|\s+)\S")

SCALES = (
    ("very low", "low", "medium", "high", "very high"),
    ("very low", "low", "moderate", "high", "very high"),
    ("low", "mid", "high"),
    ("lowest", "low", "middle", "high", "highest"),
    ("none", "mild", "moderate", "severe"),
    ("none", "low", "medium", "high"),
    ("very small", "small", "medium", "large", "very large"),
    ("xs", "s", "m", "l", "xl", "xxl"),
    ("never", "rarely", "sometimes", "often", "always"),
    ("very poor", "poor", "fair", "good", "very good", "excellent"),
    ("bad", "neutral", "good"),
    ("negative", "neutral", "positive"),
    ("strongly disagree", "disagree", "neutral", "agree", "strongly agree"),
    ("cold", "cool", "warm", "hot"),
    ("short", "medium", "long"),
    ("slow", "medium", "fast"),
    ("light", "moderate", "heavy"),
)


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _start(name: str) -> float | None:
    """Where an interval-like name starts on the number line (None when it is not one)."""
    for pattern in (_INTERVAL, _RANGE):
        found = pattern.match(name)
        if found:
            return _number(found.group(1))
    found = _BOUND.match(name)
    if found:
        below = found.group(1).lower() in ("<", "<=", "≤", "under", "below")
        return float("-inf") if below else _number(found.group(2)) + 1e-9
    found = _PLUS.match(name)
    return _number(found.group(1)) if found else None


def natural_order(names: list[str]) -> tuple[list[int], str] | None:
    """(indices of `names` in their natural order, what the order comes from), or None when they have none."""
    if len(names) < 2:
        return None
    try:
        numbers = [_number(n) for n in names]
        return sorted(range(len(names)), key=lambda i: numbers[i]), "numeric labels"
    except ValueError:
        pass
    starts = [_start(n) for n in names]
    if all(s is not None for s in starts) and len(set(starts)) == len(starts):
        return sorted(range(len(names)), key=lambda i: starts[i] or 0.0), "intervals in the class names"
    leading = [_LEADING.match(n) for n in names]
    if all(leading):
        keys = [_number(m.group(1)) for m in leading if m]
        if len(set(keys)) == len(keys):
            return sorted(range(len(names)), key=lambda i: keys[i]), "the numbers the class names start with"
    lower = [n.strip().lower().replace("_", " ").replace("-", " ") for n in names]
    for scale in SCALES:
        if set(lower) <= set(scale) and len(set(lower)) == len(lower):
            return sorted(range(len(names)), key=lambda i: scale.index(lower[i])), \
                f"ordered words ({' < '.join(s for s in scale if s in lower)})"
    return None
