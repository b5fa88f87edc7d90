"""VideoSource: plays a file in order, as RGB, in a loop; fails with one clear line."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from playground.sources import Source, SourceError, VideoSource
from playground.sources import video as video_module
from tests.isolated import run_python

WIDTH, HEIGHT, FRAMES, FPS = 64, 48, 6, 10
BLOCK = WIDTH // 8  # frame i has a white block in column block i


def make_frame(i: int) -> np.ndarray:
    """BGR frame number i: pure red everywhere, with a white block whose position encodes i."""
    bgr = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    bgr[:] = (0, 0, 255)
    bgr[16:32, i * BLOCK : (i + 1) * BLOCK] = 255
    return bgr


def frame_index(rgb: np.ndarray) -> int:
    """Which frame this is: the column block that is white (red has no green, white has)."""
    green = rgb[16:32, :, 1].astype(float)
    return int(np.argmax([green[:, b * BLOCK : (b + 1) * BLOCK].mean() for b in range(8)]))


def write_clip(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for i in range(FRAMES):
        writer.write(make_frame(i))
    writer.release()
    return path


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "clip.avi")


def test_frames_come_in_order_and_loop_to_the_start(clip: Path) -> None:
    source = VideoSource(clip)
    order = [frame_index(source.read()) for _ in range(2 * FRAMES + 1)]
    assert order == [*range(FRAMES), *range(FRAMES), 0]
    source.close()


def test_frames_are_rgb_uint8_contiguous(clip: Path) -> None:
    source = VideoSource(clip)
    frame = source.read()
    assert frame.shape == (HEIGHT, WIDTH, 3)
    assert frame.dtype == np.uint8
    assert frame.flags.c_contiguous
    # The file holds pure red (BGR 0,0,255); MJPG is lossy, so approximately.
    red = frame[4, WIDTH - 4].astype(int)
    assert np.all(np.abs(red - (255, 0, 0)) <= 40), red
    source.close()


def test_description_fps_and_protocol(clip: Path) -> None:
    source = VideoSource(clip)
    assert isinstance(source, Source)
    assert source.description == "clip.avi"
    assert source.live is True
    assert source.fps == pytest.approx(FPS)
    source.close()


def test_non_ascii_path_plays(tmp_path: Path) -> None:
    folder = tmp_path / "vidéos ☕"
    folder.mkdir()
    source = VideoSource(write_clip(folder / "café.avi"))
    assert source.description == "café.avi"
    assert frame_index(source.read()) == 0
    source.close()


def test_truncated_file_is_refused_at_open(clip: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes(clip.read_bytes()[:1000])
    with pytest.raises(SourceError, match=r"^video truncated\.avi: "):
        VideoSource(truncated)


def test_random_bytes_are_refused_at_open(tmp_path: Path) -> None:
    junk = tmp_path / "junk.avi"
    junk.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(SourceError, match=r"^video junk\.avi: "):
        VideoSource(junk)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"^video gone\.avi: no such file$"):
        VideoSource(tmp_path / "gone.avi")


def test_close_is_idempotent_and_read_after_close_fails(clip: Path) -> None:
    source = VideoSource(clip)
    source.close()
    source.close()
    with pytest.raises(SourceError, match="closed"):
        source.read()


class ScriptedCapture:
    """Stands in for cv2.VideoCapture: plays `frames` (BGR) once, then reports the end."""

    def __init__(self, frames: list[np.ndarray], *, fps: float = FPS, seekable: bool = True):
        self.frames = frames
        self.fps = fps
        self.seekable = seekable
        self.position = 0
        self.released = 0

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.position >= len(self.frames):
            return False, None
        self.position += 1
        return True, self.frames[self.position - 1].copy()

    def set(self, prop: int, value: float) -> bool:
        if self.seekable and prop == cv2.CAP_PROP_POS_FRAMES:
            self.position = int(value)
            return True
        return False

    def get(self, prop: int) -> float:
        return self.fps if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        self.released += 1


def use_captures(monkeypatch: pytest.MonkeyPatch, captures: list[ScriptedCapture | None]) -> None:
    """Make each opening of the file return the next of `captures`."""
    queue = iter(captures)
    monkeypatch.setattr(video_module, "_open_capture", lambda path: next(queue))


def test_file_that_cannot_seek_is_reopened_to_loop(
    clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = [make_frame(i) for i in range(3)]
    first, second = ScriptedCapture(frames, seekable=False), ScriptedCapture(frames)
    use_captures(monkeypatch, [first, second])
    source = VideoSource(clip)
    assert [frame_index(source.read()) for _ in range(5)] == [0, 1, 2, 0, 1]
    assert first.released == 1
    source.close()
    assert second.released == 1


def test_file_that_stops_decoding_raises_after_rewinding(
    clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file is overwritten while playing: neither the rewound capture nor a fresh one
    # decodes anything any more.
    playing = ScriptedCapture([make_frame(0), make_frame(1)])
    use_captures(monkeypatch, [playing, ScriptedCapture([])])
    source = VideoSource(clip)
    assert [frame_index(source.read()) for _ in range(2)] == [0, 1]
    playing.frames = []
    with pytest.raises(
        SourceError, match=r"^video clip\.avi: cannot decode any frame after rewinding$"
    ):
        source.read()
    assert playing.released == 1
    with pytest.raises(SourceError, match="closed"):
        source.read()


def test_file_whose_first_frame_does_not_decode_is_refused(
    clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = ScriptedCapture([])
    use_captures(monkeypatch, [empty])
    with pytest.raises(SourceError, match=r"^video clip\.avi: cannot decode any frame$"):
        VideoSource(clip)
    assert empty.released == 1


@pytest.mark.parametrize(
    ("reported", "used"), [(25.0, 25.0), (0.0, 30.0), (math.nan, 30.0), (90000.0, 30.0)]
)
def test_fps_falls_back_to_30_when_the_file_does_not_say(
    clip: Path, monkeypatch: pytest.MonkeyPatch, reported: float, used: float
) -> None:
    use_captures(monkeypatch, [ScriptedCapture([make_frame(0)], fps=reported)])
    assert VideoSource(clip).fps == used


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_as_not_a_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.avi")
    with pytest.raises(SourceError, match=r"^video pipe\.avi: not a regular file$"):
        VideoSource(tmp_path / "pipe.avi")


@pytest.mark.skipif(sys.platform == "win32", reason="Windows file names are UTF-16")
def test_a_name_that_is_not_utf8_is_refused_before_opencv_sees_it(clip: Path) -> None:
    # os.fsdecode(b"\xff") is a lone surrogate; cv2.VideoCapture crashed the process on it, so
    # the call runs in a child where a crash fails this test instead of killing pytest.
    undecodable = os.path.join(os.fsencode(clip.parent), b"\xff.avi")
    os.rename(clip, undecodable)
    out = run_python(f"""
        import os
        from playground.sources import SourceError, VideoSource
        try:
            VideoSource(os.fsdecode({undecodable!r}))
        except SourceError as e:
            print(ascii(str(e)))
    """)
    assert (
        out == ascii(r"video \xff.avi: the file name is not valid UTF-8, which OpenCV needs") + "\n"
    )
