"""No pipeline thread dies silently: the compute worker is restarted, the capture reports.

Plain threads, no Qt: waits are Event.wait with a deadline, never sleeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from playground import Bank, ConvLayer, Filter
from playground.controller import pipeline
from playground.controller.pipeline import Capture, Job, LatestSlot, Result, Worker

TIMEOUT_S = 10.0


def small_bank() -> Bank:
    kernels = np.random.default_rng(3).standard_normal((3, 3, 3))
    return Bank((ConvLayer((Filter(kernels, 0.0, "f"),), padding="same"),))


def job(generation: int) -> Job:
    return Job(small_bank(), generation, None, (16, 16))


def frame(value: int) -> np.ndarray:
    return np.full((8, 8, 3), value, np.uint8)


def wait_until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` every 5 ms (an Event that is never set paces it) until it holds."""
    pace = threading.Event()
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        pace.wait(0.005)


class FlakySlot(LatestSlot):
    """A result slot whose ``put`` raises the first ``failures`` times (-1: always)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.results: list[Result] = []

    def put(self, value: object) -> None:
        if self.failures != 0:
            self.failures -= 1
            raise RuntimeError("slot broke\nsecond line of the message")
        assert isinstance(value, Result)
        self.results.append(value)
        super().put(value)


@pytest.fixture
def stop_later():
    workers: list[Worker] = []
    yield workers.append
    for w in workers:
        w.stop()


def supervise_until_restarted(worker: Worker) -> str:
    """What the controller's poll does: call ensure_alive until it reports a restart."""
    messages: list[str] = []

    def restarted() -> bool:
        message = worker.ensure_alive()
        if message is not None:
            messages.append(message)
        return bool(messages)

    wait_until(restarted)
    return messages[0]


def test_an_exception_escaping_the_loop_restarts_the_thread_and_is_reported(stop_later):
    slot = FlakySlot(failures=1)
    worker = Worker(slot)
    stop_later(worker)
    assert worker.ensure_alive() is None  # alive: nothing to do
    worker.put_job(job(1))
    worker.put_frame(frame(10))

    message = supervise_until_restarted(worker)

    assert worker.restarts == 1
    assert worker.last_failure == "RuntimeError: slot broke"
    assert message.count("\n") == 0
    assert "compute thread" in message and "RuntimeError: slot broke" in message
    assert "restart 1" in message
    assert worker.is_alive()
    # The new thread recomputes what was lost: the newest frame with the newest job.
    wait_until(lambda: len(slot.results) >= 1)
    assert (slot.results[0].generation, slot.results[0].frame_index) == (1, 0)
    # ... and keeps serving: a new job, then a new frame.
    worker.put_job(job(2))
    wait_until(lambda: slot.results[-1].generation == 2)
    worker.put_frame(frame(20))
    wait_until(lambda: slot.results[-1].frame_index == 1)
    assert slot.results[-1].error is None and slot.results[-1].outputs is not None
    assert worker.ensure_alive() is None and worker.restarts == 1


def test_a_failing_on_result_callback_restarts_the_thread(stop_later):
    slot = LatestSlot()
    calls = []
    delivered = threading.Event()

    def on_result() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("callback bug")
        delivered.set()

    worker = Worker(slot, on_result)
    stop_later(worker)
    worker.put_job(job(1))
    worker.put_frame(frame(1))
    message = supervise_until_restarted(worker)
    assert "ValueError: callback bug" in message
    assert worker.last_failure == "ValueError: callback bug"
    wait_until(delivered.is_set)
    worker.put_frame(frame(2))
    wait_until(lambda: len(calls) >= 3)
    result = slot.take()
    assert isinstance(result, Result) and result.frame_index == 1
    assert worker.restarts == 1


def test_a_failure_on_every_result_backs_off_instead_of_spinning(stop_later):
    slot = FlakySlot(failures=-1)
    worker = Worker(slot)
    stop_later(worker)
    worker.put_job(job(1))
    worker.put_frame(frame(1))
    supervise_until_restarted(worker)
    # Keep polling at the controller's rate for 0.6 s: without a back-off this would restart
    # on nearly every poll; with it (0 s, 0.1 s, 0.2 s, 0.4 s after each failure) a handful.
    pace = threading.Event()
    end = time.monotonic() + 0.6
    while time.monotonic() < end:
        worker.ensure_alive()
        pace.wait(0.005)
    assert 2 <= worker.restarts <= 5
    # The failure goes away: the next restart serves results again and the back-off resets.
    slot.failures = 0
    wait_until(lambda: worker.ensure_alive() is not None or bool(slot.results))
    wait_until(lambda: bool(slot.results))
    restarts = worker.restarts
    slot.failures = 1
    worker.put_frame(frame(2))
    message = supervise_until_restarted(worker)  # at once: the back-off started over
    assert f"restart {restarts + 1}" in message


def test_a_stopped_worker_is_not_restarted():
    worker = Worker(LatestSlot())
    worker.stop()
    assert not worker.is_alive()
    assert worker.ensure_alive() is None
    assert worker.restarts == 0 and worker.last_failure == ""


def test_counters_tell_frames_received_computed_and_dropped(stop_later, monkeypatch):
    release = threading.Event()
    entered = threading.Event()
    real_compute = pipeline.compute

    def held_compute(*args, **kwargs):
        entered.set()
        release.wait(TIMEOUT_S)
        return real_compute(*args, **kwargs)

    monkeypatch.setattr(pipeline, "compute", held_compute)
    slot = FlakySlot(failures=0)
    worker = Worker(slot)
    stop_later(worker)
    worker.put_job(job(1))
    worker.put_frame(frame(0))
    wait_until(entered.is_set)
    for i in range(1, 6):  # arrive while frame 0 computes: only the newest survives
        worker.put_frame(frame(i))
    release.set()
    wait_until(lambda: bool(slot.results) and slot.results[-1].frame_index == 5)
    assert worker.frames_received == 6
    assert worker.frames_computed == 2  # frames 0 and 5; 1 to 4 were dropped
    worker.put_job(job(2))  # an edit recomputes frame 5: a computation, not a new frame
    wait_until(lambda: slot.results[-1].generation == 2)
    assert (worker.frames_received, worker.frames_computed, worker.computations) == (6, 2, 3)
    assert worker.restarts == 0


class LoopingSource:
    live = True
    fps = 500.0
    description = "looping"

    def __init__(self) -> None:
        self.closed = threading.Event()

    def read(self) -> np.ndarray:
        return frame(1)

    def close(self) -> None:
        self.closed.set()


def test_a_capture_whose_frame_handler_raises_reports_failed_and_closes_the_source():
    source = LoopingSource()
    events: list[tuple[str, object]] = []

    def on_frame(image: np.ndarray) -> None:
        raise RuntimeError("worker gone")

    def on_event(capture: Capture, kind: str, payload: object) -> None:
        events.append((kind, payload))

    capture = Capture(lambda: source, on_frame, on_event)
    capture.start()
    wait_until(lambda: len(events) >= 2 and source.closed.is_set())
    wait_until(lambda: not capture.is_alive())
    assert events[0] == ("opened", source)
    assert events[1] == ("failed", "the capture stopped: RuntimeError: worker gone")
    assert len(events) == 2
