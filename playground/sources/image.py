"""Reading image files as RGB frames."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

# Past this a decoded frame is gigabytes; OpenCV would try anyway.
MAX_PIXELS = 100_000_000


class SourceError(Exception):
    """A source that cannot give frames (missing or corrupt file, absent camera); one line."""


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as an RGB uint8 HxWx3 C-contiguous array.

    Works with non-ASCII paths (cv2.imread does not on Windows: the bytes are read here and
    decoded from memory). Raises SourceError naming the file on any failure.
    """
    p = Path(path)
    try:
        data = np.fromfile(p, dtype=np.uint8)
    except OSError as e:
        raise SourceError(f"cannot read image {p}: {e.strerror or e}") from None
    if data.size == 0:
        raise SourceError(f"cannot read image {p}: the file is empty")
    try:
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error:
        bgr = None
    if bgr is None:
        raise SourceError(f"cannot read image {p}: not an image OpenCV can decode")
    if bgr.shape[0] * bgr.shape[1] > MAX_PIXELS:
        raise SourceError(f"image {p} is {bgr.shape[1]}x{bgr.shape[0]}; too large")
    # OpenCV decodes to BGR; every frame in the app is RGB.
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
