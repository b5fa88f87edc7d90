"""Large kernels: 15x15 and up fit the grid whole as a heat map (values on hover, typing
still works), and the Fit button zooms back to readable cells that scroll."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from playground.ui.kernel_editor import KernelEditor

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture
def editor(qtbot) -> KernelEditor:
    editor = KernelEditor()
    qtbot.addWidget(editor)
    editor.resize(330, 560)
    editor.show()
    qtbot.waitExposed(editor)
    return editor


def _scrolls(grid) -> bool:
    return grid.horizontalScrollBar().isVisible() or grid.verticalScrollBar().isVisible()


@pytest.mark.parametrize("size", [15, 31])
def test_a_large_kernel_fits_whole_as_a_heat_map(editor, qtbot, size):
    rng = np.random.default_rng(size)
    kernel = np.round(rng.uniform(-1, 1, (size, size)), 4)
    editor.setFilter(kernel[None], 0, ["gray"])
    grid = editor.grid
    qtbot.waitUntil(lambda: grid.cellSize() * size <= grid.width() and not _scrolls(grid))
    assert grid.cellSize() < grid.TEXT_CELL  # colour only, a heat map
    assert grid.cellText(0, 0) == ""
    # The exact weight is on hover.
    index = grid.model().index(3, 5)
    assert f"{kernel[3, 5]:g}" in grid.cellToolTip(index).replace("−", "-")
    # A double-click types into a cell too small to show its number.
    grid.setCurrentIndex(index)
    grid.edit(index)
    line = grid.findChild(QLineEdit, "weightEditor")
    assert line is not None and line.width() >= 72
    qtbot.keyClicks(line, "1/8")
    with qtbot.waitSignal(grid.kernelModel().kernelEdited) as edited:
        qtbot.keyClick(line, Qt.Key.Key_Return)
    assert edited.args[0][3, 5] == 1 / 8


def test_fit_off_gives_readable_cells_that_scroll(editor, qtbot):
    kernel = np.full((15, 15), 0.5)
    editor.setFilter(kernel[None], 0, ["gray"])
    grid = editor.grid
    qtbot.mouseClick(editor.buttons["fit"], Qt.MouseButton.LeftButton)
    assert not grid.fitsAll()
    qtbot.waitUntil(lambda: grid.cellSize() == grid.MIN_CELL, timeout=5000)
    qtbot.waitUntil(lambda: _scrolls(grid), timeout=5000)
    assert grid.cellText(0, 0) == "0.5"
    qtbot.mouseClick(editor.buttons["fit"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not _scrolls(grid), timeout=5000)
