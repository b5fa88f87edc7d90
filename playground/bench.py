"""`filter-playground bench`: the engine timed against its peers in the same run.

Machines are shared and noisy, so absolute milliseconds mean little; every figure is reported
next to a peer measured moments before, and the ratio is what to read.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import TextIO

import numpy as np

from playground.engine.bank import Bank, ConvLayer, Filter


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


def random_layer_bank(filters: int, k: int, seed: int = 0) -> Bank:
    """One conv layer of random (non-separable) k x k x 3 filters, zero 'same' padding."""
    rng = np.random.default_rng(seed)
    return Bank(
        (
            ConvLayer(
                tuple(
                    Filter(rng.standard_normal((3, k, k)), float(rng.standard_normal()), f"f{i}")
                    for i in range(filters)
                ),
                padding="same",
            ),
        )
    )


def numpy_reference(x: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Plain numpy 'same' cross-correlation: one shifted multiply-add per kernel tap."""
    c_in, h, w = x.shape
    k = weights.shape[-1]
    before, after = (k - 1) // 2, k - 1 - (k - 1) // 2
    xp = np.pad(x, ((0, 0), (before, after), (before, after)))
    out = np.repeat(bias.astype(np.float32)[:, None, None], h, axis=1).repeat(w, axis=2)
    for c in range(c_in):
        for i in range(k):
            for j in range(k):
                out += weights[:, c, i, j, None, None] * xp[c, i : i + h, j : j + w]
    return out


def _peers(bank: Bank, frame: np.ndarray) -> dict[str, Callable[[], object]]:
    layer = bank.layers[0]
    assert isinstance(layer, ConvLayer)
    weights = np.stack([f.kernels for f in layer.filters]).astype(np.float32)
    bias = np.array([f.bias for f in layer.filters], np.float32)
    planes = bank.input_planes(frame)
    peers: dict[str, Callable[[], object]] = {
        "engine": lambda: bank.apply(frame),
        "numpy": lambda: numpy_reference(planes, weights, bias),
    }
    if importlib.util.find_spec("scipy") is not None:
        from scipy import ndimage

        def scipy_conv() -> object:
            return [
                sum(
                    ndimage.correlate(planes[c], weights[o, c], mode="constant")
                    for c in range(planes.shape[0])
                )
                + bias[o]
                for o in range(weights.shape[0])
            ]

        peers["scipy"] = scipy_conv
    if importlib.util.find_spec("torch") is not None:
        import torch

        # Same thread count as the engine's pool, so the ratio compares algorithms, not cores.
        torch.set_num_threads(os.cpu_count() or 1)
        tx = torch.from_numpy(planes[None].copy())
        tw, tb = torch.from_numpy(weights), torch.from_numpy(bias)

        def torch_conv() -> object:
            with torch.no_grad():
                return torch.nn.functional.conv2d(tx, tw, tb, padding="same")

        peers["torch"] = torch_conv
    return peers


def engine_table(
    sizes: Sequence[tuple[int, int]],
    kernels: Sequence[int],
    filters: int = 8,
    out: TextIO | None = None,
) -> list[dict[str, float]]:
    """Time one conv layer of ``filters`` k x k x 3 filters on RGB frames of each size.

    Prints a table (milliseconds, medians) and returns its rows.
    """
    rng = np.random.default_rng(1)
    rows = []
    header = None
    for h, w in sizes:
        frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for k in kernels:
            bank = random_layer_bank(filters, k)
            peers = _peers(bank, frame)
            row: dict[str, float] = {"height": h, "width": w, "kernel": k}
            for name, fn in peers.items():
                row[name] = time_call(fn) * 1000
            rows.append(row)
            if out is not None:
                names = list(peers)
                if header is None:
                    header = (
                        f"{'size':>10} {'kernel':>7} "
                        + " ".join(f"{n + ' ms':>10}" for n in names)
                        + "".join(f" {'engine/' + n:>13}" for n in names[1:])
                    )
                    print(
                        f"one conv layer, {filters} filters k x k x 3, zero 'same' padding, "
                        f"{os.cpu_count()} threads; medians",
                        file=out,
                    )
                    print(header, file=out)
                print(
                    f"{f'{w}x{h}':>10} {f'{k}x{k}':>7} "
                    + " ".join(f"{row[n]:>10.2f}" for n in names)
                    + "".join(f" {row['engine'] / row[n]:>13.3f}" for n in names[1:]),
                    file=out,
                    flush=True,
                )
    return rows
