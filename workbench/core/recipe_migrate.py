"""Older recipes in today's words: each version's fields and defaults mapped so that a recipe keeps the meaning
it had when it was written (see RECIPE_VERSION in recipe.py)."""

from __future__ import annotations

from typing import Any

from workbench.core.errors import RecipeError

# Version 2's defaults of the fields whose default became "auto" or changed: an old recipe that left them out
# meant these values, and keeps them.
V2_TRAIN_DEFAULTS = {"lr": 1e-3, "epochs": 30, "schedule": "none", "patience": 5}
# Version 3's image behaviour: 0..1 pixels fed as they are, never augmented. An old recipe keeps it.
BEFORE_IMAGES = {"normalize": "none", "augment": "off"}
# Version 6's meaning of the fields whose default became auto in version 7 (a recipe that left them out meant these).
BEFORE_SCALES = {"standardize": False}


def migrate(values: dict[str, Any], current: int) -> dict[str, Any]:
    """Bring an older recipe's fields up to current."""
    version = values.pop("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RecipeError(f"the recipe's version {version!r} is not a version number.",
                          "Save the recipe again from the workbench.")
    if version > current:
        raise RecipeError(f"the recipe was written by a newer workbench (recipe version {version}; this one reads "
                          f"up to {current}).", "Update the workbench, or save the recipe again here.")
    # Version 1 had the same fields as version 2; only the version key is new.
    if version < 3:
        train = values.get("train")
        if isinstance(train, dict):
            values["train"] = {**V2_TRAIN_DEFAULTS, **train}
        elif "train" not in values:
            values["train"] = dict(V2_TRAIN_DEFAULTS)
    if version < 4:  # warm start was true/false and off unless asked for
        head = values.setdefault("head", {})
        if isinstance(head, dict):
            warm = head.get("warm_start", False)
            head["warm_start"] = {True: "on", False: "off"}.get(warm, warm) if isinstance(warm, bool) else warm
    if version < 5:
        data = values.get("data")
        values["data"] = {**BEFORE_IMAGES, **data} if isinstance(data, dict) else dict(BEFORE_IMAGES)
    if version < 6:  # calibration left out meant temperature
        values.setdefault("calibration", "temperature")
    if version < 7:
        values["data"] = _before_scales(values.get("data"))
        train = values.get("train")
        values["train"] = {"time_budget": 0, **train} if isinstance(train, dict) else {"time_budget": 0}
    # head.ordinal left out meant coral before its default became auto (version 8)
    if version < 8 and isinstance(head := values.setdefault("head", {}), dict):
        head.setdefault("ordinal", "coral")
    # a class order given moved rows between splits before version 9: an older recipe keeps its splits
    if version < 9 and isinstance(data := values.setdefault("data", {}), dict):
        data.setdefault("split_order", "classes")
    return values


def _before_scales(data: Any) -> Any:
    """Version 6's data section in version 7's words: standardize left out meant false, normalize auto meant
    what "architecture" means now."""
    if not isinstance(data, dict):
        return dict(BEFORE_SCALES) if data is None else data
    data = {**BEFORE_SCALES, **data}
    if data.get("normalize", "auto") == "auto":  # (left out, it meant auto since version 5)
        data["normalize"] = "architecture"
    return data
