"""What a bank asks of one frame, worked out from the bank and the image size alone.

A bank of a few kilobytes can ask for gigabytes of feature maps (padding 1024 on eight layers
grows the image by 2048 pixels a layer) or for hours of arithmetic (1024 filters mixing 1024
maps). :func:`estimate` counts both before anything runs, so `Bank.run` and `Bank.apply` refuse
such a bank with one line instead of a MemoryError minutes later, and the live view can say that
a bank that does fit is heavy.

Pure arithmetic on shapes: it allocates nothing and its cost grows with the number of layers,
not with the image or the filters' weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from playground.engine import convolve, direct
from playground.engine.errors import BankError

if TYPE_CHECKING:
    from playground.engine.bank import Bank

# Feature maps of one frame, all layers together. A fraction of the machine's RAM would need a
# platform-specific probe and would make a bank file run on one machine and not another; a
# fixed 2 GiB is simple, fits any machine that runs the app, and is generous: a designed bank
# holds a few hundred MB at 1920x1080 (16 filters on 8 layers take 1 GB).
MAX_MAP_BYTES = 2 * 1024**3
# Multiply-adds per frame. The engine does a few billion a second on two cores, so this is
# several minutes a frame: a computation the worker cannot interrupt and the window would wait
# on for good, and a CLI run nobody means to start.
MAX_MULTIPLY_ADDS = 10**12
# From here on a frame takes about a second or more: the bank still runs, and the live view
# says so, since every edit then waits that long for its maps.
HEAVY_MULTIPLY_ADDS = 2 * 10**9

_FLOAT32 = 4


@dataclass(frozen=True)
class Estimate:
    """The peak memory of the maps (``bytes``) and the multiply-adds (``flops``) of one frame."""

    bytes: int
    flops: int

    @property
    def heavy(self) -> bool:
        """True when a frame takes about a second or more (see HEAVY_MULTIPLY_ADDS)."""
        return self.flops >= HEAVY_MULTIPLY_ADDS

    def describe(self) -> str:
        """One line for the status bar: the work and memory of a frame."""
        return f"{_count(self.flops)} multiply-adds and {_size(self.bytes)} of maps per frame"


def estimate(
    bank: Bank,
    height: int,
    width: int,
    story: int | None = None,
    partials: bool = False,
    check: bool = True,
) -> Estimate:
    """The memory and work of running ``bank`` on one ``height`` x ``width`` image.

    ``bytes`` is the peak of what a run holds at once: the input planes, every layer's output
    maps so far (float32 C_out x H' x W'; a run keeps them all), and while a conv layer runs the
    padded copy of its input that the engine makes when the padding is not smaller than the
    kernel (or the border wraps), and in layer ``story`` (0-based, the live view's channel
    story) one filter's partial maps; with ``partials`` (`Bank.apply`'s), every filter's
    partial maps, which that run keeps.
    ``flops`` counts C_out x C_in x kh x kw x H' x W' multiply-adds per conv layer and
    C x ky x kx x H' x W' per pool layer.

    With ``check``, raises BankError naming the first layer that takes the run past
    MAX_MAP_BYTES or MAX_MULTIPLY_ADDS, with what it would need; also raises BankError when the
    stack shrinks the image to nothing (`Bank.output_shapes`).
    """
    from playground.engine.bank import ConvLayer

    shapes = bank.output_shapes(height, width)
    counts = bank.channels()
    held = counts[0] * height * width * _FLOAT32
    peak = held
    flops = 0
    h, w = height, width
    for n, (layer, (c_out, oh, ow)) in enumerate(zip(bank.layers, shapes), 1):
        c_in = counts[n - 1]
        out_bytes = c_out * oh * ow * _FLOAT32
        transient = 0
        if isinstance(layer, ConvLayer):
            kh, kw = max(f.size[0] for f in layer.filters), max(f.size[1] for f in layer.filters)
            transient = _padded_bytes(layer, c_in, h, w)
            # A filter of a layer with groups reads (and has partial maps of) a few channels.
            kernels = c_in // layer.groups
            if partials:
                held += c_out * kernels * oh * ow * _FLOAT32
            elif story == n - 1:
                transient += kernels * oh * ow * _FLOAT32
            flops += c_out * kernels * kh * kw * oh * ow
        else:
            ky, kx = layer.size
            flops += c_out * ky * kx * oh * ow
        held += out_bytes
        peak = max(peak, held + transient)
        if check and peak > MAX_MAP_BYTES:
            raise BankError(
                f"layer {n} would need {_size(peak)} of feature maps on this {width}x{height} "
                f"image; the limit is {_size(MAX_MAP_BYTES)}"
            )
        if check and flops > MAX_MULTIPLY_ADDS:
            raise BankError(
                f"layer {n} would need {_count(flops)} multiply-adds per frame on this "
                f"{width}x{height} image; the limit is {_count(MAX_MULTIPLY_ADDS)}"
            )
        h, w = oh, ow
    return Estimate(peak, flops)


def _padded_bytes(layer: object, c_in: int, h: int, w: int) -> int:
    """The padded input copies a conv layer makes (see `convolve.run_conv`): filter2D pads by
    itself while the padding is smaller than the kernel; wider padding, a wrap border and the
    compiled loops of small kernels copy the input once per distinct padding."""
    from playground.engine.bank import ConvLayer

    assert isinstance(layer, ConvLayer)
    dy, dx = layer.dilation
    total = 0
    seen: set[tuple[int, int]] = set()
    for f in layer.filters:
        span_y = convolve.effective_size(f.size[0], dy)
        span_x = convolve.effective_size(f.size[1], dx)
        if layer.padding == "valid":
            pad_y = pad_x = 0
        elif layer.padding == "same":
            sy, sx = layer.stride
            pad_y = sum(convolve.same_padding(h, span_y, sy, 1))
            pad_x = sum(convolve.same_padding(w, span_x, sx, 1))
        else:
            top, bottom, left, right = layer.padding
            pad_y, pad_x = top + bottom, left + right
        # The compiled loops of small kernels read planes padded once, whatever the padding.
        compiled = direct.eligible(*f.size, layer.stride[1]) and (pad_y or pad_x)
        copies = compiled or layer.border == "wrap" or pad_y >= span_y or pad_x >= span_x
        if copies and (pad_y, pad_x) not in seen:
            seen.add((pad_y, pad_x))
            total += c_in * (h + pad_y) * (w + pad_x) * _FLOAT32
    return total


def _size(n: int) -> str:
    """Bytes as people read them: 3.5 GB, 120 MB (powers of 1024, as RAM is sold)."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            value = n / scale
            return (
                f"{value:.1f} {unit}"
                if value < 10 and value != int(value)
                else f"{value:.0f} {unit}"
            )
    return f"{n} bytes"


def _count(n: int) -> str:
    """A large count as 9.7 billion, 1.2 trillion."""
    for unit, scale in (("trillion", 10**12), ("billion", 10**9), ("million", 10**6)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return str(n)
