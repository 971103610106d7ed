"""The window's colours, taken from the Qt palette so a dark desktop theme gives a dark, readable window.

Text, background and selection come from the palette itself (window, base, text, highlight); the few colours the
palette has no role for (errors, warnings, the verdicts, the plots' series) come in a light and a dark set, picked by
the palette's lightness, each readable on that set's background (WCAG contrast, see `contrast`). Plots
(`style_plot`), coloured labels (`style`) and the confusion matrix cells read them here; `changed` fires when the
application's palette changes, so everything drawn from them follows the theme.
"""

from __future__ import annotations

import weakref

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette

# Colours the palette has no role for; each set readable on its own background (>= 4.5:1 for text colours).
LIGHT = {"error": "#b00020", "warning": "#8a5a00", "good": "#17702f", "banner": "#fff4d6", "head": "#ffecb3",
         "new": "#c8f0c8", "outline": "#e8a200", "blue": "#1f77b4", "red": "#d62728", "green": "#2ca02c",
         "purple": "#9467bd", "orange": "#d95f02", "brown": "#8c564b"}
DARK = {"error": "#ff8a80", "warning": "#f0c060", "good": "#6fdc8c", "banner": "#4d3d12", "head": "#5c4a12",
        "new": "#1e4d2b", "outline": "#ffb000", "blue": "#6cb4ff", "red": "#ff6b6b", "green": "#5bd86a",
        "purple": "#c9a0ff", "orange": "#ffa24d", "brown": "#d9a07f"}
VERDICTS = {"better": "good", "worse": "error", "within noise": "muted"}  # a verdict's colour name
SERIES = ("blue", "red", "green", "purple", "orange", "brown")  # one per run or curve, in this order
ROLES = {"window": QPalette.ColorRole.Window, "base": QPalette.ColorRole.Base, "text": QPalette.ColorRole.Text,
         "window_text": QPalette.ColorRole.WindowText, "highlight": QPalette.ColorRole.Highlight,
         "highlighted_text": QPalette.ColorRole.HighlightedText, "alternate": QPalette.ColorRole.AlternateBase}


def palette() -> QPalette:
    return QGuiApplication.palette()


def is_dark(pal: QPalette | None = None) -> bool:
    """A dark theme: the window's background darker than its text."""
    pal = pal or palette()
    return pal.color(QPalette.ColorRole.Base).lightness() < pal.color(QPalette.ColorRole.Text).lightness()


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """`a` moved a fraction `t` towards `b`."""
    return QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(_rgb(a), _rgb(b))))


def _rgb(c: QColor) -> tuple[float, float, float]:
    return c.redF(), c.greenF(), c.blueF()


def colour(name: str, pal: QPalette | None = None) -> str:
    """A colour by name as "#rrggbb": a palette role (window, base, text, highlight, …), "muted" (secondary
    text), "grid", or one of LIGHT/DARK's (error, warning, good, banner, the series colours …)."""
    pal = pal or palette()
    if name in ROLES:
        return pal.color(ROLES[name]).name()
    text, base = pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.Base)
    if name == "muted":  # secondary text: still >= 4.5:1 on the base for both the light and the dark palettes
        return mix(text, base, 0.35).name()
    if name == "grid":
        return mix(text, base, 0.55).name()
    return (DARK if is_dark(pal) else LIGHT)[name]


def series(i: int) -> str:
    """The i-th curve's or run's colour."""
    return colour(SERIES[i % len(SERIES)])


def _luminance(c: QColor) -> float:
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _rgb(c))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: QColor | str, b: QColor | str) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21; body text needs 4.5)."""
    la, lb = sorted((_luminance(QColor(a)), _luminance(QColor(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(background: QColor | str) -> str:
    """Black or white, whichever reads better on `background` (a heat-map cell's count)."""
    return "#000000" if contrast(background, "#000000") >= contrast(background, "#ffffff") else "#ffffff"


class Theme(QObject):
    """Says when the application's palette changed (`changed`), and re-applies the styles given to `style`."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._styled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is QCoreApplication.instance() and event.type() == QEvent.Type.ApplicationPaletteChange:
            self._restyle()
            self.changed.emit()
        return False

    def _restyle(self) -> None:
        names = _names()
        for widget, template in list(self._styled.items()):
            if shiboken6.isValid(widget):  # a widget its parent already deleted is only a Python shell
                widget.setStyleSheet(template.format(**names) if template else "")

    def style(self, widget, template: str) -> None:
        """Give `widget` the style sheet `template` with {colour names} filled in now and on every theme change
        ("" clears it)."""
        self._styled[widget] = template
        widget.setStyleSheet(template.format(**_names()) if template else "")


def _names() -> dict[str, str]:
    return {name: colour(name) for name in (*ROLES, *LIGHT, "muted", "grid")}


_theme: Theme | None = None


def theme() -> Theme:
    """The application's one Theme (made once the QApplication exists)."""
    global _theme
    if _theme is None:
        _theme = Theme()
    return _theme


def style(widget, template: str) -> None:
    """`Theme.style` on the application's theme: e.g. style(label, "color: {error}")."""
    theme().style(widget, template)


def style_plot(widget) -> None:
    """Colour a pyqtgraph PlotWidget from the palette: background, axes, tick labels, title and legend."""
    bg, fg = colour("base"), colour("text")
    widget.setBackground(bg)
    item = widget.getPlotItem()
    for name in ("left", "bottom", "top", "right"):
        axis = item.getAxis(name)
        axis.setPen(fg)
        axis.setTextPen(fg)
    title = item.titleLabel
    title.setAttr("color", fg)
    title.setText(title.text)
    legend = item.legend
    if legend is not None:
        legend.setLabelTextColor(fg)
        backing = QColor(bg)
        backing.setAlpha(220)
        legend.setBrush(backing)
        legend.setPen(colour("grid"))
