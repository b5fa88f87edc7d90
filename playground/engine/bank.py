"""The bank model: filters, layers and banks as immutable, validated values.

A **kernel** is one 2-D weight grid applied to one input channel; a **filter** is C_in kernels
plus a bias, whose per-channel maps (the **partial maps**) are summed into one **feature map**; a
**layer** is a list of filters sharing stride, padding, border, dilation, flip and activation (or
a pooling layer); a **bank** is the input mode plus an ordered stack of layers.

Every value validates itself on construction, so a bank that exists is a bank that runs. Editing
returns a new value (``dataclasses.replace`` or the ``with_*`` helpers): the GUI keeps old banks
as undo history, and the compute thread may hold one while the user edits the next.
"""

from __future__ import annotations

import math
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Literal, Protocol, cast

import cv2
import numpy as np

from playground.engine import budget, convolve
from playground.engine.errors import BankError
from playground.engine.probe import Probe, probe_conv, probe_pool

FORMAT_TAG = "filter-playground.bank"
FORMAT_VERSION = 1
INPUT_MODES = ("rgb", "gray")
PADDINGS = ("valid", "same")
# What a conv layer's padding holds: a name, or pixels on each side as (top, bottom, left,
# right). Construction also takes an int (the same on every side), (y, x) (the same on both
# sides of an axis) or a list of either.
Padding = Literal["valid", "same"] | tuple[int, int, int, int]
BORDERS = ("zero", "reflect", "replicate", "wrap")
ACTIVATIONS = ("none", "relu", "leaky-relu", "abs", "sigmoid", "tanh")
# leaky-relu's slope for negative values: x if x > 0 else slope * x. 0.01 is PyTorch's and
# ONNX's default; a slope above 1 would not be "leaky" any more.
DEFAULT_SLOPE = 0.01
POOL_OPS = ("max", "avg")
INPUT_CHANNELS = {"rgb": 3, "gray": 1}

# Bounds that keep a hand-edited or fuzzed file from asking for absurd work; generous enough for
# trained first layers (64 filters of 11x11) and for anything a person designs by hand.
MAX_KERNEL = 101
MAX_FILTERS = 1024
MAX_LAYERS = 64
MAX_STEP = 64  # stride, dilation, pool size
MAX_PADDING = 1024
MAX_NAME = 200
# The engine builds a dilated kernel as a dense grid of dilation·(k−1)+1 pixels a side (and
# factors it): 101 taps at dilation 64 would be 6401x6401, gigabytes and minutes for one kernel.
MAX_SPAN = 1024
# The engine computes in float32; a weight of 1e300 would turn every map into inf. No designed or
# trained filter comes near this bound.
MAX_WEIGHT = 1e6

# The largest pixel value the engine's float32 can hold.
_F32_MAX = float(np.finfo(np.float32).max)

# BT.601 luma, applied to [0, 1] floats.
LUMA = np.array([0.299, 0.587, 0.114])

# A cancellable run checks between layers, and inside a conv layer estimated above this many
# multiply-adds (about a second of filter2D on 2 cores) between chunks of filters: first as
# many filters as the engine has threads, then chunks timed to take about _CANCEL_CHUNK_S. A
# lighter layer runs in one call, as it does uncancelled (chunks cost a copy of their maps).
_CANCEL_CHUNK_TAPS = 2e9
_CANCEL_CHUNK_S = 0.25


class RunCancelled(Exception):
    """`Bank.run` stopped early because its ``cancelled`` callback returned True."""


def _pair(value: Any, what: str, low: int, high: int) -> tuple[int, int]:
    """An int or [y, x] of ints within [low, high], as a (y, x) tuple."""
    items = list(value) if isinstance(value, (list, tuple)) else [value, value]
    if len(items) != 2 or not all(_is_int(v) for v in items):
        raise BankError(f"{what} must be an integer or [y, x] integers, got {_show(value)}")
    y, x = int(items[0]), int(items[1])
    if not (low <= y <= high and low <= x <= high):
        raise BankError(f"{what} must be between {low} and {high}, got {_show(value)}")
    return y, x


def _padding(value: Any) -> tuple[int, int, int, int]:
    """Explicit padding as (top, bottom, left, right): an int, [y, x] or the four sides."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(items) not in (1, 2, 4) or not all(_is_int(v) for v in items):
        raise BankError(
            "padding must be 'valid', 'same', an integer, [y, x] or [top, bottom, left, right] "
            f"integers, got {_show(value)}"
        )
    if not all(0 <= v <= MAX_PADDING for v in items):
        raise BankError(f"padding must be between 0 and {MAX_PADDING}, got {_show(value)}")
    sides = [int(v) for v in items]
    if len(sides) == 1:
        return sides[0], sides[0], sides[0], sides[0]
    if len(sides) == 2:
        return sides[0], sides[0], sides[1], sides[1]
    return sides[0], sides[1], sides[2], sides[3]


def _show(value: Any) -> str:
    """``repr(value)`` for a message; it is one line, as the messages are."""
    try:
        return repr(value)
    except ValueError:  # an integer past Python's 4300-digit str limit (Python data only)
        return "an integer too long to show"


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _choice(value: Any, what: str, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise BankError(f"{what} must be one of {', '.join(options)}; got {_show(value)}")
    return value


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_NAME:
        raise BankError(f"{what} must be a string of at most {MAX_NAME} characters")
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise BankError(f"{what} must be a number, got {_show(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer past float range: 10**400 is valid JSON
        raise BankError(
            f"{what} must be between -{MAX_WEIGHT:g} and {MAX_WEIGHT:g}, got {_show(value)}"
        ) from None
    if not math.isfinite(number):
        raise BankError(f"{what} must be finite, got {_show(value)}")
    if abs(number) > MAX_WEIGHT:
        raise BankError(
            f"{what} must be between -{MAX_WEIGHT:g} and {MAX_WEIGHT:g}, got {_show(value)}"
        )
    return number


@dataclass(frozen=True, eq=False)
class Filter:
    """C_in kernels (one per input channel) plus a bias: one feature map. In a layer with
    groups a filter reads its group's channels only, and has C_in / groups kernels.

    ``kernels`` has shape (channels it reads, kh, kw); it is stored as a read-only float64 copy
    so a weight typed as 1/9 keeps its value in the file; the engine computes in float32.
    """

    kernels: np.ndarray
    bias: float = 0.0
    name: str = ""

    def __post_init__(self) -> None:
        k = _kernel_array(self.kernels)
        k.setflags(write=False)
        object.__setattr__(self, "kernels", k)
        object.__setattr__(self, "bias", _number(self.bias, "bias"))
        object.__setattr__(self, "name", _name(self.name, "filter name"))

    @classmethod
    def repeated(
        cls, kernel: np.ndarray | Sequence, channels: int, bias: float = 0.0, name: str = ""
    ) -> Filter:
        """A filter with the same 2-D ``kernel`` on each of ``channels`` input channels."""
        k = np.asarray(kernel, dtype=np.float64)
        if k.ndim != 2:
            raise BankError(f"a kernel is 2-D (kh, kw); got shape {k.shape}")
        if not _is_int(channels):
            raise BankError(f"channels must be an integer, got {_show(channels)}")
        _kernel_shape((int(channels), *k.shape))  # before np.repeat builds them
        return cls(np.repeat(k[None], channels, axis=0), bias, name)

    @property
    def in_channels(self) -> int:
        return self.kernels.shape[0]

    @property
    def size(self) -> tuple[int, int]:
        """(kh, kw)."""
        return self.kernels.shape[1], self.kernels.shape[2]

    def with_kernel(self, channel: int, kernel: np.ndarray | Sequence) -> Filter:
        """A copy with input channel ``channel``'s kernel replaced (0-based; same size)."""
        k = np.array(self.kernels)
        k[channel] = kernel
        return replace(self, kernels=k)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Filter):
            return NotImplemented
        return (
            self.name == other.name
            and self.bias == other.bias
            and np.array_equal(self.kernels, other.kernels)
        )

    __hash__ = None  # type: ignore[assignment]  # equal by value, and the array is not hashable


def _kernel_array(kernels: Any) -> np.ndarray:
    if isinstance(kernels, np.ndarray):
        if kernels.dtype == object or not np.issubdtype(kernels.dtype, np.number):
            raise BankError("kernels must be numbers")
        _kernel_shape(kernels.shape)  # before the copy: a giant (broadcast) array is not copied
        k = np.array(kernels, dtype=np.float64)
    else:
        k = _nested_numbers(kernels)
    _kernel_shape(k.shape)
    if not np.all(np.isfinite(k)):
        raise BankError("kernels contain NaN or infinity")
    if np.any(np.abs(k) > MAX_WEIGHT):
        raise BankError(f"kernel weights must be between -{MAX_WEIGHT:g} and {MAX_WEIGHT:g}")
    return k


def _kernel_shape(shape: tuple[int, ...]) -> None:
    if len(shape) != 3:
        raise BankError(f"kernels must have shape (channels, height, width), got {shape}")
    c, kh, kw = shape
    if min(c, kh, kw) < 1:
        raise BankError(f"kernels must not be empty, got shape {shape}")
    if kh > MAX_KERNEL or kw > MAX_KERNEL:
        raise BankError(f"kernels are {kh}x{kw}; at most {MAX_KERNEL}x{MAX_KERNEL} is supported")
    if c > MAX_FILTERS:
        raise BankError(f"kernels have {c} channels; at most {MAX_FILTERS} are supported")


def _nested_numbers(value: Any) -> np.ndarray:
    """Nested lists of numbers as a float64 array, refusing ragged, empty and non-numbers.

    Checked by hand rather than by np.array, which would accept strings and booleans and turn a
    ragged list into an object array.
    """
    if not isinstance(value, (list, tuple)):
        raise BankError("kernels must be a list of 2-D weight grids (lists of rows of numbers)")
    shape: list[int] = []
    level: list[Any] = [value]
    while level and isinstance(level[0], (list, tuple)):
        if len(shape) == 3:
            raise BankError("kernels must be nested 3 deep: channels, rows, weights")
        n = len(level[0])
        # Sizes are checked level by level, before a giant row is read or flattened.
        if not shape and n > MAX_FILTERS:
            raise BankError(f"kernels have {n} channels; at most {MAX_FILTERS} are supported")
        if shape and n > MAX_KERNEL:
            what = "rows" if len(shape) == 1 else "weights in a row"
            raise BankError(
                f"kernels have {n} {what}; at most {MAX_KERNEL}x{MAX_KERNEL} is supported"
            )
        for item in level:
            if not isinstance(item, (list, tuple)):
                raise BankError("kernels are ragged: a list holds both lists and numbers")
            if len(item) != n:
                raise BankError(f"kernels are ragged: rows of lengths {n} and {len(item)}")
        shape.append(n)
        if n == 0:
            raise BankError("kernels must not be empty")
        level = [v for item in level for v in item]
    # A file's weights are plain ints and floats: checked as one array, since a Python check
    # per weight took 4 s of a 6 MB bank's opening on the GUI thread. Anything else, or a
    # weight out of range, takes the per-weight checks for the message naming it.
    if {type(v) for v in level} <= {int, float}:
        try:
            weights = np.array(level, dtype=np.float64)
        except OverflowError:  # an integer past float range
            weights = None
        if weights is not None and np.all(np.abs(weights) <= MAX_WEIGHT):  # False for NaN
            return weights.reshape(shape)
    for v in level:
        if isinstance(v, (list, tuple)):
            raise BankError("kernels are ragged: a list holds both lists and numbers")
        _number(v, "every weight")
    return np.array(level, dtype=np.float64).reshape(shape)


@dataclass(frozen=True)
class ConvLayer:
    """Filters sharing stride, padding, border, dilation, flip, activation and groups.

    ``stride`` and ``dilation`` take an int or (y, x); ``padding`` is "valid", "same", or pixels
    of padding: an int (every side), (y, x) (both sides of each axis) or (top, bottom, left,
    right), held as the four sides. Filters of different kernel sizes may share a layer only with
    "same" padding, where every filter's output has the same size.

    ``groups`` splits the input channels and the filters into that many equal groups, in order:
    the filters of group g read only the input channels of group g, so each filter has
    C_in / groups kernels (a depthwise layer has groups = C_in, one kernel per filter). See
    `channels_read`.
    """

    filters: tuple[Filter, ...]
    name: str = ""
    stride: tuple[int, int] = (1, 1)
    padding: Padding = "valid"
    border: str = "zero"
    dilation: tuple[int, int] = (1, 1)
    flip: bool = False
    activation: str = "none"
    slope: float = DEFAULT_SLOPE  # leaky-relu's; kept, and unused, with other activations
    groups: int = 1

    def __post_init__(self) -> None:
        filters = tuple(self.filters)
        if not filters:
            raise BankError("a conv layer needs at least one filter")
        if len(filters) > MAX_FILTERS:
            raise BankError(f"{len(filters)} filters; at most {MAX_FILTERS} are supported")
        for f in filters:
            if not isinstance(f, Filter):
                raise BankError(f"a conv layer holds Filter values, got {type(f).__name__}")
        object.__setattr__(self, "filters", filters)
        object.__setattr__(self, "name", _name(self.name, "layer name"))
        object.__setattr__(self, "stride", _pair(self.stride, "stride", 1, MAX_STEP))
        object.__setattr__(self, "dilation", _pair(self.dilation, "dilation", 1, MAX_STEP))
        # Typed as what it holds once normalised; until then it is whatever the caller gave.
        given = cast(Any, self.padding)
        if isinstance(given, str):
            _choice(given, "padding", PADDINGS)
        else:
            object.__setattr__(self, "padding", _padding(given))
        _choice(self.border, "border", BORDERS)
        _choice(self.activation, "activation", ACTIVATIONS)
        slope = _number(self.slope, "leaky-relu slope")
        if not 0.0 <= slope <= 1.0:
            raise BankError(f"leaky-relu slope must be between 0 and 1, got {_show(self.slope)}")
        object.__setattr__(self, "slope", slope)
        if not isinstance(self.flip, bool):
            raise BankError(f"flip must be true or false, got {_show(self.flip)}")
        if not _is_int(self.groups) or not 1 <= self.groups <= MAX_FILTERS:
            raise BankError(
                f"groups must be an integer between 1 and {MAX_FILTERS}, got {_show(self.groups)}"
            )
        object.__setattr__(self, "groups", int(self.groups))
        if len(filters) % self.groups:
            raise BankError(
                f"{len(filters)} filters do not split into {self.groups} groups; each group "
                "needs as many filters as the others"
            )
        first = filters[0]
        for f in filters[1:]:
            if f.in_channels != first.in_channels:
                raise BankError(
                    f"{_filter_label(filters, f)}: kernels have {f.in_channels} channels, "
                    f"{_filter_label(filters, first)} has {first.in_channels}"
                )
            if f.size != first.size and self.padding != "same":
                raise BankError(
                    f"{_filter_label(filters, f)}: kernels are {f.size[0]}x{f.size[1]}, "
                    f"{_filter_label(filters, first)} has {first.size[0]}x{first.size[1]}; "
                    "filters of different sizes need padding 'same'"
                )
        dy, dx = self.dilation
        for f in filters:
            span = (dy * (f.size[0] - 1) + 1, dx * (f.size[1] - 1) + 1)
            if max(span) > MAX_SPAN:
                raise BankError(
                    f"{_filter_label(filters, f)}: {f.size[0]}x{f.size[1]} kernels at dilation "
                    f"{dy}x{dx} span {span[0]}x{span[1]} pixels; at most {MAX_SPAN} is supported"
                )

    @property
    def in_channels(self) -> int:
        """The channels of the layer's input: each filter's kernels times the groups."""
        return self.filters[0].in_channels * self.groups

    @property
    def out_channels(self) -> int:
        return len(self.filters)

    def channels_read(self, index: int) -> range:
        """The input channels (0-based) that filter ``index`` (0-based) reads, in the order
        of its kernels: all of them unless the layer has groups."""
        per_group = len(self.filters) // self.groups
        k = self.filters[0].in_channels
        group = index // per_group
        return range(group * k, (group + 1) * k)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """(H', W') on an input of ``height`` x ``width``; zero or less means nothing is left."""
        sy, sx = self.stride
        if self.padding == "same":
            return -(-height // sy), -(-width // sx)
        top, bottom, left, right = (0, 0, 0, 0) if self.padding == "valid" else self.padding
        kh, kw = self.filters[0].size
        dy, dx = self.dilation
        return (
            convolve.conv_output_length(height, kh, sy, dy, top + bottom),
            convolve.conv_output_length(width, kw, sx, dx, left + right),
        )

    def with_filter(self, index: int, new: Filter) -> ConvLayer:
        """A copy with filter ``index`` (0-based) replaced."""
        filters = list(self.filters)
        filters[index] = new
        return replace(self, filters=tuple(filters))


def _filter_label(filters: Sequence[Filter], f: Filter) -> str:
    index = next(i for i, g in enumerate(filters) if g is f)
    return f"filter {_quoted(f.name)}" if f.name else f"filter {index + 1}"


def _quoted(name: str) -> str:
    """'name' for a message, line breaks and other unprintables escaped: messages are one line."""
    return f"'{name}'" if name.isprintable() else f"'{repr(name)[1:-1]}'"


@dataclass(frozen=True)
class PoolLayer:
    """Max or average pooling: no padding, floor output size, stride defaults to the size."""

    op: str = "max"
    size: tuple[int, int] = (2, 2)
    # None (the default) is the pool's size; typed as what __post_init__ stores, a (y, x) pair.
    stride: tuple[int, int] = cast("tuple[int, int]", None)
    name: str = ""

    def __post_init__(self) -> None:
        _choice(self.op, "pool op", POOL_OPS)
        object.__setattr__(self, "size", _pair(self.size, "pool size", 1, MAX_STEP))
        given = cast(Any, self.stride)
        stride = self.size if given is None else given
        object.__setattr__(self, "stride", _pair(stride, "pool stride", 1, MAX_STEP))
        object.__setattr__(self, "name", _name(self.name, "layer name"))

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        (ky, kx), (sy, sx) = self.size, self.stride
        return (
            convolve.pool_output_length(height, ky, sy),
            convolve.pool_output_length(width, kx, sx),
        )


Layer = ConvLayer | PoolLayer


class MapStack(tuple):
    """A layer's feature maps kept as separate H x W arrays, read like the (C, H, W) array they
    would stack into: ``len``, ``[o]``, ``.shape``, ``.dtype``, and ``np.asarray`` (which
    stacks them, a copy). See `Run`."""

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self[0].shape) if self else (0,)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        stacked = np.stack(self) if self else np.empty((0, 0, 0), np.float32)
        return stacked if dtype is None else stacked.astype(dtype)


# One layer's feature maps: stacked, or a `MapStack` (see `Run`).
LayerMaps = np.ndarray | MapStack


@dataclass(frozen=True)
class Run:
    """One image through a bank, as the live view needs it.

    ``inputs`` is the first layer's input (C, H, W) float32. ``outputs`` holds each layer's
    maps: a (C_out, H', W') array, except the last layer's after an edit on the same image,
    which is a `MapStack` of its H' x W' maps, the unchanged ones those of the earlier run
    (stacking them would copy every map to recompute one).
    ``partials`` is the selected filter's per-channel maps (C_in, H', W') before the sum, or
    None when no conv filter was selected.
    """

    inputs: np.ndarray
    outputs: list[LayerMaps]
    partials: np.ndarray | None
    bank: Bank | None = None  # the bank that ran, so a later run on the same image can reuse it
    # (layer, filter) pairs whose maps were carried over from the reused run, unchanged.
    reused: frozenset[tuple[int, int]] = frozenset()
    # With ``partials``: (2, H', W'), their sum and the sum plus the bias (before the
    # activation), made with them, so the story's last panes cost no pass of their own.
    story_sums: np.ndarray | None = None
    # The first layer's input padded (`convolve.run_conv`'s paddings), for the next run on the
    # same image; empty past PADDINGS_KEPT_BYTES.
    paddings: convolve.Paddings = field(default_factory=dict, compare=False, repr=False)
    # The largest magnitude in each input plane, once measured (see `with_input_peaks`).
    input_peaks: tuple[float, ...] | None = None

    def with_input_peaks(self) -> Run:
        """This run with `input_peaks` measured (one pass over each input plane), or itself
        when they are. A later run on the same image carries them over. Runs on the caller's
        thread (the compute worker)."""
        if self.input_peaks is not None:
            return self
        peaks = tuple(max(abs(v) for v in cv2.minMaxLoc(p)[:2]) for p in self.inputs)
        return replace(self, input_peaks=peaks)


class MapWatcher(Protocol):
    """Told of each band of a run's maps as soon as it is final (see `Bank.run`).

    Both methods run on the engine's pool threads and the thread that called the run (which
    runs a share of each layer), several at once for different bands.
    """

    def alignment(self, layer: int, height: int, width: int) -> int:
        """The row multiple the bands of ``layer``'s height x width maps should come in."""
        ...

    def rows_done(
        self, layer: int, filt: int, channel: int | None, values: np.ndarray, start: int, stop: int
    ) -> None:
        """Rows [start, stop) of ``values`` are final: the map of filter ``filt`` of ``layer``
        (``channel`` None) or that filter's partial map of input ``channel``."""
        ...


def _story_maps(maps: list[np.ndarray | None] | None, story: int) -> np.ndarray:
    """The story filter's partial maps out of `convolve.run_conv`'s, which holds them whenever
    a story was asked for."""
    story_maps = None if maps is None else maps[story]
    assert story_maps is not None
    return story_maps


def _run_conv_checked(
    plan: convolve.ConvPlan,
    x: np.ndarray,
    story: int | None,
    cancelled: Callable[[], bool] | None,
    rows_done: convolve.RowsDone | None = None,
    align: int = 1,
    paddings: convolve.Paddings | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """`convolve.run_conv` with ``story``, checking ``cancelled`` between chunks of filters in a
    heavy layer. Returns (out, the story filter's partial maps or None). ``rows_done`` is
    told of the bands of a layer run in one piece; chunks are not watched. ``paddings``: see
    `convolve.run_conv`."""
    count = len(plan.filters)
    first = os.cpu_count() or 2
    taps = sum(fp.height * fp.width * len(fp.groups) for fp in plan.filters)
    pixels = x.shape[1] * x.shape[2] / (plan.stride[0] * plan.stride[1])
    if cancelled is None or count <= first or taps * pixels < _CANCEL_CHUNK_TAPS:
        out, maps = convolve.run_conv(
            plan, x, story=story, rows_done=rows_done, align=align, paddings=paddings
        )
        return out, None if story is None else _story_maps(maps, story)
    result: np.ndarray | None = None
    story_maps = None
    start, size = 0, first
    while start < count:
        if cancelled():
            raise RunCancelled(f"cancelled at filter {start + 1}")
        stop = min(count, start + size)
        local = story - start if story is not None and start <= story < stop else None
        began = time.perf_counter()
        sub = plan.subset(list(range(start, stop)))
        out, maps = convolve.run_conv(sub, x, story=local, paddings=paddings)
        per_filter = (time.perf_counter() - began) / (stop - start)
        if result is None:
            result = np.empty((count, *out.shape[1:]), np.float32)
        result[start:stop] = out
        if local is not None:
            story_maps = _story_maps(maps, local)
        start = stop
        size = max(first, int(_CANCEL_CHUNK_S / max(per_filter, 1e-6)))
    assert result is not None
    return result, story_maps


def _same_maps(a: Layer, b: Layer) -> bool:
    """True when two layers compute the same maps from the same input (names aside)."""
    if isinstance(a, PoolLayer) or isinstance(b, PoolLayer):
        return a == b
    return (
        _same_settings(a, b)
        and len(a.filters) == len(b.filters)
        and all(_same_filter(f, g) for f, g in zip(a.filters, b.filters))
    )


def _same_settings(a: ConvLayer, b: ConvLayer) -> bool:
    return (
        a.stride,
        a.padding,
        a.border,
        a.dilation,
        a.flip,
        a.activation,
        a.slope,
        a.groups,
        a.in_channels,
    ) == (
        b.stride,
        b.padding,
        b.border,
        b.dilation,
        b.flip,
        b.activation,
        b.slope,
        b.groups,
        b.in_channels,
    )


def _same_filter(f: Filter, g: Filter) -> bool:
    return f is g or (
        f.bias == g.bias
        and f.kernels.shape == g.kernels.shape
        and np.array_equal(f.kernels, g.kernels)
    )


def image_planes(image: Any, mode: str, dtype: type = np.float32) -> np.ndarray:
    """An image as first-layer input planes (C, H, W): the format's rules in one place.

    HxW or HxWxC (C = 1, 3 or 4; alpha dropped). uint8 is scaled by 1/255; floats and other
    integers are taken as they are. ``mode`` "gray" is BT.601 luma, "rgb" three planes (a gray
    image repeated). ``dtype`` float32 for the engine, float64 where a fit needs the precision.
    Raises BankError for empty, non-finite or non-numeric images.
    """
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] in (1, 3, 4):
        img = img[:, :, 0] if img.shape[2] == 1 else img[:, :, :3]
    elif img.ndim != 2:
        raise BankError(f"an image is HxW or HxWx3, got shape {img.shape}")
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise BankError(f"the image is empty ({img.shape[0]}x{img.shape[1]})")
    if img.dtype == np.uint8:
        scale = 1.0 / 255.0
    elif np.issubdtype(img.dtype, np.floating) or np.issubdtype(img.dtype, np.integer):
        scale = 1.0
        if not np.issubdtype(img.dtype, np.integer) and not np.all(np.isfinite(img)):
            raise BankError("the image contains NaN or infinity")
        if (
            dtype == np.float32
            and img.dtype.kind == "f"
            and img.dtype.itemsize > 4
            and np.abs(img).max() > _F32_MAX
        ):
            # float32 would hold them as infinity (and warn); refused like infinity.
            raise BankError(f"the image has pixel values beyond ±{_F32_MAX:.3g}")
    else:
        raise BankError(f"images are uint8 or float, got {img.dtype}")
    if mode == "gray":
        if img.ndim == 3:
            gray: np.ndarray = img.astype(dtype) @ (LUMA * scale).astype(dtype)
        else:
            gray = img.astype(dtype) * dtype(scale)
        return np.ascontiguousarray(gray[None])
    planes: np.ndarray = np.empty((3, img.shape[0], img.shape[1]), dtype)
    if img.ndim == 3 and img.dtype == np.uint8 and img.flags.c_contiguous and dtype == np.float32:
        # Every camera frame comes this way: one compiled pass.
        convolve.frame_planes(img, scale, planes)
        return planes
    for c in range(3):
        source = img if img.ndim == 2 else img[:, :, c]
        np.multiply(source, dtype(scale), out=planes[c])
    return planes


# Compiled layers (flipped, dilated, factored kernels, and the DFT spectra of large ones) of the
# banks run most recently, by identity. Not kept on each bank: the undo history holds up to 500
# banks, and plans kept alive through all of them grew memory with every edit. Undo to an older
# bank compiles it again, in milliseconds.
PLANS_KEPT = 4
# A run keeps its padded input planes for the next run on the same image up to this size: a
# 1920x1080 frame's three (25 MB), not a 9000x6000 photo's.
PADDINGS_KEPT_BYTES = 64 * 2**20
_PLANS: OrderedDict[int, tuple[weakref.ref[Bank], list[convolve.ConvPlan | None]]] = OrderedDict()
_PLANS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Bank:
    """The input mode ("rgb" or "gray") and an ordered stack of layers.

    Layer n+1's C_in is layer n's C_out; the first conv layer's C_in is 3 (rgb) or 1 (gray).
    """

    layers: tuple[Layer, ...]
    input: str = "rgb"
    name: str = ""

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        object.__setattr__(self, "layers", layers)
        _choice(self.input, "input", INPUT_MODES)
        object.__setattr__(self, "name", _name(self.name, "bank name"))
        if not layers:
            raise BankError("a bank needs at least one layer")
        if len(layers) > MAX_LAYERS:
            raise BankError(f"{len(layers)} layers; at most {MAX_LAYERS} are supported")
        channels = INPUT_CHANNELS[self.input]
        for n, layer in enumerate(layers, 1):
            if isinstance(layer, ConvLayer):
                if layer.in_channels != channels:
                    first = _filter_label(layer.filters, layer.filters[0])
                    kernels = layer.filters[0].in_channels
                    if layer.groups == 1:
                        raise BankError(
                            f"layer {n}, {first}: kernels have {kernels} channels, layer input "
                            f"has {channels}"
                        )
                    raise BankError(
                        f"layer {n}: {layer.groups} groups of filters with {kernels} kernel"
                        f"{'s' if kernels != 1 else ''} each read {layer.in_channels} channels, "
                        f"layer input has {channels}"
                    )
                channels = layer.out_channels
            elif not isinstance(layer, PoolLayer):
                raise BankError(f"layer {n} is a {type(layer).__name__}, not a layer")

    @property
    def in_channels(self) -> int:
        return INPUT_CHANNELS[self.input]

    def channels(self) -> list[int]:
        """C_in of each layer, then the last layer's C_out: one more entry than layers."""
        counts = [self.in_channels]
        for layer in self.layers:
            counts.append(layer.out_channels if isinstance(layer, ConvLayer) else counts[-1])
        return counts

    def output_shapes(self, height: int, width: int) -> list[tuple[int, int, int]]:
        """(C_out, H', W') of every layer on a ``height`` x ``width`` image.

        Raises BankError, naming the layer, when the stack shrinks the image to nothing.
        """
        shapes = []
        h, w = height, width
        counts = self.channels()
        for n, layer in enumerate(self.layers, 1):
            oh, ow = layer.output_size(h, w)
            if oh < 1 or ow < 1:
                raise BankError(
                    f"layer {n}: output would be {max(oh, 0)}x{max(ow, 0)} on its {h}x{w} input "
                    f"({height}x{width} image); the stack shrinks the image to nothing"
                )
            shapes.append((counts[n], oh, ow))
            h, w = oh, ow
        return shapes

    @property
    def _compiled(self) -> list[convolve.ConvPlan | None]:
        """The layers compiled for the engine, prepared once per bank (not per frame) and kept
        for the few banks run most recently (see `_PLANS`). Any thread may ask."""
        key = id(self)
        with _PLANS_LOCK:
            entry = _PLANS.get(key)
            if entry is not None and entry[0]() is self:
                _PLANS.move_to_end(key)
                return entry[1]
        plans = [
            convolve.compile_conv(la) if isinstance(la, ConvLayer) else None for la in self.layers
        ]
        with _PLANS_LOCK:
            _PLANS[key] = (weakref.ref(self), plans)
            _PLANS.move_to_end(key)
            while len(_PLANS) > PLANS_KEPT:
                _PLANS.popitem(last=False)
        return plans

    def run(
        self,
        image: np.ndarray,
        selected: tuple[int, int] | None = None,
        reuse: Run | None = None,
        cancelled: Callable[[], bool] | None = None,
        watcher: MapWatcher | None = None,
    ) -> Run:
        """Run the stack, and the per-channel maps of one filter only.

        ``selected`` is (layer, filter), 0-based. Only that filter pays for separate per-channel
        maps; the others keep the fast path, so the live view can show the channel story at
        the cost of one filter.

        ``reuse``: an earlier run on the same image (the caller vouches for that). Maps whose
        filter, layer settings and input are unchanged are carried over instead of recomputed,
        so a weight edit on a frozen frame recomputes one filter and the layers after it.

        Raises BankError, before any map is made, when the run would need more memory or work
        than `playground.engine.budget` allows.

        ``cancelled``: called between layers and, in heavy conv layers, between chunks of
        filters (the caller's thread runs it); once it returns True the run stops with
        `RunCancelled`. The live view passes one that is true when a newer bank is waiting, so
        a slow bank never holds the next one's maps back for longer than a chunk.

        ``watcher``: told of the bands of the maps that conv layers make in bands (direct
        filters of a layer run in one piece), on the pool threads and this one, while each band
        is in cache. Maps carried over, pooled, made by the DFT or in chunks are not told of: the
        watcher finds them in the returned run.
        """
        earlier = reuse.bank if reuse is not None else None
        peaks = None
        story_layer = None if selected is None else selected[0]
        # Refused before any map is made: a small bank can ask for gigabytes or hours.
        if reuse is not None and earlier is not None and earlier.input == self.input:
            x = reuse.inputs
            paddings, peaks = reuse.paddings, reuse.input_peaks
            budget.estimate(self, x.shape[1], x.shape[2], story=story_layer)
        else:
            earlier = None
            x, paddings = self._first_input(
                image, lambda h, w: budget.estimate(self, h, w, story=story_layer)
            )
        inputs, outputs, partials = x, [], None
        reused: set[tuple[int, int]] = set()
        for n, (layer, plan) in enumerate(zip(self.layers, self._compiled)):
            if cancelled is not None and cancelled():
                raise RunCancelled(f"cancelled before layer {n + 1}")
            story = selected[1] if selected is not None and selected[0] == n else None
            pads = paddings if n == 0 else None  # only the first layer's input is the image's
            before = earlier.layers[n] if earlier is not None and n < len(earlier.layers) else None
            if before is not None and _same_maps(layer, before):
                assert reuse is not None  # `before` came from reuse.bank
                # Same maps from the same input: carried over, and the next layer's input with
                # them. The story filter still computes its per-channel maps, alone.
                out = reuse.outputs[n]
                reused.update((n, o) for o in range(len(out)))
                if story is not None and plan is not None:  # a pool's channels have no story
                    one = plan.subset([story])
                    partials = _story_maps(convolve.run_conv(one, x, story=0, paddings=pads)[1], 0)
            else:
                if isinstance(layer, PoolLayer):
                    out = convolve.run_pool(layer, x)
                else:
                    assert plan is not None  # every conv layer has one (see _compiled)
                    if isinstance(before, ConvLayer) and _same_settings(layer, before):
                        assert reuse is not None  # `before` came from reuse.bank
                        out, maps, kept = self._rerun_changed(
                            layer,
                            plan,
                            x,
                            before,
                            reuse,
                            n,
                            story,
                            cancelled,
                            watcher,
                            n == len(self.layers) - 1,
                            pads,
                        )
                        reused.update((n, o) for o in kept)
                        partials = partials if maps is None else maps
                    else:
                        rows_done, align = None, 1
                        if watcher is not None:
                            rows_done = partial(watcher.rows_done, n)
                            align = watcher.alignment(n, *layer.output_size(*x.shape[1:]))
                        out, story_maps = _run_conv_checked(
                            plan,
                            x,
                            story,
                            cancelled,
                            rows_done,
                            align,
                            paddings if n == 0 else None,
                        )
                        if story is not None:
                            partials = story_maps
                earlier = None  # this layer's maps changed: the layers after it recompute
            if not isinstance(out, np.ndarray) and n < len(self.layers) - 1:
                out = np.stack(out)  # the next layer reads them stacked
            outputs.append(out)
            if isinstance(out, np.ndarray):
                x = out
        # The story filter's maps end with their sum and the biased sum (`convolve.run_conv`).
        sums = None if partials is None else partials[-2:]
        partials = None if partials is None else partials[:-2]
        # Kept for a later run on the same image (an edit on a still) up to a 1080p frame's.
        if sum(p.nbytes for p in paddings.values()) > PADDINGS_KEPT_BYTES:
            paddings = {}
        return Run(inputs, outputs, partials, self, frozenset(reused), sums, paddings, peaks)

    @staticmethod
    def _rerun_changed(
        layer: ConvLayer,
        plan: convolve.ConvPlan,
        x: np.ndarray,
        before: ConvLayer,
        reuse: Run,
        n: int,
        story: int | None,
        cancelled: Callable[[], bool] | None = None,
        watcher: MapWatcher | None = None,
        last: bool = False,
        paddings: convolve.Paddings | None = None,
    ) -> tuple[LayerMaps, np.ndarray | None, list[int]]:
        """A conv layer with the settings and input it had in ``reuse``: recompute only the
        filters that changed, and the story filter for its partial maps.

        Returns (out, the story filter's partial maps or None, the filters carried over). The
        ``last`` layer's ``out`` is a tuple of maps, the kept ones those of ``reuse``: nothing
        after it needs them stacked, and stacking would copy all of them to change one.
        """
        shape = layer.output_size(x.shape[1], x.shape[2])
        earlier = reuse.outputs[n]
        # A resize under "valid" or explicit padding changes the output size of every filter of
        # the layer: nothing carried over would fit, so every filter recomputes.
        fits = len(earlier) > 0 and earlier[0].shape == shape
        kept = [
            o
            for o, f in enumerate(layer.filters)
            if fits
            and o != story
            and o < len(before.filters)
            and _same_filter(f, before.filters[o])
        ]
        todo = [o for o in range(len(layer.filters)) if o not in set(kept)]
        fresh: np.ndarray | None = None  # a removed filter leaves nothing to compute
        partials = None
        if todo:
            sub = plan.subset(todo)
            story_index = None if story is None else todo.index(story)
            rows_done = None
            align = 1
            if watcher is not None:
                # The watcher knows the layer's filters by their index in the layer.
                def rows_done(
                    o: int, c: int | None, values: np.ndarray, start: int, stop: int
                ) -> None:
                    watcher.rows_done(n, todo[o], c, values, start, stop)

                align = watcher.alignment(n, *shape)
            fresh, partials = _run_conv_checked(
                sub, x, story_index, cancelled, rows_done, align, paddings
            )
        maps = dict(zip(todo, fresh if fresh is not None else ()))
        maps.update((o, earlier[o]) for o in kept)
        if last:
            return MapStack(maps[o] for o in range(len(layer.filters))), partials, kept
        out = np.empty((len(layer.filters), *shape), np.float32)
        # Plane by plane: fancy indexing would build a temporary copy of all kept maps first.
        for o, m in maps.items():
            out[o] = m
        return out, partials, kept

    def probe(
        self,
        image: np.ndarray | None,
        layer: int,
        filt: int,
        y: int,
        x: int,
        layer_input: np.ndarray | None = None,
    ) -> Probe:
        """The arithmetic behind one output pixel: ``layer`` and filter ``filt`` 1-based (a pool
        layer's "filter" is its channel), (y, x) in that layer's output. See
        `playground.engine.probe`: per input channel the patch, the kernel as applied, their
        products and the partial sum, then the total, bias, activation and ``value`` (what
        `apply` gives there).

        ``layer_input``: the layer's input (C, H, W) when the caller has it (the live view keeps
        the last run's maps); then nothing is recomputed and ``image`` is not read. Raises
        BankError for indices out of range.
        """
        if not 1 <= layer <= len(self.layers):
            raise BankError(f"layer {layer} does not exist; the bank has {len(self.layers)}")
        if layer_input is not None:
            x_in = layer_input
        elif image is None:
            raise BankError("a probe needs the image, or the layer's input")
        elif layer > 1:
            x_in = self.apply(image)[layer - 2]
        else:
            x_in = self.input_planes(image)
            self.output_shapes(x_in.shape[1], x_in.shape[2])  # same checks as a run
        spec = self.layers[layer - 1]
        if isinstance(spec, ConvLayer):
            return probe_conv(spec, x_in, layer, filt, y, x)
        return probe_pool(spec, x_in, layer, filt, y, x)

    def apply(self, image: np.ndarray, partials: bool = False) -> Any:
        """Run the stack on one image.

        Parameters
        ----------
        image : HxW or HxWxC (C = 1, 3 or 4; RGB order, alpha ignored). uint8 is scaled by
            1/255; float images are taken as they are (normally [0, 1]).
        partials : also return each filter's per-channel maps before the sum.

        Returns
        -------
        One float32 array (C_out, H', W') per layer. With ``partials=True``, a pair
        ``(outputs, partials)`` where ``partials[n][f]`` is filter f's partial maps in conv layer
        n, one (H', W') map per kernel (per input channel it reads, see
        `ConvLayer.channels_read`), and ``partials[n]`` is None for a pool layer.

        Raises BankError, before any map is made, when the run would need more memory or work
        than `playground.engine.budget` allows.
        """
        # Refused before any map is made: a small bank can ask for gigabytes or hours.
        x, paddings = self._first_input(
            image, lambda h, w: budget.estimate(self, h, w, partials=partials)
        )
        outputs: list[np.ndarray] = []
        all_partials: list[list[np.ndarray | None] | None] = []
        for n, (layer, plan) in enumerate(zip(self.layers, self._compiled)):
            if isinstance(layer, PoolLayer):
                x, maps = convolve.run_pool(layer, x), None
            else:
                assert plan is not None  # every conv layer has one (see _compiled)
                pads = paddings if n == 0 else None  # only the first layer's input is the image's
                x, maps = convolve.run_conv(plan, x, partials, paddings=pads)
            outputs.append(x)
            all_partials.append(maps)
        return (outputs, all_partials) if partials else outputs

    def input_planes(self, image: np.ndarray) -> np.ndarray:
        """The image as this bank's first-layer input: (C, H, W) float32 planes."""
        return image_planes(image, self.input)

    def _first_input(
        self, image: np.ndarray, check: Callable[[int, int], object]
    ) -> tuple[np.ndarray, convolve.Paddings]:
        """`input_planes`, and those planes padded for the first layer (`convolve.run_conv`'s
        ``paddings``) when one pass makes both: a camera frame (C-contiguous uint8 RGB) before
        a conv layer with zero padding (see `convolve.padded_frame_planes`); else none.

        ``check(height, width)`` refuses a run on an image of that size (`budget.estimate`)
        before anything is allocated or compiled for it: a hostile bank's padding alone can
        ask for gigabytes. Runs on the caller's thread and the engine's pool."""
        img = np.asarray(image)
        frame = img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and img.size > 0
        if frame and self.input == "rgb" and img.flags.c_contiguous:
            height, width = img.shape[:2]
            check(height, width)
            plan = self._compiled[0]
            pad = None if plan is None else convolve.input_padding(plan, height, width)
            if plan is not None and pad is not None:
                planes, padded = convolve.padded_frame_planes(img, 1.0 / 255.0, pad)
                return planes, {(plan.border, pad): padded}
            return self.input_planes(img), {}
        x = self.input_planes(image)
        check(x.shape[1], x.shape[2])
        return x, {}

    # --- editing: each returns a new bank ------------------------------------------------------

    def with_layer(self, index: int, layer: Layer) -> Bank:
        """A copy with layer ``index`` (0-based) replaced."""
        layers = list(self.layers)
        layers[index] = layer
        return replace(self, layers=tuple(layers))

    def with_kernel(
        self, layer: int, filt: int, channel: int, kernel: np.ndarray | Sequence
    ) -> Bank:
        """A copy with one kernel replaced (all indices 0-based)."""
        conv = self.layers[layer]
        if not isinstance(conv, ConvLayer):
            raise BankError(f"layer {layer + 1} is a pool layer and has no kernels")
        new_filter = conv.filters[filt].with_kernel(channel, kernel)
        return self.with_layer(layer, conv.with_filter(filt, new_filter))

    # --- the file format's dict ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The bank as the v1 file format's JSON-ready dict (see :func:`from_dict`)."""
        return {
            "format": FORMAT_TAG,
            "version": FORMAT_VERSION,
            "name": self.name,
            "input": self.input,
            "layers": [_layer_dict(layer) for layer in self.layers],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Bank:
        """Build and validate a bank from the v1 file format's dict.

        Raises BankError naming the place of the first problem found.
        """
        if not isinstance(data, dict):
            raise BankError("a bank file holds a JSON object")
        _known_keys(data, ("format", "version", "name", "input", "layers"), "bank")
        if data.get("format") != FORMAT_TAG:
            raise BankError(f"not a bank file: 'format' must be {FORMAT_TAG!r}")
        version = data.get("version")
        if not _is_int(version) or version != FORMAT_VERSION:
            raise BankError(f"unsupported bank version {_show(version)}; this version reads 1")
        layers_data = data.get("layers")
        if not isinstance(layers_data, list):
            raise BankError("'layers' must be a list")
        if len(layers_data) > MAX_LAYERS:  # refused before they are built
            raise BankError(f"{len(layers_data)} layers; at most {MAX_LAYERS} are supported")
        input_mode = _choice(data.get("input", "rgb"), "input", INPUT_MODES)
        layers = []
        for n, item in enumerate(layers_data, 1):
            try:
                layers.append(_layer_from_dict(item, n))
            except BankError as e:
                # "layer 2, filter 'b': ..." for a filter's problem, "layer 2: ..." otherwise.
                sep = ", " if str(e).startswith("filter ") else ": "
                raise BankError(f"layer {n}{sep}{e}") from None
        return cls(tuple(layers), input=input_mode, name=data.get("name", ""))


def _known_keys(data: dict, known: Iterable[str], what: str) -> None:
    # Keys from JSON are strings; Python dicts may mix in others, which do not sort with them.
    unknown = sorted(set(data) - set(known), key=lambda k: k if isinstance(k, str) else _show(k))
    if unknown:
        raise BankError(f"unknown key {_show(unknown[0])} in {what} (known: {', '.join(known)})")


# A conv layer's settings, as the file and `editing.set_layer_settings` name them.
CONV_SETTINGS = (
    "stride",
    "padding",
    "border",
    "dilation",
    "flip",
    "activation",
    "slope",
    "groups",
)
_CONV_KEYS = ("type", "name", *CONV_SETTINGS)


def _layer_from_dict(item: Any, n: int) -> Layer:
    if not isinstance(item, dict):
        raise BankError("a layer is a JSON object")
    kind = item.get("type", "conv")
    if kind == "pool":
        _known_keys(item, ("type", "name", "op", "size", "stride"), "a pool layer")
        stride: Any = item.get("stride")  # as the file has it (None: the size); PoolLayer checks
        return PoolLayer(
            op=item.get("op", "max"),
            size=item.get("size", 2),
            stride=stride,
            name=item.get("name", ""),
        )
    if kind != "conv":
        raise BankError(f"'type' must be conv or pool, got {_show(kind)}")
    _known_keys(item, (*_CONV_KEYS, "filters"), "a conv layer")
    filters_data = item.get("filters")
    if not isinstance(filters_data, list) or not filters_data:
        raise BankError("'filters' must be a non-empty list")
    if len(filters_data) > MAX_FILTERS:  # refused before they are built
        raise BankError(f"{len(filters_data)} filters; at most {MAX_FILTERS} are supported")
    filters = []
    for j, fd in enumerate(filters_data, 1):
        label = f"filter {j}"
        try:
            if not isinstance(fd, dict):
                raise BankError("a filter is a JSON object")
            if isinstance(fd.get("name"), str) and fd["name"]:
                label = f"filter {_quoted(fd['name'])}"
            _known_keys(fd, ("name", "bias", "kernels"), "a filter")
            if "kernels" not in fd:
                raise BankError("missing 'kernels'")
            filters.append(Filter(fd["kernels"], fd.get("bias", 0.0), fd.get("name", "")))
        except BankError as e:
            raise BankError(f"{label}: {e}") from None
    flip = item.get("flip", False)
    if not isinstance(flip, bool):
        raise BankError(f"flip must be true or false, got {_show(flip)}")
    return ConvLayer(
        filters=tuple(filters),
        name=item.get("name", ""),
        stride=item.get("stride", 1),
        padding=item.get("padding", "valid"),
        border=item.get("border", "zero"),
        dilation=item.get("dilation", 1),
        flip=flip,
        activation=item.get("activation", "none"),
        slope=item.get("slope", DEFAULT_SLOPE),
        groups=item.get("groups", 1),
    )


def _compact_pair(pair: tuple[int, int]) -> int | list[int]:
    return pair[0] if pair[0] == pair[1] else list(pair)


def _compact_padding(padding: Padding) -> str | int | list[int]:
    """Padding as the file writes it: as short as it reads back (older files' int and [y, x]
    unchanged), the four sides only when they differ within an axis."""
    if isinstance(padding, str):
        return padding
    top, bottom, left, right = padding
    if top == bottom and left == right:
        return _compact_pair((top, left))
    return list(padding)


def _weight(v: float) -> int | float:
    # Integral weights are written as integers so a hand-made file reads like the kernel it is.
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


def _layer_dict(layer: Layer) -> dict[str, Any]:
    if isinstance(layer, PoolLayer):
        return {
            "type": "pool",
            "name": layer.name,
            "op": layer.op,
            "size": _compact_pair(layer.size),
            "stride": _compact_pair(layer.stride),
        }
    return {
        "type": "conv",
        "name": layer.name,
        "stride": _compact_pair(layer.stride),
        "padding": _compact_padding(layer.padding),
        "border": layer.border,
        "dilation": _compact_pair(layer.dilation),
        "flip": layer.flip,
        "activation": layer.activation,
        # Written only where it counts, so files without leaky-relu read as they always did.
        **({"slope": layer.slope} if layer.activation == "leaky-relu" else {}),
        **({"groups": layer.groups} if layer.groups != 1 else {}),
        "filters": [
            {
                "name": f.name,
                "bias": _weight(f.bias),
                "kernels": [[[_weight(v) for v in row] for row in k] for k in f.kernels.tolist()],
            }
            for f in layer.filters
        ],
    }
