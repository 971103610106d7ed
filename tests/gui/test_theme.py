"""Colours come from the Qt palette: a dark palette gives dark plots, matrix and tables whose text reads (WCAG
contrast >= 4.5:1), and the tab follows a palette change while it is open."""

import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from workbench.gui import theme
from workbench.gui.panels.evaluate import EvaluatePanel
from workbench.gui.plots.base import Plot

from .evaluate_runs import Run, Session


def dark_palette() -> QPalette:
    pal = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#2b2b2b"), (QPalette.ColorRole.WindowText, "#e8e8e8"),
                         (QPalette.ColorRole.Base, "#1e1e1e"), (QPalette.ColorRole.AlternateBase, "#262626"),
                         (QPalette.ColorRole.Text, "#e8e8e8"), (QPalette.ColorRole.Button, "#353535"),
                         (QPalette.ColorRole.ButtonText, "#e8e8e8"), (QPalette.ColorRole.Highlight, "#2f65ca"),
                         (QPalette.ColorRole.HighlightedText, "#ffffff")):
        pal.setColor(role, QColor(colour))
    return pal


@pytest.fixture
def palette_of(qtbot):
    app = QApplication.instance()
    before = app.palette()

    def apply(name: str) -> None:
        app.setPalette(dark_palette() if name == "dark" else app.style().standardPalette())
        qtbot.wait(10)

    yield apply
    app.setPalette(before)


@pytest.mark.parametrize("name", ["light", "dark"])
def test_plots_matrix_and_texts_read_on_the_palette_and_follow_its_changes(qtbot, palette_of, name):
    session = Session()
    panel = EvaluatePanel(session)
    qtbot.addWidget(panel)
    panel.resize(1024, 560)
    panel.show()
    session.show(Run(3))
    palette_of(name)  # changed while the tab is open: everything below must follow
    assert theme.is_dark() == (name == "dark")
    base = QApplication.palette().color(QPalette.ColorRole.Base)
    plots = panel.findChildren(Plot)
    assert len(plots) >= 5
    for plot in plots:
        background = plot.backgroundBrush().color()
        assert background == base, plot.objectName()
        for axis in ("left", "bottom"):
            text = plot.getPlotItem().getAxis(axis).textPen().color()
            assert theme.contrast(background, text) >= 4.5, (plot.objectName(), background.name(), text.name())
        title = QColor(plot.getPlotItem().titleLabel.opts["color"])
        assert theme.contrast(background, title) >= 4.5
    for item, label in panel.reliability.plot.getPlotItem().legend.items:
        assert theme.contrast(base, QColor(label.opts["color"])) >= 4.5
    for label in panel.reliability.count_labels:
        assert theme.contrast(base, label.textItem.defaultTextColor()) >= 4.5
    # Curves stand out from the background (3:1, WCAG's floor for graphics); texts in colour read (4.5:1).
    for i in range(len(theme.SERIES)):
        assert theme.contrast(base, theme.series(i)) >= 3
    for tone in ("error", "warning", "good", "muted"):
        assert theme.contrast(base, theme.colour(tone)) >= 4.5, tone
        assert theme.contrast(theme.colour("window"), theme.colour(tone)) >= 4.5, tone
    # Each count of the heat map and of the matrix table reads on its cell.
    confusion, k = panel.confusion, 3
    for n, item in enumerate(confusion.texts):
        value = confusion.shown[n // k, n % k] / confusion.shown.max()
        cell = confusion.image.getColorMap().map(value, mode="qcolor")
        assert theme.contrast(cell, item.color) >= 4.5
    model = panel.confusion_table.model()
    for i in range(k):
        for j in range(k):
            index = model.index(i, j)
            assert theme.contrast(model.data(index, 8), model.data(index, 9)) >= 4.5  # Background, Foreground roles
    # Coloured labels follow the palette: the hint is written in the palette's muted colour.
    assert any(theme.colour("muted") in label.styleSheet() for label in panel.findChildren(type(panel.summary)))
    assert isinstance(panel.reliability.plot, pg.PlotWidget)
