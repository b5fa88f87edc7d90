"""Lessons: the classic worked examples as ready scenes, a source and a bank in one click.

Each `Lesson` names the frame it shows (a synthetic pattern, or a small image built here), a bank
file under ``resources/banks/lessons/`` and a two-line caption: what you see, and what to try.
The numbers a caption states are the numbers the engine computes (tests/engine/test_lessons.py
checks them). Never imports Qt, like `playground.engine` and `playground.sources`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from playground.assets import resource_path
from playground.engine.bank import Bank
from playground.engine.bankfile import load_bank
from playground.sources.patterns import PATTERNS, PatternSource
from playground.sources.still import StillSource

BANK_FOLDER = ("banks", "lessons")
"""Where the lessons' bank files live, under the bundled resources."""

BUMP = (0, 0, 0, 1, 1, 0, 0, 0)
"""Lesson bump-1d: the 1-D image, one row of 0 or 1 (255 in the frame)."""

EDGE_SIZE = 8
"""Lesson horizontal-edge: the square image's side; its top half is white, the bottom black."""


def _grey(plane: np.ndarray) -> np.ndarray:
    """An HxW uint8 plane as a C-contiguous RGB frame with three equal channels."""
    return np.ascontiguousarray(np.repeat(plane[:, :, None], 3, axis=2))


def _bump_1d() -> np.ndarray:
    return _grey(np.array([BUMP], dtype=np.uint8) * 255)


def _horizontal_edge() -> np.ndarray:
    plane = np.zeros((EDGE_SIZE, EDGE_SIZE), dtype=np.uint8)
    plane[: EDGE_SIZE // 2] = 255
    return _grey(plane)


@dataclass(frozen=True)
class Lesson:
    """One worked example: a frame, a bank and a caption.

    Attributes
    ----------
    name : str
        Short id, e.g. ``"bump-1d"``; `get` finds a lesson by it.
    title : str
        Menu text.
    caption : str
        Exactly two non-empty lines joined by ``"\\n"``: what you see, and what to try.
    bank : str
        File name under ``resources/banks/lessons/``.
    pattern : str or None
        A `PatternSource` name, or None when ``draw`` builds the image.
    draw : callable or None
        Builds the frame (RGB uint8 HxWx3) of a lesson without a pattern.
    """

    name: str
    title: str
    caption: str
    bank: str
    pattern: str | None = None
    draw: Callable[[], np.ndarray] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.pattern is None) == (self.draw is None):
            raise ValueError(f"lesson {self.name!r}: give either a pattern or draw, not both")
        if self.pattern is not None and self.pattern not in PATTERNS:
            raise ValueError(f"lesson {self.name!r}: unknown pattern {self.pattern!r}")
        lines = self.caption.split("\n")
        if len(lines) != 2 or not all(line.strip() for line in lines):
            raise ValueError(f"lesson {self.name!r}: the caption must be two non-empty lines")

    @property
    def bank_path(self) -> Path:
        """The lesson's bank file among the bundled resources."""
        return resource_path(*BANK_FOLDER, self.bank)

    def frame(self) -> np.ndarray:
        """The frame the lesson shows: RGB uint8 HxWx3, C-contiguous.

        For a pattern lesson, ``PatternSource(pattern).read()`` (the pattern's default size; the
        read-only array the source hands out); otherwise a new array built for the lesson.
        """
        if self.pattern is not None:
            return PatternSource(self.pattern).read()
        assert self.draw is not None  # __post_init__ guarantees one of the two
        return self.draw()

    def load_bank(self) -> Bank:
        """The lesson's bank, read from its file (raises BankError if the file is damaged)."""
        return load_bank(self.bank_path)

    def source(self) -> PatternSource | StillSource:
        """A source showing `frame`: the pattern itself, or a still of the built image."""
        if self.pattern is not None:
            return PatternSource(self.pattern)
        return StillSource(self.frame(), f"Lesson: {self.title}")


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        name="bump-1d",
        title="1-D bump through the kernel [0 1 0]",
        caption=(
            "The 1x8 image [0 0 0 1 1 0 0 0] through the 1x3 kernel [0 1 0] with padding "
            "'valid' (none) gives the 1x6 feature map [0 0 1 1 0 0].\n"
            "Try the kernel [1 1 1] (you get [0 1 2 2 1 0]) or [-1 1 0] (the bump's two edges), "
            "or padding 'same' to keep all 8 values."
        ),
        bank="bump-1d.json",
        draw=_bump_1d,
    ),
    Lesson(
        name="vertical-line",
        title="Vertical line detector on the 8x8 image",
        caption=(
            "The course's 8x8 image, a white line 2 pixels wide, through the 3x3 vertical line "
            "detector: every row of the 6x6 feature map is [0 0 3 3 0 0].\n"
            "Try transposing the kernel to look for horizontal lines instead: every row becomes "
            "[0 1 2 2 1 0]."
        ),
        bank="vertical-line.json",
        pattern="vertical-line",
    ),
    Lesson(
        name="horizontal-edge",
        title="Horizontal edge detector",
        caption=(
            "White top half, black bottom half: the kernel [1 1 1 / 0 0 0 / -1 -1 -1] gives 3 on "
            "the two rows around the edge and 0 everywhere else.\n"
            "Try negating the kernel (the edge comes out as -3), or transposing it: this image "
            "has no vertical edges, so the map is all 0."
        ),
        bank="horizontal-edge.json",
        draw=_horizontal_edge,
    ),
    Lesson(
        name="rgb-filter",
        title="An RGB filter: three kernels plus a bias",
        caption=(
            "One filter, one kernel per colour: red's finds where red ends, green's and blue's "
            "take away half as much, so grey edges cancel; the sum, plus the bias -0.5, is the "
            "feature map.\n"
            "Try the channel story to see each colour's map and their sum, set the bias to 0, or "
            "copy red's kernel to all channels and watch other edges light up."
        ),
        bank="rgb-filter.json",
        pattern="colour-card",
    ),
    Lesson(
        name="stride-padding",
        title="Stride and padding change the output size",
        caption=(
            "Stride 2: the 3x3 kernel jumps 2 pixels at a time, so the 8x8 image gives a 3x3 "
            "feature map, (8 - 3) / 2 rounded down, + 1; each row is [0 3 0].\n"
            "Try padding 'same' in the layer settings: 8 / 2 rounded up = 4x4; then stride 1 or "
            "3, and watch the size in the feature map's title."
        ),
        bank="stride-padding.json",
        pattern="vertical-line",
    ),
    Lesson(
        name="stacking",
        title="Stacking layers: lines, then crossings",
        caption=(
            "Layer 1 finds the squares' vertical and horizontal sides, a pool layer keeps the "
            "largest of each 2x2 block, and layer 2 adds both feature maps minus 4: only corners, "
            "where both respond, pass.\n"
            "Try setting the crossing filter's bias to 0 to see every side again, or to -2: one "
            "map alone (3) then gets through too."
        ),
        bank="stacking.json",
        pattern="checkerboard",
    ),
)
"""Every lesson, in menu order: the 1-D bump, the vertical line, a horizontal edge, an RGB filter,
stride and padding, stacked layers."""

_BY_NAME = {lesson.name: lesson for lesson in LESSONS}


def names() -> tuple[str, ...]:
    """The lessons' names, in menu order."""
    return tuple(_BY_NAME)


def get(name: str) -> Lesson:
    """The lesson called ``name``.

    Raises
    ------
    KeyError
        If there is none; the message lists the lessons' names.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown lesson {name!r}; lessons: {', '.join(_BY_NAME)}") from None
