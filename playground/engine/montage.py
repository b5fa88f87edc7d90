"""A labelled grid of feature maps as one RGB image (for `apply`'s PNGs and exports)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

_LABEL_HEIGHT = 22
_GAP = 6
_BACKGROUND = 40


def colorize(fmap: np.ndarray) -> np.ndarray:
    """One feature map as RGB uint8.

    A map with negative values uses a diverging scale symmetric around zero (blue < 0, white 0,
    red > 0) so the sign of a response stays readable; a non-negative map is grey from 0 up.
    The scale ends at the 99.5th percentile of |value|: edge maps are mostly near zero with a few
    strong peaks, and scaling to the single largest peak would leave the picture black.
    """
    m = np.asarray(fmap, dtype=np.float32)
    limit = float(np.percentile(np.abs(m), 99.5)) or float(np.abs(m).max()) or 1.0
    if float(m.min()) < -1e-6 * limit:
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
    scale = tile / max(h, w)
    th, tw = max(1, round(h * scale)), max(1, round(w * scale))
    tw = max(tw, 120)  # room for the label
    cols = math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    cell_h, cell_w = th + _LABEL_HEIGHT, tw
    canvas = np.full(
        (rows * (cell_h + _GAP) + _GAP, cols * (cell_w + _GAP) + _GAP, 3), _BACKGROUND, np.uint8
    )
    for i in range(c):
        r, q = divmod(i, cols)
        y, x = _GAP + r * (cell_h + _GAP), _GAP + q * (cell_w + _GAP)
        img = cv2.resize(
            colorize(maps[i]),
            (max(1, round(w * scale)), th),
            interpolation=cv2.INTER_NEAREST if scale >= 1 else cv2.INTER_AREA,
        )
        canvas[y + _LABEL_HEIGHT : y + _LABEL_HEIGHT + th, x : x + img.shape[1]] = img
        lo, hi = float(maps[i].min()), float(maps[i].max())
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
