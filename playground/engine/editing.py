"""Every structural edit a user makes to a bank, as pure functions ``f(bank, ...) -> Bank``.

Each function returns a new, validated bank and leaves its argument alone (banks are immutable),
so the GUI can keep the old one as undo history. Indices are 0-based; messages are 1-based, as
the user sees layers and filters numbered. An edit that cannot be made raises
:class:`~playground.engine.errors.BankError` with a one-line reason.

Edits that change a layer's C_out also fix the next conv layer's inputs (pool layers in between
pass channels through), choosing the fix that leaves the other feature maps unchanged where one
exists: a new channel gets zero kernels, a removed channel loses its kernels, a reordered channel
takes its kernels along.

A kernel's **centre** is tap ``((kh - 1) // 2, (kw - 1) // 2)``: the tap that "same" padding
lines up with the output pixel (the extra padding of an even kernel goes bottom/right). Resizing
a kernel crops or zero-pads around that tap, so growing a kernel under "same" padding never
changes its feature map.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from playground.engine import convolve
from playground.engine.bank import (
    CONV_SETTINGS,
    INPUT_CHANNELS,
    INPUT_MODES,
    MAX_KERNEL,
    MAX_NAME,
    Bank,
    ConvLayer,
    Filter,
    Layer,
    PoolLayer,
)
from playground.engine.errors import BankError

__all__ = [
    "add_conv_layer",
    "add_filter",
    "add_pool_layer",
    "centre",
    "centred_kernel",
    "copy_kernel_to_all_channels",
    "describe_layer",
    "duplicate_filter",
    "layer_output_shape",
    "layer_title",
    "move_filter",
    "move_layer",
    "output_size_text",
    "remove_filter",
    "remove_layer",
    "rename_filter",
    "rename_layer",
    "resize_filter",
    "resize_kernels",
    "set_bias",
    "set_input_mode",
    "set_kernel",
    "set_layer_settings",
]

POOL_SETTINGS = ("op", "size", "stride")


# --- lookups -----------------------------------------------------------------------------------


def _index(value: Any, count: int, what: str, where: str) -> int:
    """``value`` as an index into ``count`` items, or a BankError naming what is missing."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise BankError(f"{what} index must be an integer, got {value!r}")
    index = int(value)
    if not 0 <= index < count:
        raise BankError(f"there is no {what} {index + 1}; {where} has {count}")
    return index


def _layer_index(bank: Bank, layer: Any) -> int:
    return _index(layer, len(bank.layers), "layer", "the bank")


def _conv(bank: Bank, layer: Any) -> tuple[int, ConvLayer]:
    n = _layer_index(bank, layer)
    conv = bank.layers[n]
    if not isinstance(conv, ConvLayer):
        raise BankError(f"layer {n + 1} is a pool layer and has no filters")
    return n, conv


def _filter_index(conv: ConvLayer, n: int, index: Any) -> int:
    return _index(index, len(conv.filters), "filter", f"layer {n + 1}")


def _next_conv(layers: Sequence[Layer], start: int) -> int | None:
    """Index of the first conv layer at or after ``start``; None when there is none."""
    for i in range(start, len(layers)):
        if isinstance(layers[i], ConvLayer):
            return i
    return None


def _insert_index(value: Any, count: int) -> int:
    """A position to insert at, 0..count inclusive; None means the end."""
    if value is None:
        return count
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise BankError(f"layer index must be an integer, got {value!r}")
    if not 0 <= int(value) <= count:
        raise BankError(f"a new layer goes at position 1 to {count + 1}, not {int(value) + 1}")
    return int(value)


def _size(value: Any, what: str) -> tuple[int, int]:
    items = list(value) if isinstance(value, (list, tuple)) else [value, value]
    if len(items) != 2 or any(
        isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in items
    ):
        raise BankError(f"{what} must be an integer or (height, width) integers, got {value!r}")
    kh, kw = int(items[0]), int(items[1])
    if not (1 <= kh <= MAX_KERNEL and 1 <= kw <= MAX_KERNEL):
        raise BankError(f"{what} must be between 1 and {MAX_KERNEL}, got {kh}x{kw}")
    return kh, kw


def _array(value: Any, what: str) -> np.ndarray:
    """``value`` as a float64 array, refusing what is not numbers (strings, ragged lists)."""
    try:
        a = np.asarray(value)
        if a.dtype == object or not np.issubdtype(a.dtype, np.number):
            raise TypeError
        return a.astype(np.float64)
    except (TypeError, ValueError):
        raise BankError(f"{what} must be a grid of numbers") from None


def _unique(stem: str, taken: set[str], first: int | None = None, tail: str = "") -> str:
    """``stem + tail`` (then ``stem + tail + " N"``, N from ``first`` or 2) not in ``taken``.

    The stem is cut so the name fits MAX_NAME, keeping the tail and number readable.
    """
    n = first
    while True:
        end = tail + ("" if n is None else f" {n}")
        name = stem[: MAX_NAME - len(end)] + end
        if name not in taken:
            return name
        n = 2 if n is None else n + 1


# --- kernel arrays -----------------------------------------------------------------------------


def centre(kh: int, kw: int) -> tuple[int, int]:
    """The tap that "same" padding aligns with the output pixel."""
    return (kh - 1) // 2, (kw - 1) // 2


def centred_kernel(kh: int, kw: int, value: float = 1.0) -> np.ndarray:
    """A kh x kw zero kernel with ``value`` at the centre tap."""
    k = np.zeros((kh, kw))
    k[centre(kh, kw)] = value
    return k


def resize_kernels(kernels: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """(C, h, w) kernels cropped or zero-padded to (C, kh, kw) around the centre tap."""
    c, h, w = kernels.shape
    out = np.zeros((c, kh, kw))
    (cy, cx), (ny, nx) = centre(h, w), centre(kh, kw)

    def span(old: int, new: int, offset: int) -> tuple[slice, slice]:
        lo, hi = max(0, -offset), min(old, new - offset)
        return slice(lo, hi), slice(lo + offset, hi + offset)

    src_y, dst_y = span(h, kh, ny - cy)
    src_x, dst_x = span(w, kw, nx - cx)
    out[:, dst_y, dst_x] = kernels[:, src_y, src_x]
    return out


def _resized(f: Filter, kh: int, kw: int) -> Filter:
    if f.size == (kh, kw):
        return f
    return replace(f, kernels=resize_kernels(f.kernels, kh, kw))


def _fit_channels(f: Filter, channels: int) -> Filter:
    """``f`` with its kernels truncated or zero-padded to ``channels`` input channels."""
    c, kh, kw = f.kernels.shape
    if c == channels:
        return f
    if c > channels:
        return replace(f, kernels=f.kernels[:channels])
    return replace(f, kernels=np.concatenate([f.kernels, np.zeros((channels - c, kh, kw))]))


def _ungrouped(conv: ConvLayer) -> ConvLayer:
    """``conv`` with groups 1 and the same maps: each filter gets a zero kernel for every input
    channel it did not read. Edits that change a grouped layer's channels or filters go
    through it, since the groups could not hold their result."""
    if conv.groups == 1:
        return conv
    filters = []
    for o, f in enumerate(conv.filters):
        kernels = np.zeros((conv.in_channels, *f.kernels.shape[1:]))
        read = conv.channels_read(o)
        kernels[read.start : read.stop] = f.kernels
        filters.append(replace(f, kernels=kernels))
    return replace(conv, filters=tuple(filters), groups=1)


def _regrouped(conv: ConvLayer, groups: Any, n: int) -> ConvLayer:
    """``conv`` in ``groups`` groups: each filter keeps its kernels of the channels its new group
    reads (the others are dropped, so its maps change where they were not zero)."""
    full = _ungrouped(conv)
    try:
        new = replace(full, groups=groups)  # the count and range checks, before any slicing
    except BankError as e:
        raise BankError(f"layer {n + 1}: {e}") from None
    if full.in_channels % new.groups:
        raise BankError(
            f"layer {n + 1}: its {full.in_channels} input channels do not split into "
            f"{new.groups} groups"
        )
    per = full.in_channels // new.groups
    kept = [(o // (len(full.filters) // new.groups)) * per for o in range(len(full.filters))]
    filters = tuple(
        replace(f, kernels=f.kernels[first : first + per]) for f, first in zip(full.filters, kept)
    )
    return replace(full, filters=filters, groups=new.groups)


def _map_channels(conv: ConvLayer, fn: Callable[[np.ndarray], np.ndarray]) -> ConvLayer:
    """``conv`` with ``fn`` applied to every filter's (C_in, kh, kw) kernels (groups undone
    first, see `_ungrouped`)."""
    conv = _ungrouped(conv)
    return replace(conv, filters=tuple(replace(f, kernels=fn(f.kernels)) for f in conv.filters))


def _with_next_inputs(
    bank: Bank, layer: int, fn: Callable[[np.ndarray], np.ndarray]
) -> list[Layer]:
    """The bank's layers with ``fn`` applied to the kernels of the conv layer after ``layer``."""
    layers = list(bank.layers)
    nxt = _next_conv(layers, layer + 1)
    if nxt is not None:
        layers[nxt] = _map_channels(layers[nxt], fn)  # type: ignore[arg-type]
    return layers


def _conform(layers: Sequence[Layer], input_mode: str) -> list[Layer]:
    """Every conv layer's C_in fitted to what reaches it (extra channels dropped, new ones 0)."""
    out: list[Layer] = []
    channels = INPUT_CHANNELS[input_mode]
    for la in layers:
        if isinstance(la, ConvLayer):
            if la.in_channels != channels:
                la = _ungrouped(la)
                la = replace(la, filters=tuple(_fit_channels(f, channels) for f in la.filters))
            channels = la.out_channels
        out.append(la)
    return out


def _layer_with_filters(conv: ConvLayer, filters: Sequence[Filter]) -> ConvLayer:
    return replace(conv, filters=tuple(filters))


# --- filters -----------------------------------------------------------------------------------


def add_filter(
    bank: Bank,
    layer: int,
    kernel: np.ndarray | Sequence | None = None,
    name: str | None = None,
) -> Bank:
    """Append a filter to conv layer ``layer``.

    Parameters
    ----------
    kernel : None, a 2-D kernel or (C_in, kh, kw) kernels
        None gives the channel mean: 1 / C_in at the centre of every channel's kernel, at the
        layer's kernel size (its first filter's). A 2-D kernel is repeated on every channel.
    name : the new filter's name; None gives "filter N", unique in the layer.

    The next conv layer gains an input channel with zero kernels, so its maps do not change. A
    layer with groups becomes one of groups 1, its other maps unchanged (see `_ungrouped`).
    """
    n, conv = _conv(bank, layer)
    conv = _ungrouped(conv)
    c_in = conv.in_channels
    if kernel is None:
        kh, kw = conv.filters[0].size
        kernels = np.repeat(centred_kernel(kh, kw, 1.0 / c_in)[None], c_in, axis=0)
    else:
        k = _array(kernel, "a kernel")
        if k.ndim == 2:
            k = np.repeat(k[None], c_in, axis=0)
        if k.ndim != 3 or k.shape[0] != c_in:
            raise BankError(
                f"layer {n + 1} takes kernels of shape ({c_in}, kh, kw) or (kh, kw); got {k.shape}"
            )
        kernels = k
    if name is None:
        name = _unique("filter", {f.name for f in conv.filters}, len(conv.filters) + 1)
    new = Filter(kernels, 0.0, name)
    layers = _with_next_inputs(bank, n, lambda k: np.concatenate([k, np.zeros((1, *k.shape[1:]))]))
    layers[n] = _layer_with_filters(conv, [*conv.filters, new])
    return replace(bank, layers=tuple(layers))


def remove_filter(bank: Bank, layer: int, index: int) -> Bank:
    """Remove filter ``index`` of conv layer ``layer``; the next conv layer loses its channel.

    Refuses to remove a layer's last filter (remove the layer instead). A layer with groups
    becomes one of groups 1, its other maps unchanged (see `_ungrouped`).
    """
    n, conv = _conv(bank, layer)
    i = _filter_index(conv, n, index)
    conv = _ungrouped(conv)
    if len(conv.filters) == 1:
        raise BankError(f"layer {n + 1} has only this filter; remove the layer instead")
    layers = _with_next_inputs(bank, n, lambda k: np.delete(k, i, axis=0))
    layers[n] = _layer_with_filters(conv, conv.filters[:i] + conv.filters[i + 1 :])
    return replace(bank, layers=tuple(layers))


def duplicate_filter(bank: Bank, layer: int, index: int) -> Bank:
    """Insert a copy of filter ``index`` right after it, named "<name> copy" (unique).

    The next conv layer gains a zero-kernel channel at ``index + 1``, so its maps do not change.
    A layer with groups becomes one of groups 1, its other maps unchanged (see `_ungrouped`).
    """
    n, conv = _conv(bank, layer)
    i = _filter_index(conv, n, index)
    conv = _ungrouped(conv)
    original = conv.filters[i]
    stem = original.name or f"filter {i + 1}"
    copy = replace(original, name=_unique(stem, {f.name for f in conv.filters}, tail=" copy"))
    layers = _with_next_inputs(
        bank, n, lambda k: np.insert(k, i + 1, np.zeros(k.shape[1:]), axis=0)
    )
    layers[n] = _layer_with_filters(conv, [*conv.filters[: i + 1], copy, *conv.filters[i + 1 :]])
    return replace(bank, layers=tuple(layers))


def rename_filter(bank: Bank, layer: int, index: int, name: str) -> Bank:
    """Rename filter ``index`` of conv layer ``layer``."""
    n, conv = _conv(bank, layer)
    i = _filter_index(conv, n, index)
    return bank.with_layer(n, conv.with_filter(i, replace(conv.filters[i], name=name)))


def move_filter(bank: Bank, layer: int, index: int, new_index: int) -> Bank:
    """Move filter ``index`` to ``new_index`` within its layer.

    The next conv layer's input channels are permuted the same way, so every later feature map
    is unchanged and this layer's maps only change order.
    """
    n, conv = _conv(bank, layer)
    i = _filter_index(conv, n, index)
    j = _filter_index(conv, n, new_index)
    if conv.channels_read(i) != conv.channels_read(j):
        conv = _ungrouped(conv)  # into another group: it keeps reading its own channels
    order = list(range(len(conv.filters)))
    order.insert(j, order.pop(i))
    layers = _with_next_inputs(bank, n, lambda k: k[order])
    layers[n] = _layer_with_filters(conv, [conv.filters[o] for o in order])
    return replace(bank, layers=tuple(layers))


def resize_filter(bank: Bank, layer: int, index: int, kh: int, kw: int) -> Bank:
    """Crop or zero-pad filter ``index``'s kernels to kh x kw around their centre.

    A layer whose padding is not "same" has one kernel size, so there every filter of the layer
    is resized; with "same" padding only this filter is.
    """
    n, conv = _conv(bank, layer)
    i = _filter_index(conv, n, index)
    kh, kw = _size((kh, kw), "kernel size")
    if conv.padding == "same":
        new = conv.with_filter(i, _resized(conv.filters[i], kh, kw))
    else:
        new = _layer_with_filters(conv, [_resized(f, kh, kw) for f in conv.filters])
    return bank.with_layer(n, new)


def set_kernel(
    bank: Bank, layer: int, filt: int, channel: int, kernel2d: np.ndarray | Sequence
) -> Bank:
    """Replace one kernel; a kernel of another size first resizes the filter (see resize_filter).

    The filter's other channels are cropped or zero-padded around their centre to match.
    """
    n, conv = _conv(bank, layer)
    i = _filter_index(conv, n, filt)
    f = conv.filters[i]
    c = _index(channel, f.in_channels, "channel", f"filter {i + 1} of layer {n + 1}")
    k = _array(kernel2d, "a kernel")
    if k.ndim != 2:
        raise BankError(f"a kernel is a 2-D grid (kh, kw); got shape {k.shape}")
    if k.shape != f.size:
        bank = resize_filter(bank, n, i, *_size(k.shape, "kernel size"))
    return bank.with_kernel(n, i, c, k)


def set_kernels(bank: Bank, layer: int, filt: int, kernels: np.ndarray | Sequence) -> Bank:
    """Replace every kernel of a filter with (C_in, kh, kw) ``kernels``; another kernel size
    first resizes the filter (see resize_filter)."""
    n, conv = _conv(bank, layer)
    i = _filter_index(conv, n, filt)
    f = conv.filters[i]
    k = _array(kernels, "kernels")
    if k.ndim != 3 or k.shape[0] != f.in_channels:
        raise BankError(
            f"filter {i + 1} of layer {n + 1} takes ({f.in_channels}, kh, kw) kernels; "
            f"got shape {k.shape}"
        )
    if k.shape[1:] != f.size:
        bank = resize_filter(bank, n, i, *_size(k.shape[1:], "kernel size"))
        conv = bank.layers[n]  # type: ignore[assignment]
        f = conv.filters[i]
    return bank.with_layer(n, conv.with_filter(i, replace(f, kernels=k)))


def copy_kernel_to_all_channels(bank: Bank, layer: int, filt: int, channel: int) -> Bank:
    """Give every input channel of filter ``filt`` the kernel of channel ``channel``."""
    n, conv = _conv(bank, layer)
    i = _filter_index(conv, n, filt)
    f = conv.filters[i]
    c = _index(channel, f.in_channels, "channel", f"filter {i + 1} of layer {n + 1}")
    kernels = np.repeat(f.kernels[c : c + 1], f.in_channels, axis=0)
    return bank.with_layer(n, conv.with_filter(i, replace(f, kernels=kernels)))


def set_bias(bank: Bank, layer: int, filt: int, bias: float) -> Bank:
    """Set the bias of filter ``filt`` of conv layer ``layer``."""
    n, conv = _conv(bank, layer)
    i = _filter_index(conv, n, filt)
    return bank.with_layer(n, conv.with_filter(i, replace(conv.filters[i], bias=bias)))


# --- layers ------------------------------------------------------------------------------------


def rename_layer(bank: Bank, layer: int, name: str) -> Bank:
    """Rename layer ``layer`` (conv or pool)."""
    n = _layer_index(bank, layer)
    return bank.with_layer(n, replace(bank.layers[n], name=name))


def _layer_names(bank: Bank) -> set[str]:
    return {la.name for la in bank.layers}


def add_conv_layer(
    bank: Bank, index: int | None = None, kernel_size: int | tuple[int, int] = 3
) -> Bank:
    """Insert a conv layer at ``index`` (default: the end) with one channel-mean filter.

    The filter has 1 / C_in at the centre of every kernel and the layer pads "same", so its one
    feature map is the mean of its input channels. It is named "layer N" (unique). The next conv
    layer now gets one channel: each of its filters' kernels become the sum over its former
    channels (exact when those kernels were equal across channels).
    """
    at = _insert_index(index, len(bank.layers))
    kh, kw = _size(kernel_size, "kernel size")
    c_in = bank.channels()[at]
    first = Filter.repeated(centred_kernel(kh, kw, 1.0 / c_in), c_in, name="filter 1")
    name = _unique("layer", _layer_names(bank), len(bank.layers) + 1)
    new = ConvLayer((first,), name=name, padding="same")
    layers = _with_next_inputs(bank, at - 1, lambda k: k.sum(axis=0, keepdims=True))
    layers.insert(at, new)
    return replace(bank, layers=tuple(layers))


def add_pool_layer(
    bank: Bank, index: int | None = None, op: str = "max", size: int | tuple[int, int] = 2
) -> Bank:
    """Insert a pool layer at ``index`` (default: the end), stride = size, named "pool N"."""
    at = _insert_index(index, len(bank.layers))
    name = _unique("pool", _layer_names(bank), len(bank.layers) + 1)
    layers = list(bank.layers)
    layers.insert(at, PoolLayer(op=op, size=size, name=name))  # type: ignore[arg-type]
    return replace(bank, layers=tuple(layers))


def remove_layer(bank: Bank, layer: int) -> Bank:
    """Remove layer ``layer``; the next conv layer takes what reached the removed one.

    Its channel count is fitted to the new C_in: extra channels are dropped, missing ones get
    zero kernels. Refuses to remove a bank's only layer.
    """
    n = _layer_index(bank, layer)
    if len(bank.layers) == 1:
        raise BankError("a bank needs at least one layer; this is its only one")
    layers = list(bank.layers)
    del layers[n]
    return replace(bank, layers=tuple(_conform(layers, bank.input)))


def move_layer(bank: Bank, layer: int, new_index: int) -> Bank:
    """Move layer ``layer`` to position ``new_index``.

    Every conv layer's channel count is then fitted to what reaches it (extra channels dropped,
    missing ones zero), so the result always validates.
    """
    n = _layer_index(bank, layer)
    j = _index(new_index, len(bank.layers), "layer", "the bank")
    layers = list(bank.layers)
    layers.insert(j, layers.pop(n))
    return replace(bank, layers=tuple(_conform(layers, bank.input)))


def set_layer_settings(bank: Bank, layer: int, **settings: Any) -> Bank:
    """Change settings of layer ``layer``; values are checked by the layer's dataclass.

    Conv layers take stride, padding, border, dilation, flip, activation, slope (leaky-relu's)
    and groups (each filter keeps the kernels of the channels its new group reads); pool layers
    take
    op, size and stride. A pool stride that equalled its size follows a new size unless a stride
    is given too. When a conv layer's padding stops being "same" and its filters have different
    sizes, they are all cropped or zero-padded to the first filter's size.
    """
    n = _layer_index(bank, layer)
    la = bank.layers[n]
    known = CONV_SETTINGS if isinstance(la, ConvLayer) else POOL_SETTINGS
    kind = "conv" if isinstance(la, ConvLayer) else "pool"
    for key in settings:
        if key not in known:
            raise BankError(f"a {kind} layer has no setting {key!r} (it has {', '.join(known)})")
    if isinstance(la, PoolLayer):
        if "size" in settings and "stride" not in settings and la.stride == la.size:
            settings["stride"] = None  # PoolLayer: None means the size
    else:
        if "padding" in settings and settings["padding"] != "same":
            kh, kw = la.filters[0].size
            la = _layer_with_filters(la, [_resized(f, kh, kw) for f in la.filters])
        if "groups" in settings:
            la = _regrouped(la, settings.pop("groups"), n)
    try:
        new = replace(la, **settings)
    except BankError as e:
        raise BankError(f"layer {n + 1}: {e}") from None
    return bank.with_layer(n, new)


def set_input_mode(bank: Bank, mode: str) -> Bank:
    """Switch the bank's input between "rgb" and "gray", keeping its maps on grey images.

    rgb -> gray: each first-layer filter's 3 kernels become their sum. gray -> rgb: each kernel
    becomes 3 copies divided by 3. Either way an image with R = G = B gives the same maps as
    before (its luma is that same grey).
    """
    if mode not in INPUT_MODES:
        raise BankError(f"input must be one of {', '.join(INPUT_MODES)}; got {mode!r}")
    if mode == bank.input:
        return bank
    layers = list(bank.layers)
    first = _next_conv(layers, 0)
    if first is not None:
        if mode == "gray":
            fn = lambda k: k.sum(axis=0, keepdims=True)  # noqa: E731
        else:
            fn = lambda k: np.repeat(k / 3.0, 3, axis=0)  # noqa: E731
        layers[first] = _map_channels(layers[first], fn)  # type: ignore[arg-type]
    return replace(bank, layers=tuple(layers), input=mode)


# --- text for the stack view -------------------------------------------------------------------


def _pool_stride(la: PoolLayer) -> tuple[int, int]:
    # PoolLayer turns a stride of None into its size on construction.
    assert la.stride is not None
    return la.stride


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


def _sizes(conv: ConvLayer) -> str:
    seen: list[tuple[int, int]] = []
    for f in conv.filters:
        if f.size not in seen:
            seen.append(f.size)
    return ", ".join(f"{kh}×{kw}" for kh, kw in seen)


def padding_text(padding: str | tuple[int, int, int, int]) -> str:
    """Padding as the layer settings say it: "same", "2", "1×2" (y×x), or "1 2 0 3" (top,
    bottom, left, right) when the sides of an axis differ."""
    if isinstance(padding, str):
        return padding
    top, bottom, left, right = padding
    if top == bottom and left == right:
        return _pair_text((top, left))
    return f"{top} {bottom} {left} {right}"


def _padding_text(conv: ConvLayer) -> str:
    if isinstance(conv.padding, str):
        return conv.padding
    return f"pad {padding_text(conv.padding)}"


def _layer_inputs(bank: Bank, height: int, width: int) -> list[tuple[int, int] | None]:
    """The (H, W) reaching each layer, then the last output; None once nothing is left."""
    sizes: list[tuple[int, int] | None] = [(height, width)]
    for la in bank.layers:
        prev = sizes[-1]
        if prev is None:
            sizes.append(None)
            continue
        oh, ow = la.output_size(*prev)
        sizes.append((oh, ow) if oh >= 1 and ow >= 1 else None)
    return sizes


def _check_size(height: Any, width: Any) -> None:
    for v in (height, width):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise BankError(f"an image size is positive integers, got {height!r} x {width!r}")


def layer_output_shape(
    bank: Bank, layer: int, height: int, width: int
) -> tuple[int, int, int] | None:
    """(C_out, H', W') of layer ``layer`` on a height x width image; None if nothing is left."""
    n = _layer_index(bank, layer)
    _check_size(height, width)
    out = _layer_inputs(bank, height, width)[n + 1]
    return None if out is None else (bank.channels()[n + 1], out[0], out[1])


def _output_text(bank: Bank, n: int, height: int | None, width: int | None, sep: str) -> str:
    if height is None or width is None:
        return ""
    shape = layer_output_shape(bank, n, height, width)
    if shape is None:
        return " → nothing left"
    return " → " + sep.join(str(v) for v in shape)


def describe_layer(bank: Bank, layer: int, height: int | None, width: int | None) -> str:
    """One line saying what layer ``layer`` is and what it outputs on a height x width image.

    e.g. "conv 3×3 · 8 filters · stride 1 · same → 8 × 720 × 1280" or
    "max pool 2×2 / 2 → 8 × 360 × 640"; "→ nothing left" when the stack has shrunk the image to
    nothing by then. With ``height`` or ``width`` None, the arrow part is left out.
    """
    n = _layer_index(bank, layer)
    la = bank.layers[n]
    if isinstance(la, PoolLayer):
        text = f"{la.op} pool {la.size[0]}×{la.size[1]} / {_pair_text(_pool_stride(la))}"
    else:
        count = len(la.filters)
        parts = [
            f"conv {_sizes(la)}",
            f"{count} filter{'s' if count != 1 else ''}",
            f"stride {_pair_text(la.stride)}",
            _padding_text(la),
        ]
        if la.dilation != (1, 1):
            parts.append(f"dilation {_pair_text(la.dilation)}")
        if la.groups > 1:
            parts.append("depthwise" if la.groups == la.in_channels else f"{la.groups} groups")
        if la.activation == "leaky-relu":
            parts.append(f"leaky-relu {la.slope:g}")
        elif la.activation != "none":
            parts.append(la.activation)
        text = " · ".join(parts)
    return text + _output_text(bank, n, height, width, " × ")


def layer_title(bank: Bank, layer: int, height: int | None = None, width: int | None = None) -> str:
    """The short heading of a layer in the stack view.

    e.g. "1 · edges — conv 3×3 · 4 filters → 4×400×600" or "2 · max pool 2×2 → 4×200×300".
    """
    n = _layer_index(bank, layer)
    la = bank.layers[n]
    head = f"{n + 1} · {la.name}" if la.name else f"{n + 1}"
    if isinstance(la, PoolLayer):
        body = f"{la.op} pool {la.size[0]}×{la.size[1]}"
        if la.stride != la.size:
            body += f" / {_pair_text(_pool_stride(la))}"
    else:
        count = len(la.filters)
        body = f"conv {_sizes(la)} · {count} filter{'s' if count != 1 else ''}"
    return f"{head} — {body}{_output_text(bank, n, height, width, '×')}"


def _conv_line(axis: str, size: int, k: int, stride: int, dilation: int, pad_total: int) -> str:
    out = convolve.conv_output_length(size, k, stride, dilation, pad_total)
    line = f"{axis}' = ⌊({size} + {pad_total} − {dilation}·({k}−1) − 1) / {stride}⌋ + 1 = {out}"
    return line + (" → nothing left" if out < 1 else "")


def output_size_text(bank: Bank, layer: int, height: int, width: int) -> str:
    """The output-size formula of layer ``layer`` filled in, one line per axis.

    e.g. "H' = ⌊(720 + 2 − 1·(3−1) − 1) / 1⌋ + 1 = 720" for explicit or valid padding,
    "H' = ⌈720 / 1⌉ = 720" for "same", "H' = ⌊(720 − 2) / 2⌋ + 1 = 360" for pooling; the sizes
    are the layer's input, i.e. the image after the layers before it. When the image has shrunk
    to nothing before this layer, one line says where instead (nothing is raised).
    """
    n = _layer_index(bank, layer)
    _check_size(height, width)
    inputs = _layer_inputs(bank, height, width)
    if inputs[n] is None:
        gone = next(i for i in range(n) if inputs[i + 1] is None)
        return (
            f"Nothing reaches layer {n + 1}: layer {gone + 1} shrinks the "
            f"{height}×{width} image to nothing."
        )
    h, w = inputs[n]  # type: ignore[misc]  # None was handled above
    la = bank.layers[n]
    if isinstance(la, PoolLayer):
        (ky, kx), (py_, px_) = la.size, _pool_stride(la)
        return "\n".join([_pool_line("H", h, ky, py_), _pool_line("W", w, kx, px_)])
    sy, sx = la.stride
    if la.padding == "same":
        return "\n".join(
            f"{axis}' = ⌈{size} / {s}⌉ = {-(-size // s)}"
            for axis, size, s in (("H", h, sy), ("W", w, sx))
        )
    top, bottom, left, right = la.padding if isinstance(la.padding, tuple) else (0, 0, 0, 0)
    kh, kw = la.filters[0].size
    dy, dx = la.dilation
    return "\n".join(
        [
            _conv_line("H", h, kh, sy, dy, top + bottom),
            _conv_line("W", w, kw, sx, dx, left + right),
        ]
    )


def _pool_line(axis: str, size: int, k: int, stride: int) -> str:
    out = convolve.pool_output_length(size, k, stride)
    line = f"{axis}' = ⌊({size} − {k}) / {stride}⌋ + 1 = {out}"
    return line + (" → nothing left" if out < 1 else "")
