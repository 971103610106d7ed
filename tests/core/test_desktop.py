"""The desktop files (validated when the freedesktop validators are installed), the icons, `workbench
install-desktop` into a temporary XDG_DATA_HOME, `--version`, and the torchvision hint."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import torch
from PIL import Image

import workbench
from workbench.cli import main
from workbench.core import desktop
from workbench.core.errors import CheckpointError

DESKTOP_FILE = desktop.RESOURCES / f"{desktop.APP_ID}.desktop"
METAINFO = desktop.RESOURCES / f"{desktop.APP_ID}.metainfo.xml"


def _validate_desktop(path):
    exe = shutil.which("desktop-file-validate")
    if exe is None:
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils)")
    done = subprocess.run([exe, str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "error" not in done.stdout.lower(), done.stdout + done.stderr


def test_packaged_desktop_entry_is_valid():
    _validate_desktop(DESKTOP_FILE)


def test_metainfo_is_valid():
    exe = shutil.which("appstreamcli")
    if exe is None:
        pytest.skip("appstreamcli is not installed (apt-get install appstream)")
    done = subprocess.run([exe, "validate", "--no-net", str(METAINFO)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_metainfo_matches_the_package():
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == desktop.APP_ID
    assert root.findtext("launchable") == DESKTOP_FILE.name
    assert root.find("releases/release").get("version") == workbench.__version__  # bump both together


def test_icons_exist_at_every_size():
    ET.parse(desktop.icon_file())  # the SVG is well-formed XML
    for size in desktop.ICON_SIZES:
        with Image.open(desktop.icon_file(size)) as image:
            assert image.size == (size, size)
            assert image.mode == "RGBA"


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    home = tmp_path / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def test_install_writes_valid_entry_icons_and_metainfo(data_home):
    done = desktop.install(command=["/opt/my apps/workbench"])
    entry = data_home / "applications" / f"{desktop.APP_ID}.desktop"
    assert entry in done.written and len(done.written) == 2 + 1 + len(desktop.ICON_SIZES)
    text = entry.read_text()
    assert 'Exec="/opt/my apps/workbench" gui %f' in text
    assert "TryExec=/opt/my apps/workbench" in text
    assert (data_home / "icons/hicolor/48x48/apps" / f"{desktop.APP_ID}.png").read_bytes() == \
        desktop.icon_file(48).read_bytes()
    assert (data_home / "metainfo" / METAINFO.name).read_bytes() == METAINFO.read_bytes()
    _validate_desktop(entry)


def test_install_again_writes_nothing(data_home):
    desktop.install(command=["/usr/bin/workbench"])
    again = desktop.install(command=["/usr/bin/workbench"])
    assert again.written == [] and len(again.unchanged) == 2 + 1 + len(desktop.ICON_SIZES)


def test_install_never_replaces_a_file_it_did_not_write_unless_forced(data_home):
    foreign = data_home / "applications" / f"{desktop.APP_ID}.desktop"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("[Desktop Entry]\nName=someone else's\n")
    with pytest.raises(desktop.DesktopInstallError) as err:
        desktop.install(command=["/usr/bin/workbench"])
    assert str(foreign) in str(err.value) and "--force" in str(err.value)
    assert foreign.read_text() == "[Desktop Entry]\nName=someone else's\n"
    assert not (data_home / "metainfo").exists()  # refused before writing anything
    desktop.install(force=True, command=["/usr/bin/workbench"])
    assert "Exec=/usr/bin/workbench gui %f" in foreign.read_text()


def test_uninstall_removes_only_what_it_wrote(data_home):
    desktop.install(command=["/usr/bin/workbench"])
    neighbour = data_home / "applications" / "other.desktop"
    neighbour.write_text("[Desktop Entry]\n")
    edited = data_home / "icons/hicolor/16x16/apps" / f"{desktop.APP_ID}.png"
    edited.write_bytes(b"the user's own icon")
    done = desktop.uninstall()
    assert edited in done.kept and edited.read_bytes() == b"the user's own icon"
    assert neighbour.exists()
    assert len(done.removed) == 1 + 1 + len(desktop.ICON_SIZES)
    assert not (data_home / "applications" / f"{desktop.APP_ID}.desktop").exists()
    assert desktop.uninstall().removed == []  # the manifest is gone with the files


def test_uninstall_ignores_a_manifest_path_outside_the_data_home(data_home, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (data_home / desktop.MANIFEST).parent.mkdir(parents=True)
    digest = desktop._sha256(b"keep me")
    (data_home / desktop.MANIFEST).write_text(json.dumps({"files": {"../victim.txt": digest}}))
    desktop.uninstall()
    assert victim.read_text() == "keep me"


def test_relative_xdg_data_home_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", "relative/share")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert desktop.data_home() == tmp_path / ".local" / "share"


def test_cli_install_desktop_and_uninstall(data_home, capsys):
    assert main(["install-desktop"]) == 0
    out = capsys.readouterr().out
    assert "files written" in out and (data_home / "applications" / DESKTOP_FILE.name).exists()
    # the removal hint names the same program the menu entry starts, which works outside an activated venv
    assert f"{' '.join(desktop.launch_command())} install-desktop --uninstall" in out
    (data_home / "applications" / DESKTOP_FILE.name).write_text("[Desktop Entry]\n")
    assert main(["install-desktop"]) == 2  # refused, a user's message, no traceback
    assert "--force" in capsys.readouterr().err
    assert main(["install-desktop", "--uninstall"]) == 0
    assert "changed since" in capsys.readouterr().out


def test_version_flag_prints_the_package_version(capsys):
    assert main(["--version"]) == 0  # main returns argparse's exit status to scripts instead of raising
    out = capsys.readouterr().out
    assert out.startswith(f"workbench {workbench.__version__} ") and "torch" in out


def test_version_flag_from_the_console():
    done = subprocess.run([sys.executable, "-m", "workbench", "--version"], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0 and workbench.__version__ in done.stdout


def _fake_resnet_state():
    return {"conv1.weight": torch.zeros(4, 3, 3, 3), "layer4.0.conv1.weight": torch.zeros(4, 4, 3, 3),
            "fc.weight": torch.zeros(1, 4), "fc.bias": torch.zeros(1)}


def test_torchvision_weights_without_torchvision_say_to_install_it(tmp_path, monkeypatch):
    from workbench.core.open.load import load_checkpoint

    monkeypatch.setitem(sys.modules, "torchvision", None)  # `import torchvision` raises ImportError
    path = tmp_path / "resnet_regressor.pt"
    torch.save(_fake_resnet_state(), path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    message = str(err.value)
    assert str(path) in message and "torchvision is not installed" in message
    assert "pip install" in message and "resnet18" in message


def test_linear_weights_with_torchvision_like_names_still_rebuild_as_an_mlp(monkeypatch):
    from workbench.core.open.architectures import mlp_from_state_dict, torchvision_from_state_dict

    monkeypatch.setitem(sys.modules, "torchvision", None)
    state = {"features.0.weight": torch.zeros(8, 4), "features.0.bias": torch.zeros(8),
             "classifier.6.weight": torch.zeros(1, 8), "classifier.6.bias": torch.zeros(1)}
    assert torchvision_from_state_dict(state) is None
    assert mlp_from_state_dict(state) is not None
