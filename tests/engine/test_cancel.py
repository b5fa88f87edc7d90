"""Bank.run's ``cancelled`` callback: a run for a bank nobody waits for any more stops early."""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine import bank as bank_module
from playground.engine import convolve
from playground.engine.bank import Bank, ConvLayer, Filter, PoolLayer, RunCancelled


def _bank(filters: int = 8) -> Bank:
    rng = np.random.default_rng(3)
    first = ConvLayer(
        tuple(Filter(rng.standard_normal((3, 3, 3)), 0.1 * i) for i in range(filters)),
        padding="same",
    )
    second = ConvLayer((Filter(rng.standard_normal((filters, 3, 3)), 0.0),), padding="same")
    return Bank((first, PoolLayer(), second))


@pytest.fixture
def filters_computed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the filters convolve.run_conv is asked for, and forces chunks in every layer."""
    counted: list[int] = []
    real = convolve.run_conv

    def counting(plan, x, *args, **kwargs):
        counted.append(len(plan.filters))
        return real(plan, x, *args, **kwargs)

    monkeypatch.setattr(convolve, "run_conv", counting)
    monkeypatch.setattr(bank_module, "_CANCEL_CHUNK_TAPS", 0)
    monkeypatch.setattr(bank_module, "_CANCEL_CHUNK_S", 0.0)  # every chunk as small as it gets
    monkeypatch.setattr(bank_module.os, "cpu_count", lambda: 2)
    return counted


def test_a_run_cancelled_between_filters_computes_no_more_filters(filters_computed):
    image = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    checks = []

    def cancelled() -> bool:
        checks.append(1)
        return len(checks) > 2  # the layer check and one chunk pass; the next chunk stops

    with pytest.raises(RunCancelled):
        _bank().run(image, cancelled=cancelled)
    assert sum(filters_computed) == 2  # of the bank's 9 filters


def test_a_run_cancelled_between_layers_stops_before_the_next_layer(filters_computed):
    image = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    with pytest.raises(RunCancelled):
        _bank().run(image, cancelled=lambda: True)
    assert filters_computed == []


def test_chunked_runs_give_the_same_maps_and_story(filters_computed):
    image = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    bank = _bank()
    plain = bank.run(image, selected=(0, 5))
    chunked = bank.run(image, selected=(0, 5), cancelled=lambda: False)
    assert max(filters_computed[2:]) == 2  # the cancellable run went in chunks of 2
    for a, b in zip(plain.outputs, chunked.outputs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert plain.partials is not None and chunked.partials is not None
    np.testing.assert_array_equal(plain.partials, chunked.partials)
    # A weight edit on the same image reruns only the changed filter, cancellable too.
    edited = bank.with_kernel(0, 3, 0, np.ones((3, 3)))
    again = edited.run(image, selected=(0, 5), reuse=chunked, cancelled=lambda: False)
    expected = edited.run(image, selected=(0, 5), reuse=plain)
    assert again.reused == expected.reused == {(0, o) for o in range(8) if o not in (3, 5)}
    for a, b in zip(expected.outputs, again.outputs, strict=True):
        np.testing.assert_array_equal(a, b)
