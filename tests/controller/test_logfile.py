"""The app's log file: what a launch from the menu (no terminal) leaves for someone to read."""

from __future__ import annotations

import logging
import sys
import warnings

from playground.controller.logfile import logging_to


def test_warnings_and_errors_go_to_the_file_and_not_to_stderr(capsys, tmp_path):
    path = tmp_path / "app data" / "filter-playground.log"
    with logging_to(path):
        logging.getLogger("playground.controller").info("routine detail")
        logging.getLogger("playground.controller").warning("camera 0 stopped delivering")
        logging.getLogger("pyqtgraph").error("an error from a library")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("overflow in a preview", RuntimeWarning, stacklevel=1)
    text = path.read_text(encoding="utf-8")
    assert "WARNING playground.controller: camera 0 stopped delivering" in text
    assert "ERROR pyqtgraph: an error from a library" in text
    assert "RuntimeWarning: overflow in a preview" in text
    assert "routine detail" not in text
    assert capsys.readouterr().err == ""


def test_verbose_sends_the_same_records_to_stderr(capsys, tmp_path):
    path = tmp_path / "filter-playground.log"
    with logging_to(path, verbose=True):
        logging.getLogger("playground").warning("no camera found")
    err = capsys.readouterr().err
    assert "WARNING playground: no camera found" in err
    assert "no camera found" in path.read_text(encoding="utf-8")


def test_uncaught_exception_is_logged_with_its_traceback(monkeypatch, tmp_path):
    path = tmp_path / "filter-playground.log"
    # Stands for Python's default hook (pytest-qt installs its own during tests).
    printed = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: printed.append(value))
    before = sys.excepthook
    with logging_to(path):
        try:
            raise ValueError("a slot failed")
        except ValueError:
            sys.excepthook(*sys.exc_info())
    assert sys.excepthook is before
    text = path.read_text(encoding="utf-8")
    assert "CRITICAL playground: uncaught exception" in text
    assert "Traceback" in text and "ValueError: a slot failed" in text
    # Without --verbose the terminal still gets the usual traceback, once.
    assert [str(e) for e in printed] == ["a slot failed"]


def test_an_unwritable_log_folder_does_not_stop_the_app(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with logging_to(blocker / "filter-playground.log"):
        logging.getLogger("playground").error("still reported")
    err = capsys.readouterr().err
    assert "cannot write the log" in err and "still reported" in err
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_handlers_are_removed_on_exit(tmp_path):
    root = logging.getLogger()
    before = list(root.handlers)
    with logging_to(tmp_path / "filter-playground.log", verbose=True):
        assert len(root.handlers) == len(before) + 2
    assert root.handlers == before
