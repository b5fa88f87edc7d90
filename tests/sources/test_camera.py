"""CameraSource and list_cameras.

There is no camera on the test machines: the real OpenCV path is tested through its failures,
and reading / unplugging through a fake capture put in place of `camera._open_capture`.
"""

from __future__ import annotations

import sys
import time

import cv2
import numpy as np
import pytest

from playground.sources import CAMERA_SIZES, CameraSource, Source, SourceError, list_cameras
from playground.sources import camera as camera_module

BGR_RED = np.zeros((48, 64, 3), np.uint8)
BGR_RED[:] = (0, 0, 255)
BGR_BLUE = np.zeros((48, 64, 3), np.uint8)
BGR_BLUE[:] = (255, 0, 0)


class FakeCapture:
    """Stands in for an opened cv2.VideoCapture: returns `script` items (BGR frame, or None for
    a failed grab) in order, then fails every grab, like an unplugged camera."""

    def __init__(self, script: list[np.ndarray | None]) -> None:
        self.script = list(script)
        self.props: dict[int, float] = {}
        self.released = 0

    def read(self) -> tuple[bool, np.ndarray | None]:
        frame = self.script.pop(0) if self.script else None
        return (False, None) if frame is None else (True, frame.copy())

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def get(self, prop: int) -> float:
        return 0.0  # a backend that reports nothing

    def release(self) -> None:
        self.released += 1


class Webcam(FakeCapture):
    """A typical USB webcam on Linux: 1280x720 at 10 fps in YUYV, 30 fps only in MJPG
    (opencv#9540). Records the order of `set` calls; counts grabs and decodes."""

    def __init__(self) -> None:
        super().__init__([])
        self.calls: list[int] = []
        self.fourcc = cv2.VideoWriter.fourcc(*"YUYV")
        self.size = (640, 480)
        self.grabs = self.decodes = 0

    def set(self, prop: int, value: float) -> bool:
        self.calls.append(prop)
        if prop == cv2.CAP_PROP_FOURCC:
            self.fourcc = int(value)
        elif prop == cv2.CAP_PROP_FRAME_WIDTH:
            self.size = (int(value), self.size[1])
        elif prop == cv2.CAP_PROP_FRAME_HEIGHT:
            self.size = (self.size[0], int(value))
        return True

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_FOURCC:
            return float(self.fourcc)
        if prop == cv2.CAP_PROP_FPS:
            mjpg = self.fourcc == cv2.VideoWriter.fourcc(*"MJPG")
            return 30.0 if mjpg or self.size[0] <= 640 else 10.0
        return 0.0

    def read(self) -> tuple[bool, np.ndarray]:
        self.grab()
        return self.retrieve()

    def grab(self) -> bool:
        self.grabs += 1
        return True

    def retrieve(self) -> tuple[bool, np.ndarray]:
        self.decodes += 1
        return True, np.zeros((self.size[1], self.size[0], 3), np.uint8)


def plug_in(monkeypatch: pytest.MonkeyPatch, capture: FakeCapture) -> list[int]:
    """Make camera 0 be `capture`; returns the list of indices opened."""
    opened: list[int] = []

    def open_capture(index: int) -> FakeCapture | None:
        opened.append(index)
        return capture if index == 0 else None

    monkeypatch.setattr(camera_module, "_open_capture", open_capture)
    return opened


def test_frames_are_rgb_and_description_shows_the_size(monkeypatch: pytest.MonkeyPatch) -> None:
    plug_in(monkeypatch, FakeCapture([BGR_RED, BGR_BLUE]))
    source = CameraSource(0)
    assert isinstance(source, Source)
    assert source.description == "Camera 0 (64x48)"
    assert source.live is True
    assert source.fps is None
    first, second = source.read(), source.read()
    for frame in (first, second):
        assert frame.shape == (48, 64, 3)
        assert frame.dtype == np.uint8
        assert frame.flags.c_contiguous
    assert tuple(first[0, 0]) == (255, 0, 0)
    assert tuple(second[0, 0]) == (0, 0, 255)


def test_requested_size_goes_to_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    capture = FakeCapture([BGR_RED])
    plug_in(monkeypatch, capture)
    CameraSource(0, size=CAMERA_SIZES[0])
    assert capture.props[cv2.CAP_PROP_FRAME_WIDTH] == 640
    assert capture.props[cv2.CAP_PROP_FRAME_HEIGHT] == 480
    assert cv2.CAP_PROP_FOURCC not in capture.props  # 640x480 needs no compression


def test_720p_asks_for_mjpg_first_and_says_what_the_camera_delivers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    webcam = Webcam()
    plug_in(monkeypatch, webcam)
    monkeypatch.setattr(camera_module, "camera_name", lambda index: f"Camera {index}")
    source = CameraSource(0, size=(1280, 720))
    # MJPG before the size (the driver picks the size's rates from the format), then the rate.
    assert webcam.calls.index(cv2.CAP_PROP_FOURCC) < webcam.calls.index(cv2.CAP_PROP_FRAME_WIDTH)
    assert webcam.fourcc == cv2.VideoWriter.fourcc(*"MJPG")
    assert cv2.CAP_PROP_FPS in webcam.calls
    assert source.description == "Camera 0 (1280x720, MJPG 30 fps)"
    assert source.delivered_fps == 30.0


def test_a_grabbed_frame_is_decoded_only_when_retrieved(monkeypatch: pytest.MonkeyPatch) -> None:
    webcam = Webcam()
    plug_in(monkeypatch, webcam)
    source = CameraSource(0)
    decodes = webcam.decodes  # the first frame, decoded to prove the camera works
    for _ in range(5):
        assert source.grab()
    assert webcam.decodes == decodes
    frame = source.retrieve()
    assert frame is not None and frame.shape == (480, 640, 3)
    assert webcam.decodes == decodes + 1


def test_fourcc_names() -> None:
    assert camera_module.fourcc_name(cv2.VideoWriter.fourcc(*"MJPG")) == "MJPG"
    assert camera_module.fourcc_name(cv2.VideoWriter.fourcc(*"YUYV")) == "YUYV"
    assert camera_module.fourcc_name(0.0) == ""
    assert camera_module.fourcc_name(float("nan")) == ""


def test_camera_names_come_from_sysfs_on_linux(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(camera_module.sys, "platform", "linux")
    real_path = camera_module.Path

    def fake_path(name: str):
        return real_path(str(name).replace("/sys/class/video4linux", str(tmp_path)))

    monkeypatch.setattr(camera_module, "Path", fake_path)
    (tmp_path / "video2").mkdir()
    (tmp_path / "video2" / "name").write_text("HD Pro Webcam C920\n")
    assert camera_module.camera_name(2) == "HD Pro Webcam C920"
    assert camera_module.camera_name(3) == "Camera 3"


def test_modes_fall_back_to_the_fixed_sizes_without_v4l2_ctl(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(camera_module.sys, "platform", "linux")
    monkeypatch.setattr(camera_module.shutil, "which", lambda name: None)
    assert camera_module.camera_sizes(0) == CAMERA_SIZES


def test_modes_come_from_v4l2_ctl_when_it_is_there(monkeypatch: pytest.MonkeyPatch) -> None:
    listing = """ioctl: VIDIOC_ENUM_FMT
	[0]: 'YUYV' (YUYV 4:2:2)
		Size: Discrete 640x480
		Size: Discrete 1280x720
	[1]: 'MJPG' (Motion-JPEG, compressed)
		Size: Discrete 1920x1080
		Size: Discrete 1280x720
"""

    class Done:
        stdout = listing

    monkeypatch.setattr(camera_module.sys, "platform", "linux")
    monkeypatch.setattr(camera_module.shutil, "which", lambda name: "/usr/bin/v4l2-ctl")
    monkeypatch.setattr(camera_module.subprocess, "run", lambda *a, **k: Done())
    assert camera_module.camera_sizes(1) == [(1920, 1080), (1280, 720), (640, 480)]


def test_a_few_failed_grabs_return_none_then_frames_resume(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failures = [None] * (camera_module.MAX_FAILED_READS - 1)
    plug_in(monkeypatch, FakeCapture([BGR_RED, *failures, BGR_BLUE, *failures, BGR_RED]))
    source = CameraSource(0)
    assert source.read() is not None
    assert [source.read() for _ in failures] == [None] * len(failures)
    assert tuple(source.read()[0, 0]) == (0, 0, 255)
    # The count of failures starts again after a good frame.
    assert [source.read() for _ in failures] == [None] * len(failures)
    assert tuple(source.read()[0, 0]) == (255, 0, 0)


def test_ten_failed_grabs_in_a_row_mean_unplugged(monkeypatch: pytest.MonkeyPatch) -> None:
    capture = FakeCapture([BGR_RED, BGR_RED])
    plug_in(monkeypatch, capture)
    source = CameraSource(0)
    assert source.read() is not None
    assert source.read() is not None
    assert [source.read() for _ in range(9)] == [None] * 9
    with pytest.raises(SourceError, match=r"^camera 0 stopped sending frames \(unplugged\?\)$"):
        source.read()
    assert capture.released == 1
    with pytest.raises(SourceError):
        source.read()


def test_close_releases_the_camera_once(monkeypatch: pytest.MonkeyPatch) -> None:
    capture = FakeCapture([BGR_RED])
    plug_in(monkeypatch, capture)
    source = CameraSource(0)
    source.close()
    source.close()
    assert capture.released == 1
    with pytest.raises(SourceError, match=r"^camera 0 is closed$"):
        source.read()


def test_camera_that_sends_no_first_frame_is_refused_and_released(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    capture = FakeCapture([])
    plug_in(monkeypatch, capture)
    with pytest.raises(SourceError, match=r"^camera 0 could not be opened$"):
        CameraSource(0)
    assert capture.released == 1


def test_a_slow_starting_camera_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    plug_in(monkeypatch, FakeCapture([None, BGR_RED]))
    assert tuple(CameraSource(0).read()[0, 0]) == (255, 0, 0)


def test_camera_that_does_not_open_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    plug_in(monkeypatch, FakeCapture([BGR_RED]))
    with pytest.raises(SourceError, match=r"^camera 3 could not be opened$"):
        CameraSource(3)


def test_absent_camera_fails_quickly_with_real_opencv() -> None:
    start = time.monotonic()
    with pytest.raises(SourceError, match=r"^camera 97 could not be opened$"):
        CameraSource(97)
    assert time.monotonic() - start < 5


def test_negative_index_is_refused_without_crashing() -> None:
    # OpenCV 5 segfaults on VideoCapture(-1): the check must come first.
    with pytest.raises(SourceError, match="camera -1"):
        CameraSource(-1)


def test_list_cameras_finds_the_ones_that_open_and_releases_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    captures = {0: FakeCapture([]), 2: FakeCapture([])}
    monkeypatch.setattr(camera_module, "_open_capture", captures.get)
    assert list_cameras(4) == [0, 2]
    assert [c.released for c in captures.values()] == [1, 1]


def test_list_cameras_with_real_opencv_returns_quickly() -> None:
    start = time.monotonic()
    found = list_cameras()
    assert time.monotonic() - start < 10
    assert found == sorted(set(found))
    assert set(found) <= set(range(4))


class BackendCapture:
    """What the fake cv2.VideoCapture constructor returns: opens only with CAP_ANY."""

    def __init__(self, index: int, backend: int) -> None:
        self.backend = backend
        self.released = False

    def isOpened(self) -> bool:
        return self.backend == cv2.CAP_ANY

    def release(self) -> None:
        self.released = True


def test_open_falls_back_to_any_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[BackendCapture] = []

    def video_capture(index: int, backend: int) -> BackendCapture:
        made.append(BackendCapture(index, backend))
        return made[-1]

    monkeypatch.setattr(camera_module, "_device_missing", lambda index: False)
    monkeypatch.setattr(cv2, "VideoCapture", video_capture)
    capture = camera_module._open_capture(0)
    platform_backend, fallback = made
    assert capture is fallback
    assert fallback.backend == cv2.CAP_ANY
    assert platform_backend.backend == {
        "win32": cv2.CAP_DSHOW,
        "darwin": cv2.CAP_AVFOUNDATION,
    }.get(sys.platform, cv2.CAP_V4L2)
    assert platform_backend.released


def test_missing_linux_device_is_not_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Probing makes OpenCV print warnings for each backend; a missing /dev/videoN cannot open.
    def must_not_open(*args: object) -> None:
        raise AssertionError("VideoCapture called for a missing device")

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(cv2, "VideoCapture", must_not_open)
    assert camera_module._open_capture(99) is None
