"""Help ▸ About: the icon, the versions of the workbench, torch, torchvision, Qt and Python, and where the
settings, the trust store and the log live (with a button that copies it all for a bug report)."""

from __future__ import annotations

import PySide6
from PySide6.QtCore import QSettings, Qt, qVersion
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from workbench import logs
from workbench.core import desktop
from workbench.core.safety import trust


def app_icon() -> QIcon:
    """The workbench's icon in every bundled size, for the window, the task bar and the About box."""
    icon = QIcon()
    for size in desktop.ICON_SIZES:
        icon.addFile(str(desktop.icon_file(size)))
    return icon


def about_facts() -> list[tuple[str, str]]:
    """(label, value) rows, in the order shown."""
    found = desktop.versions()
    return [("Workbench", found["workbench"]), ("PyTorch", found["torch"]), ("torchvision", found["torchvision"]),
            ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"), ("Python", found["python"]),
            ("Settings", QSettings().fileName()), ("Trust store", str(trust.store_path())),
            ("Log", str(logs.current_log_file() or "not written (its folder cannot be written)"))]


class AboutDialog(QDialog):
    """Help > About: the versions, paths and build facts a bug report needs, with a Copy button."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Conversion Workbench")
        self.facts = about_facts()
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(96, 96))
        title = QLabel("<h2>Conversion Workbench</h2>"
                       "<p>Turns a trained PyTorch regression model into a calibrated classifier.</p>")
        title.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(title, 1)
        form = QFormLayout()
        for label, value in self.facts:
            field = QLabel(value)
            field.setObjectName(f"about_{label.lower().replace(' ', '_')}")
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # paths are for copying
            form.addRow(f"{label}:", field)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setObjectName("aboutCopy")
        copy.setToolTip("Copy these versions and paths, e.g. for a bug report")
        copy.clicked.connect(self.copy_to_clipboard)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def text(self) -> str:
        """The facts as plain 'label: value' lines, as they are copied."""
        return "\n".join(f"{label}: {value}" for label, value in self.facts)

    def copy_to_clipboard(self) -> None:
        """Put the facts on the clipboard, ready to paste into a bug report."""
        QGuiApplication.clipboard().setText(self.text())
