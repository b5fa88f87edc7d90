"""A whole bank as an ONNX model (`export_onnx`), for onnxruntime or any other ONNX runtime.

The model takes the frame as the bank does: ``frame``, uint8 RGB, (height, width, 3), any
size. It scales it to [0, 1], takes BT.601 luma for a gray bank, and gives every layer's maps
as outputs ``layer1``, ``layer2``, ... of shape (1, C_out, H', W'): what `Bank.apply` gives,
within float32 round-off. Opset 19 (the first with Pad's wrap mode).

Each conv layer is a Conv node (kernels flipped for true convolution, as the engine flips
them; its groups the node's group), after a Pad node when the border is not zero (reflect,
edge or wrap), then its activation's node; a pool layer is a MaxPool or AveragePool node.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from playground.engine.bank import LUMA, Bank, ConvLayer, PoolLayer
from playground.engine.bankfile import write_atomic
from playground.engine.convolve import effective_size
from playground.engine.errors import BankError

OPSET = 19
ACTIVATION_NODES = {
    "relu": "Relu",
    "leaky-relu": "LeakyRelu",
    "abs": "Abs",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
}
PAD_MODES = {"reflect": "reflect", "replicate": "edge", "wrap": "wrap"}


def _onnx() -> Any:
    try:
        return importlib.import_module("onnx")
    except ImportError:
        raise BankError("exporting ONNX needs the 'onnx' package: pip install onnx") from None


def export_onnx(bank: Bank, path: str | Path) -> Path:
    """Write ``bank`` as an ONNX model to ``path`` (written whole or not at all) and return
    the path. Raises BankError in one line for what ONNX cannot run as the bank does: "same"
    padding with a stride above 1 and a border other than zero (its padding depends on the
    frame's size), and a layer whose filters have kernels of different sizes, one of them even.
    """
    onnx = _onnx()
    helper = importlib.import_module("onnx.helper")
    numpy_helper = importlib.import_module("onnx.numpy_helper")
    path = Path(path)
    nodes: list[Any] = []
    initializers: list[Any] = []

    def const(name: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    pixels = node("Cast", ["frame"], "pixels", to=onnx.TensorProto.FLOAT)
    scaled = node("Mul", [pixels, const("one_255th", np.array(1 / 255, np.float32))], "scaled")
    planes = node("Transpose", [scaled], "planes", perm=[2, 0, 1])
    x = node("Unsqueeze", [planes, const("batch_axis", np.array([0], np.int64))], "image")
    if bank.input == "gray":
        luma = LUMA.astype(np.float32).reshape(1, 3, 1, 1)
        x = node("Conv", [x, const("luma", luma)], "gray")
    outputs = []
    for n, layer in enumerate(bank.layers, start=1):
        where = f"layer {n}"
        if isinstance(layer, PoolLayer):
            op = "MaxPool" if layer.op == "max" else "AveragePool"
            x = node(
                op, [x], f"layer{n}", kernel_shape=list(layer.size), strides=list(layer.stride)
            )
        else:
            x = _conv(layer, x, n, where, node, const)
        outputs.append(x)
    graph = helper.make_graph(
        nodes,
        bank.name or "bank",
        [helper.make_tensor_value_info("frame", onnx.TensorProto.UINT8, ["height", "width", 3])],
        [
            helper.make_tensor_value_info(
                o, onnx.TensorProto.FLOAT, [1, c, f"{o}_height", f"{o}_width"]
            )
            for o, c in zip(outputs, bank.channels()[1:])
        ],
        initializer=initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="Filter Playground"
    )
    model.ir_version = 9  # what onnxruntime 1.17 and later read
    onnx.checker.check_model(model)
    write_atomic(path, model.SerializeToString())
    return path


def _conv(layer: ConvLayer, x: str, n: int, where: str, node: Any, const: Any) -> str:
    sizes = {f.kernels.shape[1:] for f in layer.filters}
    kh = max(h for h, _ in sizes)
    kw = max(w for _, w in sizes)
    if len(sizes) > 1 and any(h % 2 == 0 or w % 2 == 0 for h, w in sizes):
        raise BankError(
            f"{where}: kernels of sizes {sorted(sizes)} with an even one; an ONNX Conv has one "
            "kernel size, and the odd ones alone centre in the largest"
        )
    # ONNX's grouped Conv holds C_in / group kernels a filter, as the bank does.
    weights = np.zeros((len(layer.filters), layer.filters[0].in_channels, kh, kw), np.float32)
    for o, f in enumerate(layer.filters):
        k = f.kernels[:, ::-1, ::-1] if layer.flip else f.kernels
        h, w = k.shape[1:]
        top, left = (kh - h) // 2, (kw - w) // 2
        weights[o, :, top : top + h, left : left + w] = k
    bias = np.array([f.bias for f in layer.filters], np.float32)
    dy, dx = layer.dilation
    sy, sx = layer.stride
    attrs: dict[str, Any] = {"strides": [sy, sx], "dilations": [dy, dx], "group": layer.groups}
    if layer.padding == "same":
        if layer.border != "zero":
            if (sy, sx) != (1, 1):
                raise BankError(
                    f"{where}: 'same' padding at stride {sy}x{sx} with a {layer.border} border "
                    "pads by an amount that depends on the frame's size; ONNX's Pad takes it fixed"
                )
            ey, ex = effective_size(kh, dy), effective_size(kw, dx)
            pads = [(ey - 1) // 2, (ex - 1) // 2, ey - 1 - (ey - 1) // 2, ex - 1 - (ex - 1) // 2]
        else:
            attrs["auto_pad"] = "SAME_UPPER"  # the extra pixel after, as the engine does
            pads = [0, 0, 0, 0]
    elif layer.padding == "valid":
        pads = [0, 0, 0, 0]
    else:
        top, bottom, left, right = layer.padding
        pads = [top, left, bottom, right]  # ONNX's order: the starts, then the ends
    if layer.border != "zero" and any(pads):
        top, left, bottom, right = pads
        amounts = np.array([0, 0, top, left, 0, 0, bottom, right], np.int64)
        x = node(
            "Pad",
            [x, const(f"layer{n}.pads", amounts)],
            f"layer{n}.padded",
            mode=PAD_MODES[layer.border],
        )
    elif any(pads):
        attrs["pads"] = pads
    weight = const(f"layer{n}.weight", weights)
    conv = node("Conv", [x, weight, const(f"layer{n}.bias", bias)], f"layer{n}.conv", **attrs)
    if layer.activation == "none":
        return node("Identity", [conv], f"layer{n}")
    if layer.activation == "leaky-relu":
        return node("LeakyRelu", [conv], f"layer{n}", alpha=layer.slope)
    return node(ACTIVATION_NODES[layer.activation], [conv], f"layer{n}")
