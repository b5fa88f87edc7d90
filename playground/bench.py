"""`filter-playground bench`: the engine timed against its peers in the same run.

Machines are shared and noisy, so absolute milliseconds mean little; every figure is reported
next to a peer measured moments before, and the ratio is what to read.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from playground.bench_peer import frame_for, time_call
from playground.controller.pipeline import Frame, Job, compute
from playground.engine import direct, heap
from playground.engine.bank import Bank, ConvLayer, Filter


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


PEER_SCRIPT = Path(__file__).with_name("bench_peer.py")
# Pythons to look for peers in, besides this one: PyTorch is often in a virtual environment of
# its own. Separated by os.pathsep.
PEER_PYTHON_ENV = "FILTER_PLAYGROUND_PEER_PYTHON"


class PeerError(Exception):
    """A peer Python that cannot be run; printed as one line."""


class PeerProcess:
    """One Python running playground/bench_peer.py, spoken to in JSON lines.

    Each peer runs in its own process, so no library's threads, allocator or BLAS settings
    change another's timings, and PyTorch can come from another environment than the app.
    """

    def __init__(self, python: str) -> None:
        self.python = python
        try:
            self.process = subprocess.Popen(
                [python, str(PEER_SCRIPT)],
                env={**os.environ, **heap.FRAME_BUFFERS_ENV},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        except OSError as e:
            raise PeerError(f"cannot run the peer Python {python}: {e.strerror or e}") from e
        line = self.process.stdout.readline() if self.process.stdout else ""
        try:
            self.peers: list[str] = json.loads(line)["peers"]
        except (ValueError, KeyError, TypeError):
            self.close()
            self.peers = []

    def time(self, peers: list[str], bank: Bank, height: int, width: int) -> dict[str, float]:
        """Median ms of each of ``peers``' variants on the bank's (single) conv layer."""
        layer = bank.layers[0]
        assert isinstance(layer, ConvLayer)
        weights = np.stack([f.kernels for f in layer.filters]).astype(np.float32)
        request = {
            "peers": peers,
            "shape": list(weights.shape),
            "weights": base64.b64encode(weights.tobytes()).decode("ascii"),
            "bias": [f.bias for f in layer.filters],
            "height": height,
            "width": width,
            "budget": 0.4,
        }
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the bench peer in {self.python} stopped")
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # the peer's loop ends at end of input
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_peers(pythons: Sequence[str] = ()) -> dict[str, PeerProcess]:
    """One process per peer library: each from the first of ``pythons`` (then those in
    $FILTER_PLAYGROUND_PEER_PYTHON, then this Python) that has it."""
    candidates = [*pythons, *filter(None, os.environ.get(PEER_PYTHON_ENV, "").split(os.pathsep))]
    # A frozen app's executable is the app, not a Python, and it ships no peer script to run.
    if getattr(sys, "frozen", False) or not PEER_SCRIPT.is_file():
        if candidates:
            raise PeerError("this build of the app cannot start bench peers")
        return {}
    candidates.append(sys.executable)
    chosen: dict[str, PeerProcess] = {}
    for python in dict.fromkeys(candidates):
        probe = PeerProcess(python)
        offered = [p for p in probe.peers if p not in chosen]
        probe.close()
        for peer in offered:
            chosen[peer] = PeerProcess(python)
    return chosen


def engine_table(
    sizes: Sequence[tuple[int, int]],
    kernels: Sequence[int],
    filters: int = 8,
    out: TextIO | None = None,
    peer_pythons: Sequence[str] = (),
    rounds: int = 3,
) -> list[dict[str, Any]]:
    """Time one conv layer of ``filters`` k x k x 3 filters on uint8 RGB frames of each size,
    against every peer installed (PyTorch, onnxruntime, OpenCV's dnn), each in its own process.

    The engine and the peers take turns, ``rounds`` times, so a machine that slows down midway
    slows them all; each figure is the median of its rounds' medians. Prints a table
    (milliseconds) and returns its rows.
    """
    # The heap the app and batch runs give the engine; the peers get the same one.
    heap.keep_frame_buffers()
    peers = start_peers(peer_pythons)
    rows: list[dict[str, Any]] = []
    try:
        names: list[str] | None = None
        for h, w in sizes:
            frame = frame_for(h, w)
            for k in kernels:
                bank = random_layer_bank(filters, k)
                samples: dict[str, list[float]] = {"engine": []}
                for _ in range(rounds):
                    run = partial(bank.apply, frame)
                    samples["engine"].append(time_call(run) * 1000)
                    for peer, process in peers.items():
                        for name, ms in process.time([peer], bank, h, w).items():
                            samples.setdefault(name, []).append(ms)
                row: dict[str, Any] = {"height": h, "width": w, "kernel": k}
                row.update({name: statistics.median(v) for name, v in samples.items()})
                others = [n for n in samples if n != "engine"]
                if others:
                    best = min(others, key=lambda n: row[n])
                    row["best"] = best
                    row["engine/best"] = row["engine"] / row[best]
                rows.append(row)
                if out is not None:
                    if names is None:
                        names = list(samples)
                        _print_header(out, filters, names, rounds)
                    _print_row(out, row, names)
    finally:
        for process in peers.values():
            process.close()
    return rows


def _print_header(out: TextIO, filters: int, names: list[str], rounds: int) -> None:
    cores = os.cpu_count()
    print(
        f"one conv layer, {filters} filters k x k x 3, zero 'same' padding, uint8 RGB frame in "
        f"(its conversion to float32 counted); {cores} cores, every library on {cores} threads; "
        f"ms, medians of {rounds} rounds, each peer in its own process",
        file=out,
    )
    line = f"{'size':>10} {'kernel':>7} " + " ".join(f"{n + ' ms':>15}" for n in names)
    if len(names) > 1:
        line += f" {'best peer':>12} {'engine/best':>12}"
    print(line, file=out)


def _print_row(out: TextIO, row: dict[str, Any], names: list[str]) -> None:
    size, kernel = f"{row['width']}x{row['height']}", f"{row['kernel']}x{row['kernel']}"
    line = f"{size:>10} {kernel:>7} "
    line += " ".join(f"{row[n]:>15.2f}" if n in row else f"{'-':>15}" for n in names)
    if "best" in row:
        line += f" {row['best']:>12} {row['engine/best']:>12.3f}"
    print(line, file=out, flush=True)


def _write_video(path: str, width: int, height: int, fps: float, frames: int = 90) -> None:
    """A looping clip of moving bars and a gradient, so every frame has edges that move."""
    import cv2

    writer = cv2.VideoWriter(path, cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
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


@contextlib.contextmanager
def _offscreen_window() -> Iterator[tuple[Any, Path]]:
    """The real main window, offscreen, with its own settings and autosave folder (the user's
    must neither be overwritten nor offered back); yields (window, scratch folder)."""
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from playground.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    assert app is not None
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, autosave_dir=tmp / "autosave")
        window.resize(1600, 1000)
        window.show()
        try:
            yield window, tmp
        finally:
            window.controller.document.mark_saved(tmp / "bench.json")  # no unsaved prompt
            window.close()


def _run_loop(ms: float) -> None:
    """Let the GUI event loop run for ``ms`` milliseconds."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(max(0, int(ms)), loop.quit)
    loop.exec()


def _warm_up(ms: float) -> None:
    """Let the live pipeline run for ``ms`` milliseconds, and on until the engine's loops are
    compiled (the first time on a machine, while they compile, the pipeline takes its slower
    uncompiled path and LLVM's memory grows): the figures after are the compiled steady state."""
    _run_loop(ms)
    while not direct.wait(0):
        _run_loop(100)


def live_table(seconds: float = 4.0, out: TextIO | None = None) -> dict[str, float]:
    """Measure the real window, offscreen: displayed fps, edit latency, worst GUI stall.

    Runs the GUI event loop on this thread; returns the figures it printed.
    """
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    figures: dict[str, float] = {}
    with _offscreen_window() as (window, tmp):
        app = QApplication.instance()
        assert app is not None  # _offscreen_window made one
        c = window.controller
        run_loop = _run_loop

        def displayed_fps(path: str, filters: int, k: int) -> tuple[float, float]:
            """(displayed fps, worst gap between GUI event-loop turns in ms) on a video."""
            bank = random_layer_bank(filters, k)
            layer = bank.layers[0]
            assert isinstance(layer, ConvLayer)
            from dataclasses import replace

            c.set_bank(replace(bank, layers=(replace(layer, activation="relu"),)), "bench")
            c.open_video(path)
            _warm_up(1500)  # first frames, pane creation, display size settling
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
        for width, height in ((1280, 720), (640, 480), (1920, 1080)):
            path = os.path.join(tmp, f"clip{width}.avi")
            _write_video(path, width, height, 60.0, frames=90 if width < 1920 else 45)
            fps, stall = displayed_fps(path, 8, 3)
            figures[f"fps_{width}x{height}"] = fps
            # The peer in the same run: the worker's whole computation of one such frame (maps,
            # story, reductions), alone on this thread, with no window competing for the cores
            # and the interpreter lock: the source is paused and the worker idle first.
            c.set_paused(True)
            c.worker.demand.wait_idle(5.0)
            alone_ms = 1000 * time_call(
                partial(
                    compute,
                    Frame(frame_for(height, width), 0),
                    Job(c.bank, 0, (0, 0), c.display_size),
                )
            )
            c.set_paused(False)
            figures[f"alone_ms_{width}x{height}"] = alone_ms
            rows.append(
                (
                    f"{width}x{height} video (60 fps file), 8 filters 3x3x3 + ReLU",
                    f"{fps:.1f} fps displayed",
                    f"{fps / 60:.2f} of the file's rate; worst GUI stall {stall:.0f} ms; "
                    f"the worker alone {alone_ms:.0f} ms a frame",
                )
            )
        path = os.path.join(tmp, "clip1920.avi")
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
            # Waits in the event loop until the panes show the edit. Performance trap: a loop
            # of processEvents(..., 5) returns at once when no event is pending, so it spun and
            # held the interpreter lock the worker needs, adding a third to the latency.
            waiting = QEventLoop()

            def done(generation: int = generation) -> bool:
                result = c.last_result
                return result is not None and generation < result.generation == c.generation

            def shown(done=done, waiting: QEventLoop = waiting) -> None:
                if done():
                    waiting.quit()

            c.resultDisplayed.connect(shown)
            clock = QElapsedTimer()
            clock.start()
            model.setData(model.index(1, 1), 0.1 * i + 0.05, Qt.ItemDataRole.EditRole)
            if not done():
                QTimer.singleShot(10_000, waiting.quit)  # a lost edit ends the wait, not the run
                waiting.exec()
            latencies.append(clock.nsecsElapsed() / 1e6)
            c.resultDisplayed.disconnect(shown)
            run_loop(EDIT_GAP_MS)
        # The peer: the engine alone running the whole bank (with the same channel story) on
        # the same still, in the same run. Twice: back to back, its best; and one run after
        # the same idle as each edit, which is what an edit meets. Cores that idled run the
        # next computation slower: on this 2-core VM the bank's run took 11-12 ms back to
        # back and 22 ms after 60 ms of sleep, and an edit's computation alone 6.1-6.8 ms back
        # to back, 12 ms after 20 ms of sleep, 7.3 ms when the caller spun through those
        # 20 ms instead. Against warm runs alone an edit is charged the machine's wake-up.
        full_ms = time_call(lambda: bank.run(still, (0, 1))) * 1000
        idle_runs = []
        for _ in range(len(latencies)):
            run_loop(EDIT_GAP_MS)
            start = time.perf_counter()
            bank.run(still, (0, 1))
            idle_runs.append((time.perf_counter() - start) * 1000)
        idle_ms = statistics.median(idle_runs)
        median = statistics.median(latencies)
        figures["edit_latency_median_ms"] = median
        figures["edit_latency_max_ms"] = max(latencies)
        figures["full_run_ms"] = full_ms
        figures["full_run_after_idle_ms"] = idle_ms
        rows.append(
            (
                "weight edit -> panes, 1920x1080 still, 8 filters 3x3x3",
                f"median {median:.0f} ms",
                f"max {max(latencies):.0f} ms; {median / idle_ms:.2f}x one engine run of the "
                f"bank after the same {EDIT_GAP_MS} ms idle ({idle_ms:.0f} ms), "
                f"{median / full_ms:.2f}x one of back-to-back runs ({full_ms:.0f} ms)",
            )
        )
    if out is not None:
        print(
            f"live pipeline, offscreen window 1600x1000, {os.cpu_count()} cores, "
            f"{seconds:g} s per measurement",
            file=out,
        )
        for row in rows:
            print(f"  {row[0]:<56} {row[1]:>17}  {row[2]}", file=out)
    return figures


# The event loop runs this long between two timed weight edits, and before each engine run
# they are compared with.
EDIT_GAP_MS = 60

# A soak fails if RSS grows faster than this (pro rata), with this as the floor for short runs.
SOAK_RSS_LIMIT_MB_PER_10_MIN = 20.0
SOAK_WARM_UP_S = 2.0  # before the soak: first frames, pane creation, display size settling
# The RSS baseline is read this far into the soak: the working set takes a minute or two to
# settle (one step of about 15 MB, native memory, not Python objects), and growth before that
# is not a leak. 10-minute soaks here: 209 MB at 2 s and at 60 s, 222-234 MB from 2 min to the
# end, no trend.
SOAK_BASELINE_FRACTION = 0.2
SOAK_BASELINE_MIN_S = 2.0
SOAK_BASELINE_MAX_S = 120.0
# RSS at the start and at the end is the median of this many readings this far apart (a single
# reading, even at rest, varies by about 5 MB).
SOAK_RSS_READINGS = 3
SOAK_RSS_READING_GAP_MS = 1000
SOAK_EDIT_MS = 500
SOAK_PROGRESS_S = 60  # runs of two such periods or more print a progress line each period


def rss_mb() -> tuple[float, str]:
    """This process's memory in MB and its name: "RSS", the current resident set size
    (/proc/self/statm); "max RSS", the peak (getrusage, where there is no /proc); or NaN."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20, "RSS"
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource
    except ImportError:
        return math.nan, "RSS"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    unit = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return peak * unit / 2**20, "max RSS"


def soak(minutes: float, out: TextIO | None = None) -> dict[str, float]:
    """Run the live pipeline in the real window, offscreen, for ``minutes``: a looping 640x480
    MJPG video through 8 filters 3x3x3 + ReLU, a weight edit every 0.5 s.

    Prints one line per figure and returns them; ``passed`` is 1.0 unless a pipeline thread
    died (or had to be restarted), nothing was displayed, or RSS grew by more than 20 MB per
    10 minutes (20 MB at least). The growth is from a baseline read 20% into the soak (2 s to
    2 min) to the end; RSS is read with the source paused and the worker idle, after gc and, on
    glibc, malloc_trim (see ``release_free_heap``), as the median of a few readings; the
    untrimmed readings are printed too.
    Raises SourceError if the generated video cannot be opened.
    """
    import gc
    from dataclasses import replace

    from PySide6.QtCore import Qt, QTimer

    from playground.sources.image import SourceError

    def say(line: str) -> None:
        if out is not None:
            print(line, file=out, flush=True)

    figures: dict[str, float] = {"minutes": minutes}
    with _offscreen_window() as (window, tmp):
        c = window.controller
        # The pipeline's threads are the controller's own; the soak reads their counters.
        worker = c.worker
        run_loop = _run_loop

        path = os.path.join(tmp, "soak640.avi")
        _write_video(path, 640, 480, 60.0)
        bank = random_layer_bank(8, 3)
        layer = bank.layers[0]
        assert isinstance(layer, ConvLayer)
        c.set_bank(replace(bank, layers=(replace(layer, activation="relu"),)), "soak")
        c.select(0, 0, 0)
        failures: list[str] = []
        c.sourceFailed.connect(failures.append)
        if not c.open_video(path):
            raise SourceError(failures[-1] if failures else f"cannot open {path}")
        say(
            f"soak: {minutes:g} min of the live pipeline, offscreen window 1600x1000, "
            f"640x480 MJPG video (60 fps file, looping), 8 filters 3x3x3 + ReLU, "
            f"a weight edit every {SOAK_EDIT_MS / 1000:g} s, {os.cpu_count()} cores"
        )
        _warm_up(SOAK_WARM_UP_S * 1000)

        # What the controller's poll does once it supervises the worker; harmless twice.
        def supervise() -> None:
            message = worker.ensure_alive()
            if message is not None:
                say(f"  ! {message}")

        supervisor = QTimer()
        supervisor.timeout.connect(supervise)
        supervisor.start(100)

        model = window.kernel_editor.grid.model()
        edits = [0]

        def edit() -> None:
            n = edits[0]
            cell = model.index(n % 3, n // 3 % 3)
            if model.setData(cell, round(0.1 * (n % 21) - 1.0, 3), Qt.ItemDataRole.EditRole):
                edits[0] += 1

        editor = QTimer()
        editor.timeout.connect(edit)
        displayed = [0]

        def count_displayed() -> None:
            displayed[0] += 1

        c.resultDisplayed.connect(count_displayed)
        trims = [False]
        reading = [False]  # a quiet_rss is under way (a progress tick must not nest one)
        paused_s = [0.0]  # time the source spent paused for readings

        def quiet_rss() -> tuple[float, float]:
            """(RSS after gc and a heap trim, RSS before them) with the pipeline at rest.

            Between frames several full-size results are in flight (about 20 MB each here), so a
            reading taken while it runs moves by tens of MB; paused, with no edit pending, only
            the displayed result is alive and readings compare from start to end.
            """
            reading[0] = True
            pause = time.monotonic()
            editing = editor.isActive()
            editor.stop()
            c.set_paused(True)
            last, deadline = -1, time.monotonic() + 3.0
            while worker.computations != last and time.monotonic() < deadline:
                last = worker.computations
                run_loop(200)  # idle once no computation happened for 200 ms
            raw = rss_mb()[0]
            gc.collect()
            trims[0] = heap.release_free_heap()
            trimmed = rss_mb()[0]
            c.set_paused(False)
            if editing:
                editor.start(SOAK_EDIT_MS)
            reading[0] = False
            paused_s[0] += time.monotonic() - pause
            return trimmed, raw

        def settled_rss() -> tuple[float, float]:
            """The medians of a few quiet_rss readings: (trimmed, untrimmed)."""
            readings = []
            for i in range(SOAK_RSS_READINGS):
                if i:
                    run_loop(SOAK_RSS_READING_GAP_MS)
                readings.append(quiet_rss())
            return (
                statistics.median(r[0] for r in readings),
                statistics.median(r[1] for r in readings),
            )

        def progress() -> None:
            elapsed = (time.monotonic() - started) / 60
            if minutes - elapsed < 0.1 or reading[0]:
                return  # the final figures follow, or a reading is under way
            say(
                f"  [{elapsed:.1f} min] frames captured {worker.frames_received - received0}, "
                f"results displayed {displayed[0]}, edits {edits[0]}, "
                f"{rss_mb()[1]} {quiet_rss()[0]:.1f} MB"
            )

        reporter = QTimer()
        reporter.timeout.connect(progress)

        received0, computed0 = worker.frames_received, worker.frames_computed
        restarts0 = worker.restarts
        started = time.monotonic()
        editor.start(SOAK_EDIT_MS)
        if minutes * 60 >= 2 * SOAK_PROGRESS_S:
            reporter.start(SOAK_PROGRESS_S * 1000)
        baseline_s = min(
            max(SOAK_BASELINE_FRACTION * minutes * 60, SOAK_BASELINE_MIN_S), SOAK_BASELINE_MAX_S
        )
        run_loop(baseline_s * 1000)
        rss_start, raw_start = settled_rss()
        rss_kind = rss_mb()[1]

        settling_ms = (SOAK_RSS_READINGS - 1) * SOAK_RSS_READING_GAP_MS
        run_loop(minutes * 60_000 - (time.monotonic() - started) * 1000 - settling_ms)
        rss_end, raw_end = settled_rss()
        editor.stop()
        reporter.stop()
        seconds = time.monotonic() - started - paused_s[0]  # with the source running
        received = worker.frames_received - received0
        computed = worker.frames_computed - computed0
        restarts = worker.restarts - restarts0
        capture = c.capture
        capture_alive = capture is not None and capture.is_alive()
        compute_alive = worker.is_alive()
        supervisor.stop()
        c.resultDisplayed.disconnect(count_displayed)

    growth = rss_end - rss_start
    limit = max(SOAK_RSS_LIMIT_MB_PER_10_MIN, SOAK_RSS_LIMIT_MB_PER_10_MIN * minutes / 10)
    dropped = max(0, received - computed)
    problems = []
    if not capture_alive:
        problems.append("the capture thread died" + (f" ({failures[-1]})" if failures else ""))
    if not compute_alive:
        problems.append("the compute thread died")
    if restarts:
        times = "once" if restarts == 1 else f"{restarts} times"
        problems.append(f"the compute thread died and was restarted {times}")
    if displayed[0] == 0:
        problems.append("nothing was displayed")
    if growth > limit:
        problems.append(f"{rss_kind} grew by {growth:.1f} MB, more than {limit:.1f} MB")
    figures.update(
        seconds_running=seconds,
        frames_captured=received,
        results_displayed=displayed[0],
        dropped_frames=dropped,
        edits=edits[0],
        worker_restarts=restarts,
        rss_baseline_s=baseline_s,
        rss_start_mb=rss_start,
        rss_end_mb=rss_end,
        rss_growth_mb=growth,
        rss_limit_mb=limit,
        capture_alive=float(capture_alive),
        compute_alive=float(compute_alive),
        passed=float(not problems),
    )
    yes = {True: "yes", False: "no"}
    say(f"  frames captured: {received} ({received / seconds:.1f} per s running)")
    say(f"  results displayed: {displayed[0]} ({displayed[0] / seconds:.1f} per s running)")
    say(f"  dropped frames: {dropped} ({100 * dropped / max(received, 1):.1f}% of captured)")
    say(f"  edits made: {edits[0]}")
    say(f"  worker restarts: {restarts}")
    if rss_kind == "max RSS":
        say("  (no /proc/self/statm on this OS: peak RSS from getrusage, which never shrinks)")
    elif math.isnan(rss_start):
        say("  (RSS is not measured on this OS: no /proc/self/statm, no getrusage)")
    how = f"median of {SOAK_RSS_READINGS} readings, pipeline paused, after gc"
    if trims[0]:
        how += " and malloc_trim"
    start_note = f"{baseline_s:g} s into the soak; {how}"
    end_note = how
    if trims[0]:
        start_note += f"; {raw_start:.1f} MB untrimmed"
        end_note += f"; {raw_end:.1f} MB untrimmed"
    say(f"  {rss_kind} at start: {rss_start:.1f} MB ({start_note})")
    say(f"  {rss_kind} at end: {rss_end:.1f} MB ({end_note})")
    say(f"  {rss_kind} growth: {growth:+.1f} MB (limit {limit:.1f} MB)")
    say(f"  threads alive: capture {yes[capture_alive]}, compute {yes[compute_alive]}")
    say("  result: " + ("ok" if not problems else "FAILED: " + "; ".join(problems)))
    return figures
