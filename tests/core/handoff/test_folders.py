"""Platform folders through platformdirs (a fake platform shows the Windows and macOS layout on any machine), and the
one-time copy of the old Linux-layout trust store."""

from __future__ import annotations

import json

import pytest

from workbench.core import folders


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh home with no overrides: what a user's machine looks like."""
    for name in ("WORKBENCH_CONFIG_DIR", "WORKBENCH_DATA_DIR", "WORKBENCH_LOG_DIR", "XDG_CONFIG_HOME",
                 "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData" / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "AppData" / "Local"))
    import platformdirs.windows

    # off Windows, read the folders from APPDATA / LOCALAPPDATA as platformdirs does without ctypes and winreg
    monkeypatch.setattr(platformdirs.windows, "_RESOLVE_WIN_FOLDER", platformdirs.windows.get_win_folder_from_env_vars)
    return tmp_path


def test_each_platform_has_its_own_layout(home):
    assert folders.config_dir("win32") == home / "AppData" / "Roaming" / "conversion-workbench"
    assert folders.data_dir("win32") == home / "AppData" / "Roaming" / "conversion-workbench"
    assert folders.log_dir("win32").parts[-2:] == ("conversion-workbench", "Logs")
    assert folders.config_dir("darwin") == home / "Library" / "Application Support" / "conversion-workbench"
    assert folders.log_dir("darwin") == home / "Library" / "Logs" / "conversion-workbench"
    assert folders.config_dir("linux") == home / ".config" / "conversion-workbench"  # the same as before
    assert folders.data_dir("linux") == home / ".local" / "share" / "conversion-workbench"
    assert folders.demo_dir("darwin") == folders.data_dir("darwin") / "demo"


def test_environment_overrides(home, monkeypatch):
    monkeypatch.setenv("WORKBENCH_LOG_DIR", str(home / "elsewhere"))
    assert folders.log_dir("win32") == home / "elsewhere"


def test_an_old_trust_store_is_copied_once_on_macos(home, monkeypatch):
    from workbench.core.safety import trust

    old = home / ".config" / "conversion-workbench" / "trusted.json"
    old.parent.mkdir(parents=True)
    digest = "a" * 64
    old.write_text(json.dumps({"sha256": [digest]}))
    monkeypatch.setattr(folders.sys, "platform", "darwin")  # what trust.config_dir() asks platformdirs for
    new = home / "Library" / "Application Support" / "conversion-workbench"
    assert trust.is_trusted(digest)  # read from the new place, where the old store was copied
    assert (new / "trusted.json").is_file() and old.is_file()  # copied, never moved
    assert json.loads((new / folders.MIGRATED).read_text())["copied"] == ["trusted.json"]
    # once only: an entry added to the old store later is not copied again, and the new store is not replaced
    old.write_text(json.dumps({"sha256": [digest, "b" * 64]}))
    assert not trust.is_trusted("b" * 64)
    assert folders.migrate() == []


def test_no_copy_on_linux_or_with_an_override(home, monkeypatch):
    (home / ".config" / "conversion-workbench").mkdir(parents=True)
    (home / ".config" / "conversion-workbench" / "trusted.json").write_text('{"sha256": []}')
    assert folders.migrate("linux") == []  # the old layout is Linux's own
    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(home / "mine"))
    assert folders.migrate("darwin") == [] and not (home / "mine").exists()


def test_an_earlier_demo_stays_where_it_is(home):
    old = home / "workbench-demo"
    old.mkdir()
    (old / ".workbench-demo.json").write_text("{}")
    assert folders.demo_dir("win32") == old
