"""The workbench's log: a rotating file in the platform's log folder (core.folders.log_dir), an optional extra
file (--log-file), and with --verbose the debug lines on stderr too.

Every error a user is shown (the command line's message, the window's dialog) is logged here with its
traceback, so a user's one-line message can be matched to what happened; the user never sees the traceback.
Modules log through the standard `logging.getLogger(__name__)`; only this module installs handlers.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

LOGGER = "workbench"
LOG_NAME = "workbench.log"
MAX_BYTES = 1 << 20  # per file; with BACKUPS older files, the log never takes more than a few MB
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"
CONSOLE_FORMAT = "%(levelname)s %(name)s: %(message)s"
_MARK = "_workbench_handler"  # handlers this module installed, replaced by the next setup()

log = logging.getLogger(LOGGER)


def default_log_file() -> Path:
    from workbench.core import folders

    return folders.log_dir() / LOG_NAME


def _handler(handler: logging.Handler, level: int, form: str = FORMAT) -> logging.Handler:
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(form))
    setattr(handler, _MARK, True)
    return handler


def setup(verbose: bool = False, log_file: str | Path | None = None) -> Path | None:
    """Install the log's handlers (again: earlier ones of this module are removed); returns the rotating log's
    path, or None where its folder cannot be written (the app works on; the message still reaches the user)."""
    root = logging.getLogger(LOGGER)
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.setLevel(logging.DEBUG)
    root.propagate = False  # the user's own logging setup (a notebook's) does not print ours twice
    # Never logging's last resort (stderr) when no file can be written: the user sees the message only, once.
    root.addHandler(_handler(logging.NullHandler(), logging.DEBUG))
    level = logging.DEBUG if verbose else logging.INFO
    rotating: Path | None = default_log_file()
    try:
        assert rotating is not None
        rotating.parent.mkdir(parents=True, exist_ok=True)
        root.addHandler(_handler(logging.handlers.RotatingFileHandler(
            rotating, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True), level))
    except OSError:
        rotating = None
    if log_file:
        path = Path(log_file).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)  # an unwritable --log-file is the user's to fix: it raises
        root.addHandler(_handler(logging.FileHandler(path, encoding="utf-8"), logging.DEBUG))
    if verbose:
        # on stderr, tracebacks included: --verbose is what a user runs to see them
        root.addHandler(_handler(logging.StreamHandler(sys.stderr), logging.DEBUG, CONSOLE_FORMAT))
    return rotating


def ensure() -> Path | None:
    """setup() unless it ran already (the window started from the command line keeps its --verbose)."""
    if any(getattr(h, _MARK, False) for h in logging.getLogger(LOGGER).handlers):
        return current_log_file()
    return setup()


def current_log_file() -> Path | None:
    """The rotating log's path where setup() installed it, else where it would be."""
    for handler in logging.getLogger(LOGGER).handlers:
        if getattr(handler, _MARK, False) and isinstance(handler, logging.handlers.RotatingFileHandler):
            return Path(handler.baseFilename)
    return default_log_file()


def log_error(exc: BaseException, shown_as: str) -> None:
    """Log an error the user is shown (`shown_as`: where, e.g. "command line", "dialog") with its traceback."""
    user_error = _is_user_error(exc)
    log.log(logging.WARNING if user_error else logging.ERROR, "%s (%s): %s", type(exc).__name__, shown_as, exc,
            exc_info=(type(exc), exc, exc.__traceback__))


def _is_user_error(exc: BaseException) -> bool:
    from workbench.core.errors import WorkbenchError

    return isinstance(exc, WorkbenchError)
