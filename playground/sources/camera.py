"""Webcams, through OpenCV's capture backend for the platform."""

from __future__ import annotations

import contextlib
import operator
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from playground.sources.base import read_rgb, retrieve_rgb
from playground.sources.image import SourceError

CAMERA_SIZES: list[tuple[int, int]] = [(640, 480), (1280, 720), (1920, 1080)]
"""Resolutions offered in the UI, as (width, height). The driver may pick the nearest it has."""

# Above this size most USB webcams deliver 30 fps only as MJPG: uncompressed YUYV at 1280x720
# saturates USB 2 at about 10 fps (opencv#9540). The format must be asked for before the size.
_MJPG_ABOVE = (640, 480)
# Asked for so the driver picks its highest rate for the size; the rate it gives is read back.
_ASK_FPS = 60.0
# v4l2-ctl answers in milliseconds; a wedged driver must not hold the camera search.
_V4L2_CTL_TIMEOUT_S = 3.0

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


def fourcc_name(code: float) -> str:
    """OpenCV's CAP_PROP_FOURCC value as its four letters ("MJPG", "YUYV"); "" if unknown."""
    value = int(code) if code == code else 0  # NaN from some backends
    if value <= 0:
        return ""
    letters = "".join(chr((value >> (8 * i)) & 0xFF) for i in range(4))
    return letters.strip("\x00 ") if letters.isprintable() else ""


def camera_name(index: int) -> str:
    """The camera's own name where the platform tells it, else "Camera <index>".

    Linux names each device in /sys/class/video4linux/video<index>/name; elsewhere the optional
    package cv2-enumerate-cameras is asked when it is installed (it is no dependency).
    """
    fallback = f"Camera {index}"
    if sys.platform.startswith("linux"):
        try:
            name = Path(f"/sys/class/video4linux/video{index}/name").read_text().strip()
        except (OSError, UnicodeDecodeError):
            return fallback
        return name or fallback
    try:
        from cv2_enumerate_cameras import enumerate_cameras  # type: ignore[import-not-found]
    except ImportError:
        return fallback
    with contextlib.suppress(Exception):  # an optional helper must not break the search
        for info in enumerate_cameras(_BACKENDS[0]):
            if getattr(info, "index", None) == index and getattr(info, "name", ""):
                return str(info.name)
    return fallback


def camera_sizes(index: int) -> list[tuple[int, int]]:
    """The (width, height) modes camera ``index`` lists, largest first; `CAMERA_SIZES` when the
    platform does not say (on Linux the modes come from ``v4l2-ctl``, used only when it is
    installed). Runs on the camera search's thread: it may take a moment."""
    tool = shutil.which("v4l2-ctl") if sys.platform.startswith("linux") else None
    if tool is None:
        return list(CAMERA_SIZES)
    try:
        listing = subprocess.run(
            [tool, "-d", f"/dev/video{index}", "--list-formats-ext"],
            capture_output=True,
            text=True,
            timeout=_V4L2_CTL_TIMEOUT_S,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return list(CAMERA_SIZES)
    sizes = {(int(w), int(h)) for w, h in re.findall(r"Size: Discrete (\d+)x(\d+)", listing)}
    return sorted(sizes, key=lambda s: (s[0] * s[1], s[0]), reverse=True) or list(CAMERA_SIZES)


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
                if width > _MJPG_ABOVE[0] or height > _MJPG_ABOVE[1]:
                    capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
                capture.set(cv2.CAP_PROP_FPS, _ASK_FPS)
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
        delivers = [f"{first.shape[1]}x{first.shape[0]}"]
        try:
            pixel_format = fourcc_name(capture.get(cv2.CAP_PROP_FOURCC))
            rate = float(capture.get(cv2.CAP_PROP_FPS))
        except cv2.error:
            pixel_format, rate = "", 0.0
        mode = " ".join(
            ([pixel_format] if pixel_format else [])
            + ([f"{rate:.0f} fps"] if 0 < rate < 1e4 else [])
        )
        if mode:
            delivers.append(mode)
        # The frame rate the driver says it delivers; None when it does not say.
        self.delivered_fps: float | None = rate if 0 < rate < 1e4 else None
        self.description = f"{camera_name(index)} ({', '.join(delivers)})"

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
        self._failed_read()
        return None

    def grab(self) -> bool:
        """Take the camera's next frame without decoding it (a MJPG frame stays compressed);
        blocks until the camera has one. Runs on the capture thread.

        Raises SourceError as `read` does.
        """
        if self._capture is None:
            raise SourceError(f"camera {self._index} is closed")
        self._pending = None
        try:
            ok = bool(self._capture.grab())
        except cv2.error:
            ok = False
        if ok:
            self._failures = 0
            return True
        self._failed_read()
        return False

    def retrieve(self) -> np.ndarray | None:
        """Decode the frame the last `grab` took (the first frame before any), RGB uint8
        HxWx3; None if it cannot be decoded. Runs on the capture thread."""
        if self._capture is None:
            raise SourceError(f"camera {self._index} is closed")
        if self._pending is not None:
            pending, self._pending = self._pending, None
            return pending
        return retrieve_rgb(self._capture)

    def _failed_read(self) -> None:
        self._failures += 1
        if self._failures >= MAX_FAILED_READS:
            self.close()
            raise SourceError(f"camera {self._index} stopped sending frames (unplugged?)")

    def close(self) -> None:
        """Release the camera so other programs can use it. Idempotent."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        self._pending = None
