"""What the panes receive: maps reduced to their on-screen size, each map's value range, and the
A/B difference, all made on the worker."""

from __future__ import annotations

import itertools

import numpy as np

from playground.controller.display import finite_range, reduce_and_measure, reduce_for_display
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


def _block_means_and_range(full: np.ndarray, factor: int):
    """The float64 reference: factor x factor block means, and the finite min and max."""
    rows, cols = full.shape[0] // factor, full.shape[1] // factor
    means = np.zeros((rows, cols))
    for y in range(rows):
        for x in range(cols):
            total = 0.0
            for i in range(factor):
                for j in range(factor):
                    total += float(full[y * factor + i, x * factor + j])
            means[y, x] = total / factor**2
    finite = [float(v) for v in full.ravel() if np.isfinite(v)]
    return means, (min(finite), max(finite))


def test_a_map_is_reduced_and_measured_in_one_banded_pass():
    rng = np.random.default_rng(7)
    # Tall enough for several 256 KB bands, and a height that is no multiple of the factor.
    full = rng.standard_normal((1203, 700)).astype(np.float32)
    full[5, 5], full[900, 3] = np.nan, -40.0
    display, value_range = reduce_and_measure(full, (100, 200))  # (width, height)
    factor = 7  # 700 / 100
    means, expected_range = _block_means_and_range(np.nan_to_num(full, nan=0.0), factor)
    assert value_range == expected_range == (-40.0, float(np.nanmax(full)))
    assert display.shape == means.shape
    assert np.isnan(display[0, 0])  # the block holding the NaN
    mask = np.ones(means.shape, bool)
    mask[0, 0] = False
    np.testing.assert_allclose(display[mask], means[mask], atol=1e-5)


def test_the_range_counts_the_rows_and_columns_no_display_block_holds():
    # 67 x 66 by 8: the last 3 rows and 2 columns fill no block of the pane, but they are
    # values of the map, and the hover readout and the levels must count them.
    full = np.random.default_rng(3).random((67, 66)).astype(np.float32)
    full[66, 10], full[5, 65] = -7.0, 9.0
    display, value_range = reduce_and_measure(full, (8, 8))
    means, expected_range = _block_means_and_range(full, 8)
    assert value_range == expected_range == (-7.0, 9.0)
    np.testing.assert_allclose(display, means, atol=1e-6)


def test_an_infinity_leaves_the_measured_range_finite():
    full = np.zeros((64, 64), np.float32)
    full[3, 3], full[10, 10] = np.inf, 2.5
    assert reduce_and_measure(full, (8, 8))[1] == (0.0, 2.5)
    assert reduce_and_measure(np.full((64, 64), np.nan, np.float32), (8, 8))[1] == (0.0, 0.0)


def test_maps_measured_by_the_engine_as_it_makes_them_match_the_reference():
    """The worker reduces maps band by band inside the engine's run; what the panes get must be
    what reducing the finished maps gives: every layer, the story's partial maps included."""
    rng = np.random.default_rng(8)
    image = rng.integers(0, 256, (331, 517, 3), dtype=np.uint8)
    bank = two_filter_bank()
    result = compute(Frame(image, 0), Job(bank, 1, (0, 1), (40, 30)))
    assert result.error is None and result.reductions >= 2
    for n, layer_maps in enumerate(result.maps):
        for o, shown in enumerate(layer_maps):
            full = result.outputs[n][o]
            factor = round(517 / 40)
            means, value_range = _block_means_and_range(full, factor)
            assert shown.value_range == value_range
            np.testing.assert_allclose(shown.display, means, atol=1e-5)
    story = result.story
    assert story is not None
    for partial in story.partials:
        means, value_range = _block_means_and_range(partial.full, round(517 / 40))
        assert partial.value_range == value_range
        np.testing.assert_allclose(partial.display, means, atol=1e-5)
    # The sum the engine makes with the partial maps, measured with them.
    means, value_range = _block_means_and_range(story.total.full, round(517 / 40))
    assert story.total.value_range == value_range
    np.testing.assert_allclose(story.total.display, means, atol=1e-5)


def test_engine_bands_come_aligned_and_cover_every_row_once():
    rng = np.random.default_rng(9)
    image = rng.integers(0, 256, (700, 900, 3), dtype=np.uint8)
    bank = two_filter_bank()
    told: list[tuple[int, int, int | None, int, int]] = []

    class Watcher:
        def alignment(self, layer, height, width):
            return 7

        def rows_done(self, layer, filt, channel, values, start, stop):
            told.append((layer, filt, channel, start, stop))

    run = bank.run(image, (0, 0), watcher=Watcher())
    height = run.outputs[0].shape[1]
    for key in {(layer, filt, channel) for layer, filt, channel, _, _ in told}:
        bands = sorted((start, stop) for *k, start, stop in told if tuple(k) == key)
        assert bands[0][0] == 0 and bands[-1][1] == height
        assert all(a[1] == b[0] for a, b in itertools.pairwise(bands))
        assert all(start % 7 == 0 for start, _ in bands)
    # The story filter's partial maps are told of too, one per input channel, then their sum.
    assert {channel for _, filt, channel, _, _ in told if filt == 0} == {None, 0, 1, 2, 3}


def test_maps_told_of_band_by_band_reduce_to_the_block_means_of_the_whole_map():
    # The live view reduces each band of rows as the engine makes it (BandMeasure); bands of
    # a multiple of the factor, an odd last one, and columns past the last whole block.
    from playground.controller.display import BandMeasure

    rng = np.random.default_rng(8)
    for factor, (h, w) in ((2, (41, 67)), (3, (60, 100)), (5, (37, 53))):
        full = rng.standard_normal((h, w)).astype(np.float32)
        size = (w // factor, h // factor)
        measure = BandMeasure(size, {(0, 0)}, set())
        for start in range(0, h, 2 * factor):
            measure.rows_done(0, 0, None, full, start, min(h, start + 2 * factor))
        result = measure.result(0, 0, None, full)
        assert result is not None
        shown, value_range = result
        assert shown.shape == (h // factor, w // factor)
        want = np.zeros(shown.shape)
        for y, x in itertools.product(range(shown.shape[0]), range(shown.shape[1])):
            block = full[y * factor : (y + 1) * factor, x * factor : (x + 1) * factor]
            want[y, x] = sum(float(v) for v in block.ravel()) / factor**2
        np.testing.assert_allclose(shown, want, rtol=0, atol=1e-6)
        assert value_range == (float(full.min()), float(full.max()))
