"""Help ▸ About shows the versions and the settings and trust-store paths; the window has the app's icon."""

from __future__ import annotations

import platform

import torch
from PySide6.QtCore import QSettings, QTimer, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel

import workbench
from workbench.core.safety import trust


def _field(dialog, name) -> str:
    return dialog.findChild(QLabel, f"about_{name}").text()


def test_about_shows_versions_and_paths(qtbot):
    from workbench.gui.dialogs.about import AboutDialog

    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    assert _field(dialog, "workbench") == workbench.__version__
    assert _field(dialog, "pytorch") == torch.__version__
    assert _field(dialog, "qt").startswith(qVersion())
    assert _field(dialog, "python") == platform.python_version()
    assert _field(dialog, "settings") == QSettings().fileName()
    assert _field(dialog, "trust_store") == str(trust._store_path())
    dialog.copy_to_clipboard()
    copied = QGuiApplication.clipboard().text()
    assert f"Trust store: {trust._store_path()}" in copied and f"Workbench: {workbench.__version__}" in copied


def test_help_menu_opens_about(window, qtbot):
    seen = []

    def close_it():
        dialog = QApplication.activeModalWidget()
        seen.append(dialog.objectName() if dialog else None)
        if dialog:
            dialog.reject()

    QTimer.singleShot(0, close_it)
    window.findChild(type(window.export_action), "aboutAction").trigger()
    assert seen == ["aboutDialog"]


def test_app_icon_has_every_size(qtbot):
    from workbench.core.desktop import ICON_SIZES
    from workbench.gui.dialogs.about import app_icon

    icon = app_icon()
    assert not icon.isNull()
    assert {s.width() for s in icon.availableSizes()} == set(ICON_SIZES)
