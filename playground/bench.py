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
from pathlib import Path
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


def _write_video(path: str, width: int, height: int, fps: float, frames: int = 90) -> None:
    """A looping clip of moving bars and a gradient, so every frame has edges that move."""
    import cv2

    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    x = np.arange(width, dtype=np.float32)
    y = np.arange(height, dtype=np.float32)[:, None]
    for i in range(frames):
        bars = ((x + 8 * i) // 40 % 2) * 160
        frame = np.empty((height, width, 3), np.uint8)
        frame[..., 0] = (bars + y / height * 90).astype(np.uint8)
        frame[..., 1] = (y / height * 255).astype(np.uint8)
        frame[..., 2] = ((x / width * 255) * np.ones_like(y)).astype(np.uint8)
        writer.write(frame)
    writer.release()


def live_table(seconds: float = 4.0, out: TextIO | None = None) -> dict[str, float]:
    """Measure the real window, offscreen: displayed fps, edit latency, worst GUI stall.

    Runs the GUI event loop on this thread; returns the figures it printed.
    """
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from playground.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.resize(1600, 1000)
        window.show()
        c = window.controller

        def run_loop(ms: float) -> None:
            loop = QEventLoop()
            QTimer.singleShot(int(ms), loop.quit)
            loop.exec()

        def displayed_fps(path: str, filters: int, k: int) -> tuple[float, float]:
            """(displayed fps, worst gap between GUI event-loop turns in ms) on a video."""
            bank = random_layer_bank(filters, k)
            layer = bank.layers[0]
            assert isinstance(layer, ConvLayer)
            from dataclasses import replace

            c.set_bank(replace(bank, layers=(replace(layer, activation="relu"),)), "bench")
            c.open_video(path)
            run_loop(1500)  # warm up: first frames, pane creation, display size settling
            shown = [0]
            c.resultDisplayed.connect(lambda: shown.__setitem__(0, shown[0] + 1))
            clock = QElapsedTimer()
            clock.start()
            gaps = [0.0]
            last = [clock.elapsed()]

            def tick() -> None:
                now = clock.elapsed()
                gaps.append(now - last[0])
                last[0] = now

            probe = QTimer()
            probe.setTimerType(Qt.TimerType.PreciseTimer)
            probe.timeout.connect(tick)
            probe.start(5)
            run_loop(seconds * 1000)
            probe.stop()
            c.resultDisplayed.disconnect()
            return shown[0] / (clock.elapsed() / 1000), max(gaps)

        rows = []
        for width, height in ((1280, 720), (640, 480)):
            path = os.path.join(tmp, f"clip{width}.avi")
            _write_video(path, width, height, 60.0)
            fps, stall = displayed_fps(path, 8, 3)
            figures[f"fps_{width}x{height}"] = fps
            rows.append(
                (
                    f"{width}x{height} video (60 fps file), 8 filters 3x3x3 + ReLU",
                    f"{fps:.1f} fps displayed",
                    f"{fps / 60:.2f} of the file's rate; worst GUI stall {stall:.0f} ms",
                )
            )
        path = os.path.join(tmp, "clip1080.avi")
        _write_video(path, 1920, 1080, 30.0, frames=45)
        fps, stall = displayed_fps(path, 16, 11)
        figures["stall_1080_16x11"] = stall
        rows.append(
            (
                "1920x1080 video, 16 filters 11x11x3",
                f"{fps:.1f} fps displayed",
                f"worst GUI stall {stall:.0f} ms",
            )
        )

        # Edit latency: a weight typed into the grid until the panes show the new bank.
        rng = np.random.default_rng(2)
        bank = random_layer_bank(8, 3)
        c.set_bank(bank, "bench")
        from playground.sources.still import StillSource

        still = rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
        c.open_source(StillSource(still, "still"))
        run_loop(1000)
        model = window.kernel_editor.grid.model()
        latencies = []
        for i in range(20):
            generation = c.generation
            clock = QElapsedTimer()
            clock.start()
            model.setData(model.index(1, 1), 0.1 * i + 0.05, Qt.ItemDataRole.EditRole)
            while not (
                c.last_result is not None
                and c.last_result.generation > generation
                and c.last_result.generation == c.generation
            ):
                app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 5)
            latencies.append(clock.nsecsElapsed() / 1e6)
            run_loop(60)
        # The peer: the engine alone running the whole bank once on the same still, same run.
        full_ms = time_call(lambda: bank.run(still, (0, 1))) * 1000
        median = statistics.median(latencies)
        figures["edit_latency_median_ms"] = median
        figures["edit_latency_max_ms"] = max(latencies)
        figures["full_run_ms"] = full_ms
        rows.append(
            (
                "weight edit -> panes, 1920x1080 still, 8 filters 3x3x3",
                f"median {median:.0f} ms",
                f"max {max(latencies):.0f} ms; {median / full_ms:.2f}x one engine run of the "
                f"bank ({full_ms:.0f} ms)",
            )
        )
        window.controller.document.mark_saved(Path(tmp) / "bench.json")
        window.close()
    if out is not None:
        print(
            f"live pipeline, offscreen window 1600x1000, {os.cpu_count()} cores, "
            f"{seconds:g} s per measurement",
            file=out,
        )
        for row in rows:
            print(f"  {row[0]:<56} {row[1]:>17}  {row[2]}", file=out)
    return figures
