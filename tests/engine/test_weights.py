"""Importing trained weights, exporting them and the code snippets, against the reference."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from playground import Bank, BankError, ConvLayer, Filter, PoolLayer
from playground.engine import weights
from playground.engine.weights import conv_tensors, export_npy, export_snippet, import_weights
from tests.engine import reference
from tests.isolated import run_python

RNG = np.random.default_rng(7)


def torch_weights(c_out=4, c_in=3, kh=3, kw=3):
    return RNG.normal(size=(c_out, c_in, kh, kw))


def first_filters(bank):
    layer = bank.layers[0]
    return np.stack([f.kernels for f in layer.filters]), np.array([f.bias for f in layer.filters])


def expected_maps(w, b, image, input_mode):
    """The reference's output for torch weights w and bias b, padding 'same'."""
    d = {
        "format": "filter-playground.bank",
        "version": 1,
        "input": input_mode,
        "layers": [
            {
                "type": "conv",
                "padding": "same",
                "filters": [{"kernels": k.tolist(), "bias": float(v)} for k, v in zip(w, b)],
            }
        ],
    }
    return reference.run(d, image)[0][0]


def assert_close(got, want):
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * scale)


# --- layouts -----------------------------------------------------------------------------------


def test_torch_layout(tmp_path):
    w = torch_weights(5, 3, 5, 5)
    np.save(tmp_path / "w.npy", w)
    bank = import_weights(tmp_path / "w.npy", layout="torch")
    got, bias = first_filters(bank)
    np.testing.assert_array_equal(got, w)
    np.testing.assert_array_equal(bias, 0)
    assert bank.input == "rgb"
    assert bank.name == "w"
    layer = bank.layers[0]
    assert layer.padding == "same" and layer.stride == (1, 1) and not layer.flip
    image = RNG.random((9, 11, 3))
    assert_close(bank.apply(image)[0], expected_maps(w, np.zeros(5), image, "rgb"))


def test_keras_layout(tmp_path):
    w = torch_weights(6, 1, 3, 5)
    np.save(tmp_path / "k.npy", w.transpose(2, 3, 1, 0))  # (kh, kw, C_in, C_out)
    bank = import_weights(tmp_path / "k.npy", layout="keras", name="mine")
    got, _ = first_filters(bank)
    np.testing.assert_array_equal(got, w)
    assert bank.input == "gray" and bank.name == "mine"
    image = RNG.random((8, 7))
    assert_close(bank.apply(image)[0], expected_maps(w, np.zeros(6), image, "gray"))


def test_keras_layout_explicit_element():
    # One weight placed by hand: keras [i, j, c, o] is torch [o, c, i, j].
    k = np.zeros((3, 5, 3, 2))
    k[1, 4, 2, 1] = 7.0
    t = weights._to_torch(k, "keras", (1, 3), "k")
    assert t.shape == (2, 3, 3, 5)
    assert t[1, 2, 1, 4] == 7.0 and np.count_nonzero(t) == 1


@pytest.mark.parametrize(
    "shape, layout",
    [
        ((16, 3, 5, 5), "torch"),  # only axis 1 is 1 or 3
        ((5, 5, 3, 16), "keras"),  # only axis 2 is 1 or 3
        ((64, 3, 3, 3), "torch"),  # both fit; only the torch kernels (3x3) are square
        ((3, 3, 3, 64), "keras"),  # both fit; only the keras kernels (3x3) are square
        ((8, 1, 7, 7), "torch"),
        ((7, 7, 1, 8), "keras"),
    ],
)
def test_auto_detection(tmp_path, shape, layout):
    w = RNG.normal(size=shape)
    np.save(tmp_path / "w.npy", w)
    got, _ = first_filters(import_weights(tmp_path / "w.npy"))
    want = w if layout == "torch" else w.transpose(3, 2, 0, 1)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", [(3, 3, 3, 3), (5, 3, 3, 5), (3, 1, 1, 3)])
def test_ambiguous_layout(tmp_path, shape):
    np.save(tmp_path / "w.npy", RNG.normal(size=shape))
    with pytest.raises(BankError, match="layout is ambiguous: pass layout='torch' or 'keras'"):
        import_weights(tmp_path / "w.npy")
    assert import_weights(tmp_path / "w.npy", layout="keras").layers[0].out_channels == shape[3]


def test_input_argument_settles_the_layout(tmp_path):
    # torch reads C_in 3 with 1x3 kernels, keras C_in 1 with 3x3: auto picks the square keras
    # reading, and an input mode that only one reading fits decides instead.
    w = RNG.normal(size=(3, 3, 1, 3))
    np.save(tmp_path / "w.npy", w)
    auto = import_weights(tmp_path / "w.npy")
    np.testing.assert_array_equal(first_filters(auto)[0], w.transpose(3, 2, 0, 1))
    gray = import_weights(tmp_path / "w.npy", input="gray")
    assert gray.input == "gray"
    np.testing.assert_array_equal(first_filters(gray)[0], w.transpose(3, 2, 0, 1))
    rgb = import_weights(tmp_path / "w.npy", input="rgb")
    np.testing.assert_array_equal(first_filters(rgb)[0], w)


def test_identical_readings_are_not_ambiguous(tmp_path):
    np.save(tmp_path / "w.npy", np.full((1, 1, 1, 1), 2.5))
    got, _ = first_filters(import_weights(tmp_path / "w.npy"))
    assert got.shape == (1, 1, 1, 1) and got[0, 0, 0, 0] == 2.5


def test_single_filter_2d_and_3d(tmp_path):
    k = RNG.normal(size=(3, 5))
    np.save(tmp_path / "k2.npy", k)
    bank = import_weights(tmp_path / "k2.npy")
    assert bank.input == "gray"
    np.testing.assert_array_equal(first_filters(bank)[0], k[None, None])

    f = RNG.normal(size=(3, 5, 5))  # torch (C_in, kh, kw); keras would read C_in 5
    np.save(tmp_path / "k3.npy", f)
    bank = import_weights(tmp_path / "k3.npy")
    assert bank.input == "rgb"
    np.testing.assert_array_equal(first_filters(bank)[0], f[None])

    np.save(tmp_path / "k3k.npy", f.transpose(1, 2, 0))  # keras (kh, kw, C_in)
    np.testing.assert_array_equal(first_filters(import_weights(tmp_path / "k3k.npy"))[0], f[None])


# --- refusals ----------------------------------------------------------------------------------


def test_pickled_object_array_refused(tmp_path):
    objects = np.array([{"a": 1}, [1, 2]], dtype=object)
    np.save(tmp_path / "x.npy", objects, allow_pickle=True)
    with pytest.raises(ValueError, match=r"^x\.npy holds pickled Python objects; only plain"):
        import_weights(tmp_path / "x.npy")
    np.savez(tmp_path / "x.npz", weight=objects)
    with pytest.raises(BankError, match="holds pickled Python objects"):
        import_weights(tmp_path / "x.npz")


def test_pickle_is_never_loaded(tmp_path, monkeypatch):
    import pickle

    calls = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: calls.append(a))
    np.save(tmp_path / "x.npy", np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(BankError):
        import_weights(tmp_path / "x.npy")
    assert calls == []


@pytest.mark.parametrize("layout, shape", [("torch", (4, 2, 3, 3)), ("keras", (3, 3, 4, 8))])
def test_wrong_channel_count(tmp_path, layout, shape):
    np.save(tmp_path / "w.npy", RNG.normal(size=shape))
    with pytest.raises(BankError, match=r"needs 1 \(gray\) or 3 \(rgb\)"):
        import_weights(tmp_path / "w.npy", layout=layout)
    # auto: the only reading that fits the channels has odd (non-square) kernels
    with pytest.raises(BankError, match="layout is ambiguous"):
        import_weights(tmp_path / "w.npy")
    np.save(tmp_path / "w5.npy", RNG.normal(size=(4, 5, 2, 2)))  # fits no reading
    with pytest.raises(BankError, match=r"first layer reads the image, so it needs 1 \(gray\)"):
        import_weights(tmp_path / "w5.npy")


def test_input_mode_must_match(tmp_path):
    np.save(tmp_path / "w.npy", torch_weights(2, 3))
    with pytest.raises(BankError, match=r"needs 1 \(gray\)"):
        import_weights(tmp_path / "w.npy", layout="torch", input="gray")


def test_bad_arguments_and_files(tmp_path):
    np.save(tmp_path / "w.npy", torch_weights())
    with pytest.raises(BankError, match="layout must be"):
        import_weights(tmp_path / "w.npy", layout="caffe")
    with pytest.raises(BankError, match="input must be"):
        import_weights(tmp_path / "w.npy", input="rgba")
    with pytest.raises(BankError, match="unknown weight file type"):
        import_weights(tmp_path / "w.txt")
    with pytest.raises(BankError, match="cannot read"):
        import_weights(tmp_path / "missing.npy")
    np.save(tmp_path / "c.npy", np.ones((2, 3, 3, 3), dtype=np.complex64))
    with pytest.raises(BankError, match="only real numbers"):
        import_weights(tmp_path / "c.npy")
    np.save(tmp_path / "n.npy", np.full((2, 3, 3, 3), np.nan))
    with pytest.raises(BankError, match="NaN"):
        import_weights(tmp_path / "n.npy")
    np.save(tmp_path / "five.npy", np.ones((1, 1, 3, 3, 3)))
    with pytest.raises(BankError, match="conv weights are 4-D"):
        import_weights(tmp_path / "five.npy")


# --- npz ---------------------------------------------------------------------------------------


def test_npz_weight_and_bias_applied(tmp_path):
    w, b = torch_weights(4, 3, 3, 3), RNG.normal(size=4)
    np.savez(
        tmp_path / "m.npz",
        **{"conv1.weight": w, "conv1.bias": b, "fc.weight": RNG.normal(size=(10, 4))},
    )
    bank = import_weights(tmp_path / "m.npz")
    got_w, got_b = first_filters(bank)
    np.testing.assert_array_equal(got_w, w)
    np.testing.assert_array_equal(got_b, b)
    assert bank.layers[0].name == "conv1.weight"
    image = RNG.random((10, 9, 3))
    out = bank.apply(image)[0]
    assert_close(out, expected_maps(w, b, image, "rgb"))
    # The bias is really added: without it every map is lower by exactly its bias.
    assert_close(out - b[:, None, None], expected_maps(w, np.zeros(4), image, "rgb"))


def test_npz_keras_names(tmp_path):
    w, b = torch_weights(3, 3, 5, 5), RNG.normal(size=3)
    np.savez(tmp_path / "k.npz", **{"conv/kernel": w.transpose(2, 3, 1, 0), "conv/bias": b})
    got_w, got_b = first_filters(import_weights(tmp_path / "k.npz"))
    np.testing.assert_array_equal(got_w, w)
    np.testing.assert_array_equal(got_b, b)


def test_npz_several_weights_needs_array(tmp_path):
    w1, w2 = torch_weights(4, 3), torch_weights(8, 1, 5, 5)
    b1, b2 = RNG.normal(size=4), RNG.normal(size=8)
    np.savez(tmp_path / "two.npz", a_weight=w1, a_bias=b1, b_weight=w2, b_bias=b2)
    with pytest.raises(BankError, match=r"found 'a_weight' \(4, 3, 3, 3\), .*pass array='name'"):
        import_weights(tmp_path / "two.npz")
    bank = import_weights(tmp_path / "two.npz", array="b_weight")
    got_w, got_b = first_filters(bank)
    np.testing.assert_array_equal(got_w, w2)
    np.testing.assert_array_equal(got_b, b2)  # b_weight -> b_bias
    assert conv_tensors(tmp_path / "two.npz") == [
        ("a_weight", (4, 3, 3, 3)),
        ("b_weight", (8, 1, 5, 5)),
    ]
    with pytest.raises(BankError, match="has no array 'nope'"):
        import_weights(tmp_path / "two.npz", array="nope")


def test_npz_bias_by_name_and_errors(tmp_path):
    w = torch_weights(2, 3)
    np.savez(tmp_path / "b.npz", w=w, bias_x=np.ones(2), bias_y=np.full(2, 2.0))
    with pytest.raises(BankError, match="several arrays could be the bias"):
        import_weights(tmp_path / "b.npz", array="w")
    _, b = first_filters(import_weights(tmp_path / "b.npz", array="w", bias="bias_y"))
    np.testing.assert_array_equal(b, [2.0, 2.0])
    np.savez(tmp_path / "bad.npz", weight=w, bias=np.ones(3))
    _, b = first_filters(import_weights(tmp_path / "bad.npz"))  # wrong length: not the bias
    np.testing.assert_array_equal(b, 0)
    with pytest.raises(BankError, match=r"must be \(2,\)"):
        import_weights(tmp_path / "bad.npz", bias="bias")


def test_npz_without_conv_weight(tmp_path):
    np.savez(tmp_path / "none.npz", a=np.ones(3), b=np.ones((2, 2, 2, 2, 2)))
    with pytest.raises(BankError, match=r"found 'a' \(3,\), 'b' \(2, 2, 2, 2, 2\)"):
        import_weights(tmp_path / "none.npz")


# --- optional formats --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix, module, message",
    [
        (".safetensors", "safetensors", "pip install safetensors"),
        (".onnx", "onnx", "pip install onnx"),
        (".pt", "torch", "pip install torch"),
        (".pth", "torch", "pip install torch"),
    ],
)
def test_missing_optional_library(tmp_path, monkeypatch, suffix, module, message):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    if module == "safetensors":
        monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    path = tmp_path / f"w{suffix}"
    path.write_bytes(b"\0" * 16)
    want = f"reading {'.pt' if module == 'torch' else suffix} needs the '{module}' package"
    with pytest.raises(BankError, match=f"^{want}: {message}$"):
        import_weights(path)
    with pytest.raises(BankError, match=message):
        conv_tensors(path)


# --- export ------------------------------------------------------------------------------------


def _bank(w, b, input_mode, **layer):
    filters = tuple(Filter(k, float(v)) for k, v in zip(w, b))
    return Bank((ConvLayer(filters, **layer),), input=input_mode)


@pytest.mark.parametrize("layout", ["torch", "keras"])
@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_export_round_trip(tmp_path, layout, suffix):
    w, b = torch_weights(4, 3, 5, 5), RNG.normal(size=4)
    bank = _bank(w, b, "rgb", padding="same")
    path = export_npy(bank, tmp_path / f"out{suffix}", layout=layout)
    assert path == tmp_path / f"out{suffix}"
    back = import_weights(path, layout=layout)
    got_w, got_b = first_filters(back)
    np.testing.assert_array_equal(got_w, w.astype(np.float32))
    if suffix == ".npz":
        np.testing.assert_array_equal(got_b, b.astype(np.float32))
        with np.load(path) as z:
            assert sorted(z.files) == ["bias", "weight"]
            assert z["weight"].dtype == np.float32
    else:
        np.testing.assert_array_equal(got_b, 0)
        raw = np.load(path)
        assert raw.dtype == np.float32
        assert raw.shape == ((4, 3, 5, 5) if layout == "torch" else (5, 5, 3, 4))
    assert back == import_weights(path)  # auto detects what was written


def test_export_writes_flip_as_applied(tmp_path):
    w = torch_weights(2, 1, 3, 3)
    bank = _bank(w, [0.0, 0.0], "gray", padding="same", flip=True)
    back = import_weights(export_npy(bank, tmp_path / "f.npz"))
    image = RNG.random((7, 8))
    assert_close(back.apply(image)[0], bank.apply(image)[0])


def test_export_suffix_added_and_errors(tmp_path):
    bank = _bank(torch_weights(2, 1), [0, 0], "gray")
    assert export_npy(bank, tmp_path / "w") == tmp_path / "w.npy"
    assert (tmp_path / "w.npy").exists()
    with pytest.raises(BankError, match="layout must be torch or keras"):
        export_npy(bank, tmp_path / "x.npy", layout="auto")
    pooled = Bank((PoolLayer(), *bank.layers), input="gray")
    with pytest.raises(BankError, match="pool layer"):
        export_npy(pooled, tmp_path / "x.npy")
    mixed = Bank(
        (ConvLayer((Filter(np.ones((1, 3, 3))), Filter(np.ones((1, 5, 5)))), padding="same"),),
        input="gray",
    )
    with pytest.raises(BankError, match="different sizes"):
        export_npy(mixed, tmp_path / "x.npy")


# --- snippets ----------------------------------------------------------------------------------

SNIPPET_LAYERS = [
    dict(padding="same"),
    dict(padding="same", border="reflect", activation="relu", flip=True),
    dict(padding="valid", stride=2, dilation=(1, 2), activation="tanh"),
    dict(padding=(2, 1), border="replicate", activation="abs", stride=(1, 2)),
    dict(padding="same", border="wrap", stride=3, activation="sigmoid", dilation=2),
]


@pytest.mark.parametrize("settings", SNIPPET_LAYERS)
@pytest.mark.parametrize("input_mode", ["rgb", "gray"])
def test_numpy_snippet_reproduces_engine(settings, input_mode):
    c_in = 3 if input_mode == "rgb" else 1
    w, b = torch_weights(3, c_in, 3, 4), RNG.normal(size=3)
    bank = _bank(w, b, input_mode, **settings)
    code = export_snippet(bank, "numpy")
    namespace: dict = {}
    exec(compile(code, "<snippet>", "exec"), namespace)  # our own generated code
    for image in (RNG.random((13, 12, 3)), (RNG.random((9, 10)) * 255).astype(np.uint8)):
        want = bank.apply(image)[0]
        got = namespace["apply"](image)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)
        # and the reference agrees
        assert_close(got, reference.run(bank.to_dict(), image)[0][0])


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
@pytest.mark.parametrize("settings", SNIPPET_LAYERS)
def test_framework_snippets_compile_and_hold_exact_weights(framework, settings):
    w, b = torch_weights(2, 3, 3, 3), RNG.normal(size=2)
    bank = _bank(w, b, "rgb", **settings)
    code = export_snippet(bank, framework)
    compile(code, "<snippet>", "exec")
    applied = w[:, :, ::-1, ::-1] if settings.get("flip") else w
    for v in applied.ravel().tolist() + b.tolist():
        # Each weight as the engine holds it, float32, in the shortest text that reads back as
        # that very float32 (no 17-digit float64 tails).
        text = str(np.float32(v))
        assert text in code and np.float32(float(text)) == np.float32(v)
        assert repr(v) not in code or repr(v) == text
    assert ("F.conv2d" if framework == "pytorch" else "ops.conv(") in code
    assert "tensorflow" not in code.split('"""', 2)[2]  # Keras 3 code: keras.ops, any backend


def test_snippet_padding_helper_matches_reference():
    # The pytorch/keras snippets share the numpy snippet's padding_amounts; check it directly.
    bank = _bank(torch_weights(1, 1, 4, 5), [0.0], "gray", padding="same", stride=(2, 3))
    code = export_snippet(bank, "pytorch")
    assert weights._PADDING_CODE in code
    ns: dict = {}
    w = np.stack([f.kernels for f in bank.layers[0].filters])
    exec(weights._header(bank.layers[0], w) + weights._PADDING_CODE, ns)
    layer = bank.to_dict()["layers"][0]
    for h, w in [(7, 8), (10, 11), (1, 1)]:
        top, bottom = reference.padding_amounts(layer, h, 4, 2, 1)
        left, right = reference.padding_amounts(layer, w, 5, 3, 1)
        assert ns["padding_amounts"](h, w) == (top, bottom, left, right)


def test_snippet_bad_framework():
    bank = _bank(torch_weights(1, 1), [0.0], "gray")
    with pytest.raises(BankError, match="framework must be"):
        export_snippet(bank, "jax")


def test_reexported():
    import playground

    assert playground.import_weights is import_weights
    assert playground.export_npy is export_npy
    assert playground.export_snippet is export_snippet


# Stand-ins for the optional libraries (not installed here), to test how their results are used.


def test_safetensors_file(tmp_path):
    from safetensors.numpy import save_file

    w, b = torch_weights(4, 3, 3, 3), RNG.normal(size=4)
    tensors = {"stem.conv.weight": w, "stem.conv.bias": b, "head.weight": RNG.normal(size=(2, 4))}
    path = tmp_path / "m.safetensors"
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path))
    assert conv_tensors(path) == [("stem.conv.weight", (4, 3, 3, 3))]
    got_w, got_b = first_filters(import_weights(path, array="stem.conv.weight"))
    np.testing.assert_array_equal(got_w, w)
    np.testing.assert_array_equal(got_b, b)


def test_onnx_file_offers_its_conv_weights(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = torch_weights(2, 1, 5, 5).astype(np.float32)
    b = RNG.normal(size=2).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["y"], pads=[2, 2, 2, 2])],
        "net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 8, 8])],
        initializer=[
            numpy_helper.from_array(w, "conv.weight"),
            numpy_helper.from_array(b, "conv.bias"),
        ],
    )
    path = tmp_path / "net.onnx"
    onnx.save(helper.make_model(graph), str(path))
    assert conv_tensors(path) == [("conv.weight", (2, 1, 5, 5))]
    bank = import_weights(path)
    assert bank.input == "gray"
    got_w, got_b = first_filters(bank)
    np.testing.assert_allclose(got_w, w, atol=1e-7)
    np.testing.assert_allclose(got_b, b, atol=1e-7)


def test_torch_file_uses_weights_only(tmp_path, monkeypatch):
    import types

    w, b = torch_weights(2, 1, 5, 5), RNG.normal(size=2)

    class Tensor:
        def __init__(self, a):
            self.a = a

        def detach(self):
            return self

        def cpu(self):
            return self

        def double(self):
            return self

        def numpy(self):
            return self.a

    calls = []

    def load(path, map_location=None, weights_only=False):
        calls.append(weights_only)
        return {"state_dict": {"conv.weight": Tensor(w), "conv.bias": Tensor(b)}, "epoch": 3}

    fake = types.ModuleType("torch")
    fake.Tensor, fake.load = Tensor, load
    monkeypatch.setitem(sys.modules, "torch", fake)
    path = tmp_path / "m.pt"
    path.write_bytes(b"")
    got_w, got_b = first_filters(import_weights(path))
    assert calls == [True]
    np.testing.assert_array_equal(got_w, w)
    np.testing.assert_array_equal(got_b, b)
    assert conv_tensors(path) == [("state_dict.conv.weight", (2, 1, 5, 5))]


# --- hostile files -----------------------------------------------------------------------------


def npy_bytes(shape, descr="<f8", data=b""):
    """A .npy file's bytes: a header declaring ``shape`` followed by ``data`` (maybe too short)."""
    import io

    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        out, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return out.getvalue() + data


def write_zip(path, members, compression=None):
    import zipfile

    compression = zipfile.ZIP_STORED if compression is None else compression
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def declare_size(path, size):
    """Make every member of the zip at ``path`` claim ``size`` bytes uncompressed (a zip bomb's
    central directory, without making the test compress gigabytes)."""
    import struct

    raw = bytearray(path.read_bytes())
    for signature, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = raw.find(signature)
        while start >= 0:
            raw[start + at : start + at + 4] = struct.pack("<I", size)
            start = raw.find(signature, start + 4)
    path.write_bytes(bytes(raw))


def one_line_error(path, **kwargs):
    with pytest.raises(BankError) as caught:
        import_weights(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(path.name), message
    return message


def _truncated(tmp_path):
    np.savez(tmp_path / "w.npz", weight=torch_weights())
    raw = (tmp_path / "w.npz").read_bytes()
    (tmp_path / "w.npz").write_bytes(raw[: len(raw) // 2])
    return tmp_path / "w.npz"


def _bad_crc(tmp_path):
    path = write_zip(tmp_path / "w.npz", {"weight.npy": npy_bytes((2, 3, 3, 3), data=bytes(432))})
    raw = bytearray(path.read_bytes())
    raw[raw.find(b"\x93NUMPY") + 200] ^= 0xFF  # a byte of the data: the CRC no longer matches
    path.write_bytes(bytes(raw))
    return path


def _bad_deflate(tmp_path):
    import zipfile

    data = npy_bytes((2, 3, 3, 3), data=RNG.normal(size=54).tobytes())
    path = write_zip(tmp_path / "w.npz", {"weight.npy": data}, zipfile.ZIP_DEFLATED)
    raw = bytearray(path.read_bytes())
    start = raw.find(b"weight.npy") + len("weight.npy")
    raw[start + 2 : start + 40] = b"\xff" * 38  # garbage in the deflate stream
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp_path: (tmp_path / "w.npy", (tmp_path / "w.npy").write_bytes(b""))[0],
        lambda tmp_path: (tmp_path / "w.npy", (tmp_path / "w.npy").write_bytes(b"\x93NUM"))[0],
        _truncated,
        _bad_crc,
        _bad_deflate,
    ],
    ids=["empty-npy", "short-npy", "truncated-npz", "bad-crc", "bad-deflate"],
)
def test_broken_numpy_files_are_one_line_bank_errors(tmp_path, make):
    one_line_error(make(tmp_path))


def test_absurd_declared_shapes_are_refused_before_any_data_is_read(tmp_path):
    # 335 GiB declared; 64 bytes present. Under a 1.5 GB address space, allocating first fails.
    (tmp_path / "w.npy").write_bytes(npy_bytes((100000, 100000, 3, 3), data=bytes(64)))
    write_zip(tmp_path / "w.npz", {"weight.npy": npy_bytes((32768, 32768), data=bytes(64))})
    out = run_python(f"""
        from playground import BankError
        from playground.engine.weights import conv_tensors, import_weights
        for name in ("w.npy", "w.npz"):
            try:
                import_weights({str(tmp_path)!r} + "/" + name)
            except BankError as e:
                print(e)
        print(conv_tensors({str(tmp_path)!r} + "/w.npy"))
    """)
    assert out.splitlines() == [
        "w.npy has shape (100000, 100000, 3, 3); too large for a bank",
        "w.npz, array 'weight' has shape (32768, 32768); too large for a bank",
        "[('', (100000, 100000, 3, 3))]",
    ]


def test_zip_bombs_are_refused_from_their_declared_sizes(tmp_path, monkeypatch):
    import types

    path = write_zip(tmp_path / "w.npz", {"weight.npy": npy_bytes((2, 3, 3, 3), data=bytes(432))})
    declare_size(path, 3 * 2**30)
    assert "decompresses to 3072 MB" in one_line_error(path)
    calls = []
    fake = types.ModuleType("torch")
    fake.Tensor, fake.load = object, lambda *a, **k: calls.append(a)
    monkeypatch.setitem(sys.modules, "torch", fake)
    pt = write_zip(tmp_path / "m.pt", {"archive/data.pkl": b"x", "archive/data/0": bytes(64)})
    declare_size(pt, 2**31)
    assert "decompresses to 4096 MB" in one_line_error(pt)
    assert calls == []


def test_torch_errors_are_reduced_to_one_line(tmp_path, monkeypatch):
    import types

    def load(*args, **kwargs):
        raise RuntimeError("Weights only load failed.\nRe-running `torch.load` ...\n\nPlease")

    class Tensor:
        def detach(self):
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:117]\n data. DefaultCPUAllocator")

    fake = types.ModuleType("torch")
    fake.Tensor, fake.load = Tensor, load
    monkeypatch.setitem(sys.modules, "torch", fake)
    (tmp_path / "m.pt").write_bytes(b"")
    assert "(Weights only load failed.)" in one_line_error(tmp_path / "m.pt")
    fake.load = lambda *a, **k: {"conv.weight": Tensor()}
    assert "alloc_cpu.cpp" in one_line_error(tmp_path / "m.pt")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_instead_of_blocking(tmp_path):
    os.mkfifo(tmp_path / "w.npy")
    out = run_python(f"""
        from playground import BankError, import_weights
        try:
            import_weights({str(tmp_path / "w.npy")!r})
        except BankError as e:
            print(e)
    """)
    assert out == "cannot read w.npy: not a regular file\n"


def _onnx_with_external(tmp_path, location):
    from onnx import TensorProto, helper

    weight = helper.make_tensor("conv.weight", TensorProto.FLOAT, [1, 1, 3, 3], [0.0] * 9)
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "36")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "conv.weight"], ["y"], pads=[1, 1, 1, 1])],
        "net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 8, 8])],
        initializer=[weight],
    )
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    path = model_dir / "net.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    return path


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_onnx_external_data_outside_the_models_folder_is_refused(tmp_path, how):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(9, dtype=np.float32).tobytes())
    location = {"dotdot": "../secret.bin", "absolute": str(secret), "symlink": "w.bin"}[how]
    path = _onnx_with_external(tmp_path, location)
    if how == "symlink":
        (path.parent / "w.bin").symlink_to(secret)
    message = one_line_error(path)
    assert "external data" in message and "outside the model's folder" in message


def test_onnx_external_data_inside_the_folder_is_read(tmp_path):
    path = _onnx_with_external(tmp_path, "w.bin")
    (path.parent / "w.bin").write_bytes(np.arange(9, dtype=np.float32).tobytes())
    got, _ = first_filters(import_weights(path))
    np.testing.assert_array_equal(got.ravel(), np.arange(9))


def test_failed_export_keeps_the_previous_file(tmp_path):
    # The disk "fills" past 4 KB (RLIMIT_FSIZE); the export is 8 KB.
    old = tmp_path / "weights.npz"
    old.write_bytes(b"the user's previous weights")
    out = run_python(f"""
        import resource, signal
        import numpy as np
        from playground import Bank, BankError, ConvLayer, Filter, export_npy
        bank = Bank((ConvLayer(tuple(Filter(np.ones((3, 9, 9))) for _ in range(8))),))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            export_npy(bank, {str(old)!r})
        except BankError as e:
            print(e)
    """)
    assert out.startswith(f"cannot save {old}: ")
    assert old.read_bytes() == b"the user's previous weights"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.npz"]


def test_export_into_a_missing_folder_is_a_bank_error(tmp_path):
    bank = _bank(torch_weights(2, 1), [0, 0], "gray")
    with pytest.raises(BankError, match="cannot save"):
        export_npy(bank, tmp_path / "no" / "such" / "w.npz")


def test_export_through_a_symlink_writes_its_target(tmp_path):
    target = tmp_path / "real.npz"
    target.write_bytes(b"old")
    (tmp_path / "link.npz").symlink_to(target)
    w = torch_weights(2, 1)
    export_npy(_bank(w, [0, 0], "gray"), tmp_path / "link.npz")
    assert (tmp_path / "link.npz").is_symlink()
    np.testing.assert_array_equal(first_filters(import_weights(target))[0], w.astype(np.float32))


HOSTILE_NAMES = [
    '"""; __import__("os").system("id"); """',
    "'''; raise SystemExit(3); '''",
    "line\nbreak = 1/0",
    "\\",
    "# comment\r\nimport os",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_generated_numpy_code_quotes_a_hostile_bank_name(tmp_path, name):
    # The finding: a bank named '"""; __import__("os").system("id"); """' gave a numpy
    # snippet that ran `id`. The snippet, run for real, must define the layer and nothing else.
    import subprocess
    import sys

    from playground import Bank, ConvLayer, Filter
    from playground.engine.weights import export_snippet

    bank = Bank((ConvLayer((Filter.repeated([[1.0]], 3, name=name),)),), name=name)
    code = export_snippet(bank, "numpy")
    script = tmp_path / "snippet.py"
    probe = "\nprint(repr(BANK_NAME))\nprint(apply(__import__('numpy').ones((2, 2, 3))).tolist())\n"
    script.write_text(code + probe, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == repr(name)
    assert lines[1:] == [repr([[[3.0, 3.0], [3.0, 3.0]]])]  # a 1x1 sum of the 3 channels


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_generated_framework_code_has_no_user_text_outside_literals(framework, name):
    import ast

    from playground import Bank, ConvLayer, Filter
    from playground.engine.weights import export_snippet

    bank = Bank((ConvLayer((Filter.repeated([[1.0]], 3, name=name),), name=name),), name=name)
    tree = ast.parse(export_snippet(bank, framework))  # still valid Python
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not calls & {"system", "exit", "SystemExit", "exec", "eval", "__import__"}


def test_an_oblong_reading_is_named_with_the_layout_that_imports_it(tmp_path):
    # (2, 4, 3, 3): 4 input channels as torch; as keras 3 filters of 2x4 on 3 channels.
    np.save(tmp_path / "w.npy", RNG.normal(size=(2, 4, 3, 3)))
    with pytest.raises(BankError) as refused:
        import_weights(tmp_path / "w.npy")
    message = str(refused.value)
    assert "pass layout='keras'" in message and "3 filters of 2x4 on 3 channels" in message
    assert "'torch'" not in message
    bank = import_weights(tmp_path / "w.npy", layout="keras")
    assert bank.layers[0].filters[0].kernels.shape == (3, 2, 4)
