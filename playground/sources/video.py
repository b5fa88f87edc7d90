"""A video file played in a loop."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import cv2
import numpy as np

from playground.sources.base import read_rgb, retrieve_rgb
from playground.sources.image import SourceError

DEFAULT_FPS = 30.0
# Containers without timing info report 0, NaN, or a timebase such as 90000 as their fps.
_MAX_FPS = 240.0


def _open_capture(path: Path) -> cv2.VideoCapture | None:
    """Open ``path`` with OpenCV; None if no backend can."""
    try:
        capture = cv2.VideoCapture(str(path))
        if capture.isOpened():
            return capture
        capture.release()
    except cv2.error:
        pass
    return None


class VideoSource:
    """A video file, played from the start again after its last frame.

    `read` decodes the next frame; the capture thread paces calls at `fps`, and between the
    frames the compute worker takes it only `grab`s (the file plays at its own rate while only
    the frames that are computed are converted and copied).

    Parameters
    ----------
    path : str or os.PathLike
        Any file OpenCV's FFmpeg backend decodes. The description is the file name.

    Raises
    ------
    SourceError
        If the file is missing, cannot be opened, or no frame of it can be decoded.
    """

    live = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self.description = self._path.name
        try:
            str(self._path).encode("utf-8")
        except UnicodeEncodeError:
            # A name from undecodable bytes (os.fsdecode(b"\xff")) holds a lone surrogate, and
            # cv2.VideoCapture crashes the process (SIGSEGV) on it rather than raising.
            shown = os.fsencode(self.description).decode("utf-8", "backslashreplace")
            raise SourceError(
                f"video {shown}: the file name is not valid UTF-8, which OpenCV needs"
            ) from None
        try:
            mode = self._path.stat().st_mode
        except OSError:
            raise SourceError(f"video {self.description}: no such file") from None
        if not stat.S_ISREG(mode):
            # OpenCV would wait forever for a FIFO's writer.
            raise SourceError(f"video {self.description}: not a regular file")
        capture = _open_capture(self._path)
        if capture is None:
            raise SourceError(f"video {self.description}: cannot be opened (not a video?)")
        first = read_rgb(capture)
        if first is None:
            capture.release()
            raise SourceError(f"video {self.description}: cannot decode any frame")
        self._capture: cv2.VideoCapture | None = capture
        # Decoded to prove the file plays; handed out by the first read() rather than wasted.
        self._pending: np.ndarray | None = first
        try:
            fps = float(capture.get(cv2.CAP_PROP_FPS))
        except cv2.error:
            fps = 0.0
        self.fps: float | None = fps if math.isfinite(fps) and 0 < fps <= _MAX_FPS else DEFAULT_FPS

    def read(self) -> np.ndarray:
        """The next frame, RGB uint8 HxWx3; after the last frame, the first one again.

        Runs on the capture thread.

        Raises
        ------
        SourceError
            If no frame can be decoded even from the start of the file (truncated or replaced
            while playing), or the source has been closed.
        """
        if self._capture is None:
            raise SourceError(f"video {self.description} is closed")
        if self._pending is not None:
            pending, self._pending = self._pending, None
            return pending
        frame = read_rgb(self._capture)
        if frame is None:
            frame = self._rewind()
        return frame

    def grab(self) -> bool:
        """Advance to the next frame without converting it; after the last, the first again.

        Runs on the capture thread. Raises SourceError as `read` does.
        """
        if self._capture is None:
            raise SourceError(f"video {self.description} is closed")
        self._pending = None
        if self._grab():
            return True
        try:
            seeked = bool(self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0))
        except cv2.error:
            seeked = False
        if seeked and self._grab():
            return True
        self._capture.release()
        self._capture = _open_capture(self._path)
        if self._capture is None or not self._grab():
            self.close()
            raise SourceError(f"video {self.description}: cannot decode any frame after rewinding")
        return True

    def _grab(self) -> bool:
        assert self._capture is not None
        try:
            return bool(self._capture.grab())
        except cv2.error:
            return False

    def retrieve(self) -> np.ndarray | None:
        """The frame the last `grab` took, RGB uint8 HxWx3 (the first frame before any grab);
        None if it cannot be decoded. Runs on the capture thread."""
        if self._capture is None:
            raise SourceError(f"video {self.description} is closed")
        if self._pending is not None:
            pending, self._pending = self._pending, None
            return pending
        return retrieve_rgb(self._capture)

    def _rewind(self) -> np.ndarray:
        """Go back to the first frame and decode it, reopening the file if seeking fails."""
        assert self._capture is not None
        try:
            seeked = bool(self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0))
        except cv2.error:
            seeked = False
        frame = read_rgb(self._capture) if seeked else None
        if frame is None:
            # Some containers (or a file rewritten in place) do not seek; a fresh open always
            # starts at the first frame.
            self._capture.release()
            self._capture = _open_capture(self._path)
            frame = None if self._capture is None else read_rgb(self._capture)
        if frame is None:
            self.close()
            raise SourceError(f"video {self.description}: cannot decode any frame after rewinding")
        return frame

    def close(self) -> None:
        """Release the file. Idempotent."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        self._pending = None
