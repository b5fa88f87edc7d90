"""A filter that does not respond shows flat: auto levels never stretch float32 round-off.

The finding: sobel-y on "Moving bars" read "max 8.94e-08" and showed bold white stripes, and
"min 3.41e-11" appeared on every map.
"""

from __future__ import annotations

import numpy as np
import pytest

from playground import Bank, ConvLayer, Filter, load_bank, presets
from playground.assets import resource_path
from playground.controller.display import shown_range
from playground.controller.pipeline import Frame, Job, compute
from playground.sources.patterns import PatternSource
from playground.ui.panes import ChannelStory, FeatureMapPane
from tests.engine import reference

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


EDGES = load_bank(resource_path("banks", "edges-rgb.json"))  # sobel-x, sobel-y, laplacian, red


def moving_bars_result(selected=(0, 1)):
    frame = PatternSource("moving-bars").read()
    return frame, compute(Frame(frame, 0), Job(EDGES, 1, selected, (320, 240)))


def test_sobel_y_on_vertical_bars_is_round_off_and_shows_flat():
    frame, result = moving_bars_result()
    expected = reference.run(EDGES.to_dict(), frame)[0][0]
    assert np.all(expected[1] == 0)  # the float64 loop: sobel-y truly does not respond
    lo, hi = result.maps[0][1].value_range
    floor = result.maps[0][1].floor
    assert hi > 0  # float32 leaves round-off (8.94e-08 in the finding)
    assert max(abs(lo), abs(hi)) <= floor
    assert shown_range((lo, hi), floor) == (0.0, 0.0)
    # sobel-x does respond: its range is far above its floor and is shown as it is.
    lo_x, hi_x = result.maps[0][0].value_range
    assert hi_x - lo_x > 1000 * result.maps[0][0].floor
    assert shown_range((lo_x, hi_x), result.maps[0][0].floor) == (lo_x, hi_x)


def test_the_floor_scales_with_the_weights_so_tiny_filters_still_respond():
    # A filter of weights 1e-6 responds with 1e-6: relative to its own terms that is no round-off.
    frame = PatternSource("moving-bars", (96, 128)).read()
    tiny = Filter.repeated(presets.kernel("sobel-x") * 1e-6, 3)
    bank = Bank((ConvLayer((tiny,), padding="same", border="replicate"),))
    result = compute(Frame(frame, 0), Job(bank, 1, None, (128, 96)))
    lo, hi = result.maps[0][0].value_range
    assert 0 < hi < 1e-4
    assert shown_range((lo, hi), result.maps[0][0].floor) == (lo, hi)


def test_a_round_off_map_reads_zero_and_is_drawn_flat(qtbot):
    _, result = moving_bars_result()
    pane = FeatureMapPane("sobel-y")
    qtbot.addWidget(pane)
    pane.resize(320, 260)
    pane.show()
    full = result.outputs[0][1]
    pane.setMap(result.maps[0][1])
    assert pane.infoText() == "≈ 0 (round-off)"
    assert pane.levels() == (0.0, 1.0)  # an all-zero map's levels: it draws black, no stripes
    assert pane.badges() == ("", "")
    # Hovering a pixel holding round-off reads it as such, not as 8.94e-08.
    y, x = np.unravel_index(np.argmax(np.abs(full)), full.shape)
    text, _, value = pane._readout(int(x), int(y))
    assert value != 0
    assert text == f"x {x}  y {y}  value ≈ 0 (round-off)"


def test_the_story_of_a_round_off_filter_shares_flat_levels(qtbot):
    _, result = moving_bars_result()
    story = ChannelStory()
    qtbot.addWidget(story)
    story.setStory("sobel-y", ["R", "G", "B"], 0.0, "relu")
    s = result.story
    story.setMaps(s.partials, s.total, s.biased, s.activated)
    assert story.sharedLevels() == (-1.0, 1.0)  # nothing to stretch: the fallback, all white
    assert all(p.infoText() in ("≈ 0 (round-off)", "min 0  max 0") for p in story.panes())
