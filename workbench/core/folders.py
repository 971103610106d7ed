"""Where the workbench keeps its own files on this platform: settings and the trust store (config), the MLflow
store and the demo (data), and the rotating log (logs), through platformdirs (Windows AppData, macOS Library,
XDG on Linux). Each can be moved by an environment variable (WORKBENCH_CONFIG_DIR, WORKBENCH_DATA_DIR,
WORKBENCH_LOG_DIR).

Before this module every platform used the Linux layout (~/.config/conversion-workbench, ~/workbench-demo).
`migrate()` copies those files once into the platform's folders (never moving or deleting the old ones) and
records that it did, so a later edit of the old files is not copied again.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from platformdirs import PlatformDirsABC

APP = "conversion-workbench"
MIGRATED = "migrated.json"  # in the config folder: which old folder was copied, so it happens once
CONFIG_FILES = ("trusted.json",)  # what the old Linux-layout config folder held (the window copies its settings)


def _dirs(platform: str | None = None) -> PlatformDirsABC:
    """platformdirs' folders for `platform` (sys.platform's spelling; default: this one). A fake platform lets
    the tests see the Windows and macOS layout on any machine."""
    from platformdirs.macos import MacOS
    from platformdirs.unix import Unix
    from platformdirs.windows import Windows

    platform = platform or sys.platform
    kind: type[PlatformDirsABC] = Windows if platform == "win32" else MacOS if platform == "darwin" else Unix
    # appauthor=False: no "<author>\" level on Windows; roaming: settings follow a Windows user between machines
    return kind(APP, appauthor=False, roaming=True)


def _override(variable: str) -> Path | None:
    value = os.environ.get(variable, "")
    return Path(value).expanduser() if value else None


def config_dir(platform: str | None = None) -> Path:
    """Settings and the trust store."""
    return _override("WORKBENCH_CONFIG_DIR") or Path(_dirs(platform).user_config_dir)


def data_dir(platform: str | None = None) -> Path:
    """The default MLflow store and the demo."""
    return _override("WORKBENCH_DATA_DIR") or Path(_dirs(platform).user_data_dir)


def log_dir(platform: str | None = None) -> Path:
    """The rotating log (workbench.log)."""
    return _override("WORKBENCH_LOG_DIR") or Path(_dirs(platform).user_log_dir)


def settings_file(platform: str | None = None) -> Path:
    """The window's settings (recent files, last folders, preferences), an INI file the window reads with
    QSettings: one place on every platform instead of the registry or a plist."""
    return config_dir(platform) / "settings.ini"


def old_config_dir() -> Path:
    """Where every platform kept settings and the trust store before: the Linux layout under the home folder."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / APP


def old_demo_dir() -> Path:
    return Path(os.path.expanduser("~")) / "workbench-demo"


def demo_dir(platform: str | None = None) -> Path:
    """The window's demo folder: an earlier demo in the old place is kept where it is (a folder the user may know
    and have files in is not moved), else the data folder's demo/."""
    old = old_demo_dir()
    if (old / ".workbench-demo.json").is_file():
        return old
    return data_dir(platform) / "demo"


def migrate(platform: str | None = None) -> list[Path]:
    """Copy the old layout's config files into the platform's config folder, once; returns the files copied.

    Skipped when WORKBENCH_CONFIG_DIR names the folder (the user chose it), when the folders are the same (Linux,
    where the layout was already right), and after it has run once. A file already in the new place is kept."""
    if os.environ.get("WORKBENCH_CONFIG_DIR"):
        return []
    new, old = config_dir(platform), old_config_dir()
    marker = new / MIGRATED
    try:
        if marker.exists() or not old.is_dir() or old.resolve() == new.resolve():
            return []
        copied = []
        new.mkdir(parents=True, exist_ok=True)
        for name in CONFIG_FILES:
            if (old / name).is_file() and not (new / name).exists():
                shutil.copy2(old / name, new / name)
                copied.append(new / name)
        marker.write_text(json.dumps({"from": str(old), "copied": [p.name for p in copied]}, indent=1))
    except OSError:
        return []  # an unreadable old folder or an unwritable new one: the app works without the old files
    return copied
