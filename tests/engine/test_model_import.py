"""A trained ONNX model's leading chain as a bank: each imported layer's maps equal what
onnxruntime gives for the node it came from, on the same input; the import stops, and says
where and why, at the first node the bank format cannot express."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from playground import BankError, ConvLayer, PoolLayer, import_model, read_model

RNG = np.random.default_rng(31)
H, W = 29, 34
IMAGE = RNG.integers(0, 256, (H, W, 3), dtype=np.uint8)


class Graph:
    """A graph built node by node, every intermediate tensor also a model output."""

    def __init__(self, channels=3):
        self.nodes, self.initializers, self.tensors = [], [], []
        self.channels = channels
        self.last = "x"

    def const(self, name, array):
        self.initializers.append(numpy_helper.from_array(np.asarray(array, np.float32), name))
        return name

    def add(self, op, *inputs, name, **attrs):
        out = f"{name}_out"
        self.nodes.append(helper.make_node(op, [self.last, *inputs], [out], name=name, **attrs))
        self.tensors.append(out)
        self.last = out
        return out

    def conv(self, name, c_out, c_in, k=3, bias=True, **attrs):
        w = self.const(f"{name}.w", RNG.standard_normal((c_out, c_in, k, k)) * 0.5)
        inputs = [w] + ([self.const(f"{name}.b", RNG.standard_normal(c_out))] if bias else [])
        return self.add("Conv", *inputs, name=name, **attrs)

    def save(self, tmp_path, file="model.onnx"):
        graph = helper.make_graph(
            self.nodes,
            "model",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, self.channels, H, W])],
            [helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in self.tensors],
            initializer=self.initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        path = tmp_path / file
        onnx.save(model, str(path))
        return path


def onnxruntime_outputs(path, image):
    x = (image.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, (out[0] for out in session.run(None, {"x": x}))))


def test_a_conv_bn_relu_pool_conv_chain_matches_onnxruntime_layer_by_layer(tmp_path):
    g = Graph()
    g.conv("conv1", 4, 3, pads=[1, 1, 1, 1])
    g.add(
        "BatchNormalization",
        g.const("bn.scale", RNG.uniform(0.5, 2, 4)),
        g.const("bn.bias", RNG.standard_normal(4)),
        g.const("bn.mean", RNG.standard_normal(4)),
        g.const("bn.var", RNG.uniform(0.5, 2, 4)),
        name="bn1",
        epsilon=1e-3,
    )
    relu = g.add("Relu", name="relu1")
    pool = g.add("MaxPool", name="pool1", kernel_shape=[2, 2], strides=[2, 2])
    g.conv("conv2", 5, 4, k=3, strides=[2, 1], dilations=[1, 2], pads=[0, 2, 0, 2])
    last = g.add("Sigmoid", name="sig2")
    g.add("Flatten", name="flat")
    path = g.save(tmp_path)

    imported = read_model(path)
    bank = imported.bank
    assert [type(layer) for layer in bank.layers] == [ConvLayer, PoolLayer, ConvLayer]
    assert bank.layers[0].activation == "relu" and bank.layers[2].activation == "sigmoid"
    # Filters are named as the framework indexes them.
    assert [f.name for f in bank.layers[2].filters] == [f"conv2[{o}]" for o in range(5)]
    assert imported.nodes == (
        ("Conv node 'conv1'", "BatchNormalization node 'bn1'", "Relu node 'relu1'"),
        ("MaxPool node 'pool1'",),
        ("Conv node 'conv2'", "Sigmoid node 'sig2'"),
    )
    assert imported.stopped == "stopped at Flatten node 'flat': the bank format has no Flatten"
    want = onnxruntime_outputs(path, IMAGE)
    got = bank.apply(IMAGE)
    for maps, tensor in zip(got, (relu, pool, last)):
        assert maps.shape == want[tensor].shape
        np.testing.assert_allclose(maps, want[tensor], atol=3e-5)


def test_a_reflect_padded_average_pooled_model_matches_onnxruntime(tmp_path):
    g = Graph(channels=1)
    g.const("pads", np.array([0, 0, 2, 2, 0, 0, 2, 2]))
    g.initializers[-1] = numpy_helper.from_array(
        np.array([0, 0, 2, 2, 0, 0, 2, 2], np.int64), "pads"
    )
    g.add("Pad", "pads", name="pad1", mode="reflect")
    g.conv("conv1", 3, 1, k=5, bias=False)
    out = g.add("AveragePool", name="avg1", kernel_shape=[3, 2], strides=[1, 2])
    path = g.save(tmp_path)
    gray = RNG.integers(0, 256, (H, W), dtype=np.uint8)
    bank = import_model(path)
    assert bank.input == "gray" and bank.layers[0].border == "reflect"
    x = (gray.astype(np.float32) / 255.0)[None, None]
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    want = session.run([out], {"x": x})[0][0]
    np.testing.assert_allclose(bank.apply(gray)[-1], want, atol=3e-5)


@pytest.mark.parametrize(
    ("build", "says"),
    [
        (lambda g: g.add("LeakyRelu", name="leaky", alpha=1.5), "leaky ReLU of alpha 1.5"),
        (lambda g: g.add("MaxPool", name="p", kernel_shape=[2, 2], pads=[1, 1, 1, 1]), "padded"),
        (lambda g: g.add("MaxPool", name="p", kernel_shape=[2, 2], ceil_mode=1), "ceil_mode"),
        (lambda g: g.conv("grouped", 4, 3, group=2), "reads 3 a filter in 2 groups, 6 channels"),
        (lambda g: (g.add("Relu", name="r"), g.add("Tanh", name="t")), "only as a conv layer's"),
    ],
)
def test_the_import_stops_at_what_the_bank_cannot_express_and_keeps_what_came_before(
    tmp_path, build, says
):
    g = Graph()
    g.conv("conv1", 4, 3, pads=[1, 1, 1, 1])
    build(g)
    imported = read_model(g.save(tmp_path))
    assert len(imported.bank.layers) == 1
    assert imported.stopped is not None and says in imported.stopped
    assert "\n" not in imported.stopped


def test_grouped_and_depthwise_convs_import_and_match_onnxruntime_layer_by_layer(tmp_path):
    g = Graph()
    first = g.conv("conv1", 4, 3, pads=[1, 1, 1, 1])
    g.conv("grouped", 6, 2, group=2, pads=[1, 1, 1, 1])  # 3 filters on 2 channels each
    relu = g.add("Relu", name="relu")
    depthwise = g.conv("depthwise", 6, 1, k=5, group=6, strides=[2, 2], pads=[2, 2, 2, 2])
    path = g.save(tmp_path)
    imported = read_model(path)
    assert imported.stopped is None
    bank = imported.bank
    assert [layer.groups for layer in bank.layers] == [1, 2, 6]
    assert bank.layers[1].activation == "relu"
    want = onnxruntime_outputs(path, IMAGE)
    for maps, tensor in zip(bank.apply(IMAGE), (first, relu, depthwise), strict=True):
        assert maps.shape == want[tensor].shape
        np.testing.assert_allclose(maps, want[tensor], atol=3e-5)


def test_a_branch_ends_the_chain(tmp_path):
    g = Graph()
    conv = g.conv("conv1", 2, 3)
    g.add("Relu", name="a")
    g.nodes.append(helper.make_node("Abs", [conv], ["b_out"], name="b"))
    g.tensors.append("b_out")
    imported = read_model(g.save(tmp_path))
    assert "feeds 2 nodes" in imported.stopped and len(imported.bank.layers) == 1


def test_a_model_that_starts_with_no_layer_is_refused_in_one_line(tmp_path):
    g = Graph()
    g.add("Sub", g.const("mean", [0.5]), name="normalise")
    with pytest.raises(BankError) as refused:
        import_model(g.save(tmp_path, "norm.onnx"))
    assert str(refused.value) == (
        "norm.onnx: nothing to import, stopped at Sub node 'normalise': the bank format has no Sub"
    )


def test_a_leaky_relu_imports_with_its_slope_and_matches_onnxruntime(tmp_path):
    g = Graph()
    g.conv("conv1", 4, 3, pads=[1, 1, 1, 1])
    out = g.add("LeakyRelu", name="leaky", alpha=0.2)
    path = g.save(tmp_path)
    bank = import_model(path)
    assert bank.layers[0].activation == "leaky-relu" and bank.layers[0].slope == 0.2
    np.testing.assert_allclose(
        bank.apply(IMAGE)[0], onnxruntime_outputs(path, IMAGE)[out], atol=3e-5
    )


def test_a_hostile_graph_that_runs_in_a_circle_ends_with_a_line(tmp_path):
    g = Graph()
    first = g.conv("conv1", 3, 3, pads=[1, 1, 1, 1])
    g.conv("conv2", 3, 3, pads=[1, 1, 1, 1])
    # conv3 writes conv1's output again: following the chain would never end.
    w = g.const("conv3.w", RNG.standard_normal((3, 3, 3, 3)))
    g.nodes.append(helper.make_node("Conv", [g.last, w], [first], name="conv3", pads=[1, 1, 1, 1]))
    imported = read_model(g.save(tmp_path))
    assert imported.stopped is not None and "cycle" in imported.stopped
    assert len(imported.bank.layers) <= 4


def test_stored_tensors_passed_on_by_identity_nodes_import_as_stored(tmp_path):
    # torch's export hands a BatchNormalization its statistics through Identity nodes.
    g = Graph()
    g.conv("conv1", 3, 3, pads=[1, 1, 1, 1])
    stats = []
    for what, values in (
        ("scale", RNG.uniform(0.5, 2, 3)),
        ("bias", RNG.standard_normal(3)),
        ("mean", RNG.standard_normal(3)),
        ("var", RNG.uniform(0.5, 2, 3)),
    ):
        stored = g.const(f"bn.{what}", values)
        g.nodes.append(helper.make_node("Identity", [stored], [f"{what}_id"], name=f"id_{what}"))
        stats.append(f"{what}_id")
    out = g.add("BatchNormalization", *stats, name="bn1")
    path = g.save(tmp_path)
    imported = read_model(path)
    assert imported.stopped is None and len(imported.bank.layers) == 1
    np.testing.assert_allclose(
        imported.bank.apply(IMAGE)[0], onnxruntime_outputs(path, IMAGE)[out], atol=3e-5
    )
