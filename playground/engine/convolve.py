"""Convolution and pooling of planar float32 maps: the engine's hot path.

A layer's input is a (C, H, W) float32 array of C-contiguous planes. Each filter is compiled once
per bank into calls of ``cv2.filter2D`` / ``cv2.sepFilter2D`` (cross-correlation, GIL released),
and the filters of a layer run on a small thread pool: at 1280x720 a single ``filter2D`` call does
not parallelise by itself, so spreading filters over the cores is what makes a layer fast.

Everything that depends only on the bank (flipped, dilated, float32 kernels; separable factors;
channels that share a kernel) is prepared in :func:`compile_conv`, never per frame.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

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
# sepFilter2D beats filter2D from about 7x7 up (measured at 1280x720, float32).
_SEPARABLE_MIN_AREA = 40
# From 8x8 up, a non-separable kernel is cheaper as a product of spectra (one forward DFT per
# input plane, shared by all filters, one inverse per filter) than as filter2D calls. Measured at
# 1280x720, 8 filters k x k x 3, direct vs DFT ms: 7x7 24 vs 28, 9x9 34 vs 26, 11x11 51 vs 26.
_DFT_MIN_AREA = 64
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="conv")
    return _pool


def _map(fn, items: list, parallel: bool = True) -> list:
    """``[fn(i) for i in items]``, spread over the pool when worth a thread hop."""

    def quiet(item):
        # Huge weights or pixels overflow float32 to inf (and inf - inf is NaN): that is the
        # answer, as OpenCV gives it, not a warning. errstate is per thread, so set it here.
        with np.errstate(over="ignore", invalid="ignore"):
            return fn(item)

    if not parallel or len(items) < 2:
        return [quiet(item) for item in items]
    return list(_executor().map(quiet, items))


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
    spectra: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, compare=False)

    @property
    def by_dft(self) -> bool:
        """Large, non-separable kernels correlate faster through the DFT, whose cost does not
        grow with the kernel: a layer's input planes are transformed once for all its filters."""
        return self.column is None and self.full.size >= _DFT_MIN_AREA

    def spectrum(self, size: tuple[int, int]) -> np.ndarray:
        """The kernel, zero-padded to ``size`` at the top left, as an OpenCV CCS spectrum."""
        spectrum = self.spectra.get(size)
        if spectrum is None:
            padded = np.zeros(size, np.float32)
            padded[: self.full.shape[0], : self.full.shape[1]] = self.full
            spectrum = self.spectra[size] = cv2.dft(padded)
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
        if self.column is not None:
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
    kernels: tuple[_Kernel | None, ...]  # one per input channel; None where all weights are 0
    # Channels whose kernels are identical are summed first and correlated once (linearity):
    # a handcrafted kernel copied to R, G and B costs one correlation, not three.
    groups: tuple[tuple[tuple[int, ...], int], ...]  # (channels, index of their kernel)
    bias: np.float32
    height: int  # effective (dilated) kernel size
    width: int


@dataclass(frozen=True)
class ConvPlan:
    """A conv layer compiled once per bank; see :func:`compile_conv`."""

    filters: tuple[_FilterPlan, ...]
    stride: tuple[int, int]
    padding: str | tuple[int, int]
    border: str
    activation: str
    in_channels: int


def compile_conv(layer: ConvLayer) -> ConvPlan:
    plans = []
    for f in layer.filters:
        kernels = tuple(
            None if not np.any(k) else _Kernel.prepare(k, layer.flip, layer.dilation)
            for k in f.kernels
        )
        groups: dict[bytes, list[int]] = {}
        for c, k in enumerate(f.kernels):
            if kernels[c] is not None:
                groups.setdefault(np.ascontiguousarray(k).tobytes(), []).append(c)
        kh, kw = f.kernels.shape[1:]
        plans.append(
            _FilterPlan(
                kernels=kernels,
                groups=tuple((tuple(chs), chs[0]) for chs in groups.values()),
                bias=np.float32(f.bias),
                height=effective_size(kh, layer.dilation[0]),
                width=effective_size(kw, layer.dilation[1]),
            )
        )
    return ConvPlan(
        filters=tuple(plans),
        stride=layer.stride,
        padding=layer.padding,
        border=layer.border,
        activation=layer.activation,
        in_channels=layer.in_channels,
    )


def _pads(plan: ConvPlan, fp: _FilterPlan, h: int, w: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding of one filter on an h x w input."""
    if plan.padding == "valid":
        return 0, 0, 0, 0
    if plan.padding == "same":
        top, bottom = same_padding(h, fp.height, plan.stride[0], 1)
        left, right = same_padding(w, fp.width, plan.stride[1], 1)
        return top, bottom, left, right
    py, px = plan.padding
    return py, py, px, px


def activate(x: np.ndarray, activation: str) -> None:
    """Apply ``activation`` to ``x`` in place."""
    if activation == "relu":
        np.maximum(x, 0, out=x)
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


def run_conv(
    plan: ConvPlan, x: np.ndarray, partials: bool = False, story: int | None = None
) -> tuple[np.ndarray, list[np.ndarray | None] | None]:
    """Run a compiled conv layer on planar input ``x`` (C_in, H, W) float32.

    Runs on the caller's thread and fans filters out to the engine's thread pool.

    ``story``: the index of one filter whose partial maps are wanted (the live view's channel
    story); that filter alone takes the per-channel path, and its output is their sum, so the
    story costs no second pass.

    Returns
    -------
    out : (C_out, H', W') float32 feature maps.
    partials : with ``partials``, one (C_in, H', W') array per filter: each channel's map before
        the sum, the bias and the activation; with ``story``, that list holds None for every
        other filter; otherwise None.
    """
    _, h, w = x.shape
    sy, sx = plan.stride
    border, zero = BORDER_CODES[plan.border], cv2.BORDER_CONSTANT
    pads = [_pads(plan, fp, h, w) for fp in plan.filters]
    top, bottom, left, right = pads[0]
    out_h = conv_output_length(h, plan.filters[0].height, sy, 1, top + bottom)
    out_w = conv_output_length(w, plan.filters[0].width, sx, 1, left + right)
    out = np.empty((len(plan.filters), out_h, out_w), np.float32)
    parallel = out_h * out_w >= _PARALLEL_MIN_PIXELS
    crop = (slice(0, (out_h - 1) * sy + 1, sy), slice(0, (out_w - 1) * sx + 1, sx))

    # filter2D pads by itself when the padding fits inside the kernel (the anchor moves); wider
    # explicit padding, and wrap (which filter2D refuses), pad the input once here instead.
    sources: list[tuple[int, int, int, int] | None] = []
    padded: dict[tuple[int, int, int, int] | None, np.ndarray] = {None: x}
    by_dft = [
        not partials
        and o != story
        and all(k is None or k.by_dft for k in fp.kernels)
        and any(k is not None for k in fp.kernels)
        for o, fp in enumerate(plan.filters)
    ]
    for fp, pad, dft in zip(plan.filters, pads, by_dft):
        direct = (
            plan.border != "wrap" and pad[0] + pad[1] < fp.height and pad[2] + pad[3] < fp.width
        )
        sources.append(None if direct or dft else pad)  # DFT filters pad their own inputs
        if not direct and not dft and pad not in padded:
            planes = _map(
                lambda p, pad=pad: cv2.copyMakeBorder(p, *pad, border, value=0), list(x), parallel
            )
            padded[pad] = np.stack(planes)

    sums: dict[tuple[tuple[int, int, int, int] | None, tuple[int, ...]], np.ndarray] = {}
    if not partials:
        keys = list(
            {
                (src, chs)
                for o, (fp, src) in enumerate(zip(plan.filters, sources))
                for chs, _ in fp.groups
                if len(chs) > 1 and o != story and not by_dft[o]
            }
        )
        totals = _map(lambda key: np.sum(padded[key[0]][list(key[1])], axis=0), keys, parallel)
        sums = dict(zip(keys, totals))

    def dft_size(pad: tuple[int, int, int, int]) -> tuple[int, int]:
        return cv2.getOptimalDFTSize(h + pad[0] + pad[1]), cv2.getOptimalDFTSize(
            w + pad[2] + pad[3]
        )

    def input_spectrum(key: tuple[tuple[int, int, int, int], tuple[int, ...]]) -> np.ndarray:
        # Padding and summing commute (every border copies pixels), so channels sharing a
        # kernel are summed unpadded. The padded plane is then grown with zeros to the
        # transform size; with zero borders both happen in one copy.
        pad, chs = key
        top, bottom, left, right = pad
        plane = x[chs[0]] if len(chs) == 1 else np.sum(x[list(chs)], axis=0)
        m, n = dft_size(pad)
        if plan.border == "zero":
            grown = cv2.copyMakeBorder(plane, top, m - h - top, left, n - w - left, zero, value=0)
        else:
            grown = cv2.copyMakeBorder(
                cv2.copyMakeBorder(plane, *pad, border),
                0,
                m - h - top - bottom,
                0,
                n - w - left - right,
                zero,
                value=0,
            )
        return cv2.dft(grown)

    # The DFT filters' input planes, each transformed once for all the filters that read it.
    dft_keys = list(
        {
            (pad, chs)
            for fp, pad, dft in zip(plan.filters, pads, by_dft)
            if dft
            for chs, _ in fp.groups
        }
    )
    spectra = dict(zip(dft_keys, _map(input_spectrum, dft_keys, parallel)))

    def one_filter(o: int) -> np.ndarray | None:
        fp, src = plan.filters[o], sources[o]
        # An explicitly padded input is only read inside the crop, so its border type is moot;
        # constant is the one filter2D accepts for every border the user picked.
        anchor, edge = ((pads[o][2], pads[o][0]), border) if src is None else ((0, 0), zero)
        planes = padded[src]
        maps = None
        if partials or o == story:
            maps = np.empty((len(fp.kernels), out_h, out_w), np.float32)
            in_place = src is None and (out_h, out_w) == (h, w)
            for c, k in enumerate(fp.kernels):
                if k is None:
                    maps[c] = 0
                elif in_place:
                    k.correlate(planes[c], anchor, edge, dst=maps[c])
                else:
                    maps[c] = k.correlate(planes[c], anchor, edge)[crop]
            np.sum(maps, axis=0, out=out[o])
            out[o] += fp.bias
        elif by_dft[o]:
            # Correlation = inverse DFT of the input's spectrum times the kernel's conjugate.
            # The transform is at least as large as the padded input, so no output pixel that
            # is kept wraps around.
            size = dft_size(pads[o])
            acc = None
            for chs, c in fp.groups:
                product = cv2.mulSpectrums(
                    spectra[(pads[o], chs)], fp.kernels[c].spectrum(size), 0, conjB=True
                )
                if acc is None:
                    acc = product
                else:
                    acc += product
            # (nonzeroRows, to skip rows the crop drops, made both transforms 2-4x slower.)
            full = cv2.idft(acc, flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)
            np.add(full[crop], fp.bias, out=out[o])
        else:
            # The first correlation carries the bias (OpenCV's delta) and, when no crop is
            # needed, writes straight into the output plane: no extra pass per filter.
            target = out[o]
            in_place = src is None and (out_h, out_w) == (h, w)
            acc = scratch = None
            for chs, c in fp.groups:
                plane = planes[c] if len(chs) == 1 else sums[(src, chs)]
                if acc is None:
                    acc = fp.kernels[c].correlate(
                        plane, anchor, edge, float(fp.bias), target if in_place else None
                    )
                else:
                    # One reused plane per filter for the other channels: a fresh 8 MB array
                    # per correlation at 1080p costs its page faults every frame.
                    scratch = fp.kernels[c].correlate(plane, anchor, edge, dst=scratch)
                    acc += scratch
            if acc is None:
                target[...] = fp.bias
            elif acc is not target:
                target[...] = acc[crop]
        activate(out[o], plan.activation)
        return maps

    maps = _map(one_filter, list(range(len(plan.filters))), parallel)
    return out, (maps if partials or story is not None else None)


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
