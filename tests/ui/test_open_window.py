"""`filter-playground PATH`: the window starts on the file asked for (app.open_window)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings

from playground.assets import resource_path
from playground.engine.bankfile import load_bank, png_with_bank
from playground.ui.app import open_window

WAIT_MS = 10_000
# The offscreen platform says this whenever a window with a layout is shown; real ones do not.
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture
def opened(qtbot, tmp_path):
    """Opens a window on a path with its own settings and autosave, closed at teardown."""

    def open_on(path: Path):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window = open_window(path, settings=settings, autosave_dir=tmp_path / "autosave")
        qtbot.addWidget(
            window,
            before_close_func=lambda w: w.controller.document.mark_saved(tmp_path / "x.json"),
        )
        return window

    return open_on


def test_an_image_path_is_the_source(qtbot, tmp_path, opened):
    image = tmp_path / "bild-画像.png"
    ok, buf = cv2.imencode(".png", np.full((24, 32, 3), (10, 200, 30), np.uint8))
    assert ok
    buf.tofile(image)
    window = opened(image)
    qtbot.waitUntil(lambda: window.controller.source_description == image.name, timeout=WAIT_MS)


def test_a_video_path_is_the_source(qtbot, tmp_path, opened):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for i in range(5):
        writer.write(np.full((24, 32, 3), i * 40, np.uint8))
    writer.release()
    window = opened(video)
    qtbot.waitUntil(lambda: window.controller.source_description == video.name, timeout=WAIT_MS)


def test_a_bank_path_is_the_document(qtbot, tmp_path, opened):
    bank = tmp_path / "my edges.json"  # the user's own file (a bundled bank opens as a copy)
    bank.write_bytes(resource_path("banks", "edges-gray.json").read_bytes())
    window = opened(bank)
    assert window.controller.document.path == bank
    assert window.controller.document.bank.name == "edges (gray)"


def test_a_snapshot_path_opens_the_bank_it_carries(qtbot, tmp_path, opened):
    bank = load_bank(resource_path("banks", "line-stack.json"))
    ok, buf = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    assert ok
    snapshot = tmp_path / "panes.png"
    snapshot.write_bytes(png_with_bank(buf.tobytes(), bank))
    window = opened(snapshot)
    assert window.controller.document.bank == bank
