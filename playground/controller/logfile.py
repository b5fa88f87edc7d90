"""The app's log: warnings, errors and uncaught exceptions, in a file in the app-data folder.

A launch from the desktop menu has no terminal, so whatever goes only to stderr is lost; the
file keeps it. ``--verbose`` sends the same records to stderr as well.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QStandardPaths

LOG_NAME = "filter-playground.log"
# A few sessions' worth of warnings; older text rotates out instead of growing without bound.
MAX_BYTES = 1_000_000
BACKUPS = 2
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

log = logging.getLogger("playground")


def default_path() -> Path:
    """The log file: in the per-user app-data folder, beside the autosave folder."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".filter-playground") / LOG_NAME


@contextlib.contextmanager
def logging_to(path: Path, verbose: bool = False) -> Iterator[None]:
    """Send warnings and errors (Python's ``warnings`` included) to ``path``, and to stderr too
    when ``verbose``; log uncaught exceptions. Everything is undone on exit."""
    root = logging.getLogger()
    handlers: list[logging.Handler] = []
    problem = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # delay: no empty file until there is something to say.
        handlers.append(
            logging.handlers.RotatingFileHandler(
                path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
            )
        )
    except OSError as e:
        # The app still starts without its log; say so where someone may see it.
        problem = f"cannot write the log {path}: {e.strerror or e}"
    to_stderr = verbose or problem is not None
    if to_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    old_level = root.level
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    previous_hook = sys.excepthook

    def log_uncaught(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        # Qt calls this for an exception in a slot and carries on; the window stays open.
        log.critical("uncaught exception", exc_info=(kind, value, tb))
        if not to_stderr:  # else the stderr handler has printed it already
            previous_hook(kind, value, tb)

    sys.excepthook = log_uncaught
    logging.captureWarnings(True)
    if problem:
        log.warning(problem)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        sys.excepthook = previous_hook
        root.setLevel(old_level)
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
