"""A number field that may also be "auto" (the learning rate, the epochs): a tick box beside a spin box."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QSpinBox, QWidget


class AutoNumber(QWidget):
    """`value()` is "auto" while the box is ticked, else the spin box's number; `valueChanged` says which."""

    valueChanged = Signal(object)

    def __init__(self, spin: QSpinBox | QDoubleSpinBox, word: str = "auto", parent=None):
        super().__init__(parent)
        self.word, self.spin = word, spin
        self.auto = QCheckBox(word)
        self.auto.setObjectName("auto")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.auto)
        layout.addWidget(spin, 1)
        self.auto.toggled.connect(self._on_auto_toggled)
        spin.valueChanged.connect(self._on_spin_changed)

    def value(self):
        """The word ("auto") while the box is ticked, else the spin box's number."""
        return self.word if self.auto.isChecked() else self.spin.value()

    def setValue(self, value) -> None:  # Qt's naming: the form treats it like a spin box
        """A number unticks auto; the word ticks it. Emits valueChanged when the value changes."""
        if value == self.word:
            self.auto.setChecked(True)
            return
        blocked = self.auto.blockSignals(True)
        was_auto = self.auto.isChecked()
        self.auto.setChecked(False)
        self.auto.blockSignals(blocked)
        self.spin.setEnabled(True)
        before = self.spin.value()
        self.spin.setValue(value)
        if was_auto and self.spin.value() == before:
            self.valueChanged.emit(self.value())

    def _on_auto_toggled(self, on: bool) -> None:
        self.spin.setEnabled(not on)
        self.valueChanged.emit(self.value())

    def _on_spin_changed(self, _value) -> None:
        if not self.auto.isChecked():
            self.valueChanged.emit(self.value())
