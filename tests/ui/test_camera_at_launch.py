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
