"""The generated numpy, PyTorch and Keras 3 code runs and gives the engine's first layer: every
border, asymmetric padding and padding wider than the image, stride, dilation, flip,
activation and groups. numpy runs always; PyTorch and Keras (on its torch backend, in a child
Python) run where they are installed: peers, not features, so their tests skip without them."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from playground import Bank, ConvLayer, Filter
from playground.engine.weights import export_snippet
from tests.engine import reference
from tests.isolated import run_python

RNG = np.random.default_rng(73)
IMAGE = RNG.random((9, 11, 3)).astype(np.float32)


def bank(c_out=4, per=3, k=(3, 3), input_mode="rgb", **settings) -> Bank:
    filters = tuple(
        Filter(RNG.standard_normal((per, *k)), float(RNG.standard_normal())) for _ in range(c_out)
    )
    return Bank((ConvLayer(filters, **settings),), input=input_mode)


CASES = {
    "same zero": bank(padding="same"),
    "asymmetric replicate strided": bank(
        padding=(0, 2, 3, 1), border="replicate", stride=(2, 1), activation="abs"
    ),
    "asymmetric reflect dilated flipped": bank(
        k=(3, 2), padding=(2, 1, 0, 3), border="reflect", dilation=(1, 2), flip=True
    ),
    "reflect wider than the image": bank(padding=(12, 10, 15, 11), border="reflect"),
    "wrap wider than the image": bank(padding=(20, 9, 1, 13), border="wrap", stride=3),
    "replicate wider than the image": bank(padding=14, border="replicate", activation="tanh"),
    "zero wider than the image": bank(padding=(10, 0, 0, 12), activation="sigmoid"),
    "depthwise": bank(c_out=3, per=1, padding=(1, 2, 2, 1), border="reflect", groups=3),
    "depthwise x2, leaky": bank(
        c_out=6, per=1, k=(5, 3), padding="same", groups=3, activation="leaky-relu", slope=0.2
    ),
    "gray": bank(per=1, input_mode="gray", padding=(3, 0, 1, 2), border="wrap"),
}


@pytest.mark.parametrize("name", CASES)
def test_the_numpy_snippet_gives_the_engines_maps(name):
    b = CASES[name]
    namespace: dict = {}
    exec(compile(export_snippet(b, "numpy"), "<snippet>", "exec"), namespace)  # our own code
    got = namespace["apply"](IMAGE)
    want = b.apply(IMAGE)[0]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)
    # The snippet holds the weights as float32 text: the reference within their round-off.
    np.testing.assert_allclose(got, reference.run(b.to_dict(), IMAGE)[0][0], atol=1e-5)


def test_the_snippets_say_the_layers_settings_as_literals():
    code = export_snippet(CASES["depthwise"], "keras")
    assert "PADDING = (1, 2, 2, 1)  # 'same', 'valid' or (top, bottom, left, right)" in code
    assert "GROUPS = 3" in code and "BORDER = 'reflect'" in code
    assert "import tensorflow" not in code and "from keras import ops" in code
    torch_code = export_snippet(CASES["depthwise"], "pytorch")
    assert "groups=GROUPS" in torch_code and "border_index" in torch_code


@pytest.mark.parametrize("name", CASES)
def test_the_pytorch_snippet_gives_the_engines_maps(name):
    torch = pytest.importorskip("torch")
    b = CASES[name]
    namespace: dict = {}
    exec(compile(export_snippet(b, "pytorch"), "<snippet>", "exec"), namespace)  # our own code
    planes = b.input_planes(IMAGE)
    got = namespace["conv_layer"](torch.from_numpy(planes[None])).numpy()[0]
    want = b.apply(IMAGE)[0]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


@pytest.mark.skipif(
    importlib.util.find_spec("keras") is None or importlib.util.find_spec("torch") is None,
    reason="Keras 3 and torch (its backend here) are not installed",
)
def test_the_keras_snippet_gives_the_engines_maps_on_the_torch_backend(tmp_path):
    # Keras picks its backend once, at import: a child Python with KERAS_BACKEND=torch, which
    # has no TensorFlow to fall back on.
    for n, b in enumerate(CASES.values()):
        (tmp_path / f"snippet{n}.py").write_text(export_snippet(b, "keras"), encoding="utf-8")
        np.save(tmp_path / f"planes{n}.npy", b.input_planes(IMAGE).transpose(1, 2, 0)[None])
    out = run_python(
        f"""
        import os
        os.environ["KERAS_BACKEND"] = "torch"
        import json
        import numpy as np
        from keras import ops
        shapes = []
        for n in range({len(CASES)}):
            namespace = {{}}
            path = os.path.join({str(tmp_path)!r}, f"snippet{{n}}.py")
            exec(compile(open(path).read(), path, "exec"), namespace)
            x = np.load(os.path.join({str(tmp_path)!r}, f"planes{{n}}.npy"))
            y = ops.convert_to_numpy(namespace["conv_layer"](x))
            np.save(os.path.join({str(tmp_path)!r}, f"maps{{n}}.npy"), y)
            shapes.append(list(y.shape))
        import keras
        print(json.dumps([keras.backend.backend(), shapes]))
        """,
        limit=None,
        timeout=300,
    )
    backend, _ = json.loads(out.splitlines()[-1])
    assert backend == "torch"
    for n, b in enumerate(CASES.values()):
        got = np.load(tmp_path / f"maps{n}.npy")[0].transpose(2, 0, 1)
        want = b.apply(IMAGE)[0]
        assert got.shape == want.shape, list(CASES)[n]
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4, err_msg=list(CASES)[n])
