"""Every interactive widget of the main window has an accessible name (read through QAccessible, as a screen
reader reads it), the form's fields carry their description, and every menu action is reachable by keyboard."""

from __future__ import annotations

from PySide6.QtGui import QAccessible

from workbench.gui.accessibility import interactive

from .conftest import open_model_and_data


def _name(widget) -> str:
    face = QAccessible.queryAccessibleInterface(widget)
    return face.text(QAccessible.Text.Name) if face is not None else ""


def test_every_interactive_widget_has_an_accessible_name(window, files, qtbot, dialogs):
    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    for tab in range(window.workspace.tabs.count()):
        window.show_workspace(tab)  # each tab once, as a user walks them
    widgets = interactive(window)
    assert len(widgets) > 80
    nameless = [f"{type(w).__name__} {w.objectName()!r}" for w in widgets if not _name(w).strip()]
    assert not nameless, nameless
    form = window.form.widgets
    assert _name(form["head.dropout"]) == "Dropout before the head"
    face = QAccessible.queryAccessibleInterface(form["head.dropout"])
    assert "dropout" in face.text(QAccessible.Text.Description).lower()
    missing = window.data_panel.columns.missing  # on Linux a combo box's name is its value; the label relation
    assert missing.accessibleName() == "Missing values"  # names it there, the name elsewhere
    from PySide6.QtWidgets import QLabel

    assert any(label.buddy() is missing for label in window.findChildren(QLabel))  # the "labelled by" relation


def test_every_menu_action_has_a_mnemonic_and_the_file_actions_keys(window):
    for menu_action in window.menuBar().actions():
        assert "&" in menu_action.text(), menu_action.text()
        keys = []
        for action in menu_action.menu().actions():
            if action.isSeparator():
                continue
            text = action.text()
            assert "&" in text, f"{text} has no mnemonic"
            keys.append(text[text.index("&") + 1].lower())
        assert len(keys) == len(set(keys)), f"mnemonics repeat in {menu_action.text()}: {keys}"
    shortcuts = {a.objectName(): a.shortcut().toString() for a in window.findChildren(type(window.export_action))}
    assert shortcuts["saveSessionAction"] == "Ctrl+S" and shortcuts["saveSessionAsAction"] == "Ctrl+Shift+S"
    assert shortcuts["openAction"] == "Ctrl+O" and shortcuts["exportAction"] == "Ctrl+E"
