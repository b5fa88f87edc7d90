"""The live pipeline's threads: one capture thread per source and one compute worker.

Nothing here queues per frame. The capture thread overwrites a single latest-frame slot; the
worker always takes the newest frame with the newest job (bank snapshot + selection) and
overwrites a single latest-result slot, which the GUI polls at display rate. A slow consumer
therefore drops frames instead of accumulating them (acq4#595 froze on a queue of 65 GB of
per-frame signals).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from playground.controller.display import (
    ShownMap,
    finite_range,
    reduce_for_display,
    round_off_floors,
    shown_counts,
)
from playground.engine.bank import Bank, ConvLayer, Run
from playground.engine.errors import BankError
from playground.sources.base import Source
from playground.sources.image import SourceError


def _one_line(error: BaseException) -> str:
    """``error`` as one line: its type, and its message's first line if it has one."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class LatestSlot:
    """A one-entry mailbox: ``put`` overwrites, ``take`` empties. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: object = None

    def put(self, value: object) -> None:
        with self._lock:
            self._value = value

    def take(self) -> object:
        with self._lock:
            value, self._value = self._value, None
            return value


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # RGB uint8 HxWx3
    index: int


@dataclass(frozen=True)
class Pin:
    """A feature map pinned as A: the worker shows the live map of the same filter minus it."""

    layer: int
    filter: int
    values: np.ndarray  # the full-resolution map A, never written to


@dataclass(frozen=True)
class Job:
    """What the worker computes: a bank snapshot and what the view needs of it."""

    bank: Bank
    generation: int
    selected: tuple[int, int] | None  # (layer, filter) whose channel story is shown
    display_size: tuple[int, int]  # (width, height) a pane's image is reduced to
    pinned: Pin | None = None


@dataclass(frozen=True)
class Story:
    """The selected filter as the sum of its kernels: partial maps, sum, + bias, activation."""

    layer: int
    filter: int
    partials: tuple[ShownMap, ...]  # one per input channel
    total: ShownMap
    biased: ShownMap
    activated: ShownMap  # the filter's own feature map


@dataclass
class Result:
    generation: int
    frame_index: int
    frame: np.ndarray
    source: ShownMap  # the frame as the source pane shows it
    outputs: list[np.ndarray] | None  # full resolution; None when the bank cannot run
    maps: list[list[ShownMap]]  # per layer, its first filters (shown_counts): what panes show
    story: Story | None
    error: str | None  # one line, shown on the panes instead of maps
    compute_ms: float
    run: Run | None = None  # what the next computation on the same frame may reuse
    display_size: tuple[int, int] = (0, 0)
    difference: ShownMap | None = None  # live B minus the pinned A, when their sizes agree


def _source_map(image: np.ndarray, size: tuple[int, int]) -> ShownMap:
    # RGB frames take no levels: their range is the bytes' range, not measured.
    return ShownMap(reduce_for_display(image, size), image, (0.0, 255.0))


def _difference(job: Job, outputs: list[np.ndarray]) -> ShownMap | None:
    """The live map of the pinned filter minus A, or None when there is none of that size."""
    pin = job.pinned
    if pin is None or pin.layer >= len(outputs) or pin.filter >= len(outputs[pin.layer]):
        return None
    live = outputs[pin.layer][pin.filter]
    if live.shape != pin.values.shape:
        return None
    difference = live - pin.values
    return ShownMap(
        reduce_for_display(difference, job.display_size), difference, finite_range(difference)
    )


def compute(frame: Frame, job: Job, previous: Result | None = None) -> Result:
    """Run ``job`` on ``frame`` and reduce everything for display. Runs on the worker thread.

    The panes get display-size maps and each full map's value range, so the GUI thread never
    touches a full-resolution array per frame. When ``previous`` was computed on this very
    frame (a still image, a frozen frame), maps that an edit did not change are carried over
    with their displays: a weight edit recomputes one filter, not the bank.
    """
    start = time.perf_counter()
    same_frame = previous if previous is not None and previous.frame is frame.image else None
    kept = same_frame if same_frame and same_frame.display_size == job.display_size else None
    source = kept.source if kept else _source_map(frame.image, job.display_size)
    try:
        run = job.bank.run(frame.image, job.selected, reuse=same_frame.run if same_frame else None)
    except BankError as e:
        elapsed = (time.perf_counter() - start) * 1000
        return Result(
            job.generation, frame.index, frame.image, source, None, [], None, str(e), elapsed
        )
    displays: list[list[np.ndarray]] = []
    ranges: list[list[tuple[float, float]]] = []
    # Only maps that have a pane are reduced; every map's range feeds the round-off floors.
    shown = shown_counts([len(out) for out in run.outputs])
    for n, out in enumerate(run.outputs):
        # A reused map keeps its index (Bank.run carries filter o over from filter o), but the
        # layer may have lost filters since: only its maps, one by one, are carried over.
        displays.append([])
        ranges.append([])
        for o, m in enumerate(out):
            carried = kept and (n, o) in run.reused and o < len(kept.maps[n])
            if carried:
                assert kept is not None
                ranges[n].append(kept.maps[n][o].value_range)
            else:
                ranges[n].append(finite_range(m))
            if o < shown[n]:
                displays[n].append(
                    kept.maps[n][o].display
                    if carried and kept is not None
                    else reduce_for_display(m, job.display_size)
                )
    floors = round_off_floors(job.bank, run, ranges)
    maps = [
        [ShownMap(*shown) for shown in zip(layer_displays, out, layer_ranges, layer_floors)]
        for layer_displays, out, layer_ranges, layer_floors in zip(
            displays, run.outputs, ranges, floors
        )
    ]
    story = None
    if run.partials is not None and job.selected is not None:
        n, f = job.selected
        layer = job.bank.layers[n]
        assert isinstance(layer, ConvLayer)
        bias = np.float32(layer.filters[f].bias)
        floor = floors[n][f]
        partials = tuple(
            ShownMap(reduce_for_display(m, job.display_size), m, finite_range(m), floor)
            for m in run.partials
        )
        # Reduction is linear (block means), so the sum's and the biased sum's displays follow
        # from the partials' displays, and the activation's is the filter's own pane.
        total = run.partials.sum(axis=0)
        total_display = np.stack([p.display for p in partials]).sum(axis=0, dtype=np.float32)
        total_range = finite_range(total)
        story = Story(
            n,
            f,
            partials,
            ShownMap(total_display, total, total_range, floor),
            ShownMap(
                total_display + bias,
                total + bias,
                (total_range[0] + float(bias), total_range[1] + float(bias)),
                floor,
            ),
            maps[n][f]
            if f < len(maps[n])
            else ShownMap(
                reduce_for_display(run.outputs[n][f], job.display_size),
                run.outputs[n][f],
                ranges[n][f],
                floor,
            ),
        )
    return Result(
        job.generation,
        frame.index,
        frame.image,
        source,
        run.outputs,
        maps,
        story,
        None,
        (time.perf_counter() - start) * 1000,
        run,
        job.display_size,
        _difference(job, run.outputs),
    )


class Capture:
    """One source's capture thread: opens it, then reads into the frame slot at its pace.

    Opening happens on this thread too, so a camera that takes seconds to open (or never
    does) never blocks the GUI. Events for the GUI go to ``events(capture, kind, payload)``:
    ("opened", the source) or ("failed", a one-line message). The thread ends after a still's
    only frame, and on any failure, which is always reported: a source error, a source bug, or
    an exception from ``on_frame`` ("the capture stopped: ...").
    """

    def __init__(
        self,
        opener: Callable[[], Source],
        on_frame: Callable[[np.ndarray], None],
        events: Callable[[Capture, str, object], None],
    ) -> None:
        self._opener = opener
        self._on_frame = on_frame
        self._events = events
        self._stop = threading.Event()
        self._paused = threading.Event()
        self.source: Source | None = None
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self._paused.set()
        else:
            self._paused.clear()

    def is_alive(self) -> bool:
        """True while the capture thread runs (it ends after a still's frame, or on failure)."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop reading and close the source; returns once the thread has let go of it."""
        self._stop.set()
        self._paused.clear()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            # A camera read blocks for at most one frame period; a stuck driver must not
            # freeze the GUI forever, so the daemon thread is abandoned after a while.
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        # Runs on the capture thread.
        try:
            source = self._opener()
        except SourceError as e:
            self._events(self, "failed", str(e))
            return
        except Exception as e:  # a source bug must not kill the app silently
            self._events(self, "failed", f"could not open the source: {e}")
            return
        self.source = source
        try:
            self._events(self, "opened", source)
            self._read_loop(source)
        except Exception as e:  # e.g. from on_frame: report it rather than end silently
            traceback.print_exc()
            self._events(self, "failed", f"the capture stopped: {_one_line(e)}")
        finally:
            try:
                source.close()
            except Exception:
                traceback.print_exc()

    def _read_loop(self, source: Source) -> None:
        period = 1.0 / source.fps if source.fps else 0.0
        due = time.monotonic()
        while not self._stop.is_set():
            if self._paused.is_set():
                self._stop.wait(0.05)
                due = time.monotonic()
                continue
            try:
                image = source.read()
            except SourceError as e:
                self._events(self, "failed", str(e))
                return
            except Exception as e:
                traceback.print_exc()
                self._events(self, "failed", f"the source stopped: {e}")
                return
            if image is not None:
                self._on_frame(image)
                if not source.live:
                    return
            if period:
                due += period
                delay = due - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    due = time.monotonic()  # fell behind: don't try to catch up


class Worker:
    """The compute worker: newest frame x newest job -> latest-result slot.

    The thread is supervised: ``compute`` errors become a Result with ``error``, and anything
    that escapes the loop (a bug in the result slot or the ``on_result`` callback) ends the
    thread with ``last_failure`` recorded; ``ensure_alive``, called from the GUI's poll, then
    starts a fresh thread, which recomputes the newest frame with the newest job. Restarts in
    a row back off (0 s, then 0.1 s doubling to 5 s) so a failure that repeats on every result
    cannot spin.
    """

    def __init__(self, results: LatestSlot, on_result: Callable[[], None] | None = None) -> None:
        self._results = results
        self._on_result = on_result
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._job: Job | None = None
        self._stopping = False
        self._next_index = 0
        self.last_compute_ms = 0.0
        # Supervision and counters; written under self._cond.
        self.restarts = 0
        self.last_failure = ""
        self._unreported: str | None = None  # the failure ensure_alive has yet to report
        self._failures_in_a_row = 0
        self._restart_at = 0.0
        self._frames_computed = 0
        self._computations = 0
        self._last_computed_index = -1
        self._thread = self._start_thread()

    def _start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self._supervised, name="compute", daemon=True)
        thread.start()
        return thread

    def put_frame(self, image: np.ndarray) -> None:
        """Called from the capture thread: replaces any frame not yet computed."""
        with self._cond:
            self._frame = Frame(image, self._next_index)
            self._next_index += 1
            self._cond.notify()

    def put_job(self, job: Job) -> None:
        with self._cond:
            self._job = job
            self._cond.notify()

    @property
    def frames_received(self) -> int:
        """Frames handed to ``put_frame`` so far."""
        with self._cond:
            return self._next_index

    @property
    def frames_computed(self) -> int:
        """Distinct frames computed so far; received minus computed were dropped (overwritten)."""
        with self._cond:
            return self._frames_computed

    @property
    def computations(self) -> int:
        """Results made so far: frames computed plus recomputations of a frame after edits."""
        with self._cond:
            return self._computations

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def ensure_alive(self) -> str | None:
        """Restart the compute thread if it ended unexpectedly. Call it from the GUI's poll.

        Returns a one-line message when it restarted the thread, else None (alive, stopped on
        purpose, or waiting out the back-off after failures in a row).
        """
        with self._cond:
            if self._stopping or self._thread.is_alive():
                return None
            if self._unreported is None:  # ended without passing through _supervised's record
                self._record_failure("it ended without an error")
            if time.monotonic() < self._restart_at:
                return None
            failure, self._unreported = self._unreported, None
            self.restarts += 1
            self._thread = self._start_thread()
            return f"the compute thread stopped ({failure}); restarted it (restart {self.restarts})"

    def _record_failure(self, failure: str) -> None:
        # Under self._cond. The first failure after a good result restarts at once; failures in
        # a row wait 0.1 s, 0.2 s, ... up to 5 s.
        self.last_failure = self._unreported = failure
        self._failures_in_a_row += 1
        n = self._failures_in_a_row
        self._restart_at = time.monotonic() + (0.0 if n == 1 else min(0.1 * 2 ** (n - 2), 5.0))

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout=5.0)

    def _supervised(self) -> None:
        # Runs on the compute thread: whatever escapes the loop is recorded, never silent.
        try:
            self._run()
        except BaseException as e:
            traceback.print_exc()
            with self._cond:
                self._record_failure(_one_line(e))

    def _run(self) -> None:
        # Runs on the compute thread. A restarted thread starts afresh: it recomputes the newest
        # frame with the newest job (the result that was lost when the last thread died).
        done: tuple[int, int] = (-1, -1)
        previous: Result | None = None
        while True:
            with self._cond:
                while not self._stopping and not self._has_work(done):
                    self._cond.wait()
                if self._stopping:
                    return
                frame, job = self._frame, self._job
            assert frame is not None and job is not None
            done = (frame.index, job.generation)
            try:
                result = compute(frame, job, previous)
            except Exception as e:
                # A bug in one computation must not kill the worker: report it on the panes
                # and keep serving the next frame.
                traceback.print_exc()
                result = Result(
                    job.generation,
                    frame.index,
                    frame.image,
                    ShownMap(frame.image, frame.image, (0.0, 255.0)),
                    None,
                    [],
                    None,
                    f"internal error: {e}",
                    0.0,
                )
            previous = result if result.run is not None else None
            self.last_compute_ms = result.compute_ms
            with self._cond:
                self._computations += 1
                if frame.index != self._last_computed_index:
                    self._last_computed_index = frame.index
                    self._frames_computed += 1
            self._results.put(result)
            if self._on_result is not None:
                self._on_result()
            if self._failures_in_a_row:
                with self._cond:
                    self._failures_in_a_row = 0  # a result went out: the back-off starts over

    def _has_work(self, done: tuple[int, int]) -> bool:
        return (
            self._frame is not None
            and self._job is not None
            and (self._frame.index, self._job.generation) != done
        )
