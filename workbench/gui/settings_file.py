"""The window's settings (recent files, last folders, preferences) as an INI file in the platform's config folder
(core.folders), the same on every platform, instead of Qt's native store (the registry, a plist, ~/.config/<org>).
Settings an earlier version kept in the native store are copied over once."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QSettings

COPIED_KEY = "migrated/native_settings"


def use_platform_folder() -> QSettings:
    """Point every later QSettings() at <config folder>/<org>/<app>.ini and copy the native store's settings there
    once; returns the settings object."""
    from workbench.core import folders

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folders.config_dir()))
    settings = QSettings()
    old = QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, QCoreApplication.organizationName(),
                    QCoreApplication.applicationName())
    copy_once(old, settings)
    return settings


def copy_once(old: QSettings, new: QSettings) -> list[str]:
    """Copy `old`'s keys that `new` lacks, unless done before; the old store is left as it was."""
    if new.value(COPIED_KEY, False, type=bool) or old.fileName() == new.fileName():
        return []
    keys = [k for k in old.allKeys() if not new.contains(k)]
    for key in keys:
        new.setValue(key, old.value(key))
    new.setValue(COPIED_KEY, True)
    new.sync()
    return keys
