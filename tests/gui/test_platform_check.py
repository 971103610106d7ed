"""The window's start names missing X11 libraries and their Debian packages instead of Qt's bare abort."""

from __future__ import annotations

from workbench.gui import platform_check as pc


def test_debian_package_names_follow_the_soname():
    assert pc.debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert pc.debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert pc.debian_package("libdbus-1.so.3") == "libdbus-1-3"


def test_missing_libraries_are_read_from_ldd(monkeypatch, tmp_path):
    plugin_dir = tmp_path / "PySide6" / "Qt" / "plugins" / "platforms"
    plugin_dir.mkdir(parents=True)
    (plugin_dir / "libqxcb.so").write_bytes(b"")
    origin = tmp_path / "PySide6" / "__init__.py"
    origin.write_text("")
    monkeypatch.setattr(pc.importlib.util, "find_spec", lambda name: type("S", (), {"origin": str(origin)}))
    monkeypatch.setattr(pc.shutil, "which", lambda name: "/usr/bin/ldd")
    out = ("\tlibxcb-cursor.so.0 => not found\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n"
           "\tlibxkbcommon-x11.so.0 => not found\n")
    monkeypatch.setattr(pc.subprocess, "run", lambda *a, **k: type("R", (), {"stdout": out}))
    monkeypatch.setattr(pc.sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert pc.missing_xcb_libraries() == ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"]
    text = pc.message(pc.missing_xcb_libraries())
    assert "apt-get install libxcb-cursor0 libxkbcommon-x11-0" in text
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert pc.missing_xcb_libraries() == []


def test_the_gui_command_stops_with_the_message(monkeypatch, capsys):
    from workbench import cli

    monkeypatch.setattr(pc, "missing_xcb_libraries", lambda: ["libxcb-cursor.so.0"])
    assert cli.main(["gui"]) == 2
    assert "libxcb-cursor0" in capsys.readouterr().err
