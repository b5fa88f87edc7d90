"""A model exported by torch.onnx.export imports layer by layer with onnxruntime's numbers for
the same nodes: Conv, BatchNormalization (kept by the export, or folded into the conv by
torch), ReLU, MaxPool, a depthwise strided Conv with asymmetric-axis padding, LeakyReLU and a
1x1 Conv. torch is a peer here, not a dependency: the tests skip where it is absent."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import helper

from playground import ConvLayer, PoolLayer, read_model

torch = pytest.importorskip("torch")
nn = torch.nn

RNG = np.random.default_rng(5)
IMAGE = RNG.integers(0, 256, (29, 34, 3), dtype=np.uint8)


def net():
    torch.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=(1, 2), groups=8, stride=(1, 2)),
        nn.LeakyReLU(0.1),
        nn.Conv2d(8, 4, 1),
    )
    with torch.no_grad():  # statistics a trained network would have, not the identity's
        bn = model[1]
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    return model.eval()


def export(model, path, **options):
    with warnings.catch_warnings():
        # The TorchScript exporter warns that it is the legacy one; the dynamo exporter needs
        # onnxscript, which the test extra does not hold.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (torch.rand(1, 3, 29, 34),), str(path), dynamo=False, opset_version=17, **options
        )
    return path


def onnxruntime_layers(path, imported, tmp_path):
    """onnxruntime's output of the last node of each imported layer, on IMAGE."""
    model = onnx.load(str(path))
    by_name = {node.name: node for node in model.graph.node}
    tensors = []
    for names in imported.nodes:
        last = names[-1].split("'")[1]  # "Relu node '/2/Relu'"
        tensors.append(by_name[last].output[0])
    outputs = {o.name for o in model.graph.output}
    model.graph.output.extend(
        helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None)
        for t in tensors
        if t not in outputs
    )
    probed = tmp_path / "probed.onnx"
    onnx.save(model, str(probed))
    session = onnxruntime.InferenceSession(str(probed), providers=["CPUExecutionProvider"])
    x = (IMAGE.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
    return [out[0] for out in session.run(tensors, {session.get_inputs()[0].name: x})]


@pytest.mark.parametrize(
    ("options", "layers"),
    [
        # The BatchNormalization node kept: the import folds it into the conv before it.
        ({"training": torch.onnx.TrainingMode.PRESERVE}, 4),
        ({}, 4),  # torch's own export folds it
    ],
)
def test_a_torch_exported_conv_bn_relu_pool_conv_net_imports_with_onnxruntimes_maps(
    tmp_path, options, layers
):
    path = export(net(), tmp_path / "net.onnx", **options)
    imported = read_model(path)
    assert imported.stopped is None
    bank = imported.bank
    assert [type(layer) for layer in bank.layers] == [ConvLayer, PoolLayer, ConvLayer, ConvLayer]
    first, _, depthwise, _ = bank.layers
    assert first.activation == "relu" and first.padding == (1, 1, 1, 1)
    assert depthwise.groups == 8 and depthwise.stride == (1, 2)
    assert depthwise.activation == "leaky-relu" and depthwise.slope == 0.1
    if "training" in options:
        assert "BatchNormalization" in imported.nodes[0][1]
    got = bank.apply(IMAGE)
    want = onnxruntime_layers(path, imported, tmp_path)
    assert len(got) == layers
    for maps, expected in zip(got, want, strict=True):
        assert maps.shape == expected.shape
        np.testing.assert_allclose(maps, expected, atol=3e-5, rtol=1e-5)
    # And what torch itself computes, at the end of the chain.
    with torch.no_grad():
        x = torch.from_numpy((IMAGE.astype(np.float32) / 255.0).transpose(2, 0, 1)[None].copy())
        np.testing.assert_allclose(got[-1], net()(x).numpy()[0], atol=3e-5, rtol=1e-5)


def test_a_torch_padding_layer_the_export_computes_stops_the_import_in_one_line(tmp_path):
    # TorchScript's export computes a ReflectionPad2d's amounts in a chain of nodes (Concat,
    # Reshape, Slice...) instead of storing them: the bank takes fixed pads, so it stops there.
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReflectionPad2d((1, 2, 0, 1)), nn.Conv2d(4, 2, 3))
    imported = read_model(export(model.eval(), tmp_path / "pad.onnx"))
    assert len(imported.bank.layers) == 1
    assert imported.stopped is not None and "\n" not in imported.stopped
    assert "the Pad node before" in imported.stopped
    assert "from other nodes; the bank needs them stored" in imported.stopped
