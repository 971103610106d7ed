"""A red line beside a group of controls with the problems (core's `SessionModel.field_problems`: the recipe's own,
and the class-sized fields the data's classes no longer fit) of the fields those controls set or change, so a problem
is shown where it is made and fixed, not only on the Head & training form."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from .. import theme


class FieldProblems(QLabel):
    def __init__(self, session, names: dict[str, str], parent=None):
        """`names`: each recipe field these controls set, with the control's name as the window shows it."""
        super().__init__(parent)
        self.names = names
        self.setObjectName("fieldProblems")
        self.setWordWrap(True)
        theme.style(self, "color: {error}")
        self.setVisible(False)
        self.session = session
        session.recipe_changed.connect(self._refresh)
        session.data_changed.connect(self._refresh)  # another class count can make a prior or cost matrix misfit
        self._refresh()

    def _refresh(self, *_changed):
        found = [f"{self.names[field]}: {reason.rstrip('.')}." for field, reason in self.session.model.field_problems()
                 if field in self.names]
        self.setText("\n".join(found))
        self.setVisible(bool(found))
        self._fit()

    def resizeEvent(self, event):  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self):
        """As tall as the wrapped text at the width it has: a nested layout asks a word-wrapped label its height
        at another width and cut the last line off."""
        if self.width() > 0:
            self.setMinimumHeight(self.heightForWidth(self.width()) if self.text() else 0)
