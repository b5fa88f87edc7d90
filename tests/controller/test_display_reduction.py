"""What the panes receive: maps reduced to their on-screen size, each map's value range, and the
A/B difference, all made on the worker."""

from __future__ import annotations

import numpy as np

from playground.controller.display import finite_range, reduce_for_display
from playground.controller.pipeline import Frame, Job, Pin, compute
from playground.engine import editing
from tests.controller.test_controller import random_frames, two_filter_bank


def test_a_map_is_reduced_to_block_means_near_the_pane_size():
    rng = np.random.default_rng(4)
    full = rng.standard_normal((37, 53)).astype(np.float32)
    shown = reduce_for_display(full, (10, 10))  # (width, height)
    factor = 5  # 53 / 10 = 5.3 rounds to blocks of 5 x 5
    assert shown.shape == (37 // factor, 53 // factor)
    assert shown.dtype == np.float32
    for y in range(shown.shape[0]):
        for x in range(shown.shape[1]):
            block = [
                float(full[y * factor + i, x * factor + j])
                for i in range(factor)
                for j in range(factor)
            ]
            assert abs(shown[y, x] - sum(block) / len(block)) < 1e-5


def test_a_map_that_fits_is_shown_pixel_for_pixel():
    full = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(reduce_for_display(full, (400, 300)), full)


def test_an_rgb_frame_stays_rgb_uint8_and_keeps_its_aspect():
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[:, 640:] = (255, 0, 0)
    shown = reduce_for_display(frame, (320, 240))
    assert shown.dtype == np.uint8 and shown.shape == (180, 320, 3)
    assert shown[:, 161:].tolist() == [[[255, 0, 0]] * 159] * 180
    assert shown[:, :159].max() == 0


def test_a_thin_map_is_never_reduced_to_nothing():
    shown = reduce_for_display(np.ones((2, 4000), np.float32), (100, 100))
    assert shown.shape[0] >= 1 and shown.shape[1] >= 1


def test_value_range_ignores_nan_and_infinity():
    values = np.array([[np.nan, -2.0], [np.inf, 5.0]], np.float32)
    assert finite_range(values) == (-2.0, 5.0)
    assert finite_range(np.full((2, 2), np.nan, np.float32)) == (0.0, 0.0)
    assert finite_range(np.array([[1.5]], np.float32)) == (1.5, 1.5)


def test_the_worker_computes_b_minus_the_pinned_a_and_reduces_it():
    frame = Frame(random_frames(1)[0], 0)
    bank = two_filter_bank()
    a = compute(frame, Job(bank, 1, None, (16, 12))).outputs[0][1]
    edited = editing.set_bias(bank, 0, 1, 0.5)
    result = compute(frame, Job(edited, 2, None, (16, 12), Pin(0, 1, a)))
    difference = result.difference
    np.testing.assert_allclose(difference.full, result.outputs[0][1] - a)
    assert difference.value_range == finite_range(difference.full)
    np.testing.assert_allclose(difference.display, reduce_for_display(difference.full, (16, 12)))
    # A pin of another size (the stride changed since) has no difference to show.
    smaller = Pin(0, 1, a[::2, ::2])
    assert compute(frame, Job(edited, 3, None, (16, 12), smaller)).difference is None
