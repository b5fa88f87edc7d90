"""Reading image files as RGB frames."""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

import cv2
import numpy as np

# Past this a decoded frame is gigabytes; OpenCV would try anyway.
MAX_PIXELS = 100_000_000
# A compressed image of MAX_PIXELS is far smaller (an uncompressed 24-bit BMP is 300 MB).
MAX_FILE_BYTES = 512 * 2**20

# JPEG frame headers (SOF0-SOF15) that carry the image size; C4, C8 and CC are other markers.
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


class SourceError(Exception):
    """A source that cannot give frames (missing or corrupt file, absent camera); one line."""


def check_regular(path: str | os.PathLike[str], what: str) -> None:
    """SourceError unless ``path`` is a regular file: a FIFO or device would block forever."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise SourceError(f"cannot read {what} {path}: {e.strerror or e}") from None
    except ValueError:  # a NUL byte in the name
        raise SourceError(f"cannot read {what} {path!r}: not a valid file name") from None
    if not stat.S_ISREG(mode):
        raise SourceError(f"cannot read {what} {path}: not a regular file")


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG or BMP header, without decoding; None for others.

    OpenCV allocates the whole frame from the header before it decodes a row, so a 250 KB file
    declaring 30000x30000 pixels would take gigabytes.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data.startswith(b"BM") and len(data) >= 26:
        if struct.unpack("<I", data[14:18])[0] == 12:  # OS/2 header: 16-bit sizes
            width, height = struct.unpack("<HH", data[18:22])
            return width, height
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)  # a negative height means top-down rows
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            at += 2
            continue
        if marker == 0xDA:  # image data before any frame header: not a JPEG OpenCV reads
            return None
        if marker in _JPEG_FRAMES and at + 9 <= len(data):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        at += 2 + length
    return None


def read_image_bytes(path: Path) -> bytes:
    """An image file's bytes, at most MAX_FILE_BYTES of them; SourceError naming the file if it
    is not a regular file, cannot be read, is empty or is larger."""
    check_regular(path, "image")
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise SourceError(f"cannot read image {path}: {e.strerror or e}") from None
    if not raw:
        raise SourceError(f"cannot read image {path}: the file is empty")
    if len(raw) > MAX_FILE_BYTES:
        raise SourceError(f"image {path} is larger than {MAX_FILE_BYTES // 2**20} MB; too large")
    return raw


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as an RGB uint8 HxWx3 C-contiguous array.

    Works with non-ASCII paths (cv2.imread does not on Windows: the bytes are read here and
    decoded from memory). PNG, JPEG and BMP files declaring more than MAX_PIXELS are refused
    from their header, before anything is decoded. Raises SourceError naming the file on any
    failure.
    """
    p = Path(path)
    raw = read_image_bytes(p)
    size = declared_size(raw)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise SourceError(f"image {p} is {size[0]}x{size[1]}; too large")
    try:
        bgr = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        bgr = None
    if bgr is None:
        raise SourceError(f"cannot read image {p}: not an image OpenCV can decode")
    if bgr.shape[0] * bgr.shape[1] > MAX_PIXELS:
        raise SourceError(f"image {p} is {bgr.shape[1]}x{bgr.shape[0]}; too large")
    # OpenCV decodes to BGR; every frame in the app is RGB.
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
