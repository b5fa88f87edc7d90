"""A peer of the engine for `filter-playground bench`, run in its own process.

Started by playground.bench with whichever Python has the peer's library (PyTorch may live in
another virtual environment than the app), so this file imports nothing from playground: only
numpy and the peers' own libraries. It speaks JSON lines: it first prints the peers it can run,
then answers each request (a layer's weights and a frame size) with median milliseconds per
peer variant.

Every variant starts from the same uint8 RGB frame and counts its conversion to float32 [0, 1],
as `Bank.apply` does, and each is run the way its library runs fastest on a CPU:
PyTorch both on NCHW-contiguous input and on channels_last (oneDNN's fast layout for 3 input
channels), onnxruntime with the conversion inside its graph, OpenCV's dnn module on the blob
`cv2.dnn.blobFromImage` makes.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np


def time_call(fn: Callable[[], object], budget: float = 0.4, max_runs: int = 30) -> float:
    """Median seconds of ``fn`` after one warm-up call; repeats within ``budget`` seconds."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    runs = 1 if first > budget else max(3, min(max_runs, int(budget / max(first, 1e-6))))
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def frame_for(height: int, width: int) -> np.ndarray:
    """The frame every process times: the same seed gives the same pixels in each."""
    return np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _onnx_conv(weights: np.ndarray, bias: np.ndarray, h: int, w: int, uint8_in: bool) -> bytes:
    """A one-layer ONNX graph, 'same' zero padding; with ``uint8_in`` it takes the HxWx3 frame
    and converts it itself."""
    from onnx import TensorProto, helper, numpy_helper

    k = weights.shape[-1]
    before, after = (k - 1) // 2, k - 1 - (k - 1) // 2
    nodes = []
    source = "x"
    if uint8_in:
        nodes = [
            helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["xf", "scale"], ["xs"]),
            helper.make_node("Transpose", ["xs"], ["xt"], perm=[0, 3, 1, 2]),
        ]
        source = "xt"
    nodes.append(
        helper.make_node(
            "Conv", [source, "W", "B"], ["y"], kernel_shape=[k, k], pads=[before] * 2 + [after] * 2
        )
    )
    shape = [1, h, w, 3] if uint8_in else [1, 3, h, w]
    kind = TensorProto.UINT8 if uint8_in else TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "conv",
        [helper.make_tensor_value_info("x", kind, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, len(weights), h, w])],
        [
            numpy_helper.from_array(weights, "W"),
            numpy_helper.from_array(bias, "B"),
            numpy_helper.from_array(np.array(1 / 255, np.float32), "scale"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def available() -> list[str]:
    have = {name: importlib.util.find_spec(name) is not None for name in ("torch", "onnx")}
    peers = ["torch"] if have["torch"] else []
    if have["onnx"] and importlib.util.find_spec("onnxruntime") is not None:
        peers.append("onnxruntime")
    if have["onnx"] and importlib.util.find_spec("cv2") is not None:
        import cv2

        if hasattr(cv2, "dnn"):
            peers.append("opencv-dnn")
    return peers


def variants(
    peer: str, frame: np.ndarray, weights: np.ndarray, bias: np.ndarray
) -> dict[str, Callable[[], object]]:
    """The ways ``peer`` runs the layer on ``frame``, by name."""
    h, w, _ = frame.shape
    cores = os.cpu_count() or 1
    if peer == "torch":
        import torch

        # As many threads as the engine's pool: the ratio compares algorithms, not cores.
        torch.set_num_threads(cores)
        pixels = torch.from_numpy(frame)
        tw, tb = torch.from_numpy(weights), torch.from_numpy(bias)
        tw_last = tw.contiguous(memory_format=torch.channels_last)

        def nchw() -> object:
            with torch.inference_mode():
                x = pixels.permute(2, 0, 1)[None].float().div_(255).contiguous()
                return torch.nn.functional.conv2d(x, tw, tb, padding="same")

        def channels_last() -> object:
            with torch.inference_mode():
                # HxWx3 as it comes is channels_last already: no copy but the conversion.
                x = pixels[None].float().div_(255).permute(0, 3, 1, 2)
                return torch.nn.functional.conv2d(x, tw_last, tb, padding="same")

        return {"torch-nchw": nchw, "torch-cl": channels_last}
    if peer == "onnxruntime":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = cores
        session = ort.InferenceSession(
            _onnx_conv(weights, bias, h, w, uint8_in=True),
            options,
            providers=["CPUExecutionProvider"],
        )
        batch = frame[None]
        return {"onnxruntime": lambda: session.run(None, {"x": batch})[0]}
    if peer == "opencv-dnn":
        import cv2

        cv2.setNumThreads(cores)
        net = cv2.dnn.readNetFromONNX(
            np.frombuffer(_onnx_conv(weights, bias, h, w, uint8_in=False), np.uint8)
        )

        def dnn() -> object:
            net.setInput(cv2.dnn.blobFromImage(frame, 1 / 255))
            return net.forward()

        return {"opencv-dnn": dnn}
    raise ValueError(f"unknown peer {peer!r}")


def main() -> int:
    peers = available()
    print(json.dumps({"peers": peers, "python": sys.version.split()[0]}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        shape = tuple(request["shape"])
        weights = np.frombuffer(base64.b64decode(request["weights"]), np.float32).reshape(shape)
        bias = np.asarray(request["bias"], np.float32)
        frame = frame_for(request["height"], request["width"])
        reply = {}
        for peer in request["peers"]:
            for name, fn in variants(peer, frame, weights.copy(), bias).items():
                reply[name] = time_call(fn, request["budget"]) * 1000
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
