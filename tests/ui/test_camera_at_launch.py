"""The window opens camera 0 at launch, showing the sample image until it delivers.

The finding: the launch asked `list_cameras(max_index=0)`, which looks at no index at all, so
the camera never opened.
"""

from __future__ import annotations

import numpy as np
import pytest

from playground.sources import camera as camera_module
from playground.ui import MainWindow
from tests.sources.test_camera import BGR_RED, FakeCapture, plug_in
from tests.ui.test_main_window import WAIT_MS, make_settings

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


def launch(qtbot, tmp_path):
    window = MainWindow(
        open_camera=True, settings=make_settings(tmp_path), autosave_dir=tmp_path / "autosave"
    )
    qtbot.addWidget(
        window,
        before_close_func=lambda w: w.controller.document.mark_saved(tmp_path / "x.json"),
    )
    window.show()
    return window


def test_camera_zero_replaces_the_sample_image_at_launch(qtbot, tmp_path, monkeypatch):
    opened = plug_in(monkeypatch, FakeCapture([BGR_RED] * 1000))
    window = launch(qtbot, tmp_path)
    qtbot.waitUntil(
        lambda: window.controller.source_description.startswith("Camera 0"), timeout=WAIT_MS
    )
    assert opened[0] == 0
    qtbot.waitUntil(
        lambda: (
            window.controller.last_result is not None
            and np.all(window.controller.last_result.frame == (255, 0, 0))
        ),
        timeout=WAIT_MS,
    )
    assert window.source_pane.title().startswith("Source · Camera 0")


def test_without_a_camera_the_sample_image_stays_and_the_status_says_so(
    qtbot, tmp_path, monkeypatch
):
    monkeypatch.setattr(camera_module, "_open_capture", lambda index: None)
    window = launch(qtbot, tmp_path)
    qtbot.waitUntil(
        lambda: window.statusBar().currentMessage() == "No camera found: showing the sample image",
        timeout=WAIT_MS,
    )
    assert window.controller.source_description == "coffee.jpg"
    assert window.controller.last_result is not None


def test_the_camera_menu_searches_off_the_gui_thread_and_fills_in(qtbot, tmp_path, monkeypatch):
    # Opening each device to see whether it works takes seconds on some drivers: the menu must
    # open at once and the search run elsewhere.
    import threading

    searched_on: list[str] = []

    def slow_list(max_index=4):
        searched_on.append(threading.current_thread().name)
        return [0, 2]

    monkeypatch.setattr(camera_module, "list_cameras", slow_list)
    window = MainWindow(settings=make_settings(tmp_path), autosave_dir=tmp_path / "autosave")
    qtbot.addWidget(
        window, before_close_func=lambda w: w.controller.document.mark_saved(tmp_path / "x.json")
    )
    menu = window.menus.camera_menu
    with qtbot.waitSignal(window.controller.camerasFound, timeout=WAIT_MS) as found:
        menu.aboutToShow.emit()
        assert [a.text() for a in menu.actions()] == ["Looking for cameras…"]
    assert found.args == [[0, 2]]
    assert searched_on == ["cameras"]  # not the GUI thread
    assert [a.text() for a in menu.actions()] == ["Camera 0", "Camera 2"]
    sizes = [a.text() for a in menu.actions()[0].menu().actions()]
    assert sizes == ["640×480", "1280×720", "1920×1080"]


def test_the_camera_menu_names_cameras_and_offers_their_own_modes(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(camera_module, "list_cameras", lambda max_index=4: [1])
    monkeypatch.setattr(camera_module, "camera_name", lambda index: "HD Pro Webcam C920")
    monkeypatch.setattr(camera_module, "camera_sizes", lambda index: [(1920, 1080), (800, 600)])
    window = MainWindow(settings=make_settings(tmp_path), autosave_dir=tmp_path / "autosave")
    qtbot.addWidget(
        window, before_close_func=lambda w: w.controller.document.mark_saved(tmp_path / "x.json")
    )
    menu = window.menus.camera_menu
    with qtbot.waitSignal(window.controller.camerasFound, timeout=WAIT_MS):
        menu.aboutToShow.emit()
    assert [a.text() for a in menu.actions()] == ["HD Pro Webcam C920"]
    sizes = [a.text() for a in menu.actions()[0].menu().actions()]
    assert sizes == ["1920×1080", "800×600"]
