"""The probe: the arithmetic it shows must add up to the pixel the engine computed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import Bank, BankError
from playground.engine.probe import border_index
from tests.engine import reference
from tests.engine.test_apply import bank_dict, banks_and_images, conv_layer


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(banks_and_images(), st.integers(0, 2**32 - 1))
def test_the_probe_adds_up_to_the_engines_pixel_for_random_banks(case, seed):
    d, image = case
    expected = reference.run(d, image)
    if expected is None:
        return
    outputs, partials = expected
    bank = Bank.from_dict(d)
    rng = np.random.default_rng(seed)
    for n, maps in enumerate(outputs):
        for f in range(maps.shape[0]):
            y, x = int(rng.integers(maps.shape[1])), int(rng.integers(maps.shape[2]))
            p = bank.probe(image, n + 1, f + 1, y, x)
            scale = max(1.0, abs(float(maps[f, y, x])))
            assert abs(p.value - maps[f, y, x]) <= 1e-4 * scale
            for term in p.channels:
                assert np.array_equal(term.products, term.patch * term.kernel)
                assert term.partial == pytest.approx(float(term.products.sum()))
            if p.kind == "conv":
                # Each partial is that channel's map at (y, x); a filter of a layer with groups
                # reads the channels of its group only, and the probe names them.
                layer = d["layers"][n]
                kernels = len(layer["filters"][f]["kernels"])
                first = f // (len(layer["filters"]) // layer.get("groups", 1)) * kernels
                assert [t.channel for t in p.channels] == list(range(first, first + kernels))
                for i, term in enumerate(p.channels):
                    want = partials[n][f][i, y, x]
                    assert abs(term.partial - want) <= 1e-4 * max(1.0, abs(want))
                assert p.total == pytest.approx(sum(t.partial for t in p.channels))
                assert p.biased == pytest.approx(p.total + p.bias)


def test_the_seeds_vertical_line_pixel_is_three_ones_under_the_line():
    image = np.zeros((8, 8), np.uint8)
    image[:, 3:5] = 255
    kernel = [[0, 1, 0], [0, 1, 0], [0, 1, 0]]
    bank = Bank.from_dict(bank_dict([conv_layer([{"kernels": [kernel]}])], "gray"))
    p = bank.probe(image, 1, 1, 4, 1)  # the output is 6x6; its row is [0, 0, 3, 3, 0, 0]
    assert p.channels[0].patch.tolist() == [[0, 0, 1]] * 3
    assert p.channels[0].partial == 0.0 and p.value == 0.0
    p = bank.probe(image, 1, 1, 4, 2)  # the kernel's middle column on the line
    (term,) = p.channels
    assert term.patch.tolist() == [[0, 1, 1]] * 3
    assert term.products.tolist() == [[0, 1, 0]] * 3
    assert term.partial == 3.0 and p.total == 3.0 and p.bias == 0.0 and p.value == 3.0
    assert p.rows.tolist() == [4, 5, 6] and p.cols.tolist() == [2, 3, 4]


def test_padding_pixels_take_the_borders_values():
    image = np.arange(1, 5, dtype=np.float64).reshape(1, 4)  # one row: 1 2 3 4
    for border, row in [
        ("zero", [0, 0, 1, 2, 3]),
        ("replicate", [1, 1, 1, 2, 3]),
        ("reflect", [3, 2, 1, 2, 3]),
        ("wrap", [3, 4, 1, 2, 3]),
    ]:
        layer = conv_layer([{"kernels": [[[1, 1, 1, 1, 1]]]}], padding=[0, 2], border=border)
        bank = Bank.from_dict(bank_dict([layer], "gray"))
        p = bank.probe(image, 1, 1, 0, 0)
        assert p.channels[0].patch.tolist() == [row], border
        assert p.cols.tolist() == [-2, -1, 0, 1, 2]


def test_border_index_handles_pads_wider_than_the_image():
    index = np.arange(-7, 10)
    # numpy's pad modes on 0 1 2 are the definition
    for border, mode in [("reflect", "reflect"), ("replicate", "edge"), ("wrap", "wrap")]:
        padded = np.pad(np.arange(3), 7, mode=mode)
        assert border_index(index, 3, border).tolist() == padded[index + 7].tolist(), border
    assert border_index(np.array([-1, 0, 3]), 3, "zero").tolist() == [-1, 0, -1]


def test_a_max_pool_probe_names_the_input_that_won():
    image = np.zeros((4, 4), np.float64)
    image[1, 2] = 0.9
    image[0, 3] = 0.4
    layers = [conv_layer([{"kernels": [[[1.0]]]}]), {"type": "pool", "op": "max", "size": 2}]
    bank = Bank.from_dict(bank_dict(layers, "gray"))
    p = bank.probe(image, 2, 1, 0, 1)
    assert p.kind == "pool" and p.winner == (1, 2) and p.value == pytest.approx(0.9)
    assert p.rows.tolist() == [0, 1] and p.cols.tolist() == [2, 3]
    avg = Bank.from_dict(bank_dict([layers[0], {**layers[1], "op": "avg"}], "gray"))
    assert avg.probe(image, 2, 1, 0, 1).value == pytest.approx((0.9 + 0.4) / 4)


def test_out_of_range_probes_are_bank_errors():
    bank = Bank.from_dict(bank_dict([conv_layer([{"kernels": [[[1.0]]]}])], "gray"))
    image = np.zeros((5, 6), np.uint8)
    with pytest.raises(BankError, match="layer 2 does not exist"):
        bank.probe(image, 2, 1, 0, 0)
    with pytest.raises(BankError, match="filter 3 does not exist"):
        bank.probe(image, 1, 3, 0, 0)
    with pytest.raises(BankError, match=r"outside its 5x6 output"):
        bank.probe(image, 1, 1, 5, 0)
