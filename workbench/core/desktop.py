"""The application as a desktop citizen: its id, icon files, versions, and the per-user desktop install.

`install()` puts the freedesktop entry, the AppStream metainfo and the icons under $XDG_DATA_HOME (default
~/.local/share), with the entry's Exec pointing at this very installation. A manifest records each file
written and its hash, so `uninstall()` removes exactly those files (and only while they are unchanged), and
`install()` never replaces a file it did not write unless told to (`force`).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.errors import WorkbenchError
from workbench.core.safety.atomic import write_bytes_atomic, write_text_atomic

APP_ID = "io.github.conversionworkbench.ConversionWorkbench"
RESOURCES = Path(__file__).resolve().parent.parent / "resources"
ICONS = RESOURCES / "icons"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
MANIFEST = Path("conversion-workbench") / "desktop-install.json"  # under the data home
# Characters that force an Exec argument into double quotes (Desktop Entry Specification, "The Exec key").
_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


class DesktopInstallError(WorkbenchError):
    """The desktop files cannot be installed or removed as asked."""


def icon_file(size: int | None = None) -> Path:
    """The packaged icon: the PNG of `size` pixels, or the SVG when size is None."""
    if size is None:
        return ICONS / "conversion-workbench.svg"
    return ICONS / f"conversion-workbench-{size}.png"


def versions() -> dict[str, str]:
    """The workbench, Python, torch and torchvision versions, read without importing torch when possible."""
    from importlib import metadata

    from workbench import __version__

    found = {"workbench": __version__, "python": platform.python_version()}
    for name in ("torch", "torchvision"):
        module = sys.modules.get(name)
        version = getattr(module, "__version__", None)
        if version:  # once imported, its own string says +cpu or +cu130
            found[name] = str(version)
            continue
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def data_home() -> Path:
    value = os.environ.get("XDG_DATA_HOME", "")
    # The spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    return Path(value) if value and os.path.isabs(value) else Path.home() / ".local" / "share"


def launch_command() -> list[str]:
    """How a desktop launcher starts this installation: the frozen program, the `workbench` script next to this
    Python (a virtual environment's bin/, which is rarely on a launcher's PATH), or `python -m workbench`."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    beside = Path(sys.executable).with_name("workbench.exe" if os.name == "nt" else "workbench")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("workbench")
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "workbench"]


def _exec_quote(arg: str) -> str:
    if arg and not (set(arg) & _EXEC_RESERVED):
        quoted = arg
    else:
        quoted = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
    # Then the key-file layer: a backslash in any string value is written \\, and a literal % is %%.
    return quoted.replace("\\", "\\\\").replace("%", "%%")


def desktop_entry(command: list[str] | None = None) -> str:
    """The packaged .desktop entry with Exec (and TryExec) pointing at `command` (default: this installation)."""
    command = command or launch_command()
    lines = []
    for line in (RESOURCES / f"{APP_ID}.desktop").read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            # TryExec hides the entry once this installation is gone (a deleted virtual environment).
            lines.append("TryExec=" + command[0].replace("\\", "\\\\"))
            line = "Exec=" + " ".join(_exec_quote(a) for a in command) + " gui %f"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _planned(command: list[str] | None) -> dict[Path, bytes]:
    """Each file to install, relative to the data home, with its content."""
    files = {Path("applications") / f"{APP_ID}.desktop": desktop_entry(command).encode("utf-8"),
             Path("metainfo") / f"{APP_ID}.metainfo.xml": (RESOURCES / f"{APP_ID}.metainfo.xml").read_bytes(),
             Path("icons/hicolor/scalable/apps") / f"{APP_ID}.svg": icon_file().read_bytes()}
    for size in ICON_SIZES:
        files[Path(f"icons/hicolor/{size}x{size}/apps") / f"{APP_ID}.png"] = icon_file(size).read_bytes()
    return files


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str | None:
    try:
        return _sha256(path.read_bytes())
    except OSError:
        return None


def _read_manifest(home: Path) -> dict[str, str]:
    try:
        files = json.loads((home / MANIFEST).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def _write_manifest(home: Path, files: dict[str, str]) -> None:
    path = home / MANIFEST
    if not files:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps({"app_id": APP_ID, "files": dict(sorted(files.items()))}, indent=1))


@dataclass
class Outcome:
    """What install() or uninstall() did, each as absolute paths."""

    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # changed since the workbench wrote them; left in place


def install(force: bool = False, command: list[str] | None = None, home: Path | None = None) -> Outcome:
    """Write the desktop entry, metainfo and icons for the current user; atomic, file by file."""
    home = home or data_home()
    planned = _planned(command)
    manifest = _read_manifest(home)
    foreign = [home / rel for rel in planned
               if (home / rel).exists() and _file_sha256(home / rel) != manifest.get(str(rel))]
    if foreign and not force:
        raise DesktopInstallError(
            "these files exist and were not written by the workbench (or were changed since): "
            + ", ".join(map(str, foreign)) + ".",
            "Move them away, or run `workbench install-desktop --force` to replace them.")
    outcome = Outcome()
    for rel, data in planned.items():
        target = home / rel
        if _file_sha256(target) == _sha256(data):
            outcome.unchanged.append(target)
        else:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DesktopInstallError(f"the folder cannot be created ({exc.strerror or exc}).",
                                          "Check that you can write to it.", target.parent) from None
            write_bytes_atomic(target, data)
            outcome.written.append(target)
        manifest[str(rel)] = _sha256(data)
        _write_manifest(home, manifest)  # after every file, so a failure half-way still knows what it wrote
    return outcome


def uninstall(home: Path | None = None) -> Outcome:
    """Remove what install() wrote, only where the file is still the one it wrote."""
    home = home or data_home()
    manifest = _read_manifest(home)
    outcome = Outcome()
    for rel, digest in list(manifest.items()):
        target = home / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            del manifest[rel]  # not a path install() writes; never follow it out of the data home
            continue
        current = _file_sha256(target)
        if current == digest:
            target.unlink()
            outcome.removed.append(target)
        elif current is not None:
            outcome.kept.append(target)
        del manifest[rel]
        _write_manifest(home, manifest)
    return outcome
