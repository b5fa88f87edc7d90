"""What a pane shows of a map, and how: reduction, value ranges, round-off, levels, clipping.

No Qt here: the compute worker reduces every map and measures it, and the panes (GUI thread)
pick their levels and count clipped pixels with the same functions, on display-size maps only.
A shown map travels as one `ShownMap`, never as parallel lists unpacked by index.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from playground.engine import direct
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
# reduce_and_measure reads a map in bands of about this many bytes, which stay in L2 from its
# min and max to its block means (256 KB: 4.5 ms for 11 maps of 720p; whole maps 9.2 ms).
_MEASURE_BAND_BYTES = 256 * 1024


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


def _factor(h: int, w: int, size: tuple[int, int]) -> int:
    """The whole-number shrink factor that brings h x w nearest to ``size`` (1: it fits)."""
    scale = min(size[0] / w, size[1] / h)
    return min(round(1.0 / scale), h, w) if scale < 1.0 else 1


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
    factor = _factor(h, w, size)
    if factor <= 1:
        return np.ascontiguousarray(image)
    rows, cols = h // factor, w // factor
    block = image[: rows * factor, : cols * factor]
    return cv2.resize(block, (cols, rows), interpolation=cv2.INTER_AREA)


def reduce_and_measure(
    values: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, tuple[float, float]]:
    """`reduce_for_display` and `finite_range` of one 2-D float32 map, in one pass over it.

    Runs on the compute worker. The map is read in bands of _MEASURE_BAND_BYTES: each band's
    min and max are taken while it is read from memory and its block means while it is still
    in cache. Measured on 2 cores, 11 maps of 1280x720 just written: 9.2 ms apart, 4.5 ms
    banded (more threads were slower: OpenCV's own take the other core).
    """
    h, w = values.shape
    factor = _factor(h, w, size)
    if factor <= 1:
        return np.ascontiguousarray(values), finite_range(values)
    display = np.empty((h // factor, w // factor), np.float32)
    band = factor * max(1, _MEASURE_BAND_BYTES // (values.itemsize * w * factor))
    lo, hi = math.inf, -math.inf
    for top in range(0, h, band):
        band_lo, band_hi = _measure_rows(values, top, min(h, top + band), factor, display)
        lo, hi = min(lo, band_lo), max(hi, band_hi)
    return display, _checked_range(values, lo, hi)


def _measure_rows(
    values: np.ndarray, start: int, stop: int, factor: int, display: np.ndarray | None
) -> tuple[float, float]:
    """Min and max of rows [start, stop) of a map (``start`` a multiple of ``factor``), and,
    into ``display`` when given, the factor x factor block means those rows complete."""
    piece = values[start:stop]
    if display is None:
        blocks = np.empty((0, values.shape[1] // factor), np.float32)
    else:
        blocks = display[start // factor : min(len(display), stop // factor)]
    # NaN is passed over (a band of nothing else gives infinities, and `_checked_range` then
    # sends the map to finite_range); an infinity is taken as a value, and sends it there too.
    # Never waited for: display only, the numpy passes give it to float32 round-off.
    stats = direct.compiled(_block_stats, factor, wait=False) if _typed(piece) else None
    if stats is None:
        lo, hi = _numpy_block_stats(piece, blocks, factor)
    else:
        lo, hi = stats(piece, blocks)
    return float(lo), float(hi)


def _typed(array: np.ndarray) -> bool:
    """Whether ``array`` is C-contiguous and writable, the type the compiled passes are
    compiled for: another type would compile them again, on the calling thread."""
    return bool(array.flags.c_contiguous and array.flags.writeable)


def _numpy_block_stats(piece: np.ndarray, blocks: np.ndarray, factor: int) -> tuple[float, float]:
    """What `_block_stats` gives, in numpy passes: while it compiles, or for a map of another
    type. Runs on an engine pool thread or the compute worker."""
    rows, cols = blocks.shape
    if rows and cols:
        corner = piece[: rows * factor, : cols * factor]
        blocks[...] = corner.reshape(rows, factor, cols, factor).mean(axis=(1, 3))
    # fmin and fmax pass over NaN, as the compiled pass does.
    lo = np.fmin.reduce(piece, axis=None, initial=np.inf)
    hi = np.fmax.reduce(piece, axis=None, initial=-np.inf)
    return float(lo), float(hi)


@functools.cache
def _block_stats(factor: int) -> Callable[[np.ndarray, np.ndarray], tuple[float, float]]:
    """The compiled min and max of ``piece`` and the mean of each ``factor`` x ``factor`` block
    of its top left into ``blocks``, in one pass over it, where ``cv2.minMaxLoc`` and a
    compiled block mean took two (1920-wide bands by 6: 36 against 78 us, and one release of
    the interpreter lock, not two; ``cv2.resize(..., INTER_AREA)`` was 6x slower than that
    block mean). The min and max are kept per column, so the pixel loops vectorize where a
    running min would not; the factor is compiled in (read at run time, the block loops ran 4x
    slower). Built on the compiler thread (`direct.compiled`); runs on an engine pool thread or the
    compute worker,
    lock released."""

    def block_stats(piece, blocks):
        height, width = piece.shape
        rows, cols = blocks.shape
        scale = np.float32(1.0 / (factor * factor))
        low = np.full(width, np.inf, np.float32)
        high = np.full(width, -np.inf, np.float32)
        sums = np.empty(width, np.float32)
        for r in range(rows):
            # A block row's ``factor`` rows at once: the column's sum, min and max stay in
            # registers across them (one row at a time, 2.1x slower: each row loaded and
            # stored the per-column arrays again).
            y0 = r * factor
            for x in range(width):
                s = np.float32(0.0)
                lo = low[x]
                hi = high[x]
                for k in range(factor):
                    v = piece[y0 + k, x]
                    s += v
                    lo = v if v < lo else lo  # NaN is never below: passed over
                    hi = v if v > hi else hi
                sums[x] = s
                low[x] = lo
                high[x] = hi
            out = blocks[r]
            for j in range(cols):
                s = np.float32(0.0)
                for k in range(factor):
                    s += sums[j * factor + k]
                out[j] = s * scale
        for y in range(rows * factor, height):  # rows below the last whole block
            line = piece[y]
            for x in range(width):
                v = line[x]
                low[x] = v if v < low[x] else low[x]
                high[x] = v if v > high[x] else high[x]
        lo = np.float32(np.inf)
        hi = np.float32(-np.inf)
        for x in range(width):
            lo = low[x] if low[x] < lo else lo
            hi = high[x] if high[x] > hi else hi
        return lo, hi

    return direct.compile_loop(block_stats, [(direct.f32(0, 1), direct.f32(0, 1))])


def packed_colours(
    image: np.ndarray, levels: tuple[float, float], lut: np.ndarray
) -> np.ndarray | None:
    """A display-size float32 map as the 32-bit pixels Qt draws: each value to its level's
    index (``levels`` to 0..255, clipped, as pyqtgraph scales them), then that entry of
    ``lut`` (256 packed 0xffRRGGBB words). One compiled pass with the interpreter lock
    released, where five numpy passes held it on the GUI thread (15 panes a frame; runs on the
    GUI thread, on display-size maps only). None when the map holds NaN, which the caller
    draws its own way, and while the pass compiles, or for a map of another type than it is
    compiled for (C-contiguous, writable): the caller's way is pyqtgraph's, as fast as numpy
    makes it."""
    loop = direct.compiled(_packed_colours, wait=False) if _typed(image) else None
    if loop is None:
        return None
    lo, hi = levels
    scale = 255.0 / (hi - lo if hi != lo else 1.0)
    out = np.empty(image.shape, np.uint32)
    if loop(image, np.float32(lo), np.float32(scale), lut, out):
        return None
    return out


@functools.cache
def _packed_colours() -> Callable[..., bool]:
    """Built on the compiler thread (`direct.compiled`)."""

    # Performance trap: the lookup (a gather) in the levels loop kept that loop scalar; the
    # levels to indices first, in a loop that vectorizes, then the lookups took 0.6 of the
    # time (a 249 x 140 map: 83 -> 52 us).
    def packed_colours(image, lo, scale, lut, out):
        rows, cols = image.shape
        nan = 0
        index = np.empty(cols, np.int32)
        for r in range(rows):
            line, dst = image[r], out[r]
            for c in range(cols):
                v = line[c]
                nan += v != v
                s = (v - lo) * scale
                # Clipped as np.clip does (an infinity to an end); NaN is reported instead.
                s = np.float32(0) if not s > 0 else (np.float32(255) if s > 255 else s)
                index[c] = np.int32(s)
            for c in range(cols):
                dst[c] = lut[index[c]]
        return nan > 0

    one = np.float32(1)
    sample = (direct.f32(0, 1), one, one, np.zeros(256, np.uint32), np.zeros((0, 1), np.uint32))
    return direct.compile_loop(packed_colours, [sample])


def colour_picture(displays: Sequence[np.ndarray], offset: float, scale: float) -> np.ndarray:
    """Three display-size maps of one shape as the red, green and blue of one uint8 picture
    (h, w, 3): each value v to round(offset + v * scale) clipped to 0..255, NaN to 0. One
    compiled pass with the interpreter lock released, where six numpy passes held it on the
    GUI thread (3 x 249 x 140: 0.93 ms a frame); those passes while it compiles, or for maps
    of another type than it is compiled for (float32, C-contiguous, writable). Display-size
    maps only; runs on the GUI thread."""
    typed = all(_typed(d) and d.dtype == np.float32 for d in displays)
    loop = direct.compiled(_colour_picture, wait=False) if typed else None
    if loop is None:
        stack = np.stack([np.asarray(d, np.float32) for d in displays], axis=-1)
        levels = np.nan_to_num(np.rint(offset + stack * np.float32(scale)), nan=0.0)
        return np.ascontiguousarray(np.clip(levels, 0, 255).astype(np.uint8))
    red, green, blue = displays
    out = np.empty((*red.shape, 3), np.uint8)
    loop(red, green, blue, np.float32(offset), np.float32(scale), out)
    return out


@functools.cache
def _colour_picture() -> Callable[..., None]:
    """Built on the compiler thread (`direct.compiled`)."""

    def colour_picture(red, green, blue, offset, scale, out):
        rows, cols = red.shape
        for r in range(rows):
            line = out[r].reshape(3 * cols)
            for c, plane in enumerate((red[r], green[r], blue[r])):
                for x in range(cols):
                    v = np.rint(offset + plane[x] * scale)
                    # Clipped as np.clip does; NaN (never above 0) to 0.
                    v = v if v > 0 else np.float32(0)
                    line[3 * x + c] = np.uint8(v if v < 255 else np.float32(255))

    one, rows = np.float32(1), direct.f32(0, 1)
    sample = (rows, rows, rows, one, one, np.zeros((0, 1, 3), np.uint8))
    return direct.compile_loop(colour_picture, [sample])


def _checked_range(values: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """The bands' min and max, or `finite_range` of the map where they are not finite."""
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else finite_range(values)


class BandMeasure:
    """Reduces and measures a run's maps band by band as the engine makes them (a
    `playground.engine.bank.MapWatcher`): each band is read while it is still in the cache of
    the pool thread that made it, and the reduction runs on every core instead of after the run
    on the compute worker alone.

    ``wanted``: (layer, filter) of the maps to reduce; ``measured``: layers whose other maps
    need their range only (the round-off floors of the layers after them). Partial maps
    (``channel`` not None) are always reduced. `result` then gives what `reduce_and_measure`
    would have, for the maps that were told of in full; None for the others.
    """

    def __init__(
        self, size: tuple[int, int], wanted: set[tuple[int, int]], measured: set[int]
    ) -> None:
        self._size = size
        self._wanted = wanted
        self._measured = measured
        self._lock = threading.Lock()
        # Per (layer, filter, channel): [display or None, rows told of, lo, hi].
        self._maps: dict[tuple[int, int, int | None], list] = {}

    def alignment(self, layer: int, height: int, width: int) -> int:
        """Runs on an engine pool thread (or the compute worker): the shrink factor."""
        return _factor(height, width, self._size)

    def rows_done(
        self, layer: int, filt: int, channel: int | None, values: np.ndarray, start: int, stop: int
    ) -> None:
        """Runs on an engine pool thread or the compute worker (its share of the run)."""
        reduce = channel is not None or (layer, filt) in self._wanted
        if not reduce and layer not in self._measured:
            return
        key = (layer, filt, channel)
        h, w = values.shape
        factor = _factor(h, w, self._size)
        with self._lock:
            entry = self._maps.get(key)
            if entry is None:
                display = None
                if reduce and factor > 1:
                    display = np.empty((h // factor, w // factor), np.float32)
                entry = self._maps[key] = [display, 0, math.inf, -math.inf]
        lo, hi = _measure_rows(values, start, stop, factor, entry[0])
        with self._lock:
            entry[1] += stop - start
            entry[2], entry[3] = min(entry[2], lo), max(entry[3], hi)

    def result(
        self, layer: int, filt: int, channel: int | None, values: np.ndarray
    ) -> tuple[np.ndarray | None, tuple[float, float]] | None:
        """(display, range) of a map told of in full, display None where it was not wanted;
        None when it was not (fully) told of. Runs on the compute worker, after the run."""
        entry = self._maps.get((layer, filt, channel))
        if entry is None or entry[1] != values.shape[0]:
            return None
        display, _, lo, hi = entry
        if display is None and (channel is not None or (layer, filt) in self._wanted):
            display = np.ascontiguousarray(values)  # it fits the pane as it is
        return display, _checked_range(values, lo, hi)


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
    magnitude = list(run.with_input_peaks().input_peaks or ())
    floor = [_EPS32 * m for m in magnitude]
    floors: list[list[float]] = []
    for layer, layer_ranges in zip(bank.layers, ranges):
        if isinstance(layer, ConvLayer):
            out = []
            for o, f in enumerate(layer.filters):
                l1 = np.abs(f.kernels).sum(axis=(1, 2))
                read = layer.channels_read(o)  # a filter of a layer with groups reads a few
                terms = float(l1 @ np.asarray(magnitude[read.start : read.stop])) + abs(f.bias)
                out.append(
                    _ROUND_OFF_ULPS * _EPS32 * terms
                    + float(l1 @ np.asarray(floor[read.start : read.stop]))
                )
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
