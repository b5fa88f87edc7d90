"""Starting the desktop app, and its self-test."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from playground.assets import resource_path
from playground.controller.logfile import default_path, log, logging_to
from playground.ui import xcb

if TYPE_CHECKING:
    from playground.ui.main_window import MainWindow

# The course's 8x8 vertical-line image under the vertical line detector: every row of the 6x6
# feature map is this.
SELF_TEST_ROW = [0.0, 0.0, 3.0, 3.0, 0.0, 0.0]
SELF_TEST_SECONDS = 20.0
# An expected failure, as the command line's: one line on stderr, status 2.
EXIT_USAGE = 2


def _platform_problem(argv: Sequence[str] | None) -> str | None:
    """Why Qt's platform plugin will not load (missing system libraries), checked before
    QApplication, whose own message on that failure is misleading and ends in an abort."""
    if QApplication.instance() is not None:  # the plugin is loaded already
        return None
    return xcb.problem(list(argv if argv is not None else sys.argv)[1:])


def _name_app() -> None:
    # Static, so QStandardPaths finds the app-data folder (the log's) before QApplication exists.
    QApplication.setApplicationName("Filter Playground")
    QApplication.setOrganizationName("FilterPlayground")


def _report(problem: str) -> int:
    print(f"filter-playground: {problem}", file=sys.stderr)
    # Also in the log file: a launch from the menu has no stderr to read.
    _name_app()
    with logging_to(default_path()):
        log.error(problem)
    return EXIT_USAGE


def _application(argv: Sequence[str] | None) -> QApplication:
    _name_app()
    existing = QApplication.instance()
    # A QCoreApplication (tests of the controller) cannot show a window: make one that can.
    app = (
        existing
        if isinstance(existing, QApplication)
        else QApplication(list(argv if argv is not None else sys.argv))
    )
    # Matches the installed .desktop file, so desktops group the window under its launcher.
    app.setDesktopFileName("filter-playground")
    app.setWindowIcon(QIcon(str(resource_path("icons", "filter-playground.png"))))
    return app


def open_window(
    path: str | Path | None = None,
    open_camera: bool = True,
    settings: QSettings | None = None,
    autosave_dir: Path | None = None,
) -> MainWindow:
    """Create and show the main window, on ``path`` if given: an image, a video, a bank JSON or
    a snapshot PNG. A file asked for replaces the camera, which then is not opened at all."""
    from playground.ui.main_window import MainWindow

    window = MainWindow(
        open_camera=open_camera and path is None, settings=settings, autosave_dir=autosave_dir
    )
    window.show()
    if path is not None:
        window.open_path(path)
    return window


def run(
    argv: Sequence[str] | None = None,
    open_camera: bool = True,
    path: str | Path | None = None,
    verbose: bool = False,
) -> int:
    """Show the main window (on ``path`` if given) and run the event loop until it closes;
    returns the exit code. ``argv`` goes to QApplication (Qt's own options: -style, -platform,
    ...). Warnings and errors go to the log file, and to stderr too when ``verbose``."""
    problem = _platform_problem(argv)
    if problem:
        return _report(problem)
    _name_app()
    with logging_to(default_path(), verbose):
        app = _application(argv)
        _window = open_window(path, open_camera)  # referenced, so it lives until exec returns
        return app.exec()


def self_test(argv: Sequence[str] | None = None) -> int:
    """Open the real window on the vertical-line pattern with the bundled line detector and
    check the feature map it displays; prints one line, returns 0 (pass) or 1 (fail)."""
    from playground.engine.bankfile import load_bank
    from playground.ui.main_window import MainWindow

    problem = _platform_problem(argv)
    if problem:
        return _report(problem)
    app = _application(argv)
    with tempfile.TemporaryDirectory(prefix="filter-playground-self-test-") as tmp:
        # Its own settings, so a self-test never changes the user's window layout or last bank.
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, autosave_dir=Path(tmp) / "autosave")
        window.show()
        c = window.controller
        c.new_bank(load_bank(resource_path("banks", "vertical-line.json")))
        c.open_pattern("vertical-line")
        expected = np.array([[SELF_TEST_ROW] * len(SELF_TEST_ROW)], np.float32)
        started = time.monotonic()
        verdict: list[str] = []

        def check() -> None:
            result = c.last_result
            shown = result is not None and result.generation == c.generation
            outputs = c.outputs() if shown else []
            if outputs and outputs[0].shape == expected.shape:
                if np.allclose(outputs[0], expected, atol=1e-5):
                    verdict.append(
                        f"self-test passed: {c.source_description}, feature map rows "
                        f"{SELF_TEST_ROW} ({time.monotonic() - started:.2f} s)"
                    )
                else:
                    verdict.append(f"self-test FAILED: feature map {outputs[0][0].tolist()}")
            elif time.monotonic() - started > SELF_TEST_SECONDS:
                verdict.append(f"self-test FAILED: no feature map after {SELF_TEST_SECONDS:.0f} s")
            if verdict:
                window.close()
                app.quit()
            else:
                QTimer.singleShot(10, check)

        QTimer.singleShot(0, check)
        app.exec()
    print(verdict[0] if verdict else "self-test FAILED: the window closed early")
    return 0 if verdict and verdict[0].startswith("self-test passed") else 1
