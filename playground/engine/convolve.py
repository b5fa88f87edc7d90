"""Convolution and pooling of planar float32 maps: the engine's hot path.

A layer's input is a (C, H, W) float32 array of C-contiguous planes. Filters of kernels up to
13x13 run through loops compiled for their size (`playground.engine.direct`), all the filters
of a band in one pass; the others (and large separable kernels, or kernels shared by channels)
are compiled once per bank into calls of ``cv2.filter2D`` / ``cv2.sepFilter2D``
(cross-correlation, GIL released) or, for large kernels, products of spectra. A layer runs in
pieces on a small thread pool: bands of output rows for the direct filters (every filter and
channel of a band before the next band), blocks of about 256 pixels a side for the DFT filters.

Everything that depends only on the bank (flipped, dilated, float32 kernels; separable factors;
channels that share a kernel; kernel spectra per block size) is prepared once per bank, never
per frame.

Accuracy: every path sums in float32 with round-off relative to the values near each output
pixel, as a direct sum has it (tests/engine/test_accuracy.py); see _dft_tasks for the DFT's.
Performance trap: ``filter2D`` switches to a tiled DFT of its own from 12x12 float32 kernels up
(2.5x the time of 11x11 at 420x300 here); the engine's DFT blocks take such kernels first, so
only the partial-map path meets it.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING

import cv2
import numpy as np

from playground.engine import direct

if TYPE_CHECKING:
    from playground.engine.bank import ConvLayer, PoolLayer

BORDER_CODES = {
    "zero": cv2.BORDER_CONSTANT,
    "reflect": cv2.BORDER_REFLECT_101,
    "replicate": cv2.BORDER_REPLICATE,
    "wrap": cv2.BORDER_WRAP,
}

# Below this many output pixels a thread hop costs more than the convolution it would spread.
_PARALLEL_MIN_PIXELS = 64 * 64
# A frame's conversion to planes is split over the pool from this many pixels: below, the
# thread hop cost more than the half it saved (640x480: 0.39 ms on the caller alone, 0.51
# split; 1280x720: 0.91 against 0.74).
_PARALLEL_CONVERSION_PIXELS = 500_000
# sepFilter2D beats filter2D from about 7x7 up (measured at 1280x720, float32).
_SEPARABLE_MIN_AREA = 40
# From 9x9 up, a non-separable kernel is cheaper as a product of spectra (one forward DFT per
# input block, shared by all filters, one inverse per filter) than as filter2D calls; the
# compiled loops are cheaper still up to 13x13 (direct.MAX_TAPS), once compiled. Measured
# on 2 cores, 8 filters k x k x 3, banded direct vs 256-pixel DFT blocks, ms at 640x480 /
# 1280x720 / 1920x1080: 7x7 11/28/85 vs 15/42/104, 9x9 15/42/120 vs 15/39/114,
# 11x11 19/77/183 vs 13/48/114.
_DFT_MIN_AREA = 81
# Rows per band: about this many bytes of each input plane. Bands of 192 KB (L2-sized) were
# slower than 1 MB ones here (720p, 8 filters 3x3x3: 20 vs 14 ms): every filter2D call sets up
# a filter engine, and the 32 MB L3 holds 1 MB bands of every plane anyway.
_BAND_BYTES = 1024 * 1024
# At least this many bands per pool thread. One: every band's first correlation is copied out of
# its halo rows and every filter2D call sets up anew, so fewer bands are cheaper while the cores
# stay busy (640x480, 8 filters 3x3x3: 1, 2, 4 bands per thread took 4.8, 6.9, 8.2 ms).
_BANDS_PER_WORKER = 1
# The compiled loops make this many bytes of maps at a time (all the filters of a pack), then
# activate them and tell of them (rows_done) while they are in cache. Smaller chunks cost more
# in Python calls than they save in cache misses (the live view's worker, 720p, 8 filters
# 3x3x3 and the story: 256 KB 51 ms, 1 MB 28 ms, 4 MB 24 ms, whole bands 24 ms). Once the loops
# ran twice as fast, 16 MB beat 4: the worker's frame at 1080p 22.5 -> 20 ms, an edit's 7.4 ->
# 6.7 ms; the live window at 720p 44 -> 49 fps, at 1080p 24.5 -> 29 fps.
_CHUNK_BYTES = 16 * 1024 * 1024
# DFT blocks are about this many pixels a side (more for kernels over half of it); see
# _dft_tasks for why they are blocks at all. 128 cost 1.6x 256 in calls and overlap; 512 was
# slower than 256 too (out of L2).
_DFT_BLOCK = 256
# A block whose brightest input is more than this many times its dimmest cell's brightest
# (cells of _DFT_CELL pixels a side) is transformed in float64: float32 round-off of the
# bright part would swamp the dim part's values there.
_DFT_RANGE = 64.0
_DFT_CELL = 16
_pool: ThreadPoolExecutor | None = None
_local = threading.local()  # per pool thread: scratch planes reused from frame to frame


# The pool's threads: the caller works beside them (see `_map`), one thread per core in all.
_HELPERS = max(1, (os.cpu_count() or 2) - 1)


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_HELPERS, thread_name_prefix="conv")
    return _pool


def _map(fn, items: list, parallel: bool = True) -> list:
    """``[fn(i) for i in items]``, spread over the caller's thread and the pool when worth a
    thread hop.

    Each thread takes the next item as it finishes one, the caller too. Performance trap: with
    items handed out up front to a pool of one thread per core, the caller made a third thread
    on 2 cores, and the last band ran alone while a core idled (720p, 8 filters 3x3x3: four
    bands, 4.6 ms a layer; 3.7 with each thread taking the next).
    """

    def quiet(item):
        # Huge weights or pixels overflow float32 to inf (and inf - inf is NaN): that is the
        # answer, as OpenCV gives it, not a warning. errstate is per thread, so set it here.
        with np.errstate(over="ignore", invalid="ignore"):
            return fn(item)

    if not parallel or len(items) < 2:
        return [quiet(item) for item in items]
    results: list = [None] * len(items)
    order = iter(range(len(items)))
    lock = threading.Lock()

    def drain() -> None:
        while True:
            with lock:
                i = next(order, None)
            if i is None:
                return
            results[i] = quiet(items[i])

    helpers = [_executor().submit(drain) for _ in range(min(len(items) - 1, _HELPERS))]
    # The caller works too: waiting on the pool instead cost a thread's wake-up and left a
    # core idle, per call (640x480 frame conversion in two halves: 0.61 ms on the pool, 0.43
    # on the caller's thread alone).
    try:
        drain()
    finally:
        wait(helpers)  # even when an item failed: the others still write into shared arrays
    for helper in helpers:
        helper.result()
    return results


def frame_planes(
    image: np.ndarray, scale: float, planes: np.ndarray, top: int = 0, left: int = 0
) -> None:
    """A C-contiguous uint8 RGB frame (h, w, 3), times ``scale``, into rows [top, top + h) and
    columns [left, left + w) of float32 ``planes`` (3, H, W), C-contiguous; from
    _PARALLEL_CONVERSION_PIXELS on, in bands of rows over the caller's thread and the engine's
    pool (the compiled pass is memory-bound: on 2 cores a 1280x720 frame took 0.91 ms on one
    thread, 0.74 on two). Runs on the caller's thread and the pool's."""
    height, width = image.shape[:2]
    if height * width < _PARALLEL_CONVERSION_PIXELS:
        direct.rgb_planes(image, scale, planes, top, left)
        return
    step = -(-height // (os.cpu_count() or 2))
    _map(
        lambda y: direct.rgb_planes(image[y : y + step], scale, planes, top + y, left),
        list(range(0, height, step)),
    )


def padded_frame_planes(
    image: np.ndarray, scale: float, pad: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """A C-contiguous uint8 RGB frame (H, W, 3), times ``scale``, as (planes, padded): float32
    planes (3, H, W) that are the inside of ``padded``, the same planes with ``pad`` (top,
    bottom, left, right) rows and columns of zeros around them. One conversion pass writes both,
    where padding the planes after re-read and re-wrote them all (1920x1080: 4.3 ms, more than
    the conversion). Runs on the caller's thread and the pool's (`frame_planes`)."""
    top, bottom, left, right = pad
    height, width = image.shape[:2]
    padded = np.empty((3, height + top + bottom, width + left + right), np.float32)
    # The conversion first: it touches the new pages on every core. Zeroing the border
    # columns first faulted in each page on the caller's thread alone.
    frame_planes(image, scale, padded, top, left)
    padded[:, :top] = 0
    padded[:, top + height :] = 0
    padded[:, top : top + height, :left] = 0
    padded[:, top : top + height, left + width :] = 0
    return padded[:, top : top + height, left : left + width], padded


def input_padding(plan: ConvPlan, h: int, w: int) -> tuple[int, int, int, int] | None:
    """The padding that every compiled pack of ``plan`` reads an h x w input with, when they
    share one that is not nothing and the border is zero; else None (`padded_frame_planes` can
    make such input in one pass; any other is padded by `run_conv`)."""
    if plan.border != "zero" or not plan.packs:
        return None
    pads = {_pads(plan, plan.filters[int(p.filters[0])], h, w) for p in plan.packs}
    pad = pads.pop()
    return pad if not pads and any(pad) else None


# --- geometry --------------------------------------------------------------------------------


def effective_size(k: int, dilation: int) -> int:
    """Span in input pixels of a kernel of ``k`` taps spaced ``dilation`` apart."""
    return dilation * (k - 1) + 1


def same_padding(size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    """Padding (before, after) that makes the output ceil(size / stride) long.

    The extra pixel of an odd total goes after (bottom/right): the TensorFlow/PyTorch rule.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + effective_size(k, dilation) - size, 0)
    return total // 2, total - total // 2


def conv_output_length(size: int, k: int, stride: int, dilation: int, pad_total: int) -> int:
    """floor((size + pad_total - dilation*(k-1) - 1) / stride) + 1; zero or less means nothing."""
    return (size + pad_total - effective_size(k, dilation)) // stride + 1


def pool_output_length(size: int, window: int, stride: int) -> int:
    return (size - window) // stride + 1


# --- compiled conv layer ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Kernel:
    """One kernel ready for OpenCV: flipped and dilated, float32, separable when rank 1."""

    full: np.ndarray
    column: np.ndarray | None  # separable factors, full == outer(column, row)
    row: np.ndarray | None
    # Its DFT per transform size, made on first use: the same for every frame of one size.
    spectra: dict[tuple, np.ndarray] = field(default_factory=dict, compare=False)

    @property
    def by_dft(self) -> bool:
        """Large, non-separable kernels correlate faster through the DFT, whose cost does not
        grow with the kernel: a layer's input planes are transformed once for all its filters."""
        return self.column is None and self.full.size >= _DFT_MIN_AREA

    def spectrum(self, size: tuple[int, int], dtype: type = np.float32) -> np.ndarray:
        """The kernel, zero-padded to ``size`` at the top left, as an OpenCV CCS spectrum."""
        key = (size, np.dtype(dtype).char)
        spectrum = self.spectra.get(key)
        if spectrum is None:
            padded: np.ndarray = np.zeros(size, dtype)
            padded[: self.full.shape[0], : self.full.shape[1]] = self.full
            spectrum = self.spectra[key] = cv2.dft(padded)
        return spectrum

    @classmethod
    def prepare(cls, weights: np.ndarray, flip: bool, dilation: tuple[int, int]) -> _Kernel:
        k = np.asarray(weights, dtype=np.float64)
        if flip:
            k = k[::-1, ::-1]
        dy, dx = dilation
        full = np.zeros((effective_size(k.shape[0], dy), effective_size(k.shape[1], dx)))
        full[::dy, ::dx] = k
        column = row = None
        if full.size >= _SEPARABLE_MIN_AREA and min(full.shape) > 1:
            u, s, vt = np.linalg.svd(full)
            if s[0] > 0 and s[1] <= 1e-7 * s[0]:
                column = np.ascontiguousarray(u[:, 0] * np.sqrt(s[0]), dtype=np.float32)
                row = np.ascontiguousarray(vt[0] * np.sqrt(s[0]), dtype=np.float32)
        return cls(np.ascontiguousarray(full, dtype=np.float32), column, row)

    def correlate(
        self,
        plane: np.ndarray,
        anchor: tuple[int, int],
        border: int,
        delta: float = 0.0,
        dst: np.ndarray | None = None,
    ) -> np.ndarray:
        """Cross-correlate one plane, plus ``delta``; same size as ``plane``.

        ``anchor`` is (x, y) in the kernel; ``dst``, when given, receives the result in place.
        """
        if self.column is not None and self.row is not None:
            return cv2.sepFilter2D(
                plane,
                cv2.CV_32F,
                self.row,
                self.column,
                dst=dst,
                anchor=anchor,
                delta=delta,
                borderType=border,
            )
        return cv2.filter2D(
            plane, cv2.CV_32F, self.full, dst=dst, anchor=anchor, delta=delta, borderType=border
        )


@dataclass(frozen=True)
class _FilterPlan:
    # One per input channel the filter reads (channels first, first + 1, ...: all of them but
    # in a layer with groups); None where all weights are 0.
    kernels: tuple[_Kernel | None, ...]
    # Channels whose kernels are identical are summed first and correlated once (linearity):
    # a handcrafted kernel copied to R, G and B costs one correlation, not three.
    groups: tuple[tuple[tuple[int, ...], _Kernel], ...]  # (input channels, their one kernel)
    bias: np.float32
    height: int  # effective (dilated) kernel size
    width: int
    first: int = 0  # the input channel of kernels[0]


@dataclass(frozen=True)
class _Pack:
    """Filters of one kernel size and input channels that `direct` correlates in one pass."""

    filters: np.ndarray  # (F,) int64: the layer's filter indices, in order
    weights: np.ndarray  # (F, channels, kh, kw) float32, flipped for true convolution
    bias: np.ndarray  # (F,) float32
    first: int  # the input channel of each filter's kernel 0

    def kept(self, keep: np.ndarray, filters: np.ndarray | None = None) -> _Pack:
        """The filters where ``keep`` is true, known by ``filters`` (default: their indices)."""
        return _Pack(
            self.filters[keep] if filters is None else filters,
            self.weights[keep],
            self.bias[keep],
            self.first,
        )

    def split(self, o: int) -> tuple[_Pack, _Pack]:
        """(filter ``o`` alone, the others): the story filter, whose partial maps are wanted,
        runs channel by channel."""
        one = self.filters == o
        return self.kept(one), self.kept(~one)


@dataclass(frozen=True)
class ConvPlan:
    """A conv layer compiled once per bank; see :func:`compile_conv`."""

    filters: tuple[_FilterPlan, ...]
    stride: tuple[int, int]
    padding: str | tuple[int, int, int, int]  # a name or (top, bottom, left, right)
    border: str
    activation: str
    in_channels: int
    slope: float = 0.0  # leaky-relu's
    packs: tuple[_Pack, ...] = ()
    dilation: tuple[int, int] = (1, 1)

    def packed(self, o: int) -> bool:
        """Whether filter ``o`` runs through `direct` (in a pack) rather than OpenCV."""
        return any(o in p.filters for p in self.packs)

    def subset(self, filters: list[int]) -> ConvPlan:
        """The plan of only ``filters`` (indices into this one's), in that order."""
        index = {o: n for n, o in enumerate(filters)}
        packs = []
        for p in self.packs:
            keep = np.array([int(o) in index for o in p.filters], bool)
            if keep.any():
                renamed = np.array([index[int(o)] for o in p.filters[keep]], np.int64)
                packs.append(p.kept(keep, renamed))
        return replace(self, filters=tuple(self.filters[o] for o in filters), packs=tuple(packs))


def compile_conv(layer: ConvLayer) -> ConvPlan:
    plans = []
    packs: dict[tuple[int, int, int, int], list[int]] = {}
    for o, f in enumerate(layer.filters):
        kernels = tuple(
            None if not np.any(k) else _Kernel.prepare(k, layer.flip, layer.dilation)
            for k in f.kernels
        )
        # Absolute input channels: the band and block code reads them straight off the input.
        first = layer.channels_read(o).start
        groups: dict[bytes, tuple[list[int], _Kernel]] = {}
        for c, (k, prepared) in enumerate(zip(f.kernels, kernels)):
            if prepared is not None:
                key = np.ascontiguousarray(k).tobytes()
                groups.setdefault(key, ([], prepared))[0].append(first + c)
        kh, kw = f.kernels.shape[1:]
        used = [k for k in kernels if k is not None]
        # A large kernel that is separable, or shared by channels (summed first, correlated
        # once), costs OpenCV fewer multiply-adds than the compiled loop's every tap of every
        # channel.
        lean = kh * kw <= direct.CHANNEL_MAX_TAPS or (
            len(groups) == len(used) and all(k.column is None for k in used)
        )
        if direct.eligible(kh, kw, layer.stride[1]) and lean:
            packs.setdefault((first, len(f.kernels), kh, kw), []).append(o)
        plans.append(
            _FilterPlan(
                kernels=kernels,
                groups=tuple((tuple(chs), kernel) for chs, kernel in groups.values()),
                bias=np.float32(f.bias),
                height=effective_size(kh, layer.dilation[0]),
                width=effective_size(kw, layer.dilation[1]),
                first=first,
            )
        )

    def pack(first: int, filters: list[int]) -> _Pack:
        weights = np.stack([layer.filters[o].kernels for o in filters]).astype(np.float32)
        if layer.flip:
            weights = weights[:, :, ::-1, ::-1]
        return _Pack(
            np.array(filters, np.int64),
            np.ascontiguousarray(weights),
            np.array([layer.filters[o].bias for o in filters], np.float32),
            first,
        )

    return ConvPlan(
        filters=tuple(plans),
        stride=layer.stride,
        padding=layer.padding,
        border=layer.border,
        activation=layer.activation,
        slope=layer.slope,
        in_channels=layer.in_channels,
        packs=tuple(pack(key[0], filters) for key, filters in packs.items()),
        dilation=layer.dilation,
    )


def _pads(plan: ConvPlan, fp: _FilterPlan, h: int, w: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding of one filter on an h x w input."""
    padding = plan.padding
    if padding == "valid":
        return 0, 0, 0, 0
    if isinstance(padding, str):  # "same"
        top, bottom = same_padding(h, fp.height, plan.stride[0], 1)
        left, right = same_padding(w, fp.width, plan.stride[1], 1)
        return top, bottom, left, right
    return padding


def activate(x: np.ndarray, activation: str, slope: float = 0.0) -> None:
    """Apply ``activation`` to ``x`` in place; ``slope`` is leaky-relu's, in [0, 1]."""
    if activation == "relu":
        np.maximum(x, 0, out=x)
    elif activation == "leaky-relu":
        # x if x > 0 else slope * x: for a slope in [0, 1], the larger of the two.
        np.maximum(x, x * x.dtype.type(slope), out=x)
    elif activation == "abs":
        np.abs(x, out=x)
    elif activation == "tanh":
        np.tanh(x, out=x)
    elif activation == "sigmoid":
        # exp overflows to inf for very negative inputs, and 1 / (1 + inf) is the right 0.
        with np.errstate(over="ignore"):
            np.negative(x, out=x)
            np.exp(x, out=x)
            x += 1
            np.reciprocal(x, out=x)


# Maps start on a cache line, 16 floats: a 512-bit vector of the compiled loops.
_LINE_FLOATS = 16


def _aligned_maps(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised float32 C-contiguous array of ``shape`` that starts on a 64-byte
    boundary. Performance trap: numpy's large blocks start 16 bytes past one, so every vector
    the compiled loops store spans two cache lines (8 filters 3x3x3, a layer at 1920x1080:
    9.8 ms, 8.8 aligned)."""
    size = math.prod(shape)
    block = np.empty(size + _LINE_FLOATS, np.float32)
    start = -(block.ctypes.data // block.itemsize) % _LINE_FLOATS
    return block[start : start + size].reshape(shape)


def _thread_buffer(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A float32 scratch array of ``shape`` owned by the calling thread, reused across frames.

    Performance trap: a scratch plane allocated per band costs its page faults every frame
    (glibc hands blocks over 128 KB straight to mmap), more than the correlation it holds.
    """
    store = _local.__dict__.setdefault("buffers", {})
    size = math.prod(shape)
    buffer = store.get(name)
    if buffer is None or buffer.size < size:
        buffer = store[name] = np.empty(size, np.float32)
    return buffer[:size].reshape(shape)


@dataclass(frozen=True)
class _Geometry:
    """Where one filter reads its input: the planes, the anchor and the border to use."""

    source: tuple[int, int, int, int] | None  # key of the padded planes; None: the input itself
    anchor: tuple[int, int]  # (x, y) for OpenCV
    border: int


def _band_rows(plan: ConvPlan, width: int, out_h: int, workers: int, align: int = 1) -> int:
    """Output rows per band: about _BAND_BYTES of each input plane, and a band for every core;
    a multiple of ``align`` (but the last band)."""
    sy = plan.stride[0]
    kh = max(fp.height for fp in plan.filters)
    rows = max(1, _BAND_BYTES // (4 * width * sy))
    # A band reads kh - 1 rows beyond its own: below 2 kh rows that halo is most of the work.
    rows = max(rows, 2 * kh)
    rows = max(1, min(rows, -(-out_h // (_BANDS_PER_WORKER * workers))))
    # As many bands for each thread, of one height: with 720p's four bands of 204 rows and a
    # last of 108, one thread made 408 rows and the other 312 (8 filters 5x5x3: 9.9 ms a
    # layer; 9.0 with four bands of 180).
    bands = -(-out_h // rows)
    bands = -(-bands // workers) * workers
    rows = -(-out_h // bands)
    return -(-rows // align) * align


# Input planes padded for a layer, by (border, (top, bottom, left, right)): see run_conv.
Paddings = dict[tuple[str, tuple[int, int, int, int]], np.ndarray]

# Told of each band of a layer's maps once it is final: (filter, channel or None for the
# filter's own map, the whole map, first row, row past the last). See run_conv.
RowsDone = Callable[[int, "int | None", np.ndarray, int, int], None]


def run_conv(
    plan: ConvPlan,
    x: np.ndarray,
    partials: bool = False,
    story: int | None = None,
    rows_done: RowsDone | None = None,
    align: int = 1,
    paddings: Paddings | None = None,
) -> tuple[np.ndarray, list[np.ndarray | None] | None]:
    """Run a compiled conv layer on planar input ``x`` (C_in, H, W) float32.

    Runs on the caller's thread (the compute worker in the live view) and fans row bands and
    DFT blocks out to the engine's thread pool.

    Direct filters run band by band: a band of output rows is computed for every filter and
    every channel before the next band, so each correlation's result is summed while it is
    still in L2. Whole-plane intermediates made this layer memory-bound (about 240 MB moved per
    720p frame for 8 filters 3x3x3, against 40 MB of input and output).

    ``story``: the index of one filter whose partial maps are wanted (the live view's channel
    story); that filter alone takes the per-channel path, and its output is their sum, so the
    story costs no second pass.

    ``rows_done``: called on the thread that made them (a pool thread or the caller's), for each
    band of each direct filter's map (and of the story filter's partial maps and their sum) as
    soon as the band is final, activation included, while it is still in cache: the live view
    reduces and measures maps there instead of reading them back from memory. Bands are
    ``align`` rows or a multiple (but the last). DFT filters make no such calls: their maps are
    done in blocks, not bands.

    ``paddings``: copies of ``x`` padded by an earlier run on it, by (border, padding); used,
    and added to. A weight edit on a still reruns a filter on the same input: padding 1920x1080
    planes again took 3.5 ms of its 20.

    Returns
    -------
    out : (C_out, H', W') float32 feature maps.
    partials : with ``partials``, one (kernels, H', W') array per filter: the map of each input
        channel it reads (all C_in but in a layer with groups) before the sum, the bias and the
        activation; with ``story``, that list holds None for every other filter, and the story
        filter's array has two more maps: the partial maps' sum, then the sum plus the bias,
        before the activation; otherwise None.
    """
    _, h, w = x.shape
    sy, sx = plan.stride
    border, zero = BORDER_CODES[plan.border], cv2.BORDER_CONSTANT
    pads = [_pads(plan, fp, h, w) for fp in plan.filters]
    top, bottom, left, right = pads[0]
    out_h = conv_output_length(h, plan.filters[0].height, sy, 1, top + bottom)
    out_w = conv_output_length(w, plan.filters[0].width, sx, 1, left + right)
    out = _aligned_maps((len(plan.filters), out_h, out_w))
    parallel = out_h * out_w >= _PARALLEL_MIN_PIXELS
    workers = (os.cpu_count() or 2) if parallel else 1
    cols = slice(0, (out_w - 1) * sx + 1, sx)
    wanted = [partials or o == story for o in range(len(plan.filters))]
    # The story filter's array also holds the sum of its partial maps and that sum plus the
    # bias (the story's last two panes), made band by band while the partials are in cache.
    maps: list[np.ndarray | None] = [
        _aligned_maps((len(fp.kernels) + 2 * (o == story), out_h, out_w)) if want else None
        for o, (fp, want) in enumerate(zip(plan.filters, wanted))
    ]
    # With every filter's partial maps wanted, all take OpenCV's per-channel path. The story
    # filter of a pack runs compiled too, channel by channel: (pack, is it the story's). A pack
    # whose loops are still compiling takes OpenCV's path meanwhile.
    packs: list[tuple[_Pack, bool]] = []
    for p in [] if partials else plan.packs:
        alone, rest = p.split(story) if story is not None else (None, p)
        for q, is_story in ((alone, True), (rest, False)):
            if q is not None and len(q.filters) and _compiled(plan, q, is_story):
                packs.append((q, is_story))
    packed = {int(o) for p, _ in packs for o in p.filters}
    by_dft = [
        not want
        and o not in packed
        and all(k is None or k.by_dft for k in fp.kernels)
        and any(k is not None for k in fp.kernels)
        for o, (fp, want) in enumerate(zip(plan.filters, wanted))
    ]

    # filter2D pads by itself when the padding fits inside the kernel (the anchor moves); wider
    # explicit padding, wrap (which filter2D refuses) and the DFT blocks read planes padded once
    # here instead. Those are only read inside the crop, so the border filter2D applies to them
    # is moot: constant is the one it accepts for every border the user picked.
    padded: dict[tuple[int, int, int, int] | None, np.ndarray] = {None: x}
    if paddings is not None:
        padded.update((pad, p) for (name, pad), p in paddings.items() if name == plan.border)

    def pad_planes(pad: tuple[int, int, int, int]) -> None:
        if pad not in padded:
            top, bottom, left, right = pad
            planes = np.empty((len(x), h + top + bottom, w + left + right), np.float32)
            # Each plane straight into its place: stacking them after was a second copy.
            _map(
                lambda c: cv2.copyMakeBorder(
                    x[c], top, bottom, left, right, border, dst=planes[c], value=0
                ),
                list(range(len(x))),
                parallel,
            )
            padded[pad] = planes
            if paddings is not None:
                paddings[plan.border, pad] = planes

    # The compiled loops read planes padded once for the whole layer (by the user's border) and
    # C-contiguous, so that output pixel (oy, ox) reads from row oy * sy, column ox * sx on.
    pack_planes: list[tuple[_Pack, tuple[int, int, int, int] | None, bool]] = []
    for pack, is_story in packs:
        pad = pads[int(pack.filters[0])]
        if any(pad):
            pad_planes(pad)
            pack_planes.append((pack, pad, is_story))
        else:
            if not x.flags.c_contiguous:
                padded[None] = x = np.ascontiguousarray(x)
            pack_planes.append((pack, None, is_story))
    geometry = []
    for fp, pad, dft in zip(plan.filters, pads, by_dft):
        direct = (
            not dft
            and plan.border != "wrap"
            and pad[0] + pad[1] < fp.height
            and pad[2] + pad[3] < fp.width
        )
        if direct:
            geometry.append(_Geometry(None, (pad[2], pad[0]), border))
            continue
        pad_planes(pad)
        geometry.append(_Geometry(pad, (0, 0), zero))

    direct_filters = [o for o, dft in enumerate(by_dft) if not dft and o not in packed]
    tasks: list[Callable[[], None]] = []
    if direct_filters or pack_planes:
        rows = _band_rows(plan, w + left + right, out_h, workers, align)
        for oy0 in range(0, out_h, rows):
            oy1 = min(out_h, oy0 + rows)
            tasks.append(
                partial(
                    _direct_band,
                    plan,
                    padded,
                    geometry,
                    direct_filters,
                    out,
                    maps,
                    oy0,
                    oy1,
                    cols,
                    rows_done,
                    pack_planes,
                    align,
                )
            )
    for key, filters in _dft_groups(plan, geometry, by_dft).items():
        tasks.extend(_dft_tasks(plan, padded, key, filters, out, out_h, out_w))
    _map(lambda task: task(), tasks, parallel)
    return out, (maps if partials or story is not None else None)


def _direct_band(
    plan: ConvPlan,
    padded: dict[tuple[int, int, int, int] | None, np.ndarray],
    geometry: list[_Geometry],
    filters: list[int],
    out: np.ndarray,
    maps: list[np.ndarray | None],
    oy0: int,
    oy1: int,
    cols: slice,
    rows_done: RowsDone | None = None,
    packs: list[tuple[_Pack, tuple[int, int, int, int] | None, bool]] | None = None,
    align: int = 1,
) -> None:
    """Output rows [oy0, oy1) of the direct (non-DFT) filters: the packs' compiled, then the
    others' through OpenCV. Runs on an engine pool thread or the caller's (see `_map`)."""
    for pack, source, is_story in packs or ():
        if is_story:
            _story_rows(plan, padded[source], pack, out, maps, oy0, oy1, rows_done, align)
            continue
        relu = plan.activation == "relu"
        _, channels, kh, kw = pack.weights.shape
        count = len(pack.filters)
        correlate = direct.correlator(channels, kh, kw, *_loop_steps(plan), relu, count)
        assert correlate is not None  # run_conv packs compiled loops only
        x = padded[source]
        # Some rows of every map at a time, so that their activation and the live view's
        # reductions (rows_done) read them from cache.
        step = _chunk_rows(out.shape[2], len(pack.filters), align)
        for c0 in range(oy0, oy1, step):
            c1 = min(oy1, c0 + step)
            correlate(x, pack.first, pack.weights, pack.bias, out, pack.filters, c0, c1)
            for o in pack.filters:
                if not relu:
                    activate(out[o, c0:c1], plan.activation, plan.slope)
                if rows_done is not None:
                    rows_done(int(o), None, out[o], c0, c1)
    sy = plan.stride[0]
    sums: dict[tuple, np.ndarray] = {}
    for o in filters:
        fp, geo = plan.filters[o], geometry[o]
        planes = padded[geo.source]
        ay = geo.anchor[1]
        # Input rows this band reads; filter2D extrapolates past them, which is right where
        # the band meets the image's edge and lands in discarded rows elsewhere.
        height = planes.shape[1]
        need0, need1 = oy0 * sy - ay, (oy1 - 1) * sy - ay + fp.height
        s0, s1 = max(0, need0), min(height, need1)
        # Reflection past an edge reads rows as far inside as it reaches outside: the band
        # must hold them, or a short band at the bottom mirrors itself.
        if need1 > height:
            s0 = max(0, min(s0, height - 1 - (need1 - height)))
        if need0 < 0:
            s1 = min(height, max(s1, 1 - need0))
        rows = slice(oy0 * sy - s0, (oy1 - 1) * sy - s0 + 1, sy)
        band = planes[:, s0:s1]
        target = out[o, oy0:oy1]
        shape = band.shape[1:]
        kept = (rows.start, rows.stop, cols.stop) == (0, shape[0], shape[1]) and sy == 1
        kept = kept and cols.step == 1
        scratch = None if kept else _thread_buffer("correlation", shape)
        one = maps[o]
        nk = len(fp.kernels)
        if one is not None:
            for c, k in enumerate(fp.kernels):
                if k is None:
                    one[c, oy0:oy1] = 0
                elif kept:
                    k.correlate(band[fp.first + c], geo.anchor, geo.border, dst=one[c, oy0:oy1])
                else:
                    assert scratch is not None  # made above whenever the band is not kept
                    k.correlate(band[fp.first + c], geo.anchor, geo.border, dst=scratch)
                    one[c, oy0:oy1] = scratch[rows, cols]
            if len(one) > nk:  # the story filter: keep the sum and the biased sum too
                total, biased = one[nk, oy0:oy1], one[nk + 1, oy0:oy1]
                np.sum(one[:nk, oy0:oy1], axis=0, out=total)
                np.add(total, np.float32(fp.bias), out=biased)
                target[...] = biased
            else:
                np.sum(one[:, oy0:oy1], axis=0, out=target)
                target += fp.bias
        else:
            first = True
            for chs, kernel in fp.groups:
                if len(chs) == 1:
                    plane = band[chs[0]]
                else:
                    # Channels whose kernels are identical are summed first (linearity), once
                    # per band for all the filters that share them.
                    key = (geo.source, chs, s0, s1)
                    plane = sums.get(key)
                    if plane is None:
                        plane = sums[key] = np.sum(band[list(chs)], axis=0)
                if first:
                    # The first correlation carries the bias (OpenCV's delta).
                    if kept:
                        kernel.correlate(plane, geo.anchor, geo.border, float(fp.bias), target)
                    else:
                        assert scratch is not None  # made above whenever the band is not kept
                        kernel.correlate(plane, geo.anchor, geo.border, float(fp.bias), scratch)
                        target[...] = scratch[rows, cols]
                    first = False
                else:
                    if scratch is None:
                        scratch = _thread_buffer("correlation", shape)
                    kernel.correlate(plane, geo.anchor, geo.border, dst=scratch)
                    target += scratch[rows, cols]
            if first:
                target[...] = fp.bias
        activate(target, plan.activation, plan.slope)
        if rows_done is not None:
            if one is not None:
                # The partial maps and their sum (the biased sum's display follows from it).
                for c in range(min(len(one), nk + 1)):
                    rows_done(o, c, one[c], oy0, oy1)
            rows_done(o, None, out[o], oy0, oy1)


def _compiled(plan: ConvPlan, pack: _Pack, is_story: bool) -> bool:
    """Whether the loops ``pack`` runs through are compiled (asking for them if not)."""
    _, channels, kh, kw = pack.weights.shape
    relu = plan.activation == "relu"
    if is_story:
        # Both asked for at once, so that both compile.
        loops = [direct.correlator(1, kh, kw, *_loop_steps(plan)), direct.story_sums(relu)]
        return all(loop is not None for loop in loops)
    count = len(pack.filters)
    return direct.correlator(channels, kh, kw, *_loop_steps(plan), relu, count) is not None


def _loop_steps(plan: ConvPlan) -> tuple[int, int, int]:
    """(row stride, row dilation, column dilation): what a compiled loop is compiled for."""
    return plan.stride[0], *plan.dilation


def _chunk_rows(width: int, maps: int, align: int) -> int:
    """Rows of ``maps`` maps of ``width`` that fill about _CHUNK_BYTES, a multiple of
    ``align``."""
    step = max(1, _CHUNK_BYTES // (4 * width * maps))
    return -(-step // align) * align


def _story_rows(
    plan: ConvPlan,
    x: np.ndarray,
    pack: _Pack,
    out: np.ndarray,
    maps: list[np.ndarray | None],
    oy0: int,
    oy1: int,
    rows_done: RowsDone | None,
    align: int,
) -> None:
    """Rows [oy0, oy1) of the story filter (``pack`` holds it alone): each partial map, their
    sum, the biased sum and the feature map, compiled, a few rows at a time (see
    `run_conv`). Runs on an engine pool thread or the caller's (see `_map`)."""
    o = int(pack.filters[0])
    one = maps[o]
    assert one is not None  # run_conv makes the story filter's array
    nk = pack.weights.shape[1]
    _, _, kh, kw = pack.weights.shape
    relu = plan.activation == "relu"
    correlate = direct.correlator(1, kh, kw, *_loop_steps(plan))
    sums = direct.story_sums(relu)
    assert correlate is not None and sums is not None  # run_conv packs compiled loops only
    kernels = [np.ascontiguousarray(pack.weights[:, c : c + 1]) for c in range(nk)]
    zero = np.zeros(1, np.float32)
    planes = [np.array([c], np.int64) for c in range(nk)]
    step = _chunk_rows(out.shape[2], nk + 3, align)
    for c0 in range(oy0, oy1, step):
        c1 = min(oy1, c0 + step)
        for c in range(nk):
            correlate(x, pack.first + c, kernels[c], zero, one, planes[c], c0, c1)
        sums(one, pack.bias, out, o, c0, c1)
        if not relu:
            activate(out[o, c0:c1], plan.activation, plan.slope)
        if rows_done is not None:
            for c in range(nk + 1):  # the partial maps and their sum
                rows_done(o, c, one[c], c0, c1)
            rows_done(o, None, out[o], c0, c1)


def _high_range(region: np.ndarray) -> bool:
    """Whether a block of input planes (C, h, w) spans more than _DFT_RANGE in magnitude
    between its brightest pixel and its dimmest _DFT_CELL-sized cell (by that cell's brightest
    pixel over all channels). Runs on an engine pool thread or the caller's (see `_map`)."""
    c, h, w = region.shape
    if h == 0 or w == 0:  # a block of padding only
        return False
    cell = _DFT_CELL
    hh, ww = -(-h // cell) * cell, -(-w // cell) * cell
    grid = _thread_buffer("range grid", (c, hh, ww))
    # Cells cut off by the block's far edges are padded with zeros, which leave a maximum of
    # magnitudes as it is.
    grid[:, h:] = 0
    grid[:, :h, w:] = 0
    np.abs(region, out=grid[:, :h, :w])
    cells = grid.reshape(c, hh // cell, cell, ww // cell, cell).max(axis=(0, 2, 4))
    top = float(cells.max())
    # Non-finite inputs give a non-finite map either way; float32 keeps OpenCV's answer.
    return bool(np.isfinite(top) and top > _DFT_RANGE * float(cells.min()))


def _dft_groups(
    plan: ConvPlan, geometry: list[_Geometry], by_dft: list[bool]
) -> dict[tuple, list[int]]:
    """DFT filters by what their blocks share: padded input and kernel size."""
    groups: dict[tuple, list[int]] = {}
    for o, (fp, geo, dft) in enumerate(zip(plan.filters, geometry, by_dft)):
        if dft:
            groups.setdefault((geo.source, fp.height, fp.width), []).append(o)
    return groups


def _dft_block_size(span: int, k: int) -> int:
    """A transform size for blocks of a plane ``span`` long under a kernel ``k`` long."""
    return min(cv2.getOptimalDFTSize(max(_DFT_BLOCK, 2 * k)), cv2.getOptimalDFTSize(span))


def _dft_tasks(
    plan: ConvPlan,
    padded: dict[tuple[int, int, int, int] | None, np.ndarray],
    key: tuple,
    filters: list[int],
    out: np.ndarray,
    out_h: int,
    out_w: int,
) -> list[Callable[[], None]]:
    """One task per block of the output for a group of DFT filters.

    Accuracy trap: a DFT's round-off is relative to the largest value in the transform, not to
    the values near each output pixel. A whole-frame transform put 1.5e-2 of error into a dark
    region from a bright square elsewhere (float32 direct sums: 4e-6). Blocks of about 128
    pixels a side keep that error local to the block, and are cache-sized as well.
    """
    source, kh, kw = key
    planes, image = padded[source], padded[None]
    _, hp, wp = planes.shape
    sy, sx = plan.stride
    m, n = _dft_block_size(hp, kh), _dft_block_size(wp, kw)
    th, tw = m - kh + 1, n - kw + 1  # full-resolution positions per block
    full_h, full_w = hp - kh + 1, wp - kw + 1
    for o in filters:  # made here once, not raced for by the pool threads
        for k in plan.filters[o].kernels:
            if k is not None:
                k.spectrum((m, n))

    def block(y0: int, x0: int) -> None:
        """One block of every filter of the group. Runs on an engine pool thread or the
        caller's (see `_map`)."""
        region = planes[:, y0 : y0 + m, x0 : x0 + n]
        spectra: dict[tuple[int, ...], np.ndarray] = {}
        # The range is read off the image's own pixels: zero padding is no dim region (a
        # block along a zero border went to float64 for it, 1.8x the time at 640x480).
        top, _, left, _ = source
        wide = _high_range(
            image[:, max(0, y0 - top) : max(0, y0 + m - top), max(0, x0 - left) : x0 + n - left]
        )
        dtype = np.float64 if wide else np.float32
        grown = np.zeros((m, n), dtype) if wide else _thread_buffer("dft block", (m, n))
        # The first output position of this block that the stride keeps, and how many.
        ry, rx = (-y0) % sy, (-x0) % sx
        ny = len(range(y0 + ry, min(y0 + th, full_h), sy))
        nx = len(range(x0 + rx, min(x0 + tw, full_w), sx))
        if ny == 0 or nx == 0:
            return
        oy, ox = (y0 + ry) // sy, (x0 + rx) // sx
        for o in filters:
            fp = plan.filters[o]
            acc: np.ndarray | None = None
            for chs, kernel in fp.groups:
                spectrum = spectra.get(chs)
                if spectrum is None:
                    plane = region[chs[0]] if len(chs) == 1 else np.sum(region[list(chs)], 0)
                    if plane.shape != (m, n) or wide:
                        # Blocks at the far edges are short: the rest of the transform is 0.
                        grown[...] = 0
                        grown[: plane.shape[0], : plane.shape[1]] = plane
                        plane = grown
                    spectrum = spectra[chs] = cv2.dft(plane)
                # Correlation = inverse DFT of the input's spectrum times the kernel's
                # conjugate; positions past th, tw wrap around and are not kept.
                kernel_spectrum = kernel.spectrum((m, n), dtype)
                product = cv2.mulSpectrums(spectrum, kernel_spectrum, 0, conjB=True)
                if acc is None:
                    acc = np.asarray(product)
                else:
                    acc += product
            assert acc is not None  # a DFT filter has at least one kernel (by_dft)
            result = cv2.idft(acc, flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)
            target = out[o, oy : oy + ny, ox : ox + nx]
            kept = result[ry : ry + (ny - 1) * sy + 1 : sy, rx : rx + (nx - 1) * sx + 1 : sx]
            np.add(kept, fp.bias, out=target)
            activate(target, plan.activation, plan.slope)

    return [
        partial(block, y0, x0)
        for y0 in range(0, min(full_h, (out_h - 1) * sy + 1), th)
        for x0 in range(0, min(full_w, (out_w - 1) * sx + 1), tw)
    ]


# --- pooling ---------------------------------------------------------------------------------


def run_pool(layer: PoolLayer, x: np.ndarray) -> np.ndarray:
    """Max or average pooling of (C, H, W) with no padding; floor output size."""
    ky, kx = layer.size
    sy, sx = layer.stride
    _, h, w = x.shape
    oh, ow = pool_output_length(h, ky, sy), pool_output_length(w, kx, sx)
    # One strided view per window offset: ky*kx cheap passes instead of a Python loop per pixel.
    views = (
        x[:, i : i + (oh - 1) * sy + 1 : sy, j : j + (ow - 1) * sx + 1 : sx]
        for i in range(ky)
        for j in range(kx)
    )
    out = np.array(next(views), dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):  # inf, as in _map
        if layer.op == "max":
            for v in views:
                np.maximum(out, v, out=out)
        else:
            for v in views:
                out += v
            out *= np.float32(1.0 / (ky * kx))
    return out
