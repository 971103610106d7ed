"""Tooltips that wrap: Qt shows a plain-text tooltip as one line however long it is, and word-wraps rich text.
An application-wide filter turns every long plain tooltip into an escaped rich-text paragraph as it is set, so
the field descriptions (one or two sentences each) read as a short block beside the mouse."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import Qt  # QtGui.Qt has mightBeRichText
from PySide6.QtWidgets import QWidget

WRAP_AFTER = 60  # characters: shorter tips stay on one line


def rich(text: str) -> str:
    """`text` as a rich-text paragraph Qt word-wraps (already rich text is kept)."""
    if not text or Qt.mightBeRichText(text):
        return text
    return f"<p>{html.escape(text, quote=False)}</p>"


class WrapToolTips(QObject):
    """Rewrites long plain tooltips as rich text when a widget's tooltip changes (install on the application)."""

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ToolTipChange and isinstance(obj, QWidget):
            text = obj.toolTip()
            if len(text) > WRAP_AFTER and not Qt.mightBeRichText(text):
                obj.setToolTip(rich(text))
        return False


def wrap_existing(root: QWidget) -> None:
    """Wrap the tooltips of `root` and its children set before the filter was installed."""
    for widget in [root, *root.findChildren(QWidget)]:
        text = widget.toolTip()
        if len(text) > WRAP_AFTER and not Qt.mightBeRichText(text):
            widget.setToolTip(rich(text))
