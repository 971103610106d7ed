"""Menu shortcuts that win over a focused text field's own key bindings."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow


class MenuShortcutsFirst(QObject):
    """Menu shortcuts (Ctrl+E, Ctrl+S, …) work while a text field has focus: a line edit claims keys such as
    Ctrl+E (end of line) through a ShortcutOverride event, which this filter withholds for the window's
    own shortcuts."""

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self._window = window

    def eventFilter(self, obj, event):
        if event.type() == QEvent.ShortcutOverride and self._window.isActiveWindow():
            pressed = QKeySequence(event.keyCombination())
            for action in self._window.findChildren(QAction):
                if action.isEnabled() and any(pressed.matches(k) == QKeySequence.ExactMatch
                                              for k in action.shortcuts()):
                    return True  # not accepted by the field: the shortcut map runs the action
        return False
