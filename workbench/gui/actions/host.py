"""What the window's actions need of the window (a Protocol, so they never import it): the session, the job
runner, the settings, the workspace with its panels, and a place for messages."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QStatusBar, QWidget

from ..jobs import JobRunner
from ..session import Session
from ..workspace import Workspace


class Host(Protocol):
    """The main window as its actions see it."""

    session: Session
    jobs: JobRunner
    settings: QSettings
    mlflow_action: QAction  # File ▸ Log exports to MLflow (checkable)

    def show_workspace(self, tab: int | None = None) -> Workspace:
        """Build the tabs if needed, show them (at tab `tab`), and return them."""

    def command(self, make, on_done=None):
        """Make a core command (its checks run now) and run it on a worker; the command or None."""

    def show_error(self, exc: BaseException) -> None:
        """A dialog naming the window's controls."""

    def ask_trust_or_show(self, exc: BaseException, retry) -> None:
        """The trust prompt for a file naming code (then `retry()`), else the error dialog."""

    def statusBar(self) -> QStatusBar:  # noqa: N802 - Qt's name
        """The window's status bar."""

    def parent_widget(self) -> QWidget:
        """The parent for the dialogs an action opens."""
