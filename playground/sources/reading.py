"""Reading files once through, for `apply`: giant images decoded within bounds, videos frame by
frame to their end (the live `VideoSource` loops for ever)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from playground.sources.base import read_rgb
from playground.sources.image import (
    SourceError,
    check_regular,
    declared_size,
    read_image,
    read_image_bytes,
)
from playground.sources.video import DEFAULT_FPS

# A giant image is decoded whole (OpenCV reads PNG and JPEG in one piece), then run in bands.
# These bound what the decoding takes: OpenCV's own pixel limit (CV_IO_MAX_IMAGE_PIXELS), and
# at most this many bytes of decoded pixels (grey files decode to one byte a pixel).
MAX_GIANT_PIXELS = 2**30
MAX_GIANT_BYTES = 2 * 1024**3
# Containers without timing info report 0, NaN, or a timebase such as 90000 as their fps.
_MAX_FPS = 240.0


def image_size(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(width, height) that a PNG, JPEG or BMP file declares, read from its first bytes; None
    for other formats. Raises SourceError when the file cannot be read."""
    check_regular(path, "image")
    try:
        with open(path, "rb") as f:
            head = f.read(1024 * 1024)  # a JPEG's EXIF may come before its size
    except OSError as e:
        raise SourceError(f"cannot read image {path}: {e.strerror or e}") from None
    return declared_size(head)


def read_giant_image(path: str | os.PathLike[str]) -> np.ndarray:
    """A PNG, JPEG or BMP image past the live size limit, decoded within bounds.

    Returns H x W uint8 for a file that stores grey pixels (8-bit grey PNG, one-component
    JPEG): the pixels `read_image` would repeat in R, G and B, at a third of the memory; else
    H x W x 3 uint8 in OpenCV's BGR order (a conversion to RGB would be a second copy of the
    whole image; the caller reverses each band). Refused from the header, before decoding,
    past MAX_GIANT_PIXELS or MAX_GIANT_BYTES; formats without a readable header go through
    `read_image` and its limit. Raises SourceError naming the file.
    """
    p = Path(path)
    raw = read_image_bytes(p)
    size = declared_size(raw)
    if size is None:
        rgb = read_image(p)
        return np.ascontiguousarray(rgb[:, :, ::-1])
    width, height = size
    gray = _stores_gray(raw)
    decoded = width * height * (1 if gray else 3)
    if width * height > MAX_GIANT_PIXELS or decoded > MAX_GIANT_BYTES:
        raise SourceError(
            f"image {p} is {width}x{height}; too large (at most {MAX_GIANT_PIXELS} pixels and "
            f"{MAX_GIANT_BYTES // 1024**3} GB decoded)"
        )
    flag = cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR
    try:
        image = cv2.imdecode(np.frombuffer(raw, np.uint8), flag)
    except cv2.error:
        image = None
    del raw
    if image is None:
        raise SourceError(f"cannot read image {p}: not an image OpenCV can decode")
    if image.shape[:2] != (height, width):
        raise SourceError(f"cannot read image {p}: its header says {width}x{height}")
    return image


def _stores_gray(data: bytes) -> bool:
    """True for an 8-bit grey PNG (colour type 0) or a one-component JPEG: files whose pixels
    decode exactly as one grey byte each."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 26:
        return data[24] == 8 and data[25] == 0
    if data.startswith(b"\xff\xd8"):
        at = 2
        while at + 10 <= len(data) and data[at] == 0xFF:
            marker = data[at + 1]
            if marker in (0xC0, 0xC1, 0xC2):
                return data[at + 9] == 1
            if marker == 0xDA:
                return False
            at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return False


class VideoFrames:
    """A video file's frames, RGB uint8 H x W x 3, once from the first to the last.

    Raises SourceError (one line, naming the file) if it cannot be opened or holds no frame.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            str(self.path).encode("utf-8")
        except UnicodeEncodeError:
            # cv2.VideoCapture crashes (SIGSEGV) on a lone surrogate rather than raising.
            raise SourceError(
                f"video {self.path.name!r}: the file name is not valid UTF-8, which OpenCV needs"
            ) from None
        check_regular(self.path, "video")
        try:
            capture = cv2.VideoCapture(str(self.path))
            opened = capture.isOpened()
        except cv2.error:
            opened = False
        if not opened:
            raise SourceError(f"video {self.path}: cannot be opened (not a video?)")
        self._capture = capture
        self._first = read_rgb(capture)
        if self._first is None:
            capture.release()
            raise SourceError(f"video {self.path}: cannot decode any frame")
        try:
            fps = float(capture.get(cv2.CAP_PROP_FPS))
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        except (cv2.error, ValueError, OverflowError):
            fps, count = 0.0, 0
        self.fps = fps if math.isfinite(fps) and 0 < fps <= _MAX_FPS else DEFAULT_FPS
        # The container's count, for progress only: the frames are counted as they come.
        self.frame_count = max(1, count)

    def __iter__(self) -> Iterator[np.ndarray]:
        first, self._first = self._first, None
        if first is None:
            return
        yield first
        while (frame := read_rgb(self._capture)) is not None:
            yield frame

    def close(self) -> None:
        """Release the file. Idempotent."""
        self._capture.release()
