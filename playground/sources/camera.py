"""Webcams, through OpenCV's capture backend for the platform."""

from __future__ import annotations

import operator
import sys
from pathlib import Path

import cv2
import numpy as np

from playground.sources.base import read_rgb
from playground.sources.image import SourceError

CAMERA_SIZES: list[tuple[int, int]] = [(640, 480), (1280, 720), (1920, 1080)]
"""Resolutions offered in the UI, as (width, height). The driver may pick the nearest it has."""

# A few failed grabs happen on healthy cameras (USB hiccups, exposure changes); this many in a
# row means the device is gone.
MAX_FAILED_READS = 10
# Some drivers return nothing for the very first grab or two while the sensor starts.
_FIRST_READ_ATTEMPTS = 3

if sys.platform == "win32":
    # The headless OpenCV wheel has no Media Foundation backend; DirectShow is always there.
    _BACKENDS = (cv2.CAP_DSHOW, cv2.CAP_ANY)
elif sys.platform == "darwin":
    _BACKENDS = (cv2.CAP_AVFOUNDATION, cv2.CAP_ANY)
else:
    _BACKENDS = (cv2.CAP_V4L2, cv2.CAP_ANY)


def _device_missing(index: int) -> bool:
    """True on Linux when /dev/video<index> does not exist, so opening it can only fail.

    Probing such an index makes OpenCV print several warnings per backend tried.
    """
    return sys.platform.startswith("linux") and not Path(f"/dev/video{index}").exists()


def _open_capture(index: int) -> cv2.VideoCapture | None:
    """Open camera ``index`` with the first backend that can; None if none can."""
    if _device_missing(index):
        return None
    for backend in _BACKENDS:
        try:
            capture = cv2.VideoCapture(index, backend)
            if capture.isOpened():
                return capture
            capture.release()
        except cv2.error:
            pass
    return None


def list_cameras(max_index: int = 4) -> list[int]:
    """Indices of the cameras that open, among 0 .. ``max_index - 1``.

    Each camera found is opened and released again, which takes a moment per device; indices
    with no device are ruled out without waiting.
    """
    found = []
    for index in range(max_index):
        capture = _open_capture(index)
        if capture is not None:
            capture.release()
            found.append(index)
    return found


class CameraSource:
    """A webcam.

    Parameters
    ----------
    index : int
        OpenCV's camera index, 0 for the first camera (see `list_cameras`).
    size : tuple of int or None
        ``(width, height)`` to ask the driver for, e.g. one of `CAMERA_SIZES`; None keeps the
        driver's default. The description shows the size actually delivered.

    Raises
    ------
    SourceError
        If the index is negative, or the camera cannot be opened or gives no first frame.
    """

    live = True
    # read() blocks until the device has a frame: the camera paces itself.
    fps: float | None = None

    def __init__(self, index: int, size: tuple[int, int] | None = None) -> None:
        index = operator.index(index)
        if index < 0:
            # OpenCV 5 crashes the process on a negative index instead of failing.
            raise SourceError(f"camera {index}: the index must be 0 or more")
        self._index = index
        capture = _open_capture(index)
        if capture is None:
            raise SourceError(f"camera {index} could not be opened")
        if size is not None:
            width, height = size
            try:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            except cv2.error:
                pass  # the camera keeps its own size; the description reports it
        first = None
        for _ in range(_FIRST_READ_ATTEMPTS):
            first = read_rgb(capture)
            if first is not None:
                break
        if first is None:
            capture.release()
            raise SourceError(f"camera {index} could not be opened")
        self._capture: cv2.VideoCapture | None = capture
        # Proof the camera works and the first thing to show: handed out by the first read().
        self._pending: np.ndarray | None = first
        self._failures = 0
        self.description = f"Camera {index} ({first.shape[1]}x{first.shape[0]})"

    def read(self) -> np.ndarray | None:
        """The next frame, RGB uint8 HxWx3; blocks until the camera delivers one.

        Runs on the capture thread.

        Returns
        -------
        numpy.ndarray or None
            None when this grab failed; the next one may succeed.

        Raises
        ------
        SourceError
            After `MAX_FAILED_READS` failed grabs in a row (camera unplugged), or if the source
            has been closed.
        """
        if self._capture is None:
            raise SourceError(f"camera {self._index} is closed")
        if self._pending is not None:
            pending, self._pending = self._pending, None
            return pending
        frame = read_rgb(self._capture)
        if frame is not None:
            self._failures = 0
            return frame
        self._failures += 1
        if self._failures >= MAX_FAILED_READS:
            self.close()
            raise SourceError(f"camera {self._index} stopped sending frames (unplugged?)")
        return None

    def close(self) -> None:
        """Release the camera so other programs can use it. Idempotent."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        self._pending = None
