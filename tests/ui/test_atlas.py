"""The filter atlas: every filter of a layer as one tile, RGB filters in colour; a click on a
tile selects its filter."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from playground import Bank, ConvLayer, Filter, PoolLayer
from playground.ui.atlas import colour_tile, kernels_tile

WAIT_MS = 15_000

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture
def window(fresh_window):
    return fresh_window


def _bank(count: int = 64) -> Bank:
    rng = np.random.default_rng(5)
    first = tuple(
        Filter(rng.normal(size=(3, 5, 5)), 0.0, f"conv1.weight[{i}]") for i in range(count)
    )
    second = tuple(Filter(rng.normal(size=(count, 3, 3)), 0.0) for _ in range(4))
    return Bank((ConvLayer(first, padding="same"), PoolLayer(), ConvLayer(second)))


def test_64_imported_filters_are_one_view_of_tiles_and_a_click_selects(window, qtbot):
    window.controller.new_bank(_bank())
    window.controller.document.forget_saved()
    window.open_atlas()
    atlas = window.atlas
    assert atlas.tileCount() == 64
    assert "64 filters" in atlas.headerText() and "colour" in atlas.headerText()
    tiles = atlas.tilesWidget()
    qtbot.waitUntil(lambda: tiles.isVisible() and tiles.height() > 0, timeout=WAIT_MS)
    # All 64 fit the dock's view: no tile row runs past the visible area by more than a row.
    assert tiles.height() <= window.atlas_dock.height()
    qtbot.mouseClick(tiles, Qt.MouseButton.LeftButton, pos=atlas.tileCentre(9))
    assert window.controller.selection == (0, 9, 0)
    assert window.pane_grid.selected() == (0, 9)
    assert window.kernel_editor.isEnabled()


def test_a_colour_tile_is_the_three_kernels_as_red_green_and_blue():
    kernels = np.zeros((3, 2, 2))
    kernels[0, 0, 0] = 2.0  # red's weight at full scale
    kernels[1, 0, 1] = -2.0  # green's, negative at full scale
    kernels[2, 1, 1] = 1.0  # blue's at half scale
    tile = colour_tile(kernels, 2.0)
    assert tile.shape == (2, 2, 3)
    assert tuple(tile[0, 0]) == (255, 128, 128)
    assert tuple(tile[0, 1]) == (128, 0, 128)
    assert tuple(tile[1, 1]) == (128, 128, 191)
    assert tuple(tile[1, 0]) == (128, 128, 128)  # every weight 0: mid-grey


def test_a_deeper_layer_shows_its_filters_kernels_side_by_side(window, qtbot):
    bank = _bank(9)
    window.controller.new_bank(bank)
    window.controller.document.forget_saved()
    window.controller.select(2, 1, 0)
    window.open_atlas()
    assert window.atlas.tileCount() == 4
    assert "kernels side by side" in window.atlas.headerText()
    # Nine 3x3 kernels in a 3x3 grid with one pixel between them.
    kernels = np.asarray(bank.layers[2].filters[1].kernels)
    tile = kernels_tile(kernels, float(np.abs(kernels).max()))
    assert tile.shape == (11, 11, 3)
    window.controller.select(1, 0, 0)  # the pool layer
    assert window.atlas.tileCount() == 0
    assert "pool layer" in window.atlas.headerText()
