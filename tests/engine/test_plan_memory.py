"""Compiled plans are kept for the banks run lately, not for every bank of the undo history.

The finding (a monkey run): memory grew with each edit, because each bank in the history kept
its compiled kernels and the DFT spectra of large ones alive.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np

from playground import Bank, ConvLayer, Filter
from playground.engine import bank as bank_module
from playground.engine import editing
from tests.engine import reference


def large_kernel_bank(rng) -> Bank:
    # 15x15 random kernels are not separable: they take the DFT path, whose spectra are cached.
    filters = tuple(Filter(rng.standard_normal((3, 15, 15))) for _ in range(4))
    return Bank((ConvLayer(filters, padding="same"),))


def test_a_long_history_of_edited_banks_keeps_few_plans_in_memory():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (300, 300, 3), np.uint8)
    history = [large_kernel_bank(rng)]
    history[0].run(image)
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        for i in range(40):  # an edit, a run, and the old bank stays in the history
            kernel = np.array(history[-1].layers[0].filters[i % 4].kernels[0])
            kernel[7, 7] += 0.1
            history.append(editing.set_kernel(history[-1], 0, i % 4, 0, kernel))
            history[-1].run(image)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert len(bank_module._PLANS) <= bank_module.PLANS_KEPT
    # Each plan with its spectra is several MB; 40 of them kept would be well over 100 MB.
    assert grown < 40 * 2**20, f"{grown / 2**20:.0f} MB"


def test_undo_to_a_bank_whose_plan_was_dropped_gives_the_same_maps():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (40, 50, 3), np.uint8)
    first = large_kernel_bank(rng)
    maps = first.run(image).outputs[0]
    later = [large_kernel_bank(rng) for _ in range(bank_module.PLANS_KEPT + 2)]
    for bank in later:  # run after first: its plan is pushed out of the cache
        bank.run(image)
    assert all(ref() is not first for ref, _ in bank_module._PLANS.values())
    again = first.run(image).outputs[0]
    np.testing.assert_array_equal(again, maps)
    want = reference.run(first.to_dict(), image)[0][0]
    np.testing.assert_allclose(again, want, rtol=1e-4, atol=1e-3)
