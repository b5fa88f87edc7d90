"""An ONNX model's Conv node says how its weights run: strides, pads, dilations, auto_pad and
the border of a Pad node before it. import_weights takes them, and its bank then gives what
onnxruntime gives for that node on the same input; what the bank cannot express is refused in
one line, never imported some other way."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from playground import Bank, BankError
from playground.engine.weights import import_weights

RNG = np.random.default_rng(21)
H, W = 23, 30


def _model(tmp_path, conv_attrs, c_in=3, c_out=4, k=(3, 3), pad=None, name="net.onnx"):
    """A graph x -> [Pad] -> Conv -> y, with a bias; pad = (mode, 8 pads) or None. ``c_in`` is
    the weight's (a filter's kernels); x has c_in * group channels."""
    w = RNG.standard_normal((c_out, c_in, *k)).astype(np.float32)
    b = RNG.standard_normal(c_out).astype(np.float32)
    initializers = [
        numpy_helper.from_array(w, "conv.weight"),
        numpy_helper.from_array(b, "conv.bias"),
    ]
    nodes = []
    conv_input = "x"
    if pad is not None:
        mode, amounts = pad
        initializers.append(numpy_helper.from_array(np.array(amounts, np.int64), "pads"))
        nodes.append(helper.make_node("Pad", ["x", "pads"], ["padded"], mode=mode))
        conv_input = "padded"
    nodes.append(
        helper.make_node(
            "Conv", [conv_input, "conv.weight", "conv.bias"], ["y"], name="conv1", **conv_attrs
        )
    )
    graph = helper.make_graph(
        nodes,
        "net",
        [
            helper.make_tensor_value_info(
                "x", TensorProto.FLOAT, [1, c_in * conv_attrs.get("group", 1), H, W]
            )
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def _onnxruntime_maps(path, image):
    x = (image.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0][0]


IMAGE = RNG.integers(0, 256, (H, W, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("attrs", "pad", "expect"),
    [
        ({"strides": [2, 2], "pads": [0, 0, 0, 0]}, None, {"stride": (2, 2), "padding": "valid"}),
        ({"pads": [1, 2, 1, 2]}, None, {"padding": (1, 1, 2, 2)}),
        ({"dilations": [2, 3], "pads": [2, 3, 2, 3]}, None, {"dilation": (2, 3)}),
        ({"auto_pad": "SAME_UPPER", "strides": [2, 3]}, None, {"padding": "same"}),
        ({"auto_pad": "SAME_LOWER"}, None, {"padding": "same"}),
        ({"auto_pad": "VALID", "strides": [1, 2]}, None, {"padding": "valid"}),
        ({}, ("reflect", [0, 0, 1, 1, 0, 0, 1, 1]), {"border": "reflect", "padding": (1, 1, 1, 1)}),
        ({}, ("edge", [0, 0, 2, 1, 0, 0, 2, 1]), {"border": "replicate", "padding": (2, 2, 1, 1)}),
        ({"pads": [1, 1, 1, 1]}, ("constant", [0, 0, 1, 0, 0, 0, 1, 0]), {"padding": (2, 2, 1, 1)}),
        # ONNX's pads are the starts, then the ends: top 0, left 1, bottom 2, right 3.
        ({"pads": [0, 1, 2, 3]}, None, {"padding": (0, 2, 1, 3)}),
        ({"pads": [2, 0, 0, 1], "strides": [2, 3]}, None, {"padding": (2, 0, 0, 1)}),
        ({}, ("reflect", [0, 0, 0, 2, 0, 0, 1, 0]), {"border": "reflect", "padding": (0, 1, 2, 0)}),
        ({"pads": [0, 1, 0, 0]}, ("constant", [0, 0, 1, 0, 0, 0, 0, 0]), {"padding": (1, 0, 1, 0)}),
    ],
)
def test_an_onnx_conv_imports_with_its_node_settings_and_matches_onnxruntime(
    tmp_path, attrs, pad, expect
):
    path = _model(tmp_path, attrs, pad=pad)
    bank = import_weights(path)
    layer = bank.layers[0]
    for key, value in expect.items():
        assert getattr(layer, key) == value, key
    assert [f.name for f in layer.filters] == [f"conv.weight[{o}]" for o in range(4)]
    got = bank.apply(IMAGE)[0]
    want = _onnxruntime_maps(path, IMAGE)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=2e-5)


@pytest.mark.parametrize(
    ("attrs", "pad", "k", "says"),
    [
        ({"auto_pad": "SAME_LOWER", "strides": [2, 2]}, None, None, "SAME_LOWER"),
        ({"pads": [1, 1, 1, 1]}, ("reflect", [0, 0, 1, 1, 0, 0, 1, 1]), None, "two borders"),
        ({}, ("constant", [0, 1, 0, 0, 0, 0, 0, 0]), None, "channel axes"),
    ],
)
def test_what_the_bank_cannot_express_is_refused_naming_the_node(tmp_path, attrs, pad, k, says):
    path = _model(tmp_path, attrs, pad=pad)
    with pytest.raises(BankError) as refused:
        import_weights(path)
    message = str(refused.value)
    assert says in message and "conv1" in message and "\n" not in message


@pytest.mark.parametrize(
    ("attrs", "c_out", "pad"),
    [
        ({"group": 3, "pads": [1, 1, 1, 1]}, 3, None),  # depthwise
        ({"group": 3, "strides": [2, 1], "dilations": [1, 2]}, 6, None),  # 2 filters a channel
        ({"group": 3, "auto_pad": "SAME_UPPER"}, 6, None),
        ({"group": 3}, 3, ("reflect", [0, 0, 2, 1, 0, 0, 2, 1])),
    ],
)
def test_a_grouped_onnx_conv_imports_with_its_groups_and_matches_onnxruntime(
    tmp_path, attrs, c_out, pad
):
    # Each filter of a depthwise RGB conv reads one channel: (C_out, 1, kh, kw) weights.
    path = _model(tmp_path, attrs, c_in=1, c_out=c_out, pad=pad)
    bank = import_weights(path)
    layer = bank.layers[0]
    assert bank.input == "rgb" and layer.groups == 3 and layer.in_channels == 3
    assert [layer.channels_read(o) for o in range(c_out)] == [
        range(o // (c_out // 3), o // (c_out // 3) + 1) for o in range(c_out)
    ]
    got = bank.apply(IMAGE)[0]
    want = _onnxruntime_maps(path, IMAGE)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_a_grouped_conv_that_does_not_read_the_image_is_refused_in_one_line(tmp_path):
    # Two kernels a filter in 3 groups read 6 channels; the image has 3.
    path = _model(tmp_path, {"group": 3}, c_in=2, c_out=3)
    with pytest.raises(BankError) as refused:
        import_weights(path)
    assert "2 input channels a filter in 3 groups, 6 in all" in str(refused.value)


@pytest.mark.parametrize(
    ("k", "attrs", "padding"),
    [
        ((4, 2), {}, (2, 1, 1, 0)),
        ((2, 3), {}, (1, 0, 1, 1)),
        ((4, 4), {"kernel_shape": [4, 4]}, (2, 1, 2, 1)),
    ],
)
def test_same_lower_at_stride_1_imports_its_odd_pixel_before_and_matches_onnxruntime(
    tmp_path, k, attrs, padding
):
    # At stride 1 SAME_LOWER pads the kernel's span, the odd pixel before, whatever the
    # frame's size: the four sides say it exactly.
    path = _model(tmp_path, {"auto_pad": "SAME_LOWER", **attrs}, k=k)
    layer = import_weights(path).layers[0]
    assert layer.padding == padding
    got = Bank((layer,)).apply(IMAGE)[0]
    want = _onnxruntime_maps(path, IMAGE)
    assert got.shape == want.shape == (4, H, W)
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_a_weight_no_conv_node_uses_is_refused(tmp_path):
    w = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(w, "loose.weight")],
    )
    path = tmp_path / "loose.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(BankError, match="no Conv node"):
        import_weights(path)
