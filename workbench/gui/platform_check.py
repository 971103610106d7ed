"""Before Qt starts: name the system libraries its X11 platform plugin cannot find, with the packages to install.

Without them Qt aborts the process with a message about the "xcb" plugin that does not say what to install.
Reads the plugin's dependencies with `ldd`; imports nothing from Qt, so it cannot trigger the abort itself.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path


def debian_package(soname: str) -> str:
    """Debian's name for the package of a shared library: libxcb-cursor.so.0 -> libxcb-cursor0,
    libxkbcommon-x11.so.0 -> libxkbcommon-x11-0 (a hyphen where the name ends in a digit)."""
    match = re.match(r"(.+?)\.so\.(\d+)", soname)
    if not match:
        return soname
    name, version = match.groups()
    return f"{name}{'-' if name[-1].isdigit() else ''}{version}"


def missing_xcb_libraries() -> list[str]:
    """Shared libraries the xcb platform plugin needs and the system lacks (empty when all are there, when Qt
    will not use xcb, or when it cannot be told)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or (platform and not platform.startswith("xcb")):
        return []
    if not platform and not os.environ.get("DISPLAY"):
        return []  # Wayland or no display: Qt picks another plugin or says so itself
    spec = importlib.util.find_spec("PySide6")
    ldd = shutil.which("ldd")
    if spec is None or spec.origin is None or ldd is None:
        return []
    plugin = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file():
        return []
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.split()[0] for line in out.splitlines() if "not found" in line})


def message(missing: list[str]) -> str:
    """What to tell a user whose system lacks Qt's X11 libraries: the apt-get line, and that the CLI works."""
    packages = " ".join(sorted({debian_package(lib) for lib in missing}))
    return (f"workbench: the desktop window cannot start: Qt's X11 platform plugin needs system libraries that are "
            f"not installed ({', '.join(missing)}). On Debian or Ubuntu install them with: sudo apt-get install "
            f"{packages} (other Linux distributions name the same libraries similarly). The command line "
            "(workbench convert, inspect, evaluate) works without them.")
