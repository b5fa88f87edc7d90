"""Preset kernels: shapes, sums, orientation and error reporting.

References are written here independently (float64 loops and closed forms), never taken from
the code under test.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from playground.engine import presets
from playground.engine.errors import BankError

SUM_ONE = {"identity", "box", "gaussian", "sharpen", "unsharp", "emboss", "motion-blur"}
SUM_ZERO = {
    "sobel-x",
    "sobel-y",
    "scharr-x",
    "scharr-y",
    "prewitt-x",
    "prewitt-y",
    "roberts-x",
    "roberts-y",
    "laplacian-4",
    "laplacian-8",
    "log",
    "dog",
    "gabor",
    "horizontal-edge",
    "vertical-edge",
}

FIXED = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    "sobel-x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel-y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "scharr-x": [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]],
    "scharr-y": [[-3, -10, -3], [0, 0, 0], [3, 10, 3]],
    "prewitt-x": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    "prewitt-y": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
    "roberts-x": [[1, 0], [0, -1]],
    "roberts-y": [[0, 1], [-1, 0]],
    "laplacian-4": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "laplacian-8": [[1, 1, 1], [1, -8, 1], [1, 1, 1]],
    "vertical-line": [[0, 1, 0], [0, 1, 0], [0, 1, 0]],
    "horizontal-line": [[0, 0, 0], [1, 1, 1], [0, 0, 0]],
    "horizontal-edge": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "vertical-edge": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
}


def correlate_valid(image, weights):
    """Valid cross-correlation, out[y, x] = sum_ij K[i, j] * X[y + i, x + j], in float64."""
    image = np.asarray(image, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    kh, kw = weights.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            total = 0.0
            for i in range(kh):
                for j in range(kw):
                    total += weights[i, j] * image[y + i, x + j]
            out[y, x] = total
    return out


def gaussian_reference(size, sigma):
    centre = (size - 1) / 2
    weights = np.empty((size, size))
    for row in range(size):
        for col in range(size):
            y, x = row - centre, col - centre
            weights[row, col] = math.exp(-(x * x + y * y) / (2 * sigma * sigma))
    return weights / weights.sum()


def delta(size):
    weights = np.zeros((size, size))
    weights[size // 2, size // 2] = 1.0
    return weights


# The sum of |terms| a preset's float64 weights are computed from, where it is not the weights'
# own: a difference of Gaussians is g1 - g2 of two Gaussians normalised to sum 1 each, so its
# round-off scales with 1 + 1, not with the difference (about 1e-13 when sigma1 ~ sigma2).
TERM_MAGNITUDE = {"dog": 2.0}


def assert_sum(name, weights):
    scale = float(np.abs(weights).sum())
    total = float(weights.astype(np.float64).sum())
    if name in SUM_ONE:
        assert total == pytest.approx(1.0, abs=1e-5)
    if name in SUM_ZERO:
        # Two sources of error, each bounded, so the check cannot flake and still fails on any
        # kernel whose sum is off by more than rounding:
        # - float32 storage rounds each weight by <= 2**-24 of itself: <= 6e-8 * scale in all,
        #   well inside 1e-5 * scale;
        # - building it in float64: summing n terms of total size m is off by about n * m * eps
        #   (for a normalised Gaussian: the rounded normalising sum, then n rounded divisions,
        #   <= 1.5 * n * eps each).
        n = weights.size
        magnitude = TERM_MAGNITUDE.get(name, scale)
        roundoff = 1.5 * n * magnitude * np.finfo(np.float64).eps
        assert abs(total) <= 1e-5 * scale + roundoff, (total, scale, roundoff)


# --- catalogue -----------------------------------------------------------------------------


def test_required_presets_exist():
    assert set(presets.names()) == SUM_ONE | SUM_ZERO | {"vertical-line", "horizontal-line"}


def test_names_follow_menu_order_and_match_registry():
    assert presets.names() == list(presets.PRESETS)
    order = presets.names()
    assert order.index("gaussian") < order.index("sharpen") < order.index("sobel-x")
    assert order.index("sobel-x") < order.index("vertical-line") < order.index("emboss")
    for name, preset in presets.PRESETS.items():
        assert preset.name == name
        assert presets.get(name) is preset


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_name_and_description_fit_a_menu(name):
    preset = presets.get(name)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)
    assert preset.description.strip()
    assert "\n" not in preset.description


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_defaults_are_valid_values(name):
    for param in presets.get(name).params:
        assert param.name.isidentifier()
        assert param.description.strip()
        assert param.minimum <= param.default <= param.maximum
        if param.integer:
            assert float(param.default).is_integer()
            assert param.maximum <= 31
        if param.odd:
            assert int(param.default) % 2 == 1


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_default_kernel_is_float32_2d_finite_contiguous(name):
    weights = presets.kernel(name)
    assert weights.dtype == np.float32
    assert weights.ndim == 2
    assert weights.flags.c_contiguous
    assert np.isfinite(weights).all()
    assert np.any(weights != 0)
    assert_sum(name, weights)


def test_kernel_is_the_same_as_make():
    for name in presets.names():
        np.testing.assert_array_equal(presets.kernel(name), presets.get(name).make())
    np.testing.assert_array_equal(
        presets.kernel("gaussian", size=7, sigma=2.0), presets.get("gaussian").make(size=7, sigma=2)
    )


def test_editing_a_returned_kernel_does_not_change_the_preset():
    first = presets.kernel("sobel-x")
    first[:] = 99
    np.testing.assert_array_equal(presets.kernel("sobel-x"), FIXED["sobel-x"])


@pytest.mark.parametrize("name", sorted(FIXED))
def test_fixed_kernels_have_the_textbook_weights(name):
    np.testing.assert_array_equal(presets.kernel(name), np.array(FIXED[name], dtype=np.float32))
    assert presets.get(name).params == ()


# --- any valid parameters give a usable kernel ---------------------------------------------


def param_value(param):
    if param.integer:
        values = st.integers(int(param.minimum), int(param.maximum))
        return values.filter(lambda v: v % 2 == 1) if param.odd else values
    return st.floats(param.minimum, param.maximum, allow_nan=False)


@st.composite
def preset_and_params(draw):
    name = draw(st.sampled_from(sorted(n for n in presets.PRESETS if presets.get(n).params)))
    params = presets.get(name).params
    chosen = draw(st.lists(st.sampled_from(params), unique_by=lambda p: p.name))
    return name, {p.name: draw(param_value(p)) for p in chosen}


@settings(max_examples=300, deadline=None)
@given(preset_and_params())
# Near-equal sigmas: a DoG of about 1e-13 whose float64 sum is round-off of the two Gaussians.
@example(("dog", {"size": 31, "sigma1": 1.0, "sigma2": 1.0 + 1e-13}))
@example(("dog", {"size": 3, "sigma1": 1.0, "sigma2": 1.0 + 2**-52}))
def test_any_valid_params_give_a_finite_kernel_with_the_promised_sum(case):
    name, params = case
    weights = presets.kernel(name, **params)
    assert weights.dtype == np.float32
    assert weights.ndim == 2
    assert weights.flags.c_contiguous
    assert np.isfinite(weights).all()
    assert_sum(name, weights)


# --- behaviour on images -------------------------------------------------------------------


def test_sobel_x_is_positive_on_dark_to_bright_step_and_sobel_y_is_zero():
    step = np.zeros((5, 6))
    step[:, 3:] = 1.0  # dark on the left, bright on the right
    across = correlate_valid(step, presets.kernel("sobel-x"))
    assert (across[:, 1:3] > 0).all()
    assert (across >= 0).all()
    np.testing.assert_array_equal(correlate_valid(step, presets.kernel("sobel-y")), 0.0)


def test_sobel_y_is_positive_on_dark_top_bright_bottom_step():
    step = np.zeros((6, 5))
    step[3:, :] = 1.0
    down = correlate_valid(step, presets.kernel("sobel-y"))
    assert (down[1:3, :] > 0).all()
    np.testing.assert_array_equal(correlate_valid(step, presets.kernel("sobel-x")), 0.0)


@pytest.mark.parametrize(
    ("name", "rising"),
    [("scharr-x", True), ("prewitt-x", True), ("vertical-edge", False)],
)
def test_x_gradients_sign_on_left_to_right_step(name, rising):
    step = np.zeros((4, 6))
    step[:, 3:] = 1.0
    response = correlate_valid(step, presets.kernel(name))
    assert (response[:, 1:3] > 0).all() == rising
    assert (response[:, 1:3] < 0).all() != rising


def test_horizontal_edge_is_positive_where_top_is_brighter():
    step = np.zeros((6, 4))
    step[:3, :] = 1.0
    response = correlate_valid(step, presets.kernel("horizontal-edge"))
    assert (response[1:3, :] > 0).all()


def test_vertical_line_detector_course_example():
    image = np.tile([0, 0, 0, 1, 1, 0, 0, 0], (8, 1))
    response = correlate_valid(image, presets.kernel("vertical-line"))
    assert response.shape == (6, 6)
    for row in response:
        np.testing.assert_array_equal(row, [0, 0, 3, 3, 0, 0])


def test_horizontal_line_detector_is_the_transpose():
    np.testing.assert_array_equal(
        presets.kernel("horizontal-line"), presets.kernel("vertical-line").T
    )
    image = np.tile([0, 0, 0, 1, 1, 0, 0, 0], (8, 1)).T
    response = correlate_valid(image, presets.kernel("horizontal-line"))
    for column in response.T:
        np.testing.assert_array_equal(column, [0, 0, 3, 3, 0, 0])


@pytest.mark.parametrize("name", ["log", "dog", "laplacian-4", "laplacian-8", "gabor"])
def test_zero_sum_kernels_give_zero_on_flat_regions(name):
    weights = presets.kernel(name)
    flat = np.full((weights.shape[0] + 2, weights.shape[1] + 2), 0.7)
    np.testing.assert_allclose(correlate_valid(flat, weights), 0.0, atol=1e-5)


@pytest.mark.parametrize("name", ["box", "gaussian", "motion-blur", "unsharp"])
def test_smoothing_kernels_keep_flat_regions(name):
    weights = presets.kernel(name)
    flat = np.full((weights.shape[0] + 2, weights.shape[1] + 2), 0.7)
    np.testing.assert_allclose(correlate_valid(flat, weights), 0.7, rtol=1e-5)


# --- parameterised kernels against closed forms --------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 4, 31])
def test_box_is_a_uniform_average(size):
    weights = presets.kernel("box", size=size)
    assert weights.shape == (size, size)
    np.testing.assert_allclose(weights, 1.0 / size**2, rtol=1e-6)


@pytest.mark.parametrize(("size", "sigma"), [(5, 1.0), (1, 1.0), (7, 0.5), (11, 3.0), (31, 20.0)])
def test_gaussian_matches_closed_form(size, sigma):
    weights = presets.kernel("gaussian", size=size, sigma=sigma)
    assert weights.shape == (size, size)
    np.testing.assert_allclose(weights, gaussian_reference(size, sigma), rtol=1e-5, atol=1e-8)


def test_gaussian_defaults_are_size_5_sigma_1():
    np.testing.assert_allclose(presets.kernel("gaussian"), gaussian_reference(5, 1.0), rtol=1e-5)


@pytest.mark.parametrize(("size", "sigma", "amount"), [(5, 1.0, 1.0), (7, 2.0, 0.5), (3, 0.8, 3)])
def test_unsharp_is_identity_plus_amount_times_detail(size, sigma, amount):
    expected = delta(size) + amount * (delta(size) - gaussian_reference(size, sigma))
    weights = presets.kernel("unsharp", size=size, sigma=sigma, amount=amount)
    np.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-7)


def test_unsharp_with_zero_amount_is_identity():
    np.testing.assert_array_equal(presets.kernel("unsharp", amount=0), delta(5))


@pytest.mark.parametrize(("size", "sigma"), [(9, 1.4), (5, 1.0), (15, 2.5)])
def test_log_is_zero_mean_laplacian_of_gaussian(size, sigma):
    centre = (size - 1) / 2
    expected = np.empty((size, size))
    for row in range(size):
        for col in range(size):
            r2 = (row - centre) ** 2 + (col - centre) ** 2
            expected[row, col] = (
                -(1 - r2 / (2 * sigma**2)) * math.exp(-r2 / (2 * sigma**2)) / (math.pi * sigma**4)
            )
    expected -= expected.mean()
    weights = presets.kernel("log", size=size, sigma=sigma)
    np.testing.assert_allclose(weights, expected, rtol=1e-4, atol=1e-7)
    assert weights[size // 2, size // 2] < 0
    assert weights[size // 2, size // 2] == weights.min()


def test_log_defaults_are_size_9_sigma_1_4():
    assert presets.kernel("log").shape == (9, 9)
    np.testing.assert_array_equal(presets.kernel("log"), presets.kernel("log", size=9, sigma=1.4))


@pytest.mark.parametrize(("size", "sigma1", "sigma2"), [(9, 1.0, 2.0), (13, 1.5, 3.0)])
def test_dog_is_difference_of_normalised_gaussians(size, sigma1, sigma2):
    expected = gaussian_reference(size, sigma1) - gaussian_reference(size, sigma2)
    weights = presets.kernel("dog", size=size, sigma1=sigma1, sigma2=sigma2)
    np.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-7)
    assert weights[size // 2, size // 2] > 0


def test_motion_blur_at_zero_degrees_is_the_middle_row():
    expected = np.zeros((9, 9))
    expected[4, :] = 1 / 9
    np.testing.assert_allclose(presets.kernel("motion-blur"), expected, rtol=1e-6)


@pytest.mark.parametrize("length", [1, 3, 9, 31])
def test_motion_blur_at_90_degrees_is_the_transpose_of_0(length):
    horizontal = presets.kernel("motion-blur", length=length, angle=0)
    vertical = presets.kernel("motion-blur", length=length, angle=90)
    np.testing.assert_array_equal(vertical, horizontal.T)
    assert vertical.shape == (length, length)


@pytest.mark.parametrize("angle", [0, 30, 45, 90, 135, 170])
def test_motion_blur_is_symmetric_about_its_centre_and_sums_to_one(angle):
    weights = presets.kernel("motion-blur", length=9, angle=angle)
    np.testing.assert_allclose(weights, weights[::-1, ::-1], atol=1e-7)
    assert float(weights.astype(np.float64).sum()) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(
        presets.kernel("motion-blur", length=9, angle=angle - 180), weights, atol=1e-7
    )


def test_motion_blur_at_45_degrees_runs_bottom_left_to_top_right():
    weights = presets.kernel("motion-blur", length=9, angle=45)
    anti_diagonal = np.fliplr(weights).diagonal()
    main_diagonal = weights.diagonal()
    assert anti_diagonal[2:7].min() > 0
    np.testing.assert_array_equal(main_diagonal[[0, 1, 2, 6, 7, 8]], 0)


def stripes(vertical, wavelength, size=40):
    coords = np.arange(size)
    wave = np.cos(2 * np.pi * coords / wavelength)
    return np.tile(wave, (size, 1)) if vertical else np.tile(wave[:, None], (1, size))


def test_gabor_theta_0_prefers_vertical_stripes():
    weights = presets.kernel("gabor")
    vertical = np.abs(correlate_valid(stripes(True, 8.0), weights)).max()
    horizontal = np.abs(correlate_valid(stripes(False, 8.0), weights)).max()
    assert vertical > 10 * horizontal


def test_gabor_theta_90_prefers_horizontal_stripes():
    weights = presets.kernel("gabor", theta=90)
    vertical = np.abs(correlate_valid(stripes(True, 8.0), weights)).max()
    horizontal = np.abs(correlate_valid(stripes(False, 8.0), weights)).max()
    assert horizontal > 10 * vertical


def test_gabor_theta_0_varies_along_x_and_90_is_its_transpose():
    weights = presets.kernel("gabor", size=15, theta=0, psi=0)
    centre_row = weights[7].astype(np.float64)
    # Period 8: a peak at the centre and troughs 4 pixels either side.
    assert centre_row[7] > 0
    assert centre_row[3] < 0
    assert centre_row[11] < 0
    np.testing.assert_allclose(presets.kernel("gabor", theta=90), weights.T, atol=1e-6)


def test_gabor_psi_90_is_odd():
    weights = presets.kernel("gabor", psi=90)
    np.testing.assert_allclose(weights, -weights[:, ::-1], atol=1e-6)


# --- parameter handling and errors ---------------------------------------------------------


def test_integral_floats_and_numpy_numbers_are_accepted_for_integer_params():
    expected = presets.kernel("gaussian", size=7)
    np.testing.assert_array_equal(presets.kernel("gaussian", size=7.0), expected)
    np.testing.assert_array_equal(presets.kernel("gaussian", size=np.int64(7)), expected)
    np.testing.assert_array_equal(
        presets.kernel("gaussian", size=7, sigma=np.float32(1.0)), expected
    )


def test_unknown_preset_lists_known_names():
    with pytest.raises(BankError, match=r"unknown preset 'sobel-z'; known: .*sobel-x"):
        presets.get("sobel-z")
    with pytest.raises(BankError, match="unknown preset 'nope'"):
        presets.kernel("nope")


def test_unknown_param_names_preset_and_param():
    with pytest.raises(BankError, match=r"preset 'gaussian'.*'radius'.*size, sigma"):
        presets.kernel("gaussian", radius=3)


def test_fixed_preset_rejects_any_param():
    with pytest.raises(BankError, match=r"preset 'sobel-x'.*'size'"):
        presets.kernel("sobel-x", size=3)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("gaussian", {"size": 4}, r"'gaussian'.*'size'.*odd"),
        ("log", {"size": 8}, r"'log'.*'size'.*odd"),
        ("dog", {"size": 10}, r"'dog'.*'size'.*odd"),
        ("gabor", {"size": 14}, r"'gabor'.*'size'.*odd"),
        ("unsharp", {"size": 6}, r"'unsharp'.*'size'.*odd"),
        ("motion-blur", {"length": 8}, r"'motion-blur'.*'length'.*odd"),
        ("gaussian", {"size": 33}, r"'gaussian'.*'size'.*between"),
        ("box", {"size": 0}, r"'box'.*'size'.*between"),
        ("box", {"size": 32}, r"'box'.*'size'.*between"),
        ("gaussian", {"sigma": 0}, r"'gaussian'.*'sigma'.*between"),
        ("gaussian", {"sigma": -1.0}, r"'gaussian'.*'sigma'.*between"),
        ("gabor", {"wavelength": 1.0}, r"'gabor'.*'wavelength'.*between"),
        ("motion-blur", {"angle": 400}, r"'motion-blur'.*'angle'.*between"),
        ("gaussian", {"sigma": math.nan}, r"'gaussian'.*'sigma'.*finite"),
        ("gaussian", {"sigma": math.inf}, r"'gaussian'.*'sigma'.*finite"),
        ("unsharp", {"amount": -math.inf}, r"'unsharp'.*'amount'.*finite"),
        ("box", {"size": math.nan}, r"'box'.*'size'.*finite"),
        ("box", {"size": 3.5}, r"'box'.*'size'.*whole"),
        ("box", {"size": True}, r"'box'.*'size'.*number"),
        ("gaussian", {"sigma": "1.0"}, r"'gaussian'.*'sigma'.*number"),
        ("gaussian", {"sigma": None}, r"'gaussian'.*'sigma'.*number"),
    ],
)
def test_bad_values_raise_bank_error_naming_preset_and_param(name, params, message):
    with pytest.raises(BankError, match=message):
        presets.kernel(name, **params)


def test_bank_error_is_a_value_error():
    with pytest.raises(ValueError):
        presets.kernel("gaussian", size=2)
