"""Synthetic test patterns: frames whose content is known exactly, to see what a filter does.

Every pattern is grey or colour RGB uint8 HxWx3, C-contiguous. Still patterns are drawn once and
returned read-only; animated ones draw a new frame per `PatternSource.read`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from playground.sources.image import MAX_PIXELS, SourceError

# Animated patterns have no clock of their own: one read() is one step at this rate.
PATTERN_FPS = 30.0

_SQUARE = 40  # checkerboard square side, px
_SPOKES = 36  # Siemens star: black spokes (with as many white ones between them)
_BAR = 20  # moving-bars: width of one bar, px (bars and gaps alternate)
_BAR_STEP = 4  # moving-bars: px moved right per frame

# colour-card bars, left to right: the classic colour-bar order, brightest to darkest luma.
_CARD_COLOURS = np.array(
    [
        (255, 255, 255),  # white
        (255, 255, 0),  # yellow
        (0, 255, 255),  # cyan
        (0, 255, 0),  # green
        (255, 0, 255),  # magenta
        (255, 0, 0),  # red
        (0, 0, 255),  # blue
        (0, 0, 0),  # black
    ],
    dtype=np.uint8,
)


# draw(height, width, step, rng): `step` counts the frames read so far and `rng` is the source's
# own generator; still patterns are drawn once, with step 0, and ignore both.
_Draw = Callable[[int, int, int, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class _Pattern:
    title: str
    description: str
    draw: _Draw
    live: bool = False


def _grey(plane: np.ndarray) -> np.ndarray:
    """An HxW uint8 plane as an RGB frame with three equal channels."""
    return np.ascontiguousarray(np.repeat(plane[:, :, None], 3, axis=2))


def _ramp(width: int) -> np.ndarray:
    """One row going 0 at the left edge to 255 at the right edge."""
    return np.round(np.linspace(0.0, 255.0, width)).astype(np.uint8)


def _vertical_line(height: int, width: int, step: int, rng: np.random.Generator) -> np.ndarray:
    # The course's 8x8 example image: its size is part of the lesson, so `size` is ignored.
    plane = np.zeros((8, 8), dtype=np.uint8)
    plane[:, 3:5] = 255
    return _grey(plane)


def _checkerboard(height: int, width: int, step: int, rng: np.random.Generator) -> np.ndarray:
    rows = (np.arange(height) // _SQUARE)[:, None]
    cols = (np.arange(width) // _SQUARE)[None, :]
    return _grey(((rows + cols) % 2 * 255).astype(np.uint8))


def _siemens_star(height: int, width: int, step: int, rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    y -= (height - 1) / 2
    x -= (width - 1) / 2
    sector = np.floor((np.arctan2(y, x) + np.pi) / (np.pi / _SPOKES)).astype(np.int64)
    plane = np.where(sector % 2 == 0, 0, 255).astype(np.uint8)
    # Inside a disc, on white, like the printed chart: the corners would otherwise hold
    # truncated spokes that look like a second pattern.
    plane[np.hypot(x, y) > 0.48 * min(height, width)] = 255
    return _grey(plane)


def _gradient(height: int, width: int, step: int, rng: np.random.Generator) -> np.ndarray:
    return _grey(np.broadcast_to(_ramp(width), (height, width)))


def _colour_card(height: int, width: int, step: int, rng: np.random.Generator) -> np.ndarray:
    frame = _grey(np.broadcast_to(_ramp(width), (height, width)))
    bars = height * 2 // 3
    bar_index = np.arange(width) * len(_CARD_COLOURS) // width
    frame[:bars] = _CARD_COLOURS[bar_index][None, :, :]
    return frame


def _noise(height: int, width: int, step: int, rng: np.random.Generator) -> np.ndarray:
    return _grey(rng.integers(0, 256, (height, width), dtype=np.uint8))


def _moving_bars(height: int, width: int, step: int, rng: np.random.Generator) -> np.ndarray:
    # The modulo keeps the phase bounded however long the pattern runs.
    phase = (np.arange(width) - step * _BAR_STEP) % (2 * _BAR)
    row = np.where(phase < _BAR, 255, 0).astype(np.uint8)
    return _grey(np.broadcast_to(row, (height, width)))


_PATTERNS = {
    "vertical-line": _Pattern(
        "vertical line", "the course's 8x8 image: a 2-pixel white vertical line", _vertical_line
    ),
    "checkerboard": _Pattern(
        "checkerboard", f"black and white squares of {_SQUARE} px", _checkerboard
    ),
    "siemens-star": _Pattern(
        "Siemens star", f"{_SPOKES} black spokes on white: every edge angle", _siemens_star
    ),
    "gradient": _Pattern("gradient", "grey ramp from black (left) to white (right)", _gradient),
    "colour-card": _Pattern(
        "colour card", "colour bars over a grey ramp: shows what each channel does", _colour_card
    ),
    "noise": _Pattern("noise", "uniform random grey noise, new every frame", _noise, live=True),
    "moving-bars": _Pattern(
        "moving bars", "vertical bars sliding right: shows motion", _moving_bars, live=True
    ),
}

PATTERNS: dict[str, str] = {name: p.description for name, p in _PATTERNS.items()}
"""Pattern name -> one-line description, in menu order."""


class PatternSource:
    """A synthetic test pattern.

    Parameters
    ----------
    name : str
        One of `PATTERNS`.
    size : tuple of int
        ``(height, width)`` of the frames; ignored by ``vertical-line``, which is always 8x8.
    seed : int or None
        Seed of the ``noise`` pattern's random generator (each source has its own); None picks
        a fresh one.

    Raises
    ------
    SourceError
        If the name is unknown (the message lists the known names) or the size is not two
        positive integers.
    """

    def __init__(
        self, name: str, size: tuple[int, int] = (480, 640), *, seed: int | None = None
    ) -> None:
        pattern = _PATTERNS.get(name)
        if pattern is None:
            raise SourceError(f"unknown pattern {name!r}; known patterns: {', '.join(PATTERNS)}")
        try:
            height, width = (operator.index(n) for n in size)
        except (TypeError, ValueError):
            height = width = 0
        if height <= 0 or width <= 0 or height * width > MAX_PIXELS:
            raise SourceError(
                f"pattern {name}: size must be (height, width), two positive integers with at "
                f"most {MAX_PIXELS} pixels in all; got {size!r}"
            )
        self.description = f"Pattern: {pattern.title}"
        self.live = pattern.live
        self.fps: float | None = PATTERN_FPS if pattern.live else None
        self._pattern = pattern
        self._size = (height, width)
        self._rng = np.random.default_rng(seed)
        self._step = 0
        self._still: np.ndarray | None = None
        if not pattern.live:
            self._still = pattern.draw(height, width, 0, self._rng)
            self._still.setflags(write=False)
        self._closed = False

    def read(self) -> np.ndarray:
        """The next frame, RGB uint8 HxWx3, C-contiguous.

        Still patterns return the same read-only array every call; animated ones a new array.

        Raises
        ------
        SourceError
            If the source has been closed.
        """
        if self._closed:
            raise SourceError(f"{self.description} is closed")
        if self._still is not None:
            return self._still
        frame = self._pattern.draw(*self._size, self._step, self._rng)
        self._step += 1
        return frame

    def grab(self) -> bool:
        """Step to the next frame without drawing it (the capture thread keeps the pattern's
        timing while the compute worker is busy). Raises SourceError once closed."""
        if self._closed:
            raise SourceError(f"{self.description} is closed")
        self._step += 1
        return True

    def retrieve(self) -> np.ndarray:
        """Draw the frame the last `grab` stepped to (the same still for still patterns)."""
        if self._closed:
            raise SourceError(f"{self.description} is closed")
        if self._still is not None:
            return self._still
        return self._pattern.draw(*self._size, max(self._step - 1, 0), self._rng)

    def close(self) -> None:
        """Mark the source closed; there is nothing to release. Idempotent."""
        self._closed = True
