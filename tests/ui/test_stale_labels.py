"""Labels that outlived what they described: the lesson caption, a removed channel's thumbnail,
imported filters without names."""

from __future__ import annotations

import numpy as np
import pytest

from playground import lessons
from playground.engine.weights import import_weights
from playground.ui.kernel_editor import KernelEditor
from playground.ui.kernel_editor.strip import _ChannelThumb
from tests.ui.test_main_window import WAIT_MS, shows_current_bank, window  # noqa: F401

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


def test_the_lesson_caption_goes_when_another_source_is_shown(qtbot, window):  # noqa: F811
    lesson = lessons.get("vertical-line")
    next(a for a in window.menus.lessons_menu.actions() if a.text() == lesson.title).trigger()
    qtbot.waitUntil(lambda: shows_current_bank(window), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.controller.source_description != "", timeout=WAIT_MS)
    lesson_source = window.controller.source_description
    assert window.lesson_banner.isVisible()
    with qtbot.waitSignal(window.controller.sourceChanged, timeout=WAIT_MS):
        window.controller.open_pattern("checkerboard")
    assert window.controller.source_description != lesson_source
    assert not window.lesson_banner.isVisible()


def test_the_lesson_caption_stays_while_the_lesson_source_shows(qtbot, window):  # noqa: F811
    lesson = lessons.get("vertical-line")
    next(a for a in window.menus.lessons_menu.actions() if a.text() == lesson.title).trigger()
    with qtbot.waitSignal(window.controller.sourceChanged, timeout=WAIT_MS):
        pass
    qtbot.waitUntil(lambda: shows_current_bank(window), timeout=WAIT_MS)
    assert window.lesson_banner.isVisible()


def test_a_channel_removed_from_the_filter_leaves_no_thumbnail(qtbot):
    # The finding: after + Conv (a 4-channel filter) a 3-channel filter showed a fourth "ch 4".
    editor = KernelEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.setFilter(np.ones((4, 3, 3)), 0)
    editor.setFilter(np.ones((3, 3, 3)), 0, ["R", "G", "B"])
    shown = [t for t in editor.strip.findChildren(_ChannelThumb) if t.isVisible()]
    assert [t.label.text() for t in shown] == ["R", "G", "B"]


def test_imported_filters_are_named_filter_1_to_n(tmp_path):
    np.save(tmp_path / "w.npy", np.zeros((4, 3, 3, 3)))
    bank = import_weights(tmp_path / "w.npy", layout="torch")
    assert [f.name for f in bank.layers[0].filters] == [
        "filter 1",
        "filter 2",
        "filter 3",
        "filter 4",
    ]
