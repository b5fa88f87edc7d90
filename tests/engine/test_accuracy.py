"""Round-off stays local: a bright region must not swamp a dim one's float32 precision.

A product of spectra spreads each transform's round-off over the whole transform: one frame-sized
DFT put an error of 1.5e-2 next to a region 10000x brighter elsewhere in the frame, where float32
direct sums give 4e-6. The bound a direct float32 sum meets is a few units of round-off of the
terms it adds, sum |w| |x| over the receptive field; these tests hold every output pixel to it.
"""

from __future__ import annotations

import numpy as np
import pytest

from playground import Bank
from tests.engine import reference
from tests.engine.test_apply import bank_dict, conv_layer

EPS32 = float(np.finfo(np.float32).eps)


def bright_square_image(h: int, w: int, brightness: float, seed: int = 0) -> np.ndarray:
    """Random [0, 1) RGB pixels, with a square in the top left corner ``brightness`` times
    brighter."""
    rng = np.random.default_rng(seed)
    image = rng.random((h, w, 3)).astype(np.float32)
    image[h // 8 : h // 8 + h // 5, w // 8 : w // 8 + h // 5] *= np.float32(brightness)
    return image


def local_bound(d: dict, image: np.ndarray) -> np.ndarray:
    """sum |w| |x| over each output pixel's receptive field (plus |bias|), in float64."""
    magnitudes = {
        **d,
        "layers": [
            {
                **d["layers"][0],
                "activation": "none",
                "filters": [
                    {"kernels": np.abs(f["kernels"]).tolist(), "bias": abs(f.get("bias", 0.0))}
                    for f in d["layers"][0]["filters"]
                ],
            }
        ],
    }
    return reference.run(magnitudes, np.abs(image))[0][0]


@pytest.mark.parametrize("k", [3, 5, 9, 11, 15])
@pytest.mark.parametrize("border", ["zero", "reflect"])
def test_error_next_to_a_bright_region_stays_within_local_round_off(k, border):
    rng = np.random.default_rng(k)
    filters = [
        {"kernels": rng.standard_normal((3, k, k)).tolist(), "bias": float(rng.standard_normal())}
        for _ in range(4)
    ]
    d = bank_dict([conv_layer(filters, padding="same", border=border)])
    image = bright_square_image(300, 420, 10000.0)
    want = reference.run(d, image)[0][0]
    bound = local_bound(d, image)
    # The live view's path (compiled loops to 13x13, DFT blocks past it) and the partial maps' path.
    bank = Bank.from_dict(d)
    for got in (bank.run(image).outputs[0], bank.apply(image, partials=True)[0][0]):
        error = np.abs(got - want)
        # A float32 sum of n terms is within about n units of round-off of sum |terms|; far
        # fewer in practice. 3 k^2 terms per pixel.
        worst = float((error / (bound * EPS32)).max())
        assert worst < 3 * k * k, f"error {worst:.3g} units of local round-off"
        # Most of the frame is dim: there the error is that of the dim pixels' own sums.
        dim = bound < 1000
        assert dim.mean() > 0.5
        assert float(error[dim].max()) < 1e-4


def test_only_blocks_with_a_wide_range_take_float64(monkeypatch):
    """float64 blocks cost about twice float32 ones: an ordinary frame, zero padding included,
    must not take them; a frame with a 10000x brighter square does, in the blocks around it."""
    from playground.engine import convolve

    seen: list[bool] = []
    high_range = convolve._high_range
    monkeypatch.setattr(convolve, "_high_range", lambda r: seen.append(high_range(r)) or seen[-1])
    rng = np.random.default_rng(0)
    filters = [{"kernels": rng.standard_normal((3, 15, 15)).tolist()} for _ in range(2)]
    bank = Bank.from_dict(bank_dict([conv_layer(filters, padding="same")]))
    bank.apply(rng.integers(0, 256, (600, 700, 3), dtype=np.uint8))
    assert len(seen) > 1 and not any(seen)
    seen.clear()
    bank.apply(bright_square_image(600, 700, 10000.0))
    assert any(seen) and not all(seen)
