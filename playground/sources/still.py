"""Sources that show one unchanging frame: an image file or any RGB array."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from playground.sources.image import SourceError, read_image

# Images above 8K (7680 x 4320) are shown downscaled to this many pixels.
LIVE_MAX_PIXELS = 7680 * 4320


class StillSource:
    """One frame, returned by every `read`.

    Parameters
    ----------
    frame : numpy.ndarray
        RGB uint8 HxWx3. Not copied when already C-contiguous: the source reads through a
        read-only view of it, so later writes to ``frame`` by its owner show up in the source.
    description : str
        Shown in the status bar, e.g. ``"coffee.jpg"``.

    Raises
    ------
    SourceError
        If ``frame`` is not an RGB uint8 HxWx3 array.
    """

    live = False
    fps: float | None = None

    def __init__(self, frame: np.ndarray, description: str) -> None:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or frame.size == 0:
            raise SourceError(
                f"{description}: expected an RGB uint8 HxWx3 frame, got {frame.dtype} {frame.shape}"
            )
        # A view, so the owner's array keeps its own write flag; ours refuses writes because
        # every read() hands out this same array to the compute worker and the UI.
        self._frame = np.ascontiguousarray(frame).view()
        self._frame.setflags(write=False)
        self.description = description
        self._closed = False

    def read(self) -> np.ndarray:
        """The frame: the same read-only RGB uint8 HxWx3 array on every call.

        Raises
        ------
        SourceError
            If the source has been closed.
        """
        if self._closed:
            raise SourceError(f"{self.description} is closed")
        return self._frame

    def close(self) -> None:
        """Mark the source closed; there is nothing to release. Idempotent."""
        self._closed = True


class ImageSource(StillSource):
    """An image file, read once (non-ASCII paths work).

    Parameters
    ----------
    path : str or os.PathLike
        Any format OpenCV decodes (PNG, JPEG, BMP, TIFF, WebP, ...). The description is the file
        name.

    Raises
    ------
    SourceError
        If the file is missing, unreadable or not an image, naming the file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = Path(path)
        frame = read_image(path)
        height, width = frame.shape[:2]
        description = path.name
        scale = (LIVE_MAX_PIXELS / (height * width)) ** 0.5
        if scale < 1.0:
            # Every edit recomputes the whole bank on this frame: past 8K that stops being
            # live. Area averaging keeps the look; the status bar says what happened.
            size = (max(1, int(width * scale)), max(1, int(height * scale)))
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            description = f"{path.name} (downscaled from {width}×{height} for live use)"
        super().__init__(frame, description)
