"""A red line beside a group of controls with the recipe problems (core's `recipe.problems`) of the fields those
controls set, so a problem with a field that is not on the Head & training form is shown where it is fixed."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from workbench.core.recipe import problems

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
        session.recipe_changed.connect(self._on_recipe_changed)
        self._on_recipe_changed(session.model.recipe)

    def _on_recipe_changed(self, recipe):
        found = [f"{self.names[field]}: {reason}." for field, reason in problems(recipe) if field in self.names]
        self.setText("\n".join(found))
        self.setVisible(bool(found))
