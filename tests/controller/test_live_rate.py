"""Live at camera rate: counted work, not timed work.

Frames nobody computes are not decoded, panes nobody sees are not reduced, a story nobody sees
is not computed, a slow bank is abandoned when the next one arrives, and slow work is announced.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from playground import Bank, ConvLayer, Filter
from playground.controller import Controller, pipeline
from playground.engine import convolve
from playground.sources.still import StillSource

WAIT_MS = 10_000


class GrabbingSource:
    """A 500 fps 'video' that counts frames grabbed (cheap) and decoded (read or retrieved)."""

    live = True
    fps = 500.0
    description = "fast clip"

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.frames = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(4)]
        self.position = 0
        self.grabs = 0
        self.decodes = 0

    def grab(self) -> bool:
        self.grabs += 1
        self.position += 1
        return True

    def retrieve(self) -> np.ndarray:
        self.decodes += 1
        return self.frames[self.position % 4].copy()

    def read(self) -> np.ndarray:
        self.grab()
        self.grabs -= 1  # a read is a decode, not a skipped frame
        return self.retrieve()

    def close(self) -> None:
        pass


def bank_of(filters: int, layers: int = 1) -> Bank:
    rng = np.random.default_rng(1)
    stack = []
    channels = 3
    for _ in range(layers):
        stack.append(
            ConvLayer(
                tuple(
                    Filter(rng.standard_normal((channels, 3, 3)), 0.0, f"f{i}")
                    for i in range(filters)
                ),
                padding="same",
            )
        )
        channels = filters
    return Bank(tuple(stack))


@pytest.fixture
def gate(monkeypatch):
    """Each computation waits for one release: the test decides how slow the worker is."""
    semaphore = threading.Semaphore(0)
    real = pipeline.compute

    def gated(*args, **kwargs):
        semaphore.acquire()
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "compute", gated)
    yield semaphore
    semaphore.release(1000)  # let a blocked worker finish so the controller can close


def test_frames_the_worker_is_too_busy_for_are_grabbed_not_decoded(qtbot, gate):
    controller = Controller(bank_of(2))
    try:
        source = GrabbingSource()
        controller.open_source(source)
        worker = controller.worker
        for computed in range(1, 6):
            # While the worker is busy the file plays on: many frames go by, grabbed only.
            grabs = source.grabs
            qtbot.waitUntil(lambda grabs=grabs: source.grabs > grabs + 20, timeout=WAIT_MS)
            gate.release()
            qtbot.waitUntil(lambda c=computed: worker.computations >= c, timeout=WAIT_MS)
        # One decode per computed frame, plus the frame in computation and at most one decoded
        # ahead for when it ends; before, every one of the hundreds of frames was decoded.
        assert source.decodes <= worker.frames_computed + 2
        assert worker.frames_received == source.decodes
        assert source.grabs > 5 * 20
    finally:
        gate.release(1000)
        controller.close()


def still_controller(qtbot, bank: Bank) -> tuple[Controller, np.ndarray]:
    controller = Controller(bank)
    frame = np.random.default_rng(2).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    controller.open_source(StillSource(frame, "still"))
    qtbot.waitUntil(lambda: controller.last_result is not None, timeout=WAIT_MS)
    return controller, frame


def test_panes_off_screen_are_not_reduced_and_a_hidden_story_is_not_computed(qtbot):
    controller, _ = still_controller(qtbot, bank_of(8))
    try:
        first = controller.last_result
        assert first.reductions == 1 + 8 + 3  # source, 8 panes, the story's 3 partial maps
        generation = controller.generation
        controller.set_visible([(0, 0), (0, 1)], story_shown=False)
        qtbot.waitUntil(lambda: controller.last_result is not first, timeout=WAIT_MS)
        result = controller.last_result
        assert controller.generation == generation  # what is on screen is no new bank
        assert result.story is None
        shown = [o for o, m in enumerate(result.maps[0]) if m.display is not None]
        assert shown == [0, 1]
        assert result.reductions == 0  # the frozen frame's maps and displays were carried over

        controller.set_kernel(np.ones((3, 3)))  # an edit of filter 0: one map recomputes
        qtbot.waitUntil(lambda: controller.last_result.generation == controller.generation)
        assert controller.last_result.reductions == 1

        # Scrolled back: the maps now on screen are reduced, from the maps already computed.
        before = controller.last_result
        controller.set_visible(None, story_shown=True)
        qtbot.waitUntil(lambda: controller.last_result is not before, timeout=WAIT_MS)
        result = controller.last_result
        assert all(m.display is not None for m in result.maps[0])
        assert result.story is not None
        assert result.reductions == 6 + 3  # 6 panes and the story's partial maps
    finally:
        controller.close()


def test_a_new_bank_cancels_the_computation_of_the_old_one(qtbot, monkeypatch):
    started = threading.Event()
    release = threading.Event()
    calls: list[int] = []
    real = convolve.run_conv

    def slow_first_layer(plan, x, *args, **kwargs):
        calls.append(len(plan.filters))
        if len(calls) == 1:
            started.set()
            release.wait(WAIT_MS / 1000)  # the old bank's first layer, running long
        return real(plan, x, *args, **kwargs)

    controller = Controller(bank_of(2, layers=3))
    try:
        monkeypatch.setattr(convolve, "run_conv", slow_first_layer)
        frame = np.random.default_rng(3).integers(0, 256, (30, 40, 3), dtype=np.uint8)
        controller.open_source(StillSource(frame, "still"))
        assert started.wait(WAIT_MS / 1000)
        controller.set_bank(bank_of(3, layers=1), "another bank")
        worker = controller.worker
        qtbot.waitUntil(lambda: worker.job_generation == controller.generation, timeout=WAIT_MS)
        release.set()
        qtbot.waitUntil(
            lambda: (
                controller.last_result is not None
                and controller.last_result.generation == controller.generation
            ),
            timeout=WAIT_MS,
        )
        assert controller.worker.cancelled == 1
        # The old bank stopped after its first layer: its layers 2 and 3 never ran.
        assert calls == [2, 3]
    finally:
        release.set()
        controller.close()


def test_a_slow_computation_is_announced_until_it_ends(qtbot, gate):
    controller = Controller(bank_of(2))
    try:
        frame = np.zeros((20, 30, 3), np.uint8)
        with qtbot.waitSignal(controller.busyChanged, timeout=WAIT_MS) as busy:
            controller.open_source(StillSource(frame, "still"))
        assert busy.args[0].startswith("Computing")
        with qtbot.waitSignal(controller.busyChanged, timeout=WAIT_MS) as idle:
            gate.release(10)
        assert idle.args[0] == ""
    finally:
        gate.release(1000)
        controller.close()


def test_an_image_is_decoded_on_the_capture_thread(qtbot, monkeypatch, tmp_path):
    import cv2

    from playground.sources import still

    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), np.full((20, 30, 3), 90, np.uint8))
    threads: list[str] = []
    real = still.read_image

    def recording(p):
        threads.append(threading.current_thread().name)
        return real(p)

    monkeypatch.setattr(still, "read_image", recording)
    controller = Controller(bank_of(2))
    try:
        with qtbot.waitSignal(controller.sourceChanged, timeout=WAIT_MS):
            controller.open_image(path)
        assert threads == ["capture"]
    finally:
        controller.close()
