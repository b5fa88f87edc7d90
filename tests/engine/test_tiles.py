"""Banded runs (giant images) and dask arrays give the maps of a whole-image run.

The whole run (`Bank.apply`) is the reference for the seams: bands are cut every few rows, so a
wrong halo, stride alignment or border shows up as a wrong row at a seam. The float64 reference
of tests/engine/reference.py checks that the whole run itself is right.
"""

from __future__ import annotations

import itertools

import dask.array as dask_array
import numpy as np
import pytest

from playground.engine import tiles
from playground.engine.bank import Bank, ConvLayer, Filter, PoolLayer
from tests.engine import reference

BORDERS = ("zero", "reflect", "replicate", "wrap")
PADDINGS = ("same", 2, "valid")


def seam_bank(border: str, padding: str | int, mode: str = "rgb", seed: int = 3) -> Bank:
    """Strides on both axes, a dilation, a pool with a stride unlike its size, an activation;
    under "same" padding, filters of two sizes in one layer. Kernels small enough that every
    filter runs directly (no DFT)."""
    rng = np.random.default_rng(seed)
    c = 3 if mode == "rgb" else 1

    def filt(*shape: int) -> Filter:
        return Filter(rng.standard_normal(shape), float(rng.standard_normal()))

    second = (filt(2, 3, 3), filt(2, 3, 5) if padding == "same" else filt(2, 3, 3))
    return Bank(
        (
            ConvLayer(
                (filt(c, 3, 3), filt(c, 3, 3)),
                stride=(2, 1),
                padding=padding,
                border=border,
                activation="relu",
            ),
            ConvLayer(second, stride=(3, 2), dilation=2, padding=padding, border=border),
            PoolLayer("max", (3, 2), (2, 2)),
            ConvLayer((filt(2, 3, 3),), padding=padding, border=border, activation="tanh"),
        ),
        input=mode,
    )


def run_in_bands(bank: Bank, image: np.ndarray, folder, budget: int) -> list[np.ndarray]:
    shapes = bank.output_shapes(*image.shape[:2])
    files = [tiles.MapFile(folder / f"layer{n}.npy", s) for n, s in enumerate(shapes, 1)]
    seen: list[list[tuple[int, int]]] = [[] for _ in shapes]
    tiles.apply_bands(
        bank,
        lambda start, stop: bank.input_planes(image[start:stop]),
        image.shape[0],
        image.shape[1],
        files,
        watch=lambda n, rows, start: seen[n].append((start, start + rows.shape[1])),
        budget=budget,
    )
    for n, bands in enumerate(seen):
        assert len(bands) > 1, f"layer {n + 1} ran in {len(bands)} bands: no seams tested"
        assert [a for a, _ in bands[1:]] == [b for _, b in bands[:-1]], "bands leave a gap"
    return [np.load(f.path, allow_pickle=False) for f in files]


@pytest.mark.parametrize(("border", "padding"), list(itertools.product(BORDERS, PADDINGS)), ids=str)
def test_bands_give_the_whole_runs_maps_bit_for_bit(tmp_path, border, padding):
    bank = seam_bank(border, padding)
    image = np.random.default_rng(5).integers(0, 256, (211, 157, 3), dtype=np.uint8)
    whole = bank.apply(image)
    banded = run_in_bands(bank, image, tmp_path, budget=8_000)
    want = reference.run(bank.to_dict(), image)[0]
    for n, (got, same, exact) in enumerate(zip(banded, whole, want), 1):
        assert got.shape == same.shape == exact.shape, f"layer {n}"
        assert np.array_equal(got, same), f"layer {n}: rows {np.unique(np.nonzero(got != same)[1])}"
        np.testing.assert_allclose(got, exact, rtol=0, atol=2e-4, err_msg=f"layer {n}")


def test_a_gray_bank_in_bands_reads_luma_as_the_whole_run(tmp_path):
    bank = seam_bank("reflect", "same", mode="gray")
    image = np.random.default_rng(6).integers(0, 256, (190, 131, 3), dtype=np.uint8)
    for got, want in zip(run_in_bands(bank, image, tmp_path, budget=8_000), bank.apply(image)):
        assert np.array_equal(got, want)


def test_dft_filters_in_bands_differ_from_the_whole_run_by_round_off_only(tmp_path):
    rng = np.random.default_rng(8)
    # 15x15 non-separable kernels go through the engine's DFT blocks.
    bank = Bank(
        (
            ConvLayer(tuple(Filter(rng.standard_normal((3, 15, 15))) for _ in range(2))),
            ConvLayer((Filter(rng.standard_normal((2, 3, 3))),), padding="same"),
        )
    )
    image = rng.integers(0, 256, (300, 280, 3), dtype=np.uint8)
    banded = run_in_bands(bank, image, tmp_path, budget=400_000)
    for got, want in zip(banded, reference.run(bank.to_dict(), image)[0]):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize("border", BORDERS)
def test_a_dask_array_gives_bank_apply_s_maps_bit_for_bit(border):
    bank = seam_bank(border, "same")
    image = np.random.default_rng(9).integers(0, 256, (233, 141, 3), dtype=np.uint8)
    # Chunks of 37 rows are shorter than layer 2's halo: apply_dask rechunks them.
    lazy = tiles.apply_dask(bank, dask_array.from_array(image, chunks=(37, 60, 2)))
    got = dask_array.compute(*lazy, scheduler="synchronous")
    for n, (maps, want) in enumerate(zip(got, bank.apply(image)), 1):
        assert maps.dtype == np.float32
        assert np.array_equal(maps, want), f"layer {n}"


def test_a_dask_array_of_float_gray_pixels_in_one_chunk():
    bank = seam_bank("wrap", 2, mode="gray")
    image = np.random.default_rng(10).random((90, 70))
    lazy = tiles.apply_dask(bank, dask_array.from_array(image))
    for maps, want in zip(dask_array.compute(*lazy, scheduler="synchronous"), bank.apply(image)):
        assert np.array_equal(maps, want)


def test_the_receptive_field_is_what_one_output_pixel_reads():
    rng = np.random.default_rng(11)
    bank = Bank(
        (
            ConvLayer((Filter(rng.random((1, 3, 3)) + 0.5),), dilation=(2, 1)),  # 5 x 3 pixels
            PoolLayer("avg", 2),
            ConvLayer((Filter(rng.random((1, 3, 3)) + 0.5),), stride=2),
        ),
        input="gray",
    )
    rows, cols = tiles.receptive_field(bank)
    assert (rows, cols) == (5 + 1 + 2 * 2, 3 + 1 + 2 * 2)
    image = np.zeros((rows + 4, cols + 4))
    base = bank.apply(image)[-1][0, 0, 0]
    # Output (0, 0) reads exactly rows [0, rows) and columns [0, cols).
    for y, x, inside in ((rows - 1, cols - 1, True), (rows, 0, False), (0, cols, False)):
        poked = image.copy()
        poked[y, x] = 1.0
        changed = bank.apply(poked)[-1][0, 0, 0] != base
        assert changed == inside, (y, x)
