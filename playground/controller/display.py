"""What a pane shows of a map, and how: reduction, value ranges, round-off, levels, clipping.

No Qt here: the compute worker reduces every map and measures it, and the panes (GUI thread)
pick their levels and count clipped pixels with the same functions, on display-size maps only.
A shown map travels as one `ShownMap`, never as parallel lists unpacked by index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from playground.engine.bank import Bank, ConvLayer, Run

LEVELS_MODES = ("auto", "symmetric", "fixed")

# Panes shown per layer, and in all. A pane costs the GUI thread about 7 ms to create and lay
# out, so a bank of 1024 filters and 63 pools (65,536 maps) froze the window for minutes; past
# these counts a layer says how many more maps it has, and they are not reduced for display
# either. 64 keeps a trained first layer (64 filters) whole; 128 in all is under a second.
MAX_PANES_PER_LAYER = 64
MAX_PANES = 128

# A map counts as signed (auto style: diverging, symmetric) when its minimum is below this fraction
# of its largest magnitude: float32 rounding in a sum of non-negative terms can leave a -1e-8 that
# must not flip a grey map to the diverging colours.
_SIGN_TOLERANCE = 1e-5

# float32 sums of products carry a relative error of a few units of float32's resolution per
# term; a map whose whole spread is below this many of them, relative to the magnitude of the
# terms that made it, holds round-off and nothing else.
_ROUND_OFF_ULPS = 8.0
_EPS32 = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class ShownMap:
    """One map as a pane shows it. Made on the compute worker; never written to afterwards.

    Attributes
    ----------
    display : np.ndarray or None
        The map reduced to about the pane's on-screen size (`reduce_for_display`): float32
        H_d x W_d, or RGB uint8 H x W x 3 for the source frame. None when the map's pane was
        off screen: nobody saw it, so the worker did not reduce it.
    full : np.ndarray
        The full-resolution map, for the hover readout and its pixel coordinates.
    value_range : (float, float)
        The finite min and max of `full` (`finite_range`); (0, 255) for an RGB frame.
    floor : float
        The map's float32 round-off (`round_off_floors`): values within it read as zero.
    """

    display: np.ndarray | None
    full: np.ndarray
    value_range: tuple[float, float]
    floor: float = 0.0


def reduce_for_display(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Shrink a map (or RGB frame) to about ``size`` = (width, height), keeping its aspect.

    The shrink factor is a whole number, which takes OpenCV's fast area path (5 to 30 times
    faster than a fractional factor at 720p): the result is between 2/3 and 3/2 of ``size``,
    and pyqtgraph scales it the rest of the way. Each display pixel is the mean of a
    factor x factor block (thin edges fade rather than alias); the last rows and columns that
    do not fill a block (fewer than factor) are left out. Maps that already fit come back as
    they are: the pane shows them with crisp nearest-neighbour pixels.
    """
    h, w = image.shape[:2]
    scale = min(size[0] / w, size[1] / h)
    factor = min(round(1.0 / scale), h, w) if scale < 1.0 else 1
    if factor <= 1:
        return np.ascontiguousarray(image)
    rows, cols = h // factor, w // factor
    block = image[: rows * factor, : cols * factor]
    return cv2.resize(block, (cols, rows), interpolation=cv2.INTER_AREA)


def shown_counts(channels: Sequence[int]) -> list[int]:
    """How many of each layer's ``channels`` maps get a pane: the first ones, at most
    MAX_PANES_PER_LAYER a layer and MAX_PANES in all, earlier layers first."""
    counts = []
    left = MAX_PANES
    for c in channels:
        shown = min(c, MAX_PANES_PER_LAYER, left)
        counts.append(shown)
        left -= shown
    return counts


def finite_range(values: np.ndarray) -> tuple[float, float]:
    """Min and max of a map, ignoring NaN and infinity; (0, 0) when nothing is finite."""
    lo = float(values.min())
    hi = float(values.max())
    if math.isfinite(lo) and math.isfinite(hi):
        return lo, hi
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 0.0
    return float(finite.min()), float(finite.max())


def round_off_floors(
    bank: Bank, run: Run, ranges: list[list[tuple[float, float]]]
) -> list[list[float]]:
    """Per layer, per map: the size of float32 round-off in that map. Runs on the worker thread.

    A conv map's round-off grows with the magnitude of what it sums, sum_c |K_c|_1 * max|x_c|
    plus the bias, and it carries the round-off of its inputs through the same weights. Pools
    pass their inputs' round-off on. Values within it are indistinguishable from zero.
    """
    magnitude = [max(abs(float(p.min())), abs(float(p.max()))) for p in run.inputs]
    floor = [_EPS32 * m for m in magnitude]
    floors: list[list[float]] = []
    for layer, layer_ranges in zip(bank.layers, ranges):
        if isinstance(layer, ConvLayer):
            out = []
            for f in layer.filters:
                l1 = np.abs(f.kernels).sum(axis=(1, 2))
                terms = float(l1 @ np.asarray(magnitude)) + abs(f.bias)
                out.append(_ROUND_OFF_ULPS * _EPS32 * terms + float(l1 @ np.asarray(floor)))
            floor = out
        floors.append(list(floor))
        magnitude = [max(abs(lo), abs(hi)) for lo, hi in layer_ranges]
    return floors


def shown_range(value_range: tuple[float, float], floor: float) -> tuple[float, float]:
    """The range a pane shows: a spread within round-off is flat, and values within it are 0.

    Auto levels stretch whatever spread a map has to full contrast; without this a filter
    that does not respond at all (sobel-y on vertical bars) shows bold stripes of 1e-8.
    """
    lo, hi = value_range
    if hi - lo <= floor:
        mid = (lo + hi) / 2
        return (0.0, 0.0) if abs(mid) <= floor else (mid, mid)
    return (0.0 if abs(lo) <= floor else lo, 0.0 if abs(hi) <= floor else hi)


def is_signed(lo: float, hi: float) -> bool:
    """Whether a map spanning [lo, hi] has negative values beyond float32 rounding."""
    return lo < -_SIGN_TOLERANCE * max(abs(lo), abs(hi))


def levels_for(mode: str, fixed: tuple[float, float], lo: float, hi: float) -> tuple[float, float]:
    """The display levels for a map whose finite values span [lo, hi].

    A constant map has no range to stretch: "auto" then widens to include 0 (a constant 3 shows
    white, a constant -2 black) and falls back to (0, 1) for an all-zero map (black); "symmetric"
    falls back to (-1, 1) (all white).
    """
    if mode == "fixed":
        return fixed
    if mode == "symmetric":
        m = max(abs(lo), abs(hi))
        if not m > 0:
            m = 1.0
        return (-m, m)
    if hi > lo:
        return (lo, hi)
    lo0, hi0 = min(lo, 0.0), max(hi, 0.0)
    if hi0 > lo0:
        return (lo0, hi0)
    return (0.0, 1.0)


def clipped_fraction(display: np.ndarray, mode: str, levels: tuple[float, float]) -> float:
    """Fraction of a display-size map's pixels outside ``levels``: what the user sees clipped.

    Performance: the GUI thread calls this per frame, so it is given the display-size map, never
    the full-resolution one. "auto" and "symmetric" levels contain every finite value by
    construction, so only "fixed" levels take the pass at all.
    """
    if mode != "fixed":
        return 0.0
    lo, hi = levels
    outside = np.count_nonzero(display < lo) + np.count_nonzero(display > hi)
    return outside / display.size
