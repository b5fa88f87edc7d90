"""A trained ONNX model's leading layers as a bank, node by node, as far as the format reaches.

`read_model` follows the graph from its one image input along a chain of single consumers and
turns each node into the bank's terms:

- Conv: a conv layer with the node's strides, dilations, padding and group (a Pad node right
  before it gives a reflect, edge or wrap border; see `weights.onnx_conv_settings`);
- BatchNormalization right after a conv: folded into that conv's weights and biases;
- Relu, LeakyRelu (its alpha the slope), Sigmoid, Tanh, Abs right after a conv (or its folded
  BatchNormalization): the conv layer's activation;
- MaxPool and AveragePool without padding, dilation or ceil mode: a pool layer.

It stops at the first node it cannot express, a branch (a tensor that feeds several nodes) or
the graph's end, and says where and why in `ModelImport.stopped`. The bank takes the image as
every bank does, pixels in [0, 1] (uint8 / 255), one plane per channel: the model's first node
gets that, so a model trained on normalised input (mean and std taken out before the graph)
sees other numbers than it was trained on; a normalisation inside the graph (Sub, Div) is a
node the import stops at.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from playground.engine.bank import (
    INPUT_CHANNELS,
    MAX_FILTERS,
    MAX_KERNEL,
    MAX_LAYERS,
    MAX_NAME,
    Bank,
    ConvLayer,
    Filter,
    Layer,
    PoolLayer,
)
from playground.engine.errors import BankError
from playground.engine.weights import (
    load_onnx,
    node_name,
    onnx_attributes,
    onnx_conv_settings,
    read_onnx,
)

ACTIVATION_OPS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Abs": "abs"}
POOL_OPS = {"MaxPool": "max", "AveragePool": "avg"}


@dataclass(frozen=True)
class ModelImport:
    """What `read_model` made of a model.

    ``bank``: its leading layers. ``nodes``: per bank layer, the nodes it came from.
    ``stopped``: the node the import stopped at and why, one line; None when the whole graph
    came in.
    """

    bank: Bank
    nodes: tuple[tuple[str, ...], ...]
    stopped: str | None


class _Stop(Exception):
    """The chain ends here: the node cannot be expressed (message: why)."""


def read_model(path: str | Path) -> ModelImport:
    """A bank of an ONNX model's leading chain of supported nodes (see the module docstring).

    Raises BankError in one line when the file cannot be read or not even its first node
    becomes a layer.
    """
    path = Path(path)
    model = load_onnx(path)
    graph = model.graph
    arrays = read_onnx(path, model)
    # Exporters pass stored tensors on through Identity nodes (torch's BatchNormalization
    # statistics): the tensor an Identity of a stored one gives is that tensor. Nodes come in
    # graph order, so a chain of them resolves in one pass.
    for node in graph.node:
        if node.op_type == "Identity" and node.input and node.input[0] in arrays:
            arrays[node.output[0]] = arrays[node.input[0]]
    inputs = [i for i in graph.input if i.name not in arrays]
    if len(inputs) != 1:
        raise BankError(
            f"{path.name}: the model takes {len(inputs)} inputs; a bank takes one image"
        )
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}

    channels = _declared_channels(inputs[0])
    layers: list[Layer] = []
    nodes: list[tuple[str, ...]] = []
    pad: Any = None  # a Pad node waiting for its Conv
    tensor = inputs[0].name
    stopped: str | None = None
    # Each step takes a node; a hostile graph whose nodes feed each other in a circle would
    # otherwise be followed for ever.
    for _ in range(len(graph.node) + 1):
        if len(layers) == MAX_LAYERS:
            stopped = f"stopped after {MAX_LAYERS} layers, the most a bank holds"
            break
        users = consumers.get(tensor, [])
        if not users:  # the graph's end
            if tensor not in outputs:
                stopped = f"the tensor {tensor!r} feeds no node and is no output"
            break
        if len(users) > 1:
            stopped = (
                f"the tensor {tensor!r} feeds {len(users)} nodes (a branch); a bank is a chain"
            )
            break
        node = users[0]
        try:
            if pad is not None and node.op_type != "Conv":
                raise _Stop(f"the Pad node before it pads for a {node.op_type}, not a Conv")
            if node.op_type == "Pad":
                pad = node
            elif node.op_type == "Conv":
                layer = _conv(path, graph, node, pad, arrays, channels)
                channels = layer.out_channels
                layers.append(layer)
                nodes.append(((node_name(pad),) if pad is not None else ()) + (node_name(node),))
                pad = None
            else:
                layers, step = _after(path, node, layers, arrays, channels)
                if step == "layer":
                    nodes.append((node_name(node),))
                else:
                    nodes[-1] = (*nodes[-1], node_name(node))
        except (_Stop, BankError) as e:
            # A reader's message names the file and the node; here both are said already.
            reason = str(e)
            for said in (f"{path.name}: {node_name(node)} ", f"{path.name}: "):
                reason = reason.removeprefix(said)
            stopped = f"stopped at {node_name(node)}: {reason}"
            break
        if len(node.output) > 1 and any(consumers.get(o) for o in node.output[1:]):
            stopped = f"stopped after {node_name(node)}: its second output feeds another node"
            break
        tensor = node.output[0]
    else:
        stopped = "stopped where the graph comes back to a tensor it has passed (a cycle)"
    if pad is not None and stopped is None:  # the graph ended after it
        stopped = f"stopped at {node_name(pad)}: no Conv follows it"
    if not layers:
        raise BankError(f"{path.name}: nothing to import, {stopped}")
    first_channels = _declared_channels(inputs[0]) or _first_conv_channels(layers)
    if first_channels not in INPUT_CHANNELS.values():
        raise BankError(
            f"{path.name}: the model reads {first_channels} channels; a bank reads the image, "
            "1 (gray) or 3 (rgb)"
        )
    mode = "rgb" if first_channels == 3 else "gray"
    bank = Bank(tuple(layers), input=mode, name=path.stem)
    return ModelImport(bank, tuple(nodes), stopped)


def import_model(path: str | Path) -> Bank:
    """The bank `read_model` makes of an ONNX model (its report left out)."""
    return read_model(path).bank


def _declared_channels(value: Any) -> int | None:
    """The channel count an input's type declares (N, C, H, W), if it does."""
    dims = value.type.tensor_type.shape.dim
    if len(dims) == 4 and dims[1].HasField("dim_value"):
        return int(dims[1].dim_value)
    return None


def _first_conv_channels(layers: list[Layer]) -> int:
    for layer in layers:
        if isinstance(layer, ConvLayer):
            return layer.in_channels
    raise BankError("the model's leading layers are pools only; the image's channels are unknown")


def _tensor(path: Path, arrays: dict[str, Any], name: str, what: str) -> np.ndarray:
    if name not in arrays:
        raise _Stop(f"its {what} {name!r} is computed, not stored; the bank needs it fixed")
    return np.asarray(arrays[name].read(), dtype=np.float64)


def _conv(
    path: Path, graph: Any, node: Any, pad: Any, arrays: dict[str, Any], channels: int | None
) -> ConvLayer:
    settings = onnx_conv_settings(path, graph, node, pad)
    w = _tensor(path, arrays, node.input[1], "weight")
    if w.ndim != 4:
        raise _Stop(f"its weight has shape {w.shape}; a 2-D conv's is (C_out, C_in, kh, kw)")
    c_out, c_in, kh, kw = w.shape
    groups = settings["groups"]
    if channels is not None and c_in * groups != channels:
        reads = f"{c_in}" if groups == 1 else f"{c_in} a filter in {groups} groups, {c_in * groups}"
        raise _Stop(f"it reads {reads} channels where the layers before give {channels}")
    if c_out > MAX_FILTERS or kh > MAX_KERNEL or kw > MAX_KERNEL:
        raise _Stop(
            f"{c_out} filters of {kh}x{kw}; at most {MAX_FILTERS} filters of "
            f"{MAX_KERNEL}x{MAX_KERNEL} are supported"
        )
    b = np.zeros(c_out)
    if len(node.input) > 2 and node.input[2]:
        b = _tensor(path, arrays, node.input[2], "bias").reshape(-1)
    name = (node.name or node.output[0])[: MAX_NAME - 8]
    # Named as the framework indexes them: "conv1[0]" is the node's filter 1.
    filters = tuple(Filter(w[o], float(b[o]), f"{name}[{o}]") for o in range(c_out))
    return ConvLayer(filters, name=name, **settings)


def _after(
    path: Path, node: Any, layers: list[Layer], arrays: dict[str, Any], channels: int | None
) -> tuple[list[Layer], str]:
    """A node that changes the last layer ("merged") or adds one ("layer")."""
    op = node.op_type
    attrs = onnx_attributes(node)
    last = layers[-1] if layers else None
    open_conv = isinstance(last, ConvLayer) and last.activation == "none"
    if op == "BatchNormalization":
        if not open_conv:
            raise _Stop("the bank folds a BatchNormalization only into the conv right before it")
        assert isinstance(last, ConvLayer)
        scale, shift, mean, var = (
            _tensor(path, arrays, name, what).reshape(-1)
            for name, what in zip(node.input[1:5], ("scale", "bias", "mean", "variance"))
        )
        factor = scale / np.sqrt(var + float(attrs.get("epsilon", 1e-5)))
        filters = tuple(
            replace(
                f,
                kernels=f.kernels * factor[o],
                bias=float((f.bias - mean[o]) * factor[o] + shift[o]),
            )
            for o, f in enumerate(last.filters)
        )
        return [*layers[:-1], replace(last, filters=filters)], "merged"
    if op in ACTIVATION_OPS or op == "LeakyRelu":
        if not open_conv:
            raise _Stop("the bank applies an activation only as a conv layer's own")
        assert isinstance(last, ConvLayer)
        if op == "LeakyRelu":
            # ONNX holds alpha as float32: 0.2 arrives as 0.20000000298, and is meant as 0.2.
            alpha = float(str(np.float32(attrs.get("alpha", 0.01))))
            if not 0.0 <= alpha <= 1.0:
                raise _Stop(f"a leaky ReLU of alpha {alpha:g}; the bank's slope is in [0, 1]")
            return [*layers[:-1], replace(last, activation="leaky-relu", slope=alpha)], "merged"
        return [*layers[:-1], replace(last, activation=ACTIVATION_OPS[op])], "merged"
    if op in POOL_OPS:
        kernel = tuple(int(v) for v in attrs.get("kernel_shape", ()))
        if len(kernel) != 2:
            raise _Stop(f"a pool of kernel_shape {list(kernel)}; the bank pools 2-D maps")
        sy, sx = (int(v) for v in attrs.get("strides", (1, 1)))
        if any(int(v) for v in attrs.get("pads", ())) or str(attrs.get("auto_pad", "NOTSET")) in (
            "SAME_UPPER",
            "SAME_LOWER",
        ):
            raise _Stop("a padded pool; the bank's pools have no padding")
        if int(attrs.get("ceil_mode", 0)):
            raise _Stop("ceil_mode=1; the bank's pools round their output size down")
        if any(int(v) != 1 for v in attrs.get("dilations", ())):
            raise _Stop("a dilated pool; the bank's pools are not dilated")
        if not layers and channels is None:
            raise _Stop("a pool before any conv, on an input whose channels are not declared")
        name = node.name or node.output[0]
        return [
            *layers,
            PoolLayer(POOL_OPS[op], (kernel[0], kernel[1]), (sy, sx), name=name),
        ], "layer"
    raise _Stop(f"the bank format has no {op}")
