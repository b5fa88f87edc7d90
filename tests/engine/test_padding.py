"""Padding as [top, bottom, left, right]: asymmetric padding in the file, the engine, the probe,
the output size and the layer's description; older files' int and [y, x] read as they did."""

from __future__ import annotations

import json

import numpy as np
import pytest

from playground import Bank, BankError, ConvLayer, Filter, load_bank, save_bank
from playground.engine import editing
from tests.engine import reference
from tests.engine.test_apply import assert_matches_reference, bank_dict, conv_layer

RNG = np.random.default_rng(91)
IMAGE = RNG.integers(0, 256, (80, 96, 3), dtype=np.uint8)


def one_filter(k=3, channels=3):
    return [{"kernels": RNG.standard_normal((channels, k, k)).tolist(), "bias": 0.25}]


@pytest.mark.parametrize("border", ["zero", "reflect", "replicate", "wrap"])
@pytest.mark.parametrize(
    ("padding", "k"),
    [
        ([0, 2, 1, 0], 3),  # inside the kernel: filter2D pads by itself, anchor moved
        ([4, 0, 0, 6], 3),  # wider than the kernel on one side: a padded copy
        ([0, 1, 5, 2], 9),  # the compiled row loop
        ([0, 1, 5, 2], 15),  # the DFT blocks
        ([90, 3, 0, 100], 3),  # wider than the image
    ],
)
def test_asymmetric_padding_matches_the_reference_on_every_engine_path(border, padding, k):
    d = bank_dict([conv_layer(one_filter(k) * 2, padding=padding, border=border, stride=[2, 1])])
    assert_matches_reference(d, IMAGE)
    bank = Bank.from_dict(d)
    want = reference.run(d, IMAGE)[0][0]
    np.testing.assert_allclose(bank.run(IMAGE).outputs[0], want, rtol=1e-4, atol=1e-4)
    # The probe reads the same padded pixels: the corner the padding moved.
    for y, x in ((0, 0), (want.shape[1] - 1, want.shape[2] - 1)):
        assert bank.probe(IMAGE, 1, 2, y, x).value == pytest.approx(float(want[1, y, x]), abs=1e-4)


def test_padding_is_written_as_short_as_it_reads_back(tmp_path):
    f = (Filter(np.ones((3, 3, 3))),)
    cases = {2: 2, (1, 2): [1, 2], (1, 1, 2, 2): [1, 2], (0, 2, 1, 1): [0, 2, 1, 1]}
    for given, written in cases.items():
        bank = Bank((ConvLayer(f, padding=given),))
        path = tmp_path / "bank.json"
        save_bank(bank, path)
        assert json.loads(path.read_text())["layers"][0]["padding"] == written
        assert load_bank(path) == bank
    assert ConvLayer(f, padding=[3, 1]).padding == (3, 3, 1, 1)  # an older file's [y, x]


@pytest.mark.parametrize(
    ("padding", "message"),
    [
        ([1, 2, 3], "padding must be 'valid', 'same', an integer, [y, x] or [top, bottom, left,"),
        ([1, 2, 3, 1.5], "padding must be 'valid', 'same', an integer, [y, x] or"),
        ([1, 2, -1, 0], "padding must be between 0 and 1024, got [1, 2, -1, 0]"),
        ([0, 0, 0, 2000], "padding must be between 0 and 1024"),
    ],
)
def test_bad_padding_is_refused_in_one_line_naming_the_layer(padding, message):
    with pytest.raises(BankError) as refused:
        Bank.from_dict(bank_dict([conv_layer(one_filter(), padding=padding)]))
    assert str(refused.value).startswith("layer 1: ") and message in str(refused.value)


def test_the_output_size_and_the_description_count_each_side():
    bank = Bank.from_dict(bank_dict([conv_layer(one_filter(), padding=[0, 2, 1, 4])]))
    assert bank.output_shapes(20, 30) == [(1, 20, 33)]
    assert "pad 0 2 1 4 → 1 × 20 × 33" in editing.describe_layer(bank, 0, 20, 30)
    text = editing.output_size_text(bank, 0, 20, 30)
    assert text.splitlines() == [
        "H' = ⌊(20 + 2 − 1·(3−1) − 1) / 1⌋ + 1 = 20",
        "W' = ⌊(30 + 5 − 1·(3−1) − 1) / 1⌋ + 1 = 33",
    ]
    assert editing.padding_text((1, 1, 2, 2)) == "1×2" and editing.padding_text("same") == "same"
