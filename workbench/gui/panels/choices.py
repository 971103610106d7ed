"""A combo box's choices that core rules out under the recipe's other fields, disabled in its list with the reason
as the item's tooltip (core's `recipe_unused.refused_choices` decides; this only draws it)."""

from __future__ import annotations

import typing

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox

from workbench.core.recipe import Recipe
from workbench.core.recipe_unused import refused_choices


def refuse_choices(box: QComboBox, recipe: Recipe, field: str) -> dict[str, str]:
    """Disable the items of `box` (the choices of `field`) that `recipe` rules out; returns them with why."""
    refused = refused_choices(recipe, field)
    items = typing.cast(QStandardItemModel, box.model())
    for i in range(box.count()):
        if (item := items.item(i)) is not None:
            item.setEnabled(box.itemText(i) not in refused)
            reason = refused.get(box.itemText(i), "")
            item.setToolTip(reason[:1].upper() + reason[1:] + ("." if reason else ""))
    return refused
