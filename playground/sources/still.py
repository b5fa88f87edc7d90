"""Sources that show one unchanging frame: an image file or any RGB array."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from playground.sources.image import SourceError, read_image


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
        super().__init__(read_image(path), path.name)
