"""The kernel analysis panel: texts, the frequency-response image, the orientation polar plot."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import pytest

from playground.engine import analysis
from playground.ui.analysis_panel import (
    FFT_SIZE,
    TUNING_STEPS,
    KernelAnalysisPanel,
)

# The offscreen platform says so whenever a shown top-level's minimum size changes (the square
# plots fix their height to their width).
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

SOBEL_X = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
SOBEL_Y = np.array([[-1.0, -2, -1], [0, 0, 0], [1, 2, 1]])  # the preset: brighter downward
BOX = np.full((3, 3), 1 / 9)
LAPLACIAN_4 = np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])


@pytest.fixture
def panel(qtbot) -> KernelAnalysisPanel:
    panel = KernelAnalysisPanel()
    qtbot.addWidget(panel)
    panel.resize(panel.sizeHint())
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _log_response(kernel: np.ndarray) -> np.ndarray:
    # The panel's transform, written out: log10 of |H| plus 1/1000 of its peak.
    response = analysis.frequency_response(kernel, 64)
    return np.log10(1e-3 * response.max() + response)


def _image_item(panel: KernelAnalysisPanel) -> pg.ImageItem:
    items = [i for i in panel.responsePlot.getPlotItem().items if isinstance(i, pg.ImageItem)]
    assert len(items) == 1
    return items[0]


# ----------------------------------------------------------------------------- the texts


def test_sobel_x_is_separable_odd_and_prefers_bright_on_the_right(panel):
    panel.setKernel(SOBEL_X)
    assert panel.separabilityText() == "separable: column [1 2 1] × row [-1 0 1]"
    assert panel.symmetryText().startswith("odd (")
    assert panel.dcGainText().startswith("DC gain 0 (")
    assert panel.preferredAngle() == 0.0
    assert panel.orientationText() == "prefers 0° (bright on the right)"
    assert panel.messageText() == ""


def test_sobel_y_prefers_bright_at_the_bottom(panel):
    # Its response is flat from 250° to 290°: the preferred angle is the middle of that plateau.
    panel.setKernel(SOBEL_Y)
    assert panel.preferredAngle() == 270.0
    assert "bright at the bottom" in panel.orientationText()
    assert panel.separabilityText() == "separable: column [-1 0 1] × row [1 2 1]"


def test_scaled_factors_keep_the_column_whole_and_the_product_exact(panel):
    panel.setKernel(SOBEL_X * 0.125)
    assert panel.separabilityText() == "separable: column [1 2 1] × row [-0.125 0 0.125]"
    panel.setKernel(np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256)
    assert panel.separabilityText().startswith("separable: column [1 4 6 4 1] × row [0.00391 ")


def test_box_blur_keeps_flat_areas_and_has_no_preferred_direction(panel):
    panel.setKernel(BOX)
    assert panel.dcGainText() == "DC gain 1.000 (keeps flat areas)"
    assert panel.symmetryText().startswith("even (")
    assert panel.separabilityText() == "separable: column [1 1 1] × row [0.111 0.111 0.111]"
    assert panel.preferredAngle() is None
    assert panel.orientationText() == "no preferred direction: 0.5 at every angle"
    # An isotropic response is a full circle on the outer ring, all positive.
    xs, ys = panel.polarCurve()
    np.testing.assert_allclose(np.hypot(xs, ys), 1.0)


def test_laplacian_is_even_not_separable_and_blocks_dc(panel):
    panel.setKernel(LAPLACIAN_4)
    assert panel.separabilityText() == "not separable (σ2/σ1 = 0.101)"  # not "0.10": the limit
    assert panel.symmetryText().startswith("even (")
    assert panel.dcGainText().startswith("DC gain 0 (")
    image = panel.responseImage()
    centre = FFT_SIZE // 2
    assert image[centre, centre] == image.min()
    assert np.sum(image == image.min()) == 1
    # Edges through its centre give exactly 0 at every angle: no curve, no direction.
    assert panel.preferredAngle() is None
    assert panel.polarCurve()[0].size == 0
    assert panel.orientationText().startswith("no preferred direction")


def test_random_kernel_is_not_separable(panel):
    kernel = np.random.default_rng(3).standard_normal((5, 5))
    panel.setKernel(kernel)
    assert panel.separabilityText().startswith("not separable (σ2/σ1 = ")
    assert panel.symmetryText() == "no symmetry"
    assert panel.preferredAngle() is not None


def test_near_separable_kernel_gives_its_ratio_and_factors_in_the_tooltip(panel):
    kernel = np.outer([1.0, 2, 1], [1.0, 2, 1]) + 0.05 * np.eye(3)
    ratio = analysis.separability(kernel).ratio
    assert 1e-6 < ratio < analysis.NEAR_SEPARABLE
    panel.setKernel(kernel)
    assert panel.separabilityText() == f"near-separable (σ2/σ1 = {ratio:.2f})"
    assert panel.separabilityLabel.toolTip().startswith("≈ column [")


def test_long_factors_are_elided_in_the_label_and_whole_in_the_tooltip(panel):
    taps = np.exp(-(np.arange(-7, 8) ** 2) / 8.0)
    panel.setKernel(np.outer(taps, taps))
    text = panel.separabilityText()
    assert text.startswith("separable: column [")
    assert text.count("…") == 2
    assert text.count("0.00219") == 4  # exp(-49/8): both ends of both factors stay
    full = panel.separabilityLabel.toolTip().splitlines()[0]
    assert "…" not in full
    assert full.startswith("column [0.00219 0.0111 0.0439 0.135 0.325 0.607 0.882 1 0.882 ")


@pytest.mark.parametrize(
    ("gain", "text"),
    [
        (2.0, "DC gain 2.000 (brightens flat areas)"),
        (0.5, "DC gain 0.500 (darkens flat areas)"),
        (-1.0, "DC gain -1.000 (inverts flat areas)"),
        (0.002, "DC gain 0.002 (darkens flat areas)"),
    ],
)
def test_dc_gain_texts(panel, gain, text):
    panel.setKernel(np.full((3, 3), gain / 9))
    assert panel.dcGainText() == text


# ------------------------------------------------------------------------ the response image


@pytest.mark.parametrize("kernel", [SOBEL_X, BOX, LAPLACIAN_4, np.arange(15.0).reshape(3, 5)])
def test_response_image_is_the_log_of_the_frequency_response(panel, kernel):
    panel.setKernel(kernel)
    expected = _log_response(kernel)
    image = panel.responseImage()
    assert image.shape == (FFT_SIZE, FFT_SIZE)
    np.testing.assert_allclose(image, expected, rtol=1e-5, atol=1e-6)
    # ... and it is what the image item holds, with explicit levels spanning the transform.
    item = _image_item(panel)
    np.testing.assert_array_equal(item.image, image)
    peak = analysis.frequency_response(kernel, 64).max()
    np.testing.assert_allclose(item.getLevels(), np.log10([1e-3 * peak, 1.001 * peak]))


def test_all_zero_kernel_shows_without_errors(panel):
    panel.setKernel(np.zeros((3, 3)))
    assert not np.any(panel.responseImage())
    assert panel.dcGainText().startswith("DC gain 0 (")
    assert panel.separabilityText() == "separable (every weight is 0)"
    assert panel.preferredAngle() is None


# -------------------------------------------------------------------- the orientation tuning


def test_polar_curve_is_the_tuning_at_its_angles_with_signs_coloured(panel):
    panel.setKernel(SOBEL_X)
    angles, responses = analysis.orientation_tuning(SOBEL_X, TUNING_STEPS)
    xs, ys = panel.polarCurve()
    radius = np.hypot(xs, ys)
    assert radius.max() == pytest.approx(1.0)
    assert (xs[0], ys[0]) == pytest.approx((1.0, 0.0))  # 0°: the largest response, 4
    assert (xs[-1], ys[-1]) == pytest.approx((xs[0], ys[0]))  # closed
    # Every sampled angle appears with radius |response| / max |response|.
    for angle, response in zip(angles, responses):
        a = math.radians(angle)
        point = np.abs(response) / 4.0 * np.array([math.cos(a), math.sin(a)])
        assert np.min(np.hypot(xs - point[0], ys - point[1])) < 1e-9
    # Positive lobe (red) on the right, negative (blue) on the left.
    positive, negative = panel._positive_curve.getData(), panel._negative_curve.getData()
    assert np.nanmin(positive[0]) >= -1e-9 and np.nanmax(negative[0]) <= 1e-9


# ------------------------------------------------------------------- messages and bad input


def test_clear_shows_the_message_and_set_kernel_brings_the_analysis_back(panel):
    panel.setKernel(SOBEL_X)
    panel.clear("a pooling layer has no kernel")
    assert panel.messageText() == "a pooling layer has no kernel"
    assert panel.dcGainText() == "" and panel.separabilityText() == ""
    assert panel.responseImage().size == 0
    assert panel.preferredAngle() is None
    panel.setKernel(BOX)
    assert panel.messageText() == ""
    assert panel.dcGainText() == "DC gain 1.000 (keeps flat areas)"


@pytest.mark.parametrize(
    "kernel",
    [
        np.array([[1.0, np.nan, 0], [0, 1, 0], [0, 0, 1]]),
        np.array([[np.inf, 0.0], [0.0, 1.0]]),
        np.ones(3),
        np.ones((0, 3)),
        np.array([["a", "b"]]),
    ],
)
def test_bad_kernels_show_a_one_line_message(panel, kernel):
    panel.setKernel(SOBEL_X)
    panel.setKernel(kernel)
    message = panel.messageText()
    assert message and "\n" not in message
    assert panel.preferredAngle() is None and panel.responseImage().size == 0


def test_compact_enough_for_the_kernel_dock(panel):
    panel.setKernel(SOBEL_X)
    assert panel.objectName() == "kernelAnalysis"
    hint = panel.sizeHint()
    assert hint.width() <= 360 and hint.height() <= 420
    assert panel.minimumSizeHint().width() <= 340
