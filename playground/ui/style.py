"""The palette and the number formats every view shares: one place to change how things look."""

from __future__ import annotations

import math

import numpy as np

NEGATIVE = (33, 102, 172)
NEUTRAL = (247, 247, 247)
POSITIVE = (178, 24, 43)
# ColorBrewer RdBu (7 classes, reversed): blue for negative, near-white for 0, red for positive.
# Perceptually ordered and readable by the common colour-vision deficiencies. Rows are
# (value / max |value|, r, g, b); kernels, maps and plots all use it, so a weight and the map it
# makes share their colours.
DIVERGING_STOPS = np.array(
    [
        [-1.0, *NEGATIVE],
        [-0.6, 103, 169, 207],
        [-0.25, 209, 229, 240],
        [0.0, *NEUTRAL],
        [0.25, 253, 219, 199],
        [0.6, 239, 138, 98],
        [1.0, *POSITIVE],
    ]
)
# Curves that carry no sign (the learner's loss) take the palette's blue.
CURVE = NEGATIVE


def diverging_lut() -> np.ndarray:
    """The diverging palette as a (256, 3) uint8 lookup table, lowest level first.

    The panes pack it into 32-bit colours once (see ``panes.pane._MapImage``), so a map's uint8
    levels index it directly.
    """
    t = np.linspace(-1.0, 1.0, 256)
    rgb = np.stack([np.interp(t, DIVERGING_STOPS[:, 0], DIVERGING_STOPS[:, c]) for c in (1, 2, 3)])
    return np.ascontiguousarray(np.rint(rgb.T).astype(np.uint8))


def short_number(value: float) -> str:
    """Short human number for the readouts: 3 significant digits, no exponent below a million."""
    if not math.isfinite(value):
        return str(value)
    if 1000 <= abs(value) < 1e6:
        return f"{value:.0f}"
    text = f"{value:.3g}"
    return "0" if text == "-0" else text


def sum_number(value: float) -> str:
    """Four significant digits for the probe's sums, exponents for the tiny and the huge."""
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


def cell_number(value: float) -> str:
    """Three significant digits in the probe's tables: enough to follow the sums, narrow enough
    that three 3x3 tables fit the dock side by side. The sums below them carry four."""
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.1e}"
    return f"{value:.3g}"
