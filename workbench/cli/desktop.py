"""`workbench install-desktop` and `workbench gui`: the desktop entry, and starting the window."""

from __future__ import annotations

import sys

EXIT_USER_ERROR = 2


def cmd_install_desktop(args) -> int:
    from workbench.core import desktop

    if args.uninstall:
        done = desktop.uninstall()
        for path in done.removed:
            print(f"removed {path}")
        for path in done.kept:
            print(f"kept {path} (changed since the workbench wrote it)")
        if not done.removed and not done.kept:
            print("nothing to remove: install-desktop has not installed anything here")
        return 0
    done = desktop.install(force=args.force)
    for path in done.written:
        print(f"wrote {path}")
    command = " ".join(desktop.launch_command())
    print(f"{len(done.written)} files written, {len(done.unchanged)} already up to date; the menu entry starts "
          f"{command}. Remove them with: {command} install-desktop --uninstall")
    return 0


def _start_gui(args) -> int:
    from workbench.gui.platform_check import message, missing_xcb_libraries

    missing = missing_xcb_libraries()
    if missing:
        print(message(missing), file=sys.stderr)
        return EXIT_USER_ERROR
    try:
        from workbench.gui.app import main as gui_main
    except ImportError as exc:
        print(f"workbench: the desktop window needs the GUI extras ({exc.name} is missing). "
              "Install them with: pip install -e '.[gui]'", file=sys.stderr)
        return EXIT_USER_ERROR
    return gui_main(getattr(args, "checkpoint", None), getattr(args, "demo", False))
