"""Image filtering vs a CNN filter: beside the filter's one summed map, the same kernels on
each colour apart, recombined as a colour picture (a depthwise conv)."""

from __future__ import annotations

import numpy as np
import pytest

from playground import Bank, ConvLayer, Filter
from playground.controller.display import ShownMap, colour_picture
from playground.engine import direct
from playground.sources.still import StillSource
from playground.ui.panes.story import depthwise_colour
from tests.engine import reference

WAIT_MS = 15_000

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


def _depthwise(image: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Each colour plane correlated with its own kernel, 'same' with zero padding, float64."""
    planes = reference.input_planes(image, "rgb")
    _, kh, kw = kernels.shape
    padded = np.pad(planes, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2)))
    h, w = image.shape[:2]
    out = np.zeros((3, h, w))
    for c in range(3):
        for i in range(kh):
            for j in range(kw):
                out[c] += kernels[c, i, j] * padded[c, i : i + h, j : j + w]
    return out


@pytest.mark.parametrize("signed", [False, True])
def test_the_colour_picture_is_each_kernel_on_its_own_channel(fresh_window, qtbot, signed):
    window = fresh_window
    rng = np.random.default_rng(11)
    image = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    kernels = rng.uniform(0.0, 0.2, (3, 3, 3))
    if signed:
        kernels -= 0.1
    bank = Bank((ConvLayer((Filter(kernels, 0.3, "mixed"),), padding="same"),))
    window.controller.new_bank(bank)
    window.controller.open_source(StillSource(image, "random"))
    pane = window.story.colourPane()

    def shown():
        r = window.controller.last_result
        return (
            r is not None
            and r.generation == window.controller.generation
            and r.frame.shape == image.shape
            and r.story is not None
            and pane.isVisible()
            and pane.imageItem().image is not None
            and pane.imageItem().image.shape == (30, 40, 3)
        )

    qtbot.waitUntil(shown, timeout=WAIT_MS)
    expected = _depthwise(image, kernels)
    if signed:
        m = np.abs(expected).max()
        rgb = 127.5 + expected * (127.5 / m)
    else:
        rgb = expected * (255.0 / expected.max())
    picture = pane.imageItem().image
    np.testing.assert_allclose(picture, np.moveaxis(rgb, 0, -1), atol=1.01)
    # The CNN's map is one grey map: the sum of those three plus the bias.
    summed = window.controller.last_result.run.outputs[0][0]
    np.testing.assert_allclose(summed, expected.sum(axis=0) + 0.3, atol=1e-5)


def test_no_colour_picture_for_a_filter_on_the_grey_image(fresh_window, qtbot):
    window = fresh_window
    kernels = np.ones((1, 3, 3)) / 9
    window.controller.new_bank(
        Bank(
            (
                ConvLayer(
                    (Filter(kernels, 0.0),),
                ),
            ),
            input="gray",
        )
    )
    qtbot.waitUntil(lambda: window.story.headerText().startswith("filter 1"), timeout=WAIT_MS)
    assert not window.story.colourPane().isVisibleTo(window.story)


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("signed", [True, False])
def test_the_colour_picture_clips_each_level_and_draws_nan_black(monkeypatch, compiled, signed):
    rng = np.random.default_rng(12)
    maps = [
        rng.uniform(-1.0 if signed else 0.0, 1.0, (30, 41)).astype(np.float32) for _ in range(3)
    ]
    ranges = [(float(m.min()), float(m.max())) for m in maps]
    # Past the levels (a pane's levels come from the full map; its display may hold more).
    maps[0][2, 3], maps[1][4, 5], maps[2][6, 7] = np.nan, 9.0, -9.0
    partials = [ShownMap(m, m, r, 0.0) for m, r in zip(maps, ranges)]
    if compiled:
        colour_picture(maps, 0.0, 1.0)
        assert direct.wait(120)
    else:  # while its pass compiles
        monkeypatch.setattr(direct, "compiled", lambda build, *args, wait=None: None)
    picture, levels = depthwise_colour(partials)
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    m = max(-lo, hi)
    assert levels == ((-m, m) if signed else (0.0, hi))
    want = np.zeros((30, 41, 3))
    for c, values in enumerate(maps):
        for y in range(30):
            for x in range(41):
                v = float(values[y, x])
                if v == v:
                    level = 127.5 + v * 127.5 / m if signed else v * 255.0 / hi
                    want[y, x, c] = min(255.0, max(0.0, round(level)))
    assert picture.dtype == np.uint8 and picture.shape == (30, 41, 3)
    assert np.abs(picture.astype(float) - want).max() <= 1.0
    assert (picture[2, 3, 0], picture[4, 5, 1], picture[6, 7, 2]) == (0, 255, 0)
