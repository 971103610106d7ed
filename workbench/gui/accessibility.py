"""Accessible names and descriptions for every interactive widget, from what the window already shows: the form
label beside a field (QFormLayout's label, a QLabel whose buddy it is, the label just before it in its row), a
button's or box's own text, a group box's title; the description from its tooltip (the recipe field's help on
the generated form) or its placeholder text. `name_widgets(root)` is called once per panel or dialog after it is
built; a screen reader (through QAccessible) then reads "Dropout before the head, spin box, 0" instead of
"spin box"."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtGui import (
    Qt,  # QtGui.Qt also has mightBeRichText
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QBoxLayout,
    QComboBox,
    QFormLayout,
    QGraphicsView,
    QGroupBox,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTabBar,
    QTextEdit,
    QWidget,
)

INTERACTIVE = (QAbstractButton, QLineEdit, QAbstractSpinBox, QComboBox, QAbstractItemView, QAbstractSlider,
               QTabBar, QTextEdit, QPlainTextEdit, QGraphicsView)


def interactive(root: QWidget) -> list[QWidget]:
    """The widgets under `root` a user can act on (the inner parts of composite widgets included)."""
    return [w for w in root.findChildren(QWidget) if isinstance(w, INTERACTIVE)]


def plain(text: str) -> str:
    """Rich or plain text as one plain line: tags, mnemonics and trailing colons gone."""
    if Qt.mightBeRichText(text):
        doc = QTextDocument()
        doc.setHtml(text)
        text = doc.toPlainText()
    text = re.sub(r"&(?=[^&\s])", "", text).replace("&&", "&")
    return " ".join(text.split()).rstrip(":").strip()


def name_widgets(root: QWidget) -> int:
    """Give each interactive widget under `root` without an accessible name one, and a description when it has
    none; returns how many names were given."""
    labels = _labels_by_buddy(root)
    given = 0
    for widget in interactive(root):
        if not widget.accessibleName():
            name = _name(widget, labels)
            if name:
                widget.setAccessibleName(name)
                given += 1
        if not widget.accessibleDescription():
            description = _description(widget)
            if description and description != widget.accessibleName():
                widget.setAccessibleDescription(description)
    return given


def _labels_by_buddy(root: QWidget) -> dict[int, str]:
    return {id(label.buddy()): plain(label.text()) for label in root.findChildren(QLabel)
            if label.buddy() is not None and label.text()}


def _name(widget: QWidget, by_buddy: dict[int, str]) -> str:
    if id(widget) in by_buddy:
        return by_buddy[id(widget)]
    own = _own_text(widget)
    if own:
        return own
    found = _form_label(widget) or _row_label(widget)
    if found:
        return found
    owner = _named_owner(widget)
    if owner:
        return owner
    box = _group_title(widget)
    if box:
        return box
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", widget.objectName().replace("_", " ").replace(".", " ")).strip()
    return words[:1].upper() + words[1:].lower() if words and not words.startswith("qt ") else ""


def _own_text(widget: QWidget) -> str:
    if isinstance(widget, QScrollBar):  # part of a scroll area: read as what it scrolls
        return "Vertical scroll bar" if widget.orientation() == Qt.Orientation.Vertical else "Horizontal scroll bar"
    if widget.objectName() == "qt_menubar_ext_button":
        return "More menus"
    if isinstance(widget, QAbstractButton) and widget.text():
        return plain(widget.text())
    if isinstance(widget, QGroupBox) and widget.title():
        return plain(widget.title())
    if isinstance(widget, QGraphicsView):
        title: Any = getattr(getattr(widget, "plotItem", None), "titleLabel", None)
        text = plain(str(title.text)) if title is not None and getattr(title, "text", None) else ""
        return text or "Plot"
    return ""


def _form_label(widget: QWidget) -> str:
    """The label of the QFormLayout row holding `widget` (directly, or inside the layout of that row), in the
    layouts of the widgets above it up to its group box or window."""
    child: Any = widget
    while child is not None and child.parentWidget() is not None:
        parent: Any = child.parentWidget()
        for form in _forms(parent.layout()):
            for row in range(form.rowCount()):
                field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
                if field is not None and _holds(field, child):
                    label: Any = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                    if label is not None and isinstance(label.widget(), QLabel):
                        return _labelled(label.widget(), widget)
        if isinstance(child, QGroupBox) or child.isWindow():
            break
        child = parent
    return ""


def _labelled(label: QLabel, widget: QWidget) -> str:
    """The label's text; the label becomes the widget's buddy (the "labelled by" relation a Linux screen reader
    follows, e.g. for a combo box, whose name there is its current value)."""
    if label.buddy() is None and not isinstance(widget, QScrollBar):
        label.setBuddy(widget)
    return plain(label.text())


def _forms(layout: Any) -> list[QFormLayout]:
    if layout is None:
        return []
    found = [layout] if isinstance(layout, QFormLayout) else []
    for i in range(layout.count()):
        item: Any = layout.itemAt(i)
        found += _forms(item.layout() if item is not None else None)
    return found


def _holds(item: Any, widget: QWidget) -> bool:
    if item.widget() is widget:
        return True
    layout = item.layout()
    if layout is None:
        return False
    return any(_holds(layout.itemAt(i), widget) for i in range(layout.count()))


def _row_label(widget: QWidget) -> str:
    """A QLabel just before `widget` in the same row (a box layout such as "Missing values: [combo]")."""
    parent = widget.parentWidget()
    layout = parent.layout() if parent is not None else None
    found = _find_row(layout, widget) if layout is not None else None
    if found is None:
        return ""
    row, index = found
    for i in range(index - 1, -1, -1):
        item: Any = row.itemAt(i)
        before = item.widget() if item is not None else None
        if isinstance(before, QLabel) and before.text() and not before.buddy():
            return _labelled(before, widget)
        if before is not None and isinstance(before, INTERACTIVE):
            break
    return ""


def _find_row(layout: Any, widget: QWidget) -> tuple[QLayout, int] | None:
    for i in range(layout.count()):
        item: Any = layout.itemAt(i)
        if item.widget() is widget:
            return (layout, i) if isinstance(layout, QBoxLayout) else None
        if item.layout() is not None:
            found = _find_row(item.layout(), widget)
            if found is not None:
                return found
    return None


def _named_owner(widget: QWidget) -> str:
    """The inner part of a composite widget (the spin box of an auto/number field) takes its owner's name."""
    parent = widget.parentWidget()
    if parent is not None and not isinstance(parent, INTERACTIVE) and parent.accessibleName():
        return parent.accessibleName()
    for _level in range(3):  # a combo box's popup list, a view's header: the parts of a named control
        if isinstance(parent, (QComboBox, QAbstractSpinBox, QAbstractItemView)):
            return parent.accessibleName() or _form_label(parent) or _row_label(parent) or _group_title(parent)
        parent = parent.parentWidget() if parent is not None else None
    return ""


def _group_title(widget: QWidget) -> str:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QGroupBox) and parent.title():
            return plain(parent.title())
        parent = parent.parentWidget()
    return ""


def _description(widget: QWidget) -> str:
    if widget.toolTip():
        return plain(widget.toolTip())
    if isinstance(widget, QLineEdit) and widget.placeholderText():
        return widget.placeholderText()
    return ""
