"""A kernel as text, to copy out of the editor and paste into it (ImageJ's Convolver takes a
pasted matrix the same way): one row per line, weights separated by spaces, tabs or commas,
fractions such as 1/9 allowed. Every weight goes through `kernel_ops.parse_weight`, the
whitelist parser the grid's cells use: pasted text is never evaluated.

Everything runs on the GUI thread, on text of at most `MAX_TEXT` characters.
"""

from __future__ import annotations

import re

import numpy as np

from playground.engine import kernel_ops
from playground.engine.errors import BankError

MAX_TEXT = 100_000
"""Longer clipboard text is refused unread: a 31x31 kernel spelled out at full precision is
about 20,000 characters."""

# Rows end at a newline or a semicolon (MATLAB's and ImageJ's row separator); brackets around
# rows or the whole matrix (numpy's and MATLAB's printouts) are dropped.
_ROWS = re.compile(r"[\n;]")
_SEPARATORS = re.compile(r"[\s,]+")


def kernel_text(kernel: np.ndarray) -> str:
    """The kernel as rows of tab-separated weights, each the shortest text that reads back as
    the same float64 (so a copy pasted back is exact)."""
    return "\n".join(
        "\t".join(np.format_float_positional(float(v), unique=True, trim="-") for v in row)
        for row in np.asarray(kernel, dtype=np.float64)
    )


def parse_kernel_text(text: str, max_side: int) -> np.ndarray:
    """Read a pasted kernel.

    Parameters
    ----------
    text : str
        Rows on lines (or separated by ';'), weights separated by spaces, tabs or commas.
    max_side : int
        The largest number of rows or columns accepted.

    Returns
    -------
    numpy.ndarray
        (rows, columns) float64.

    Raises
    ------
    BankError
        With a one-line reason: empty, too long, rows of different lengths, too large, or a
        weight that is not a number (naming its row and column).
    """
    if len(text) > MAX_TEXT:
        raise BankError(
            f"the pasted text has {len(text)} characters; a kernel has at most {MAX_TEXT}"
        )
    lines = [line.replace("[", " ").replace("]", " ").strip(" \t\r,") for line in _ROWS.split(text)]
    rows = [[w for w in _SEPARATORS.split(line) if w] for line in lines if line]
    if not rows:
        raise BankError("the clipboard holds no kernel: copy rows of weights such as 0 1 0")
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        first = len(rows[0])
        bad = next(i for i, row in enumerate(rows) if len(row) != first)
        raise BankError(
            f"row {bad + 1} has {len(rows[bad])} weight{'s' * (len(rows[bad]) != 1)} but "
            f"row 1 has {first}: "
            "every row needs as many"
        )
    if len(rows) > max_side or len(rows[0]) > max_side:
        raise BankError(
            f"the pasted kernel is {len(rows)}×{len(rows[0])}; at most {max_side}×{max_side}"
        )
    kernel = np.empty((len(rows), len(rows[0])))
    for i, row in enumerate(rows):
        for j, word in enumerate(row):
            try:
                kernel[i, j] = kernel_ops.parse_weight(word)
            except BankError as e:
                raise BankError(f"row {i + 1}, column {j + 1}: {e}") from None
    return kernel
