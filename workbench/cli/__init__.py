"""The `workbench` command: the same jobs as the window, headless (inspect, convert, evaluate, compare, demo).

Each sub-command is a module here that binds flags to the session's commands (`workbench.core.workflow`). A
user's mistake ends with a one-paragraph message on stderr and exit status 2, never a traceback. With no
sub-command it starts the desktop window.
"""

from __future__ import annotations

import argparse
import sys

from workbench.cli.compare_runs import cmd_compare
from workbench.cli.convert import EXPORT_FILES, cmd_convert
from workbench.cli.demo import cmd_demo
from workbench.cli.desktop import EXIT_USER_ERROR, _start_gui, cmd_install_desktop
from workbench.cli.evaluate import cmd_evaluate
from workbench.cli.inspect_model import cmd_inspect
from workbench.cli.options import _recipe_from_args, _recipe_options, _Usage
from workbench.cli.output import _summary
from workbench.cli.parser import build_parser
from workbench.cli.probe import cmd_probe

__all__ = ["main", "build_parser", "EXIT_USER_ERROR", "EXPORT_FILES", "_recipe_from_args", "_recipe_options",
           "_summary"]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the problem; scripts get the status back
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    _start_log(args, sys.argv[1:] if argv is None else argv)
    commands = {"inspect": cmd_inspect, "convert": cmd_convert, "evaluate": cmd_evaluate, "demo": cmd_demo,
                "compare": cmd_compare, "probe": cmd_probe, "install-desktop": cmd_install_desktop}
    try:
        if args.command in commands:
            code = commands[args.command](args)
            sys.stdout.flush()  # a reader that left (`| head`) is found here, not at exit where it cannot be caught
            return code
        return _start_gui(args)
    except BrokenPipeError:
        return _reader_left()
    except _Usage as exc:
        from workbench import logs

        logs.log_error(exc, "command line")
        commands_of = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        commands_of.choices.get(args.command, parser).print_usage(sys.stderr)  # the sub-command's usage
        print(f"workbench: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - reported below, never as a raw traceback
        return _report(exc)


def _start_log(args, argv: list[str]) -> None:
    """The rotating log, --log-file and --verbose (every sub-command has them); an unwritable --log-file is said
    and the command goes on."""
    from workbench import logs

    try:
        logs.setup(getattr(args, "verbose", False), getattr(args, "log_file", None))
    except OSError as exc:
        logs.setup(getattr(args, "verbose", False))
        print(f"warning: the log file {args.log_file} cannot be written ({exc.strerror or exc}); logging to "
              f"{logs.current_log_file()} only.", file=sys.stderr)
    logs.log.debug("workbench %s", " ".join(argv))


def _reader_left() -> int:
    """stdout's reader closed the pipe (`workbench inspect --json | head`): no bug, nothing to report. As Python's
    "Note on SIGPIPE" advises, stdout goes to devnull so the flush at exit cannot fail again; the status is the
    shell's for a command ended by SIGPIPE (128 + 13), as `yes | head` gives."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # a stdout with no file descriptor (a test's capture)
        pass
    return 141


def _report(exc: Exception) -> int:
    """A user's mistake: its message and exit 2. Anything else is a bug: a short note naming the log, which holds
    the traceback. Both are logged with their traceback; stderr gets the message only."""
    from workbench import logs
    from workbench.core.errors import WorkbenchError

    logs.log_error(exc, "command line")
    if isinstance(exc, WorkbenchError):
        print(f"workbench: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    log = logs.current_log_file()
    kept = f" with the log {log}" if log is not None and log.is_file() else ""
    print(f"workbench: internal error ({type(exc).__name__}: {exc}). This is a bug, not your mistake; "
          f"please report it{kept}.", file=sys.stderr)
    return 1
