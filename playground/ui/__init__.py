"""The Qt widgets: main window, kernel grid, feature-map panes, bank panel."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playground.ui.main_window import MainWindow

__all__ = ["MainWindow"]


def __getattr__(name: str) -> object:
    # Importing playground.ui stays cheap (no pyqtgraph) until the window is asked for.
    if name == "MainWindow":
        from playground.ui.main_window import MainWindow

        return MainWindow
    raise AttributeError(name)
