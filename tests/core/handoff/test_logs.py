"""The log: every error the command line shows is logged with its traceback; stderr has the message only."""

from __future__ import annotations

import logging

import pytest

from workbench import logs
from workbench.cli import main


@pytest.fixture(autouse=True)
def _detach_log():
    yield
    for handler in list(logging.getLogger(logs.LOGGER).handlers):  # later tests log nowhere unless they set up
        logging.getLogger(logs.LOGGER).removeHandler(handler)
        handler.close()


def _log_text() -> str:
    return logs.default_log_file().read_text(encoding="utf-8")


def test_a_users_mistake_is_logged_with_its_traceback(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "no-such-export"), "--data", "sklearn:iris"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("workbench: ") and "Traceback" not in err
    text = _log_text()
    assert "(command line)" in text and "Traceback (most recent call last)" in text
    assert str(tmp_path / "no-such-export") in text
    assert " DEBUG " not in text  # debug lines only with --verbose


def test_a_bug_is_logged_and_the_message_names_the_log(tmp_path, capsys, monkeypatch):
    import workbench.cli as cli

    def broken(args):
        raise RuntimeError("forced for the test")

    monkeypatch.setattr(cli, "cmd_inspect", broken)
    assert main(["inspect", str(tmp_path / "x.pt")]) == 1
    err = capsys.readouterr().err
    assert "forced for the test" in err and str(logs.default_log_file()) in err and "Traceback" not in err
    text = _log_text()
    assert "Traceback (most recent call last)" in text and "in broken" in text and "RuntimeError" in text


def test_verbose_and_log_file(tmp_path, capsys):
    extra = tmp_path / "mine.log"
    args = ["evaluate", str(tmp_path / "none"), "--data", "sklearn:iris", "--verbose", "--log-file", str(extra)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "DEBUG workbench: workbench evaluate" in err  # the command line itself, at debug level, on stderr
    assert "Traceback (most recent call last)" in extra.read_text() and "DEBUG" in extra.read_text()


def test_an_unwritable_log_folder_is_not_fatal(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("WORKBENCH_LOG_DIR", str(blocker / "logs"))
    assert logs.setup() is None
    assert main(["evaluate", str(tmp_path / "none"), "--data", "sklearn:iris"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("workbench: ") and err.count("\n") == 1  # the message alone, not logging's last resort
