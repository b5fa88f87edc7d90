"""Running a bank on an image too large for one run: bands of rows, each with its halo.

A bank runs layer by layer, each layer over bands of its output rows. A band reads its input
rows plus the layer's halo (the rows its kernels, dilated, reach beyond the band, and the
stride's alignment), never the whole map, so memory grows with the band, not the image. Rows
past the image's edges are filled by the layer's border rule (zero, reflect, replicate, wrap)
from the whole map, as the layer pads it in a whole run; the layer then pads the band as it
always does, and the rows that padding touches are in the halo and dropped. Layer by layer, not
the whole bank per band: a deep bank would recompute its whole receptive field around every
band, and every layer's maps are written anyway. `receptive_field` gives that total.

Bands are always the map's full width. Why: OpenCV's filter2D and numpy's BLAS compute the last
few pixels of a row (the vector loop's tail) in another order than the rest, so a map cut into
columns would differ from a whole run in the last bit near every cut. Full rows are computed
exactly as the whole run computes them, so direct filters and pools give the same bits as
`Bank.apply`. Two parts round differently, by float32 round-off only: filters that the engine
runs through the DFT (large non-separable kernels: the DFT's blocks are placed from the band's
top, not the image's), and a "gray" bank's luma, which BLAS sums in an order that depends on
where the image ends.

The same plan per band serves `apply_dask` (``dask.array.map_overlap``, one layer at a time,
chunks of full rows) and the CLI's giant images (`apply_bands`, writing each layer's maps into
a memory-mappable .npy through `open_memmap`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from playground.engine import convolve
from playground.engine.bank import Bank, ConvLayer, Layer, PoolLayer

if TYPE_CHECKING:
    import dask.array

# About this many bytes of input, output and padded copies per band. Bands this large keep
# filter2D's per-call set-up small against its work, and dozens of them fit in RAM at once.
BAND_BYTES = 64 * 1024**2

# Reads rows [start, stop) of a layer's input, in range: (C, stop - start, W) float32.
ReadRows = Callable[[int, int], np.ndarray]

_INDEX_BORDERS = {
    "zero": cv2.BORDER_CONSTANT,
    "reflect": cv2.BORDER_REFLECT_101,
    "replicate": cv2.BORDER_REPLICATE,
    "wrap": cv2.BORDER_WRAP,
}


@dataclass(frozen=True)
class LayerRows:
    """How a layer's output rows depend on its input rows, on an ``height``-row input.

    Output row J of filter f reads input rows [J * stride - top_f, J * stride - top_f + span_f),
    where rows outside [0, height) are the border rule's.
    """

    layer: Layer
    height: int
    width: int
    stride: int
    tops: tuple[int, ...]  # per filter (a pool: one entry, 0)
    spans: tuple[int, ...]
    out_height: int
    out_width: int

    @classmethod
    def of(cls, layer: Layer, height: int, width: int) -> LayerRows:
        oh, ow = layer.output_size(height, width)
        if isinstance(layer, PoolLayer):
            return cls(layer, height, width, layer.stride[0], (0,), (layer.size[0],), oh, ow)
        sy, dy = layer.stride[0], layer.dilation[0]
        spans = tuple(convolve.effective_size(f.size[0], dy) for f in layer.filters)
        if layer.padding == "valid":
            tops = tuple(0 for _ in spans)
        elif layer.padding == "same":
            tops = tuple(convolve.same_padding(height, s, sy, 1)[0] for s in spans)
        else:
            tops = tuple(layer.padding[0] for _ in spans)
        return cls(layer, height, width, sy, tops, spans, oh, ow)

    @property
    def halo(self) -> int:
        """Input rows a band may read beyond its own on either side (its stride-aligned rows
        included): the depth `apply_dask` overlaps chunks by."""
        s = self.stride
        return math.ceil(max(self.tops) / s) * s + max(self.spans) + 2 * s

    def window(self, start: int, stop: int) -> tuple[int, int, int]:
        """(first input row, row past the last, first output row kept) for output rows
        [start, stop): run the layer on those input rows (border rows included, so they may
        lie outside [0, height)) and keep its output rows [kept, kept + stop - start)."""
        s = self.stride
        ahead = math.ceil(max(self.tops) / s)
        first = (start - ahead) * s
        last = max((stop - 1) * s - t + span for t, span in zip(self.tops, self.spans))
        if self.layer_pads_by_height:
            # "same" pads by the input's height modulo the stride: the band's must match, or
            # the band's padding (and so its rows) would shift against the whole run's.
            last += (self.height - (last - first)) % s
        return first, last, ahead

    @property
    def layer_pads_by_height(self) -> bool:
        return isinstance(self.layer, ConvLayer) and self.layer.padding == "same"

    def border_rows(self, first: int, last: int) -> np.ndarray:
        """Input row of each window row [first, last) under the layer's border rule; -1 for a
        zero row. Worked out by OpenCV's own border rule on the row numbers, so it is the one
        the engine pads with, for any reach (reflection past a short map included)."""
        border = "zero" if isinstance(self.layer, PoolLayer) else self.layer.border
        before, after = max(0, -first), max(0, last - self.height)
        index = np.arange(self.height, dtype=np.int32)[:, None]
        rows = cv2.copyMakeBorder(index, before, after, 0, 0, _INDEX_BORDERS[border], value=-1)
        return rows.ravel()[first + before : last + before]


def _run_layer(layer: Layer, plan: convolve.ConvPlan | None, x: np.ndarray) -> np.ndarray:
    if isinstance(layer, PoolLayer):
        return convolve.run_pool(layer, x)
    assert plan is not None
    return convolve.run_conv(plan, x)[0]


def take_rows(read: ReadRows, rows: np.ndarray, channels: int, width: int) -> np.ndarray:
    """The input rows ``rows`` (-1: zero) as one (C, len(rows), W) float32 block, read in as
    few contiguous runs as the border rule allows."""
    block = np.zeros((channels, len(rows), width), np.float32)
    i = 0
    while i < len(rows):
        j = i + 1
        if rows[i] >= 0:
            step = 1 if j >= len(rows) or rows[j] >= rows[i] else -1
            while j < len(rows) and rows[j] == rows[j - 1] + step:
                j += 1
            lo, hi = min(rows[i], rows[j - 1]), max(rows[i], rows[j - 1]) + 1
            run = read(int(lo), int(hi))
            block[:, i:j] = run if step == 1 else run[:, ::-1]
        else:
            while j < len(rows) and rows[j] < 0:
                j += 1
        i = j
    return block


def layer_band(
    geometry: LayerRows,
    plan: convolve.ConvPlan | None,
    read: ReadRows,
    channels: int,
    start: int,
    stop: int,
) -> np.ndarray:
    """Output rows [start, stop) of one layer, all filters: (C_out, stop - start, W') float32,
    the same values a whole run gives there (see the module docstring for the bits)."""
    first, last, kept = geometry.window(start, stop)
    rows = geometry.border_rows(first, last)
    x = take_rows(read, rows, channels, geometry.width)
    return np.ascontiguousarray(_run_layer(geometry.layer, plan, x)[:, kept : kept + stop - start])


def band_rows(geometry: LayerRows, c_in: int, c_out: int, budget: int = BAND_BYTES) -> int:
    """Output rows per band so that a band's input (twice: the layer may pad a copy) and output
    take about ``budget`` bytes; at least one."""
    per_row = 4 * (2 * c_in * geometry.width * geometry.stride + c_out * geometry.out_width)
    return max(1, budget // max(1, per_row) - max(geometry.spans) // geometry.stride)


def receptive_field(bank: Bank) -> tuple[int, int]:
    """(rows, columns) of input that one output pixel of the bank's last layer reads: every
    layer's kernel span, dilation and stride (pools' windows included), compounded."""
    ry = rx = 1
    jump_y = jump_x = 1
    for layer in bank.layers:
        if isinstance(layer, PoolLayer):
            (ky, kx), (sy, sx) = layer.size, layer.stride
        else:
            dy, dx = layer.dilation
            ky = max(convolve.effective_size(f.size[0], dy) for f in layer.filters)
            kx = max(convolve.effective_size(f.size[1], dx) for f in layer.filters)
            sy, sx = layer.stride
        ry += (ky - 1) * jump_y
        rx += (kx - 1) * jump_x
        jump_y *= sy
        jump_x *= sx
    return ry, rx


def plans(bank: Bank) -> list[convolve.ConvPlan | None]:
    """Each layer compiled for the engine (None for a pool), as `Bank.apply` runs them."""
    return [convolve.compile_conv(la) if isinstance(la, ConvLayer) else None for la in bank.layers]


def apply_bands(
    bank: Bank,
    read_input: ReadRows,
    height: int,
    width: int,
    files: Sequence[MapFile],
    watch: Callable[[int, np.ndarray, int], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    budget: int | None = None,
) -> None:
    """Run ``bank`` on an image of ``height`` x ``width`` pixels, band by band and layer by
    layer, never holding a whole map: layer n's maps go into ``files[n]``.

    ``read_input`` gives the first layer's input rows (`Bank.input_planes` of those image
    rows); layer n's input is read back from ``files[n - 1]``. ``watch(layer, rows, start)``
    sees each band of maps (0-based layer; for the montage's reduced data), ``progress(done,
    total)`` counts the bands; ``budget`` is the bytes a band takes (BAND_BYTES). Runs on the
    caller's thread (the engine fans each band out to its pool).
    """
    geometries = []
    h, w = height, width
    for layer in bank.layers:
        geometries.append(LayerRows.of(layer, h, w))
        h, w = geometries[-1].out_height, geometries[-1].out_width
    counts = bank.channels()
    size = BAND_BYTES if budget is None else budget
    per_band = [band_rows(g, counts[n], counts[n + 1], size) for n, g in enumerate(geometries)]
    total = sum(-(-g.out_height // r) for g, r in zip(geometries, per_band))
    done = 0
    read = read_input
    for n, (geometry, plan) in enumerate(zip(geometries, plans(bank))):
        for start in range(0, geometry.out_height, per_band[n]):
            stop = min(geometry.out_height, start + per_band[n])
            rows = layer_band(geometry, plan, read, counts[n], start, stop)
            files[n].write(start, rows)
            if watch is not None:
                watch(n, rows, start)
            done += 1
            if progress is not None:
                progress(done, total)
        read = files[n].read


class MapFile:
    """One layer's maps in a .npy file made by `numpy.lib.format.open_memmap`, written and read
    in bands through short-lived maps: a band's pages leave the process once it is done, so
    its memory stays a band's, not the file's."""

    def __init__(self, path: str | os.PathLike[str], shape: tuple[int, int, int]) -> None:
        self.path = path
        np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape).flush()

    def write(self, start: int, rows: np.ndarray) -> None:
        """Rows [start, start + len) of every map."""
        maps = np.load(self.path, mmap_mode="r+")
        maps[:, start : start + rows.shape[1]] = rows
        maps.flush()
        del maps

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of every map, as a copy in memory."""
        maps = np.load(self.path, mmap_mode="r")
        rows = np.array(maps[:, start:stop])
        del maps
        return rows


def apply_dask(bank: Bank, image: dask.array.Array) -> list[dask.array.Array]:
    """Run ``bank`` on an image held in a dask array: one lazy (C_out, H', W') float32 array
    per layer, as `Bank.apply` returns numpy ones.

    ``image`` is HxW or HxWxC (C = 1, 3 or 4), uint8 or float, chunked any way: it is
    rechunked into bands of full rows (see the module docstring). Each layer is one
    ``map_overlap`` over its input's bands with the layer's halo, so the chain's overlap adds
    up to the bank's `receptive_field`. Values are those of `Bank.apply` on the whole image,
    bit for bit for direct filters and pools. Nothing runs until the arrays are computed, on
    whatever scheduler the caller's Dask uses.

    Raises BankError (through `Bank.output_shapes`) when the stack shrinks the image to nothing.
    """
    import dask.array as da

    if image.ndim == 2:
        image = image[:, :, None]
    height, width = int(image.shape[0]), int(image.shape[1])
    bank.output_shapes(height, width)
    planes_in = bank.in_channels
    x = image.rechunk({0: image.chunks[0], 1: -1, 2: -1}).transpose(2, 0, 1)

    def planes(block: np.ndarray) -> np.ndarray:
        """Runs on a Dask worker."""
        return bank.input_planes(np.moveaxis(block, 0, -1))

    x = x.map_blocks(
        planes,
        chunks=((planes_in,), x.chunks[1], (width,)),
        dtype=np.float32,
        meta=np.empty((0, 0, 0), np.float32),
    )
    outputs = []
    counts = bank.channels()
    for n, (layer, plan) in enumerate(zip(bank.layers, plans(bank))):
        geometry = LayerRows.of(layer, height, width)
        x = _full_row_chunks(x, geometry.halo)
        single = len(x.chunks[1]) == 1
        # A single chunk is the whole map: nothing to overlap, the border rule reads it all.
        halo = 0 if single else geometry.halo
        bounds = np.cumsum((0, *x.chunks[1]))
        starts = [min(-(-int(b) // geometry.stride), geometry.out_height) for b in bounds]
        starts[-1] = geometry.out_height
        wrap = isinstance(layer, ConvLayer) and layer.border == "wrap" and not single
        x = da.map_overlap(
            _chunk_function(geometry, plan, counts[n], bounds, starts, halo, wrap),
            x,
            depth={0: 0, 1: halo, 2: 0},
            boundary="periodic" if wrap else "none",
            trim=False,
            chunks=((counts[n + 1],), tuple(np.diff(starts)), (geometry.out_width,)),
            dtype=np.float32,
            meta=np.empty((0, 0, 0), np.float32),
        )
        outputs.append(x)
        height, width = geometry.out_height, geometry.out_width
    return outputs


def _chunk_function(
    geometry: LayerRows,
    plan: convolve.ConvPlan | None,
    channels: int,
    bounds: np.ndarray,
    starts: list[int],
    halo: int,
    wrap: bool,
) -> Callable[..., np.ndarray]:
    def band(block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        """One chunk's output rows of one layer. Runs on a Dask worker."""
        assert block_info is not None
        i = block_info[0]["chunk-location"][1]
        # The block's first row, as a row of the whole map (before 0 with a periodic overlap).
        origin = int(bounds[i]) - (halo if wrap or i > 0 else 0)
        height = geometry.height

        def read(lo: int, hi: int) -> np.ndarray:
            at = lo - origin
            if not 0 <= at <= block.shape[1] - (hi - lo):
                at += height if at < 0 else -height  # the periodic overlap's copy of the rows
            return block[:, at : at + hi - lo]

        return layer_band(geometry, plan, read, channels, starts[i], starts[i + 1])

    return band


def _full_row_chunks(x: dask.array.Array, halo: int) -> dask.array.Array:
    """``x`` (C, H, W) with every chunk of rows at least ``halo`` long, as ``map_overlap``
    needs (so that the overlap holds a chunk's whole halo), or one chunk when the map is short."""
    sizes = x.chunks[1]
    if min(sizes) >= halo:
        return x
    height = sum(sizes)
    count = max(1, height // max(halo, max(sizes)))
    even = tuple(height // count + (i < height % count) for i in range(count))
    return x.rechunk({1: even})
