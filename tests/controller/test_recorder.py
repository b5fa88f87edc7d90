"""The recorded video lasts as long as the recording, at any display rate.

The finding: 4 s of recording gave a 0.8 s clip at 30 fps, since one frame was written per
displayed result (about 6 a second on that bank).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from playground.controller.recorder import Recorder, RecordError


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def picture(value: int) -> np.ndarray:
    return np.full((48, 64, 3), value, np.uint8)


def read_back(path):
    video = cv2.VideoCapture(str(path))
    fps = video.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = video.read()
        if not ok:
            break
        frames.append(frame)
    video.release()
    return fps, frames


@pytest.mark.parametrize("display_fps", [5.0, 6.0, 30.0, 60.0])
def test_four_seconds_of_recording_play_four_seconds(tmp_path, display_fps):
    clock = FakeClock()
    path = tmp_path / "maps.avi"
    recorder = Recorder(path, (64, 48), fps=30.0, clock=clock)
    n = round(4.0 * display_fps)
    for i in range(n):
        clock.now = 100.0 + i / display_fps
        recorder.add(picture(i * 255 // n))
        recorder.flush()  # a display slower than the encoder: nothing waits, nothing drops
    clock.now = 104.0
    written = recorder.stop()
    fps, frames = read_back(path)
    assert fps == 30.0
    assert written == len(frames) == 120  # 4 s at 30 fps
    # Each frame shows the picture that was on screen at its time.
    for k in (0, 37, 64, 119):
        shown = min(int(k / 30.0 * display_fps), n - 1)
        assert abs(int(frames[k].mean()) - shown * 255 // n) <= 3


def test_a_still_between_edits_stays_in_the_video_for_its_time(tmp_path):
    clock = FakeClock()
    path = tmp_path / "still.avi"
    recorder = Recorder(path, (64, 48), fps=30.0, clock=clock)
    recorder.add(picture(0))  # the panes as recording starts
    recorder.flush()
    clock.now = 102.0
    recorder.add(picture(200))  # one edit after 2 s, nothing displayed in between
    clock.now = 103.0
    assert recorder.stop() == 90
    _, frames = read_back(path)
    assert len(frames) == 90
    assert frames[59].mean() < 5 and frames[60].mean() > 195


def test_pictures_of_another_size_are_scaled_to_the_video(tmp_path):
    clock = FakeClock()
    recorder = Recorder(tmp_path / "resized.avi", (64, 48), clock=clock)
    recorder.add(np.zeros((100, 130, 3), np.uint8))
    clock.now = 100.5
    assert recorder.stop() == 15
    _, frames = read_back(tmp_path / "resized.avi")
    assert frames[0].shape == (48, 64, 3)


def test_a_video_that_cannot_be_written_is_one_line(tmp_path):
    with pytest.raises(RecordError, match="cannot record to") as caught:
        Recorder(tmp_path / "missing folder" / "x.avi", (64, 48))
    assert "\n" not in str(caught.value)


def test_a_path_that_is_not_an_avi_is_refused_in_one_line(tmp_path):
    # Found by the monkey: recording to export.png opened an image-sequence writer that failed
    # on every frame after the first, with nothing said in the window.
    with pytest.raises(RecordError) as e:
        Recorder(tmp_path / "export.png", (64, 48))
    assert (
        str(e.value)
        == f"cannot record to {tmp_path / 'export.png'}: the video must be an .avi file"
    )
    assert not (tmp_path / "export.png").exists()
