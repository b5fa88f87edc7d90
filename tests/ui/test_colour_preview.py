"""Image filtering vs a CNN filter: beside the filter's one summed map, the same kernels on
each colour apart, recombined as a colour picture (a depthwise conv)."""

from __future__ import annotations

import numpy as np
import pytest

from playground import Bank, ConvLayer, Filter
from playground.sources.still import StillSource
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
