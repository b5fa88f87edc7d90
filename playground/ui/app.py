"""Starting the desktop app."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication


def run(argv: Sequence[str] | None = None, open_camera: bool = True) -> int:
    """Show the main window and run the event loop until it closes; returns the exit code."""
    from playground.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(list(argv if argv is not None else sys.argv))
    app.setApplicationName("Filter Playground")
    app.setOrganizationName("FilterPlayground")
    window = MainWindow(open_camera=open_camera)
    window.show()
    return app.exec()
