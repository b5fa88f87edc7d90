"""Small banks that ask for absurd work are refused up front, in one line, before any map.

The banks are built in code from the issue's reproductions ("Hostile input and concurrent use"):
8 layers of padding 1024 (1 KB of JSON, 3.5 GB of maps), 1024 filters followed by 63 pools
(65,536 maps), and 1024 filters mixing 1024 maps.
"""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine import budget, convolve
from playground.engine.bank import Bank, ConvLayer, Filter, PoolLayer
from playground.engine.errors import BankError

HD = (720, 1280)  # (height, width) of the camera frames


def padded_bank(layers: int = 8) -> Bank:
    """The 1 KB bank: each layer a 1x1 kernel with padding 1024, so every layer grows the
    image by 2048 pixels a side."""
    convs = [ConvLayer((Filter.repeated([[1.0]], 3),), padding=1024)]
    convs += [ConvLayer((Filter.repeated([[1.0]], 1),), padding=1024) for _ in range(layers - 1)]
    return Bank(tuple(convs))


def pool_bank() -> Bank:
    """The 94 KB bank: 1024 filters, then 63 pools that keep all 1024 maps at full size."""
    first = ConvLayer(tuple(Filter.repeated([[1.0]], 3) for _ in range(1024)))
    return Bank((first, *(PoolLayer("max", 1) for _ in range(63))))


def mixing_bank() -> Bank:
    """The 6 MB bank: 1024 filters, then 1024 filters of 1024 channels each."""
    first = ConvLayer(tuple(Filter.repeated([[1.0]], 3) for _ in range(1024)))
    mix = ConvLayer(tuple(Filter.repeated([[1 / 1024]], 1024) for _ in range(1024)))
    return Bank((first, mix))


def image(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width, 3), np.uint8)


@pytest.fixture
def no_convolution(monkeypatch):
    """Any convolution, pooling or padding fails the test: a refusal must come before them."""

    def fail(*args, **kwargs):
        raise AssertionError("the engine started computing a bank it should have refused")

    for name in ("run_conv", "run_pool", "compile_conv"):
        monkeypatch.setattr(convolve, name, fail)


def assert_one_line(error: BankError) -> str:
    text = str(error)
    assert "\n" not in text and len(text) < 200, text
    return text


@pytest.mark.parametrize(
    ("bank", "message"),
    [
        (
            padded_bank,
            "layer 6 would need 2.4 GB of feature maps on this 1280x720 image; the limit is 2 GB",
        ),
        (
            pool_bank,
            "layer 1 would need 3.5 GB of feature maps on this 1280x720 image; the limit is 2 GB",
        ),
        (
            mixing_bank,
            "layer 1 would need 3.5 GB of feature maps on this 1280x720 image; the limit is 2 GB",
        ),
    ],
    ids=["padding-1024", "1024-filters-63-pools", "1024-into-1024"],
)
def test_hostile_banks_are_refused_before_any_convolution(bank, message, no_convolution):
    b, frame = bank(), image(*HD)
    with pytest.raises(BankError) as e:
        b.apply(frame)
    assert assert_one_line(e.value) == message
    # The live view's run (with a channel story) and apply with partial maps hold more.
    for call in (b.run, lambda f: b.run(f, (0, 0)), lambda f: b.apply(f, partials=True)):
        with pytest.raises(BankError) as e:
            call(frame)
        text = assert_one_line(e.value)
        assert " of feature maps on this 1280x720 image; the limit is 2 GB" in text


def test_too_much_arithmetic_is_refused_with_the_work_it_would_need(no_convolution):
    # 64 filters of 101x101 kernels mixing 64 maps: small maps, about 2e13 multiply-adds.
    big = np.ones((101, 101))
    first = ConvLayer(tuple(Filter.repeated(big, 3) for _ in range(64)), padding="same")
    mix = ConvLayer(tuple(Filter.repeated(big, 64) for _ in range(64)), padding="same")
    bank = Bank((first, mix))
    with pytest.raises(BankError) as e:
        bank.apply(image(480, 640))
    text = assert_one_line(e.value)
    assert text.startswith("layer 2 would need ")
    assert "multiply-adds per frame on this 640x480 image; the limit is 1.0 trillion" in text


def test_the_estimate_counts_the_maps_a_run_holds_and_the_multiply_adds():
    # 2 filters of 3x3 on rgb with padding 4 (a padded copy of the input), then a 2x2 pool.
    k = np.arange(9.0).reshape(3, 3)
    conv = ConvLayer((Filter.repeated(k, 3), Filter.repeated(-k, 3)), padding=4)
    bank = Bank((conv, PoolLayer("max", 2)))
    h, w = 30, 40
    outputs = bank.apply(image(h, w))
    est = budget.estimate(bank, h, w)
    maps = sum(o.nbytes for o in outputs)
    planes = 3 * h * w * 4
    padded = 3 * (h + 8) * (w + 8) * 4
    # The pool's maps arrive after the padded copy is freed; the conv's peak is the larger.
    assert est.bytes == planes + outputs[0].nbytes + padded
    assert est.bytes >= planes + maps
    oh, ow = outputs[0].shape[1:]
    assert est.flops == 2 * 3 * 9 * oh * ow + 2 * 4 * outputs[1].shape[1] * outputs[1].shape[2]
    assert not est.heavy


def test_a_bank_that_fits_but_is_slow_is_heavy_not_refused():
    # The 6 MB bank on a 600x400 image: 1.8 GB of maps, a quarter of a trillion multiply-adds.
    est = budget.estimate(mixing_bank(), 400, 600)
    assert est.bytes < budget.MAX_MAP_BYTES and est.heavy
    assert est.describe() == "252 billion multiply-adds and 1.8 GB of maps per frame"


def test_designed_banks_are_far_inside_the_limits():
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    layer = ConvLayer(tuple(Filter.repeated(sobel, 3) for _ in range(16)), padding="same")
    bank = Bank((layer, *(ConvLayer((Filter.repeated(sobel, 16),) * 16, padding="same"),) * 7))
    est = budget.estimate(bank, 1080, 1920)
    assert est.bytes < budget.MAX_MAP_BYTES / 1.5
    assert est.flops < budget.MAX_MULTIPLY_ADDS / 10
