"""The recently opened checkpoints: kept in QSettings (window state, not a recipe), listed in File ▸ Open recent
and on the welcome view; picking one opens it."""

from __future__ import annotations

from typing import Callable, cast

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu

MAX_RECENT = 10


class RecentFiles:
    """The list of recent checkpoints, drawn in a menu and on the welcome view."""

    def __init__(self, settings: QSettings, menu: QMenu, welcome, open_path: Callable[[str], None]):
        self.settings, self.menu, self.welcome, self.open_path = settings, menu, welcome, open_path
        self.refresh()

    def paths(self) -> list[str]:
        return [p for p in cast("list[str]", self.settings.value("recent", [], list) or []) if p]

    def remember(self, path: str) -> None:
        """Put `path` first (once), keeping at most MAX_RECENT."""
        recent = [p for p in self.paths() if p != path]
        self.settings.setValue("recent", [path, *recent][:MAX_RECENT])
        self.refresh()

    def refresh(self) -> None:
        recent = self.paths()
        self.menu.clear()
        for path in recent:
            action = self.menu.addAction(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        self.menu.setEnabled(bool(recent))
        self.welcome.set_recent(recent)
