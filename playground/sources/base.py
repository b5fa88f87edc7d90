"""The protocol every frame source follows, and the frame grab the OpenCV-backed ones share."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import cv2
import numpy as np

# OpenCV hands out BGR (or grey / BGRA from some camera drivers); every frame in the app is RGB.
_TO_RGB = {1: cv2.COLOR_GRAY2RGB, 3: cv2.COLOR_BGR2RGB, 4: cv2.COLOR_BGRA2RGB}


@runtime_checkable
class Source(Protocol):
    """Where frames come from: a camera, a video file, an image file or a synthetic pattern.

    The controller's capture thread calls `read` (and, once it is done with the source, `close`);
    sources never start threads of their own. `close` must not run while another thread is inside
    `read`: OpenCV does not support releasing a capture that is being read.

    Attributes
    ----------
    description : str
        Shown in the status bar, e.g. ``"Camera 0 (1280x720)"``, ``"clip.avi"``,
        ``"Pattern: Siemens star"``.
    live : bool
        True if frames change over time (camera, video, animated pattern); False for stills.
    fps : float or None
        Frames per second the capture thread should pace `read` calls at (video files, animated
        patterns). None when no pacing is needed: a camera's `read` blocks until the device has
        a frame, and a still never changes.
    """

    description: str
    live: bool
    fps: float | None

    def read(self) -> np.ndarray | None:
        """The next frame: RGB uint8 HxWx3, C-contiguous.

        Returns None for a transient "no frame right now"; the caller just tries again.
        A still returns the same read-only array on every call: callers must not modify it.

        Raises
        ------
        SourceError
            When the source has failed for good (camera unplugged, undecodable video) or has
            been closed.
        """
        ...

    def close(self) -> None:
        """Release the device or file. Safe to call more than once."""
        ...


@runtime_checkable
class GrabbingSource(Source, Protocol):
    """A source that can take a frame without decoding it (OpenCV's grab / retrieve).

    The capture thread grabs every frame to keep the source's timing (a camera's buffer never
    holds stale frames; a video file plays at its own rate) and retrieves, that is decodes,
    only the frames the compute worker is ready for.
    """

    def grab(self) -> bool:
        """Take the next frame without decoding it; False for a transient failure.

        Raises SourceError as `read` does.
        """
        ...

    def retrieve(self) -> np.ndarray | None:
        """Decode the frame the last `grab` took (RGB uint8 HxWx3), or None if it cannot."""
        ...


def read_rgb(capture: cv2.VideoCapture) -> np.ndarray | None:
    """Grab the next frame of an OpenCV capture as RGB uint8 HxWx3, C-contiguous.

    Parameters
    ----------
    capture : cv2.VideoCapture
        An opened camera or video file.

    Returns
    -------
    numpy.ndarray or None
        The frame, or None if the grab failed (end of file, decoding error, camera hiccup) or
        gave something that is not an 8-bit frame; OpenCV errors never escape.
    """
    try:
        ok, bgr = capture.read()
    except cv2.error:
        return None
    return _as_rgb(ok, bgr)


def retrieve_rgb(capture: cv2.VideoCapture) -> np.ndarray | None:
    """Decode the frame the last ``capture.grab()`` took, as `read_rgb` does; None on failure.

    ``grab`` only takes the frame from the device or demuxer (a video file's codec still runs,
    but not the conversion to BGR and its copy; a camera's MJPG is not decoded at all), so a
    capture thread can keep up with the source while decoding only the frames it hands out.
    """
    try:
        ok, bgr = capture.retrieve()
    except cv2.error:
        return None
    return _as_rgb(ok, bgr)


def _as_rgb(ok: bool, bgr: np.ndarray | None) -> np.ndarray | None:
    if not ok or bgr is None or bgr.size == 0 or bgr.dtype != np.uint8:
        return None
    channels = 1 if bgr.ndim == 2 else bgr.shape[2] if bgr.ndim == 3 else 0
    code = _TO_RGB.get(channels)
    if code is None:
        return None
    try:
        rgb = cv2.cvtColor(bgr, code)
    except cv2.error:
        return None
    return np.ascontiguousarray(rgb)
