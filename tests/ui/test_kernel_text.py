"""Copy a kernel as text and paste one in: rows of weights separated by spaces, tabs or
commas, fractions allowed, read by the cells' whitelist parser (never evaluated)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QGuiApplication

from playground.engine.errors import BankError
from playground.ui.kernel_editor.text import kernel_text, parse_kernel_text

WAIT_MS = 15_000

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.mark.parametrize(
    "text",
    [
        "0 1 0\n1 -4 1\n0 1 0",
        "0, 1, 0\n1, -4, 1\n0, 1, 0\n",
        "  0\t1\t0\r\n1\t-4\t1\r\n0\t1\t0  ",
        "[[0, 1, 0],\n [1, -4, 1],\n [0, 1, 0]]",  # numpy's printout
        "[0 1 0; 1 -4 1; 0 1 0]",  # MATLAB's
        "0 1 0\n\n1 \u22124 1\n0 1 0",  # a blank line and the typographic minus
        "0 2/2 0\n1 -8/2 1\n0 1/1 0",
    ],
)
def test_pasted_kernels_read_in_the_usual_spellings(text):
    expected = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)
    np.testing.assert_array_equal(parse_kernel_text(text, 31), expected)


def test_fractions_are_exact_divisions():
    kernel = parse_kernel_text("1/9 1/9 1/9\n1/9 1/9 1/9\n1/9 1/9 1/9", 31)
    assert kernel.shape == (3, 3) and np.all(kernel == 1 / 9)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no kernel"),
        ("1 2 3\n4 5", "row 2 has 2 weights but row 1 has 3"),
        ("1 2\n3 x", "row 2, column 2: 'x' is not a number"),
        ("1 2\n3 1/0", "row 2, column 2: division by zero"),
        ("__import__('os').system('true')", "is not a number"),
        ("1 nan", "not a finite number"),
        ("\n".join(" ".join(["1"] * 32) for _ in range(2)), "at most 31×31"),
        ("1 " * 60_000, "characters"),
    ],
)
def test_bad_text_is_refused_in_one_line(text, reason):
    with pytest.raises(BankError) as error:
        parse_kernel_text(text, 31)
    message = str(error.value)
    assert reason in message and "\n" not in message


def test_copied_text_reads_back_as_the_same_weights():
    rng = np.random.default_rng(2)
    kernel = rng.normal(size=(5, 7)) / 3
    kernel[0, 0], kernel[1, 1] = 1 / 9, -0.0
    np.testing.assert_array_equal(parse_kernel_text(kernel_text(kernel), 31), kernel)
    assert kernel_text(np.array([[0, 1, 0], [1, -4, 1]])) == "0\t1\t0\n1\t-4\t1"


def test_copy_and_paste_in_the_window_edit_the_bank(fresh_window, qtbot):
    window = fresh_window
    editor = window.kernel_editor
    layer, filt, channel = window.controller.selection
    before = np.asarray(window.controller.bank.layers[layer].filters[filt].kernels[channel])
    editor.buttons["copy-text"].click()
    assert QGuiApplication.clipboard().text() == kernel_text(before)

    QGuiApplication.clipboard().setText("1 2 3 2 1\n2 4 6 4 2\n3 6 9 6 3\n2 4 6 4 2\n1 2 3 2 1")
    editor.buttons["paste-text"].click()

    def pasted():
        kernels = window.controller.bank.layers[layer].filters[filt].kernels
        return kernels.shape[1:] == (5, 5)

    qtbot.waitUntil(pasted, timeout=WAIT_MS)
    kernels = np.asarray(window.controller.bank.layers[layer].filters[filt].kernels)
    np.testing.assert_array_equal(kernels[channel], np.outer([1, 2, 3, 2, 1], [1, 2, 3, 2, 1]))
    assert window.controller.document.undo_label()  # one undoable step

    QGuiApplication.clipboard().setText("1 2\n3")
    bank = window.controller.bank
    editor.buttons["paste-text"].click()
    assert window.controller.bank is bank  # refused: nothing changed
    assert editor.statusText().startswith("Paste: row 2 has 1 weight but row 1 has 2")
