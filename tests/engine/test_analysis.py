"""Kernel analysis against closed forms written out here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from playground.engine import analysis, presets

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
LAPLACIAN_4 = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)


def centred(values):
    """Put frequency (0, 0) in the middle, as the analysis panel shows it."""
    n = values.shape[0]
    out = np.empty_like(values)
    for u in range(n):
        for v in range(n):
            out[(u + n // 2) % n, (v + n // 2) % n] = values[u, v]
    return out


@pytest.mark.parametrize("width", [3, 5])
def test_a_box_filters_response_is_the_product_of_two_dirichlet_kernels(width):
    n = 32
    box = np.full((width, width), 1.0 / width**2)

    def dirichlet(w):
        if w == 0:
            return 1.0
        return abs(math.sin(math.pi * width * w / n) / (width * math.sin(math.pi * w / n)))

    closed = np.array([[dirichlet(u) * dirichlet(v) for v in range(n)] for u in range(n)])
    np.testing.assert_allclose(analysis.frequency_response(box, n), centred(closed), atol=1e-12)


def test_the_laplacians_response_is_four_minus_two_cosines():
    n = 16
    closed = np.array(
        [
            [
                abs(2 * math.cos(2 * math.pi * u / n) + 2 * math.cos(2 * math.pi * v / n) - 4)
                for v in range(n)
            ]
            for u in range(n)
        ]
    )
    response = analysis.frequency_response(LAPLACIAN_4, n)
    np.testing.assert_allclose(response, centred(closed), atol=1e-12)
    assert response[n // 2, n // 2] == pytest.approx(0.0)  # no response to a flat area


@pytest.mark.parametrize(
    "kernel",
    [SOBEL_X, presets.kernel("gaussian", size=7, sigma=1.5), np.full((4, 6), 0.5)],
    ids=["sobel", "gaussian", "box"],
)
def test_separable_kernels_are_found_with_their_factors(kernel):
    s = analysis.separability(kernel)
    assert s.separable and s.near and s.ratio < 1e-6
    np.testing.assert_allclose(np.outer(s.column, s.row), kernel, atol=1e-9)


def test_sobels_factors_are_the_smoothing_and_difference_vectors():
    s = analysis.separability(SOBEL_X)
    scale = s.column[0]
    np.testing.assert_allclose(s.column / scale, [1, 2, 1], atol=1e-12)
    np.testing.assert_allclose(s.row * scale, [-1, 0, 1], atol=1e-12)


def test_random_and_laplacian_kernels_are_not_separable():
    random = np.random.default_rng(7).standard_normal((5, 5))
    for kernel in (random, LAPLACIAN_4):
        s = analysis.separability(kernel)
        assert not s.separable and not s.near and s.column is None


def test_a_nearly_rank_one_kernel_is_near_separable():
    kernel = np.outer([1, 2, 1], [-1, 0, 1]) + 0.01 * np.eye(3)
    s = analysis.separability(kernel)
    assert not s.separable and s.near and 0 < s.ratio < analysis.NEAR_SEPARABLE


def test_symmetry():
    assert analysis.symmetry(np.full((3, 3), 1 / 9)) == "even"
    assert analysis.symmetry(LAPLACIAN_4) == "even"
    assert analysis.symmetry(SOBEL_X) == "odd"
    assert analysis.symmetry(np.random.default_rng(1).standard_normal((3, 3))) == "none"


def test_sobel_x_prefers_edges_bright_on_the_right():
    angles, responses = analysis.orientation_tuning(SOBEL_X, steps=8)
    assert angles.tolist() == [0, 45, 90, 135, 180, 225, 270, 315]
    assert int(np.argmax(responses)) == 0 and int(np.argmin(responses)) == 4
    assert responses[0] == pytest.approx(4.0)  # 1+2+1 on the bright side, none on the dark
    assert responses[2] == pytest.approx(0.0, abs=1e-12)  # blind to horizontal edges
    np.testing.assert_allclose(responses[:4], -responses[4:], atol=1e-12)  # odd kernel


def test_a_blur_answers_half_its_gain_at_every_angle():
    _, responses = analysis.orientation_tuning(np.full((3, 3), 1 / 9), steps=12)
    np.testing.assert_allclose(responses, 0.5, atol=1e-12)


def test_not_a_kernel_is_a_value_error():
    with pytest.raises(ValueError, match="2-D"):
        analysis.frequency_response(np.zeros((2, 2, 2)))
