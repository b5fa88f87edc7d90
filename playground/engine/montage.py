"""A labelled grid of feature maps as one RGB image (for `apply`'s PNGs and videos).

Built from reduced data (`MapDigest`: block averages, a grid of samples, the exact range), so a
montage of a 110-megapixel map costs a pass over it, not percentiles and colours at full
resolution, and a map written in bands never has to be whole in memory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

_LABEL_HEIGHT = 22
_GAP = 6
_BACKGROUND = 40


# Samples of each map for its colour scale's percentile: every k-th row and column, k chosen so
# a map gives about this many. A 600x400 map gives every second pixel of every second row, a
# 110-megapixel one every 41st: the 99.5th percentile moves by well under a grey level, and
# the scan costs milliseconds, not seconds (25 s of a 10000x10000 run at full resolution;
# 30 ms a 720p video frame for 4 maps at four times the samples).
_SAMPLES = 65_536


class MapDigest:
    """What the montage needs of C maps of height x width, gathered band by band: each map
    averaged over blocks (a few times the tile's size), a grid of samples for its colour
    scale, and its exact minimum and maximum. Memory stays the digest's, however large the
    maps; `montage` on a whole array makes one too.

    Bands come in as (C, rows, width) float32 at their first row, in any order, each row once.
    """

    def __init__(self, channels: int, height: int, width: int, tile: int = 256) -> None:
        self.shape = (channels, height, width)
        self.tile = tile
        # Block averages at least twice the tile's resolution, so the final INTER_AREA resize
        # still averages (and a map at most twice the tile is kept as it is).
        self.block = max(1, max(height, width) // (2 * tile))
        b = self.block
        self._sums = np.zeros((channels, -(-height // b), -(-width // b)), np.float32)
        self.step = max(1, math.ceil(math.sqrt(height * width / _SAMPLES)))
        self._samples: list[np.ndarray] = []
        self.lo = np.full(channels, np.inf)
        self.hi = np.full(channels, -np.inf)

    def add(self, rows: np.ndarray, start: int) -> None:
        """Take maps' rows [start, start + rows.shape[1])."""
        c, n, w = rows.shape
        b = self.block
        if n == 0:
            return
        self.lo = np.minimum(self.lo, rows.min(axis=(1, 2)))
        self.hi = np.maximum(self.hi, rows.max(axis=(1, 2)))
        first = (-start) % self.step
        self._samples.append(np.abs(rows[:, first :: self.step, :: self.step]).reshape(c, -1))
        if b == 1:  # a map no larger than twice the tile is kept as it is
            self._sums[:, start : start + n] += rows
            return
        # Block sums as b strided adds along each axis: numpy reduces a short last axis
        # (reshape, or reduceat with a segment per block) at a tenth of that speed, 90 ms a
        # 720p band. Float32 is plenty for a picture of averages.
        full = w // b * b
        cols = np.empty((c, n, -(-w // b)), np.float32)
        body = cols[:, :, : w // b]
        np.copyto(body, rows[:, :, 0:full:b])
        for j in range(1, b):
            body += rows[:, :, j:full:b]
        if full < w:
            cols[:, :, -1] = rows[:, :, full:].sum(axis=2)
        # Rows go to their block by their row in the whole map: a band may start mid-block.
        head = min(n, (-start) % b)
        if head:
            self._sums[:, start // b] += cols[:, :head].sum(axis=1)
        whole = (n - head) // b
        if whole:
            first = (start + head) // b
            target = self._sums[:, first : first + whole]
            for i in range(b):
                target += cols[:, head + i : head + whole * b : b]
        rest = head + whole * b
        if rest < n:
            self._sums[:, (start + rest) // b] += cols[:, rest:].sum(axis=1)

    def means(self) -> np.ndarray:
        """(C, ceil(H / block), ceil(W / block)) float32 block averages (edge blocks partial)."""
        _, h, w = self.shape
        b = self.block
        if b == 1:
            return self._sums
        rows = np.minimum(b, h - b * np.arange(self._sums.shape[1]))
        cols = np.minimum(b, w - b * np.arange(self._sums.shape[2]))
        return self._sums / np.outer(rows, cols).astype(np.float32)

    def limits(self) -> np.ndarray:
        """Each map's colour scale end: the 99.5th percentile of |value| over the samples, or
        the largest |value| when that is 0 (a map of a few peaks), or 1 for an all-zero map."""
        samples = np.concatenate(self._samples, axis=1)
        top = np.maximum(np.abs(self.lo), np.abs(self.hi))
        limits = np.percentile(samples, 99.5, axis=1) if samples.size else np.zeros(len(top))
        return np.where(limits > 0, limits, np.where(top > 0, top, 1.0))


def colorize(fmap: np.ndarray, limit: float, signed: bool) -> np.ndarray:
    """One feature map as RGB uint8, its scale ending at ``limit``.

    A ``signed`` map (one with negative values) uses a diverging scale symmetric around zero
    (blue < 0, white 0, red > 0) so the sign of a response stays readable; a non-negative map is
    grey from 0 up. The scale ends at the 99.5th percentile of |value| (see `MapDigest`): edge
    maps are mostly near zero with a few strong peaks, and scaling to the single largest peak
    would leave the picture black.
    """
    m = np.asarray(fmap, dtype=np.float32)
    if signed:
        t = np.clip(m / limit, -1.0, 1.0)
        pos, neg = np.clip(t, 0, 1), np.clip(-t, 0, 1)
        rgb = np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=-1)
    else:
        g = np.clip(m / limit, 0.0, 1.0)
        rgb = np.repeat(g[..., None], 3, axis=-1)
    return (rgb * 255 + 0.5).astype(np.uint8)


def montage(maps: np.ndarray, names: Sequence[str], tile: int = 256) -> np.ndarray:
    """Feature maps (C, H, W) laid out in a grid, each under its name and value range.

    Tiles are scaled so their longer side is ``tile`` pixels (nearest neighbour: a 6x6 map stays
    six crisp squares). Returns RGB uint8.
    """
    c, h, w = maps.shape
    digest = MapDigest(c, h, w, tile=tile)
    digest.add(maps, 0)
    return digest_montage(digest, names)


def digest_montage(digest: MapDigest, names: Sequence[str]) -> np.ndarray:
    """`montage` from a `MapDigest`: the maps themselves are not needed (nor read)."""
    c, h, w = digest.shape
    tile = digest.tile
    scale = tile / max(h, w)
    th, tw = max(1, round(h * scale)), max(1, round(w * scale))
    tw = max(tw, 120)  # room for the label
    cols = math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    cell_h, cell_w = th + _LABEL_HEIGHT, tw
    canvas = np.full(
        (rows * (cell_h + _GAP) + _GAP, cols * (cell_w + _GAP) + _GAP, 3), _BACKGROUND, np.uint8
    )
    means, limits = digest.means(), digest.limits()
    for i in range(c):
        r, q = divmod(i, cols)
        y, x = _GAP + r * (cell_h + _GAP), _GAP + q * (cell_w + _GAP)
        lo, hi = float(digest.lo[i]), float(digest.hi[i])
        limit = float(limits[i])
        shrink = means.shape[1] * means.shape[2] > th * tw
        small = cv2.resize(
            means[i],
            (max(1, round(w * scale)), th),
            interpolation=cv2.INTER_AREA if shrink else cv2.INTER_NEAREST,
        )
        img = colorize(small, limit, lo < -1e-6 * limit)
        canvas[y + _LABEL_HEIGHT : y + _LABEL_HEIGHT + th, x : x + img.shape[1]] = img
        tiny = 1e-6 * max(abs(lo), abs(hi))  # float noise such as 3e-11 reads as 0
        lo, hi = (0.0 if abs(v) <= tiny else v for v in (lo, hi))
        label = f"{names[i]}  [{lo:.3g}, {hi:.3g}]"
        cv2.putText(
            canvas,
            label,
            (x + 2, y + 15),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.42,
            (235, 235, 235),
            1,
            cv2.LINE_AA,
        )
    return canvas
