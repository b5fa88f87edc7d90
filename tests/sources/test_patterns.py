"""PatternSource: synthetic frames whose content the lessons rely on exactly."""

from __future__ import annotations

import numpy as np
import pytest

from playground.sources import PATTERNS, PatternSource, Source, SourceError

NAMES = [
    "vertical-line",
    "checkerboard",
    "siemens-star",
    "gradient",
    "colour-card",
    "noise",
    "moving-bars",
]
LIVE = {"noise", "moving-bars"}


def test_the_menu_lists_every_pattern_with_a_description() -> None:
    assert list(PATTERNS) == NAMES
    assert all(PATTERNS[name] and "\n" not in PATTERNS[name] for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_frames_are_rgb_uint8_contiguous_of_the_requested_size(name: str) -> None:
    source = PatternSource(name, (30, 50))
    assert isinstance(source, Source)
    assert source.description.startswith("Pattern: ")
    for frame in (source.read(), source.read()):
        assert frame.shape == ((8, 8, 3) if name == "vertical-line" else (30, 50, 3))
        assert frame.dtype == np.uint8
        assert frame.flags.c_contiguous


def test_default_size_is_640x480() -> None:
    assert PatternSource("checkerboard").read().shape == (480, 640, 3)


def test_vertical_line_is_the_courses_8x8_image() -> None:
    frame = PatternSource("vertical-line", (480, 640)).read()
    for channel in range(3):
        assert frame[:, :, channel].tolist() == [[0, 0, 0, 255, 255, 0, 0, 0]] * 8


def test_siemens_star_description() -> None:
    assert PatternSource("siemens-star").description == "Pattern: Siemens star"


@pytest.mark.parametrize("name", sorted(set(NAMES) - LIVE))
def test_stills_are_read_only_and_identical_every_call(name: str) -> None:
    source = PatternSource(name)
    assert source.live is False
    assert source.fps is None
    first = source.read()
    assert source.read() is first
    assert not first.flags.writeable


@pytest.mark.parametrize("name", sorted(LIVE))
def test_live_patterns_change_every_frame_at_30_fps(name: str) -> None:
    source = PatternSource(name, (48, 64))
    assert source.live is True
    assert source.fps == 30
    frames = [source.read() for _ in range(3)]
    assert not np.array_equal(frames[0], frames[1])
    assert not np.array_equal(frames[1], frames[2])


def test_gradient_goes_from_black_to_white_left_to_right() -> None:
    frame = PatternSource("gradient", (10, 300)).read()
    row = frame[5, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255
    assert np.all(np.diff(row) >= 0)
    assert np.all(frame == frame[:1, :, :1])  # every row the same, and grey


def test_checkerboard_squares_are_40_px() -> None:
    plane = PatternSource("checkerboard", (120, 120)).read()[:, :, 0]
    assert plane[0, 0] != plane[0, 40] and plane[0, 0] != plane[40, 0]
    assert plane[0, 0] == plane[39, 39] == plane[40, 40]


def test_siemens_star_has_36_black_spokes() -> None:
    plane = PatternSource("siemens-star", (401, 401)).read()[:, :, 0]
    angles = np.linspace(0, 2 * np.pi, 3600, endpoint=False)
    ring = plane[
        np.round(200 + 150 * np.sin(angles)).astype(int),
        np.round(200 + 150 * np.cos(angles)).astype(int),
    ]
    assert set(np.unique(ring)) == {0, 255}
    black_starts = np.sum((ring == 0) & (np.roll(ring, 1) == 255))
    assert black_starts == 36


def test_colour_card_bars_then_grey_ramp() -> None:
    frame = PatternSource("colour-card", (300, 800)).read()
    bar_centres = frame[100, 50::100].tolist()
    assert bar_centres == [
        [255, 255, 255],
        [255, 255, 0],
        [0, 255, 255],
        [0, 255, 0],
        [255, 0, 255],
        [255, 0, 0],
        [0, 0, 255],
        [0, 0, 0],
    ]
    ramp = frame[250].astype(int)
    assert np.all(ramp == ramp[:, :1])
    assert ramp[0, 0] == 0 and ramp[-1, 0] == 255 and np.all(np.diff(ramp[:, 0]) >= 0)


def test_moving_bars_move_right() -> None:
    source = PatternSource("moving-bars", (4, 200))
    before, after = source.read(), source.read()
    shift = next(s for s in range(1, 40) if np.array_equal(after[:, s:], before[:, :-s]))
    assert 1 <= shift <= 10


def test_noise_is_grey_uniform_and_reproducible_with_a_seed() -> None:
    frame = PatternSource("noise", (100, 100), seed=7).read()
    assert np.all(frame == frame[:, :, :1])
    assert frame.min() < 10 and frame.max() > 245 and 100 < frame.mean() < 155
    np.testing.assert_array_equal(PatternSource("noise", (100, 100), seed=7).read(), frame)


def test_unknown_pattern_lists_the_known_names() -> None:
    with pytest.raises(SourceError, match=r"unknown pattern 'stripes'") as info:
        PatternSource("stripes")
    assert all(name in str(info.value) for name in NAMES)


@pytest.mark.parametrize("size", [(0, 10), (10, -1), (2.5, 10), (100_000, 100_000)])
def test_bad_size_is_refused(size: tuple[int, int]) -> None:
    with pytest.raises(SourceError, match="size must be"):
        PatternSource("gradient", size)


def test_close_is_idempotent_and_read_after_close_fails() -> None:
    source = PatternSource("noise")
    source.close()
    source.close()
    with pytest.raises(SourceError, match=r"^Pattern: noise is closed$"):
        source.read()
