"""The window names the input channels a grouped filter reads: the kernel editor's tabs and
thumbnails and the channel story show R, G or B (or ch N) of its group, not 'gray'."""

from __future__ import annotations

import numpy as np
import pytest

from playground import Bank, ConvLayer, Filter
from playground.ui.kernel_editor import filter_channel_names
from tests.ui import test_main_window

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


# The main window's own fixture: the window shown, its first result on screen.
window = test_main_window.window


def test_filter_channel_names_are_the_channels_each_filter_reads():
    depthwise = ConvLayer(tuple(Filter(np.ones((1, 3, 3))) for _ in range(6)), groups=3)
    assert [filter_channel_names(depthwise, o) for o in range(6)] == [
        ["R"], ["R"], ["G"], ["G"], ["B"], ["B"]
    ]  # fmt: skip
    halves = ConvLayer(tuple(Filter(np.ones((3, 1, 1))) for _ in range(4)), groups=2)
    assert filter_channel_names(halves, 3) == ["ch 4", "ch 5", "ch 6"]
    plain = ConvLayer((Filter(np.ones((3, 1, 1))),))
    assert filter_channel_names(plain, 0) == ["R", "G", "B"]


def test_the_kernel_editor_tabs_name_the_channel_a_depthwise_filter_reads(qtbot, window):
    bank = Bank(
        (
            ConvLayer(
                tuple(Filter(np.ones((1, 3, 3)), name=f"d{o}") for o in range(3)),
                groups=3,
                padding="same",
            ),
            ConvLayer(tuple(Filter(np.ones((3, 3, 3)), name=f"m{o}") for o in range(4)), padding=1),
            ConvLayer(tuple(Filter(np.ones((2, 1, 1))) for _ in range(2)), groups=2),
        )
    )
    c = window.controller
    assert c.edit(lambda _b: bank, "Grouped bank")
    tabs = window.kernel_editor.channelTabs

    def names():
        return [tabs.tabText(i) for i in range(tabs.count())]

    for (layer, filt), want in {
        (0, 0): ["R"],
        (0, 2): ["B"],
        (1, 0): ["R", "G", "B"],
        (2, 1): ["ch 3", "ch 4"],
    }.items():
        c.select(layer, filt, 0)
        qtbot.waitUntil(lambda want=want: names() == want)
        strip = window.kernel_editor.strip
        assert [strip.thumbnail(i).label.text() for i in range(strip.count())] == want
