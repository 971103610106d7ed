"""The Checks and Decisions boxes write their secondary lines in the palette's muted colour, not a fixed grey: on a
dark palette a fixed #666 reads at about 2.6:1 on the window (seen in the dark screenshots); muted reads at >= 4.5:1."""

import re

import pytest
from PySide6.QtWidgets import QApplication

from workbench.gui import theme
from workbench.gui.panels.checks import baseline_html, ece_html
from workbench.gui.panels.checks_order import order_html
from workbench.gui.panels.decisions_view import conformal_html

from .test_theme import dark_palette

SAMPLES = (
    lambda: ece_html({"ece": 0.03, "ece_interval_covers": "test sampling"}),
    lambda: baseline_html({"applies": False, "reason": "no validation split"}),
    lambda: order_html({"order_definition": "rows counted by distance"}),
    lambda: conformal_html({"coverage": 0.9, "alpha": 0.1, "mean_set_size": 1.2, "contiguous": True}),
)


@pytest.mark.parametrize("name", ["light", "dark"])
def test_secondary_lines_take_the_palettes_muted_colour(qtbot, name):
    app = QApplication.instance()
    before = app.palette()
    app.setPalette(dark_palette() if name == "dark" else app.style().standardPalette())
    try:
        for sample in SAMPLES:
            colours = re.findall(r"color:\s*(#[0-9a-fA-F]{3,6})", sample())
            assert colours, "the secondary line lost its colour"
            for colour in colours:
                assert colour == theme.colour("muted")
                assert theme.contrast(theme.colour("window"), colour) >= 4.5
    finally:
        app.setPalette(before)
