"""Every weight of a grid is shown at one precision, whatever its sign and the cell size.

The finding: in 7x7 kernels -0.667 showed as "-0.7" while 0.667 showed as "0.67".
"""

from __future__ import annotations

import numpy as np
import pytest

from playground.ui.kernel_editor import KernelEditor, spell_grid, spell_weight

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.mark.parametrize("width", [240, 300, 360, 420, 520, 700])
@pytest.mark.parametrize("size", [3, 5, 7, 9, 11, 15])
def test_signed_weights_share_one_precision_in_the_grid(qtbot, size, width):
    rng = np.random.default_rng(size)
    kernel = np.round(rng.uniform(-1, 1, (size, size)), 6)
    kernel[0, 0], kernel[0, 1] = -2 / 3, 2 / 3
    editor = KernelEditor()
    qtbot.addWidget(editor)
    editor.resize(width, width + 200)
    editor.show()
    editor.setFilter(kernel[None], 0, ["gray"])
    qtbot.waitExposed(editor)
    grid = editor.grid
    texts = [[grid.cellText(r, c) for c in range(size)] for r in range(size)]
    if grid.cellSize() < grid.TEXT_CELL:
        # Too small for numbers: a heat map, every value in the tooltip, no half-written text.
        assert all(t == "" for row in texts for t in row)
        return
    neg, pos = texts[0][0], texts[0][1]
    assert neg == "-" + pos  # -0.667 and 0.667 read the same but for the sign
    # One precision for all: every text is the weight at the same number of digits.
    assert any(
        all(texts[r][c] == spell_weight(kernel[r, c], d) for r in range(size) for c in range(size))
        for d in (3, 2, 1)
    ), texts


def test_spelling_keeps_exact_integers_and_shortens_evenly():
    assert spell_weight(-2.0, 1) == "-2"
    assert spell_weight(1 / 9, 3) == "0.111"
    assert spell_weight(-2 / 3, 2) == "-0.67"
    assert spell_weight(-0.0011, 2) == "-0.0011"
    assert spell_weight(1.5e-5, 2) == "1.5e-5"
    texts, digits = spell_grid(np.array([[-2 / 3, 2 / 3, 1.0]]), lambda t: len(t) <= 5)
    assert (texts, digits) == (["-0.67", "0.67", "1"], 2)
