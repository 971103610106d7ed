"""Spin boxes that take a number as it is typed: the value is the window's (and the recipe's) only when the typing
ends (Enter, Tab, leaving the field, or the arrows), so typing 0.25 is not first the value 0, which the form
showed back as "0.000" under the cursor and turned the rest of the typing into nothing; and a float field also
takes scientific notation (1e-4), as a learning rate or weight decay is often written, and a decimal comma (0,5)."""

from __future__ import annotations

import re

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

_FULL = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+")
_PART = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?")


class NumberBox(QDoubleSpinBox):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setKeyboardTracking(False)

    def validate(self, text: str, pos: int):  # noqa: D102 - Qt's
        if "," in text and "." not in text and self.locale().decimalPoint() == ".":
            text = text.replace(",", ".")  # 0,5 typed where the decimal comma is the habit
        typed = text.strip()
        if _FULL.fullmatch(typed):
            value = float(typed)
            inside = self.minimum() <= value <= self.maximum()
            return QValidator.State.Acceptable if inside else QValidator.State.Intermediate, text, pos
        if _PART.fullmatch(typed):
            return QValidator.State.Intermediate, text, pos
        return super().validate(text, pos)

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt's name
        typed = text.strip()
        return float(typed) if _FULL.fullmatch(typed) else super().valueFromText(text)


class WholeBox(QSpinBox):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setKeyboardTracking(False)
