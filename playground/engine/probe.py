"""The arithmetic behind one feature-map pixel: what the probe shows.

For a conv layer: per input channel the filter reads, the input patch under the kernel's
footprint (stride, dilation, padding and border applied), the kernel as it is applied (rotated
when the layer flips), their element-wise products and the partial sum; then the sum over
channels, + bias, the activation and the value. For a pool layer: the window and which input
won (max) or the mean. Everything in float64, so the user sees exact sums; the engine computes
in float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from playground.engine import convolve
from playground.engine.errors import BankError

if TYPE_CHECKING:
    # Types only: bank.py imports this module for `Bank.probe`, which picks the layer's input
    # and calls `probe_conv` or `probe_pool`.
    from playground.engine.bank import ConvLayer, PoolLayer


@dataclass(frozen=True)
class ChannelTerms:
    """One input channel's part of a conv output pixel."""

    channel: int  # 0-based input channel (of the layer's input: a grouped filter reads a few)
    patch: np.ndarray  # (kh, kw) input values under the footprint (border values included)
    kernel: np.ndarray  # (kh, kw) weights as applied: rotated 180 degrees when the layer flips
    products: np.ndarray  # patch * kernel
    partial: float  # products.sum()


@dataclass(frozen=True)
class Probe:
    """How one output pixel of one layer came to be.

    ``rows`` and ``cols`` are the footprint's input coordinates (kh and kw of them, with
    dilation and stride applied); those outside 0..H-1 / 0..W-1 are padding, filled by the
    layer's border. For a pool layer ``channels`` holds one entry whose kernel is all ones and
    ``winner`` is the (row, col) of the input that won a max pool.
    """

    kind: str  # "conv" or "pool"
    layer: int  # 1-based, like the CLI's file names
    filter: int  # 1-based filter (conv) or channel (pool)
    y: int
    x: int
    rows: np.ndarray
    cols: np.ndarray
    channels: list[ChannelTerms]
    total: float  # sum of the partials (conv) or the pooled value (pool)
    bias: float
    biased: float
    activation: str
    value: float  # what the feature map holds at (y, x)
    winner: tuple[int, int] | None = None
    slope: float = 0.0  # leaky-relu's, when that is the activation


def border_index(index: np.ndarray, size: int, border: str) -> np.ndarray:
    """Map coordinates outside 0..size-1 to the pixel a border fills them with; -1 for zero.

    The same rules as numpy's pad modes (constant, reflect, edge, wrap) and OpenCV's
    BORDER_CONSTANT, REFLECT_101, REPLICATE and WRAP, also for pads wider than the image.
    """
    index = np.asarray(index, dtype=np.int64)
    inside = (index >= 0) & (index < size)
    if border == "zero":
        return np.where(inside, index, -1)
    if border == "replicate":
        return np.clip(index, 0, size - 1)
    if border == "wrap":
        return np.mod(index, size)
    if size == 1:
        return np.zeros_like(index)
    period = 2 * (size - 1)
    folded = np.mod(index, period)
    return np.where(folded < size, folded, period - folded)


def _check_pixel(layer: int, y: int, x: int, out_h: int, out_w: int) -> None:
    if not (0 <= y < out_h and 0 <= x < out_w):
        raise BankError(
            f"layer {layer}: pixel (y {y}, x {x}) is outside its {out_h}x{out_w} output"
        )


def probe_conv(spec: ConvLayer, x_in: np.ndarray, layer: int, filt: int, y: int, x: int) -> Probe:
    """The breakdown of conv layer ``spec`` (number ``layer``, 1-based), filter ``filt``
    (1-based) at output pixel (y, x), given the layer's input ``x_in`` (C, H, W).
    Raises BankError for a filter or pixel out of range."""
    if not 1 <= filt <= len(spec.filters):
        raise BankError(f"layer {layer}: filter {filt} does not exist; it has {len(spec.filters)}")
    f = spec.filters[filt - 1]
    _, h, w = x_in.shape
    _, kh, kw = f.kernels.shape
    (sy, sx), (dy, dx) = spec.stride, spec.dilation
    if spec.padding == "valid":
        top = bottom = left = right = 0
    elif spec.padding == "same":
        top, bottom = convolve.same_padding(h, kh, sy, dy)
        left, right = convolve.same_padding(w, kw, sx, dx)
    else:
        top, bottom, left, right = spec.padding
    out_h = convolve.conv_output_length(h, kh, sy, dy, top + bottom)
    out_w = convolve.conv_output_length(w, kw, sx, dx, left + right)
    _check_pixel(layer, y, x, out_h, out_w)
    rows = y * sy + np.arange(kh) * dy - top
    cols = x * sx + np.arange(kw) * dx - left
    r, c = border_index(rows, h, spec.border), border_index(cols, w, spec.border)
    outside = (r[:, None] < 0) | (c[None, :] < 0)
    terms = []
    read = spec.channels_read(filt - 1)
    for channel, weights in zip(read, np.asarray(f.kernels, dtype=np.float64)):
        kernel = weights[::-1, ::-1] if spec.flip else weights
        window = x_in[channel][np.ix_(np.maximum(r, 0), np.maximum(c, 0))].astype(np.float64)
        patch = np.where(outside, 0.0, window)
        products = patch * kernel
        terms.append(ChannelTerms(channel, patch, kernel, products, float(products.sum())))
    total = float(sum(t.partial for t in terms))
    biased = total + f.bias
    value = _activate(biased, spec.activation, spec.slope)
    return Probe(
        "conv",
        layer,
        filt,
        y,
        x,
        rows,
        cols,
        terms,
        total,
        f.bias,
        biased,
        spec.activation,
        value,
        slope=spec.slope,
    )


def probe_pool(
    spec: PoolLayer, x_in: np.ndarray, layer: int, channel: int, y: int, x: int
) -> Probe:
    """The window of pool layer ``spec`` (number ``layer``, 1-based), ``channel`` (1-based) at
    output pixel (y, x), given the layer's input ``x_in`` (C, H, W).
    Raises BankError for a channel or pixel out of range."""
    count, h, w = x_in.shape
    if not 1 <= channel <= count:
        raise BankError(f"layer {layer}: channel {channel} does not exist; it has {count}")
    (ky, kx), (sy, sx) = spec.size, spec.stride
    out_h, out_w = convolve.pool_output_length(h, ky, sy), convolve.pool_output_length(w, kx, sx)
    _check_pixel(layer, y, x, out_h, out_w)
    rows, cols = y * sy + np.arange(ky), x * sx + np.arange(kx)
    patch = x_in[channel - 1][np.ix_(rows, cols)].astype(np.float64)
    winner = None
    if spec.op == "max":
        i, j = np.unravel_index(int(np.argmax(patch)), patch.shape)
        winner = (int(rows[i]), int(cols[j]))
        value = float(patch[i, j])
        kernel = np.zeros_like(patch)
        kernel[i, j] = 1.0
    else:
        kernel = np.full_like(patch, 1.0 / patch.size)
        value = float((patch * kernel).sum())
    products = patch * kernel
    terms = [ChannelTerms(channel - 1, patch, kernel, products, float(products.sum()))]
    return Probe(
        "pool", layer, channel, y, x, rows, cols, terms, value, 0.0, value, "none", value, winner
    )


def _activate(v: float, activation: str, slope: float = 0.0) -> float:
    # The engine's own activation, in float64, so the probe cannot drift from the maps.
    value = np.array([v], dtype=np.float64)
    convolve.activate(value, activation, slope)
    return float(value[0])
