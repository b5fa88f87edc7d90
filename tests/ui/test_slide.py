"""The slide: the footprint sweeps a conv filter over its input and the output fills cell by
cell, every number the engine's, and the engine's numbers those of a float64 loop."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from playground import Bank, ConvLayer, Filter, lessons
from playground.sources.still import StillSource
from tests.engine import reference

WAIT_MS = 15_000

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture
def window(fresh_window):
    return fresh_window


def _shows(window, bank, frame_shape) -> bool:
    c = window.controller
    r = c.last_result
    return (
        r is not None
        and r.generation == c.generation
        and r.outputs is not None
        and c.bank == bank
        and r.frame.shape == frame_shape
    )


def _filled_cells(frame) -> dict[tuple[int, int], float]:
    oy0, ox0 = frame.output_origin
    return {
        (oy0 + i, ox0 + j): float(frame.output[i, j]) for i, j in zip(*np.nonzero(frame.filled))
    }


def test_the_slide_fills_the_8x8_lessons_map_with_the_engines_numbers(window, qtbot):
    lesson = lessons.get("vertical-line")
    window.open_lesson("vertical-line")
    bank = lesson.load_bank()
    qtbot.waitUntil(lambda: _shows(window, bank, (8, 8, 3)), timeout=WAIT_MS)
    expected = reference.run(bank.to_dict(), lesson.frame())[0][0][0]  # layer 1, filter 1
    engine = window.controller.last_result.run.outputs[0][0]
    np.testing.assert_allclose(engine, expected, rtol=1e-6, atol=1e-6)

    assert 'href="slide"' in window.lesson_banner.text()
    window.lesson_banner.linkActivated.emit("slide")  # the caption's "Slide the kernel" link
    panel = window.slide_panel
    assert window.slide_dock.isVisible()
    assert window.controller.paused  # the slide explains one frozen frame
    assert panel.positionCount() == 36
    seen: dict[tuple[int, int], float] = {}
    for index in range(36):
        if index:
            qtbot.mouseClick(panel.buttons["forward"], Qt.MouseButton.LeftButton)
        assert panel.index() == index
        frame = panel.frame()
        y, x = divmod(index, 6)
        assert frame.position == (y, x)
        filled = _filled_cells(frame)
        # Exactly the positions visited so far, in raster order, are filled.
        assert sorted(filled) == [divmod(i, 6) for i in range(index + 1)]
        for (oy, ox), value in filled.items():
            assert value == pytest.approx(expected[oy, ox], abs=1e-6)
            seen[oy, ox] = value
        # The arithmetic shown at this position is the probe's, and it makes the new cell.
        probe = window.probe_panel.probe()
        assert (probe.y, probe.x) == (y, x)
        assert probe.value == pytest.approx(expected[y, x], abs=1e-6)
        assert sum(c.partial for c in frame.channels) + probe.bias == pytest.approx(probe.value)
        # The footprint covers the 3x3 input under output (y, x) ('valid': no padding).
        assert list(probe.rows) == [y, y + 1, y + 2] and list(probe.cols) == [x, x + 1, x + 2]
    assert len(seen) == 36
    qtbot.mouseClick(panel.buttons["forward"], Qt.MouseButton.LeftButton)
    assert panel.index() == 35  # the last position stays the last


def test_play_runs_to_the_end_and_stops(window, qtbot):
    window.open_lesson("bump-1d")
    bank = lessons.get("bump-1d").load_bank()
    qtbot.waitUntil(lambda: _shows(window, bank, (1, 8, 3)), timeout=WAIT_MS)
    window.menus.slide_action.trigger()  # the toolbar's and the Lessons menu's Slide
    panel = window.slide_panel
    panel.speed.setValue(60)
    qtbot.mouseClick(panel.buttons["play"], Qt.MouseButton.LeftButton)
    assert panel.isPlaying()
    qtbot.waitUntil(lambda: not panel.isPlaying(), timeout=WAIT_MS)
    assert panel.index() == panel.positionCount() - 1 == 5
    assert [v for _, v in sorted(_filled_cells(panel.frame()).items())] == [0, 0, 1, 1, 0, 0]
    qtbot.mouseClick(panel.buttons["play"], Qt.MouseButton.LeftButton)  # at the end: over again
    assert panel.isPlaying() and panel.index() == 0
    window.slide_dock.close()
    assert not panel.isPlaying()  # closing the dock stops it
    panel.scrub.setValue(2)  # scrubbing back
    assert panel.frame().position == (0, 2)
    assert sorted(_filled_cells(panel.frame())) == [(0, 0), (0, 1), (0, 2)]


def test_padding_stride_dilation_and_channels_are_drawn_as_the_engine_reads_them(window, qtbot):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    kernels = rng.normal(size=(3, 3, 3))
    bank = Bank(
        (
            ConvLayer(
                (Filter(kernels, 0.25, "mixed"),),
                stride=(2, 2),
                padding="same",
                border="reflect",
                dilation=(2, 2),
                activation="relu",
            ),
        )
    )
    window.controller.new_bank(bank)
    window.controller.open_source(StillSource(image, "random"))
    qtbot.waitUntil(lambda: _shows(window, bank, image.shape), timeout=WAIT_MS)
    expected = reference.run(bank.to_dict(), image)[0][0][0]
    planes = reference.input_planes(image, "rgb")
    assert window.open_slide()
    panel = window.slide_panel
    assert panel.outputShape() == expected.shape == (4, 5)  # ceil(7 / 2) x ceil(9 / 2)
    for index in range(panel.positionCount()):
        panel.setIndex(index)
        frame = panel.frame()
        y, x = frame.position
        for (oy, ox), value in _filled_cells(frame).items():
            assert value == pytest.approx(expected[oy, ox], rel=1e-5, abs=1e-5)
        probe = frame.probe
        # Stride 2 and dilation 2: the taps start 2 apart per position and skip every other cell.
        assert np.all(np.diff(probe.rows) == 2) and np.all(np.diff(probe.cols) == 2)
        assert probe.rows[0] - frame.first[0] == 2 * y
        # The three kernels slide together; their partial sums add up to the cell.
        assert len(frame.channels) == 3
        total = sum(c.partial for c in frame.channels) + 0.25
        assert max(total, 0.0) == pytest.approx(expected[y, x], rel=1e-5, abs=1e-5)
        # Padding cells hold the reflect border's values of the input.
        r0, c0 = frame.origin
        for channel, window_ in zip(range(3), frame.channels):
            rows, cols = window_.values.shape
            for i in range(rows):
                for j in range(cols):
                    r, c = _reflect(r0 + i, 7), _reflect(c0 + j, 9)
                    assert window_.values[i, j] == pytest.approx(planes[channel, r, c])
                    assert window_.inside[i, j] == (0 <= r0 + i < 7 and 0 <= c0 + j < 9)
    assert not frame.channels[0].inside.all()  # 'same' padding shows cells outside the image


def _reflect(index: int, size: int) -> int:
    """numpy's 'reflect' (OpenCV's REFLECT_101), written out."""
    while not 0 <= index < size:
        index = -index if index < 0 else 2 * (size - 1) - index
    return index


def test_slide_needs_a_conv_filter(window, qtbot):
    window.open_lesson("stacking")
    bank = lessons.get("stacking").load_bank()
    qtbot.waitUntil(
        lambda: _shows(window, bank, lessons.get("stacking").frame().shape), timeout=WAIT_MS
    )
    window.controller.select(1, 0, 0)  # the pool layer
    assert not window.open_slide()
    assert "conv filter" in window.statusBar().currentMessage()


def test_on_a_large_frame_the_panes_zoom_in_on_the_footprint_and_follow_it(window, qtbot):
    window.open_lesson("rgb-filter")
    lesson = lessons.get("rgb-filter")
    bank = lesson.load_bank()
    qtbot.waitUntil(lambda: _shows(window, bank, lesson.frame().shape), timeout=WAIT_MS)
    assert window.open_slide()
    panel = window.slide_panel
    source, output = window.source_pane, window.pane_grid.pane(0, 0)
    for index in (0, 1, 5000, panel.positionCount() - 1):
        panel.setIndex(index)
        probe = panel.frame().probe
        for pane, (x, y) in (
            (source, (probe.cols[1], probe.rows[1])),
            (output, (probe.x, probe.y)),
        ):
            assert pane.isZoomed()
            assert pane.zoomScale() >= 10  # a 3x3 footprint is at least 30 screen pixels
            assert pane.viewBox().viewRect().contains(QPointF(x + 0.5, y + 0.5))


def test_a_large_dilated_footprint_is_drawn_whole(window, qtbot):
    rng = np.random.default_rng(8)
    image = rng.integers(0, 256, (60, 70, 3), dtype=np.uint8)
    bank = Bank(
        (ConvLayer((Filter(rng.normal(size=(1, 9, 9)), 0.0),), dilation=(2, 2)),), input="gray"
    )
    window.controller.new_bank(bank)
    window.controller.open_source(StillSource(image, "random"))
    qtbot.waitUntil(lambda: _shows(window, bank, image.shape), timeout=WAIT_MS)
    assert window.open_slide()
    window.slide_panel.setIndex(40)
    frame = window.slide_panel.frame()
    r0, c0 = frame.origin
    rows, cols = frame.channels[0].values.shape
    probe = frame.probe
    # 9 taps 2 apart span 17 cells: all inside the drawn window.
    assert probe.rows[-1] - probe.rows[0] == 16
    assert r0 <= probe.rows[0] and probe.rows[-1] < r0 + rows
    assert c0 <= probe.cols[0] and probe.cols[-1] < c0 + cols
    expected = reference.run(bank.to_dict(), image)[0][0][0]
    assert probe.value == pytest.approx(expected[probe.y, probe.x], rel=1e-5, abs=1e-5)
