"""A bank exported as ONNX runs in onnxruntime with the numbers Bank.apply gives, every layer,
from the same uint8 RGB frame: each border, padding, stride, dilation, flip, activation and
pool, in rgb and gray banks."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest

from playground import Bank, BankError, ConvLayer, Filter, PoolLayer, export_onnx

RNG = np.random.default_rng(41)
FRAME = RNG.integers(0, 256, (27, 35, 3), dtype=np.uint8)


def layer(c_in, c_out=3, k=(3, 3), **settings):
    filters = tuple(
        Filter(RNG.standard_normal((c_in, *k)), float(RNG.standard_normal()), f"f{o}")
        for o in range(c_out)
    )
    return ConvLayer(filters, **settings)


def onnxruntime_maps(path, frame):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [out[0] for out in session.run(None, {"frame": frame})]


BANKS = {
    "same zero": Bank((layer(3, padding="same"),)),
    "same reflect, flip, relu": Bank(
        (layer(3, k=(5, 3), padding="same", border="reflect", flip=True, activation="relu"),)
    ),
    "explicit replicate, dilated": Bank(
        (layer(3, padding=(2, 3), border="replicate", dilation=(2, 1), activation="tanh"),)
    ),
    "explicit wrap, strided": Bank(
        (layer(3, padding=(1, 2), border="wrap", stride=(2, 3), activation="sigmoid"),)
    ),
    "same zero strided": Bank((layer(3, k=(4, 4), padding="same", stride=2, activation="abs"),)),
    "valid": Bank((layer(3, padding="valid"),)),
    "leaky relu": Bank((layer(3, padding="same", activation="leaky-relu", slope=0.15),)),
    "gray, stacked, pools": Bank(
        (
            layer(1, 4, padding="same", activation="relu"),
            PoolLayer("max", (2, 2)),
            layer(4, 2, k=(3, 3), padding=(1, 1)),
            PoolLayer("avg", (3, 2), (1, 2)),
        ),
        input="gray",
    ),
    "asymmetric reflect": Bank((layer(3, padding=(0, 2, 3, 1), border="reflect"),)),
    "asymmetric wrap, strided": Bank((layer(3, padding=(2, 0, 0, 1), border="wrap", stride=2),)),
    "asymmetric replicate": Bank((layer(3, padding=(1, 3, 2, 0), border="replicate"),)),
    "asymmetric zero": Bank((layer(3, padding=(0, 1, 1, 0)),)),
    "depthwise, then two groups": Bank(
        (
            ConvLayer(
                tuple(Filter(RNG.standard_normal((1, 3, 3)), 0.1 * o, f"d{o}") for o in range(6)),
                padding="same",
                border="reflect",
                groups=3,
                activation="relu",
            ),
            layer(3, 4, padding=(1, 2), stride=2, groups=2),
        )
    ),
    "mixed odd kernel sizes": Bank(
        (
            ConvLayer(
                (
                    Filter(RNG.standard_normal((3, 3, 3)), 0.1, "a"),
                    Filter(RNG.standard_normal((3, 5, 1)), -0.2, "b"),
                ),
                padding="same",
                border="reflect",
            ),
        )
    ),
}


@pytest.mark.parametrize("name", BANKS)
def test_an_exported_bank_gives_the_maps_of_bank_apply_in_onnxruntime(tmp_path, name):
    bank = BANKS[name]
    path = export_onnx(bank, tmp_path / "bank.onnx")
    onnx.checker.check_model(onnx.load(str(path)))
    got = onnxruntime_maps(path, FRAME)
    want = bank.apply(FRAME)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, atol=2e-5, rtol=1e-5)
    # The model takes frames of any size.
    other = RNG.integers(0, 256, (40, 22, 3), dtype=np.uint8)
    for g, w in zip(onnxruntime_maps(path, other), bank.apply(other)):
        np.testing.assert_allclose(g, w, atol=2e-5, rtol=1e-5)


def test_what_onnx_cannot_run_as_the_bank_does_is_refused_and_writes_nothing(tmp_path):
    bank = Bank((layer(3, padding="same", border="reflect", stride=2),))
    target = tmp_path / "bank.onnx"
    target.write_bytes(b"the user's earlier export")
    with pytest.raises(BankError, match="depends on the frame's size"):
        export_onnx(bank, target)
    assert target.read_bytes() == b"the user's earlier export"
