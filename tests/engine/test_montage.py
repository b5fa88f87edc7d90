"""The montage of `apply`: drawn from reduced data, the same whether the maps came whole or in
bands, with a colour scale that reads signed maps as signed."""

from __future__ import annotations

import numpy as np

from playground.engine.montage import MapDigest, digest_montage, montage


def banded_digest(maps: np.ndarray, cuts: list[int], tile: int = 256) -> MapDigest:
    digest = MapDigest(*maps.shape, tile=tile)
    for start, stop in zip([0, *cuts], [*cuts, maps.shape[1]]):
        digest.add(maps[:, start:stop], start)
    return digest


def test_block_averages_are_the_means_of_each_block_wherever_bands_are_cut():
    maps = np.random.default_rng(1).standard_normal((2, 1301, 1210)).astype(np.float32)
    digest = banded_digest(maps, [5, 7, 333, 334, 1000])
    b = digest.block
    assert b == 1301 // 512
    x = maps.astype(np.float64)
    for y in (0, 129, (1301 - 1) // b):
        for xx in (0, 77, (1210 - 1) // b):
            want = x[:, y * b : (y + 1) * b, xx * b : (xx + 1) * b].mean(axis=(1, 2))
            np.testing.assert_allclose(digest.means()[:, y, xx], want, rtol=1e-6)
    np.testing.assert_array_equal(digest.lo, maps.min(axis=(1, 2)))
    np.testing.assert_array_equal(digest.hi, maps.max(axis=(1, 2)))


def test_a_montage_from_bands_is_the_montage_of_the_whole_maps():
    maps = np.random.default_rng(2).standard_normal((3, 900, 700)).astype(np.float32) ** 3
    names = ["a", "b", "c"]
    whole = montage(maps, names)
    banded = digest_montage(banded_digest(maps, [1, 250, 251, 899]), names)
    assert whole.shape == banded.shape
    assert np.abs(whole.astype(int) - banded.astype(int)).max() <= 1


def test_the_colour_scale_of_a_large_map_is_its_percentile_from_samples():
    # Edges: mostly zero, a few strong lines; the scale must follow the lines, not the peak.
    rng = np.random.default_rng(3)
    maps = np.zeros((1, 3000, 2000), np.float32)
    maps[0, ::37] = rng.random((len(range(0, 3000, 37)), 2000)) + 1.0
    maps[0, 5, 5] = 100.0
    digest = banded_digest(maps, [1000, 2000])
    assert digest.step > 1  # sampled, not read whole
    want = np.percentile(np.abs(maps[0]), 99.5)
    assert abs(digest.limits()[0] - want) < 0.05 * want


def test_signed_maps_are_blue_and_red_and_non_negative_maps_grey():
    ramp = np.tile(np.linspace(-1, 1, 64, dtype=np.float32), (64, 1))
    picture = montage(np.stack([ramp, np.abs(ramp)]), ["signed", "magnitude"], tile=64)
    row = 6 + 22 + 32
    left, right = picture[row, 6 + 2], picture[row, 6 + 61]
    assert left[2] > 200 and left[0] < 60, left  # negative: blue
    assert right[0] > 200 and right[2] < 60, right  # positive: red
    grey = picture[row, 6 + 120 + 6 + 2]  # second tile (tiles are at least 120 wide)
    assert grey[0] == grey[1] == grey[2] > 200
