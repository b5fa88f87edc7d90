"""Recording the panes to a video whose length is the recording's length.

The window hands over a picture of the panes each time it displays a result, which happens at
whatever rate the compute keeps up with (6 fps on a heavy bank, none at all on a still image
between edits). A video file has a fixed frame rate, so each picture is written as many times as
the frame slots it stayed on screen: 4 s of recording is 4 s of video at any display rate.
Encoding runs on the recorder's own thread, never on the GUI thread.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

RECORD_FPS = 30.0
# Pictures waiting for the encoder, at most: a window-sized picture is a few MB, and a recorder
# that cannot keep up drops the oldest rather than growing (or stalling the GUI).
MAX_WAITING = 16


class RecordError(Exception):
    """The video cannot be written; the message is one line."""


class Recorder:
    """An MJPG .avi (OpenCV encodes it on every platform without external codecs) of pictures
    timed by ``clock``; ``add`` from the GUI thread, ``stop`` to finish the file.

    Raises RecordError (one line) when the video cannot be opened for writing.
    """

    def __init__(
        self,
        path: str | Path,
        size: tuple[int, int],
        fps: float = RECORD_FPS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.size = size  # (width, height), even numbers: what MJPG encoders accept everywhere
        self.fps = fps
        self._clock = clock
        if self.path.suffix.lower() != ".avi":
            # OpenCV picks the container from the suffix and opens, say, "x.png" as an image
            # sequence that then fails on every frame after the first, silently.
            raise RecordError(f"cannot record to {path}: the video must be an .avi file")
        fourcc = cv2.VideoWriter.fourcc(*"MJPG")
        self._writer = cv2.VideoWriter(str(path), fourcc, fps, size)
        if not self._writer.isOpened():
            raise RecordError(f"cannot record to {path}: OpenCV could not open a video writer")
        self._start = clock()
        self._cond = threading.Condition()
        self._waiting: deque[tuple[float, np.ndarray]] = deque(maxlen=MAX_WAITING)
        self.dropped = 0
        self._stopping_at: float | None = None
        self._written = 0
        self._pictures = 0
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    @property
    def pictures(self) -> int:
        """Pictures handed to ``add`` so far."""
        with self._cond:
            return self._pictures

    def add(self, rgb: np.ndarray) -> None:
        """A picture of the panes (RGB uint8, any size: scaled to the video's), shown from now
        until the next one. Called from the GUI thread; returns at once."""
        with self._cond:
            if len(self._waiting) == MAX_WAITING:
                self.dropped += 1
            self._waiting.append((self._clock(), rgb))
            self._pictures += 1
            self._cond.notify_all()

    def flush(self) -> None:
        """Wait until every picture handed over so far is written."""
        with self._cond:
            while self._waiting and self._thread.is_alive():
                self._cond.wait(0.1)

    def stop(self) -> int:
        """Fill the video up to now with the last picture, close it; returns the frames written.

        Blocks until the recorder thread has written them (a few frames' encoding).
        """
        with self._cond:
            if self._stopping_at is None:
                self._stopping_at = self._clock()
            self._cond.notify_all()
        self._thread.join()
        return self._written

    def _run(self) -> None:
        # Runs on the recorder thread. Frame k of the video covers [k, k + 1) / fps seconds
        # after the start; a picture fills every slot from its arrival to the next one's.
        held: np.ndarray | None = None
        try:
            while True:
                with self._cond:
                    while not self._waiting and self._stopping_at is None:
                        self._cond.wait()
                    pending = self._waiting[0] if self._waiting else None
                    stopping_at = self._stopping_at
                if pending is not None:
                    at, rgb = pending
                    frame = self._frame(rgb)
                    if held is None:
                        held = frame
                    self._fill(held, math.floor((at - self._start) * self.fps))
                    held = frame
                    with self._cond:
                        # Taken only once written: flush() waits for an empty queue.
                        if self._waiting and self._waiting[0] is pending:
                            self._waiting.popleft()
                        self._cond.notify_all()
                    continue
                if stopping_at is not None:
                    if held is not None:
                        slots = math.ceil((stopping_at - self._start) * self.fps)
                        self._fill(held, max(slots, self._written + 1))
                    return
        finally:
            self._writer.release()

    def _fill(self, frame: np.ndarray, slots: int) -> None:
        while self._written < slots:
            self._writer.write(frame)
            self._written += 1

    def _frame(self, rgb: np.ndarray) -> np.ndarray:
        width, height = self.size
        if rgb.shape[1] != width or rgb.shape[0] != height:
            # A resized window keeps the video's size: the picture is scaled to it.
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
