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
from typing import cast

import cv2
import numpy as np

from playground.controller.display import (
    BandMeasure,
    ShownMap,
    finite_range,
    reduce_and_measure,
    reduce_for_display,
    round_off_floors,
    shown_counts,
)
from playground.engine import direct
from playground.engine.bank import Bank, ConvLayer, LayerMaps, Run, RunCancelled
from playground.engine.errors import BankError
from playground.engine.heap import keep_frame_buffers
from playground.sources.base import GrabbingSource, Source
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


class FrameDemand:
    """Whether the compute worker wants a frame: the capture thread decodes only then.

    The worker says when it takes a frame (and how long it expects to compute it) and when it
    is done; the capture thread asks `wanted` before decoding. A frame is wanted when none is
    waiting and the running computation ends within ``lead`` (one of the source's frame
    periods), so the next frame is decoded just in time instead of at the source's full rate:
    one decode per computed frame, and the decoding does not compete with the computing for
    the cores. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting = False  # a frame handed over that the worker has not taken yet
        self._done_at = 0.0  # when the running computation should end; 0 when idle
        self._idle = threading.Event()
        self._idle.set()

    def offered(self) -> None:
        """A frame was handed to the worker (capture thread)."""
        with self._lock:
            self._waiting = True

    def taken(self, expected_s: float) -> None:
        """The worker took the newest frame and expects to compute it in ``expected_s``."""
        with self._lock:
            self._waiting = False
            self._done_at = time.monotonic() + expected_s
            self._idle.clear()

    def finished(self) -> None:
        """The worker is done computing (worker thread)."""
        with self._lock:
            self._done_at = 0.0
            self._idle.set()

    def wanted(self, lead: float = 0.0) -> bool:
        """True when the worker will want a new frame within ``lead`` seconds (capture thread)."""
        with self._lock:
            return not self._waiting and time.monotonic() + lead >= self._done_at

    def wait_idle(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds until the worker is idle; True if it is."""
        return self._idle.wait(timeout)


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
    # (layer, filter) of the panes on screen; None: all of them. The others' maps are computed
    # (the next layers need them) but not reduced for display (`ShownMap.display` is None).
    visible: frozenset[tuple[int, int]] | None = None
    # The user's "preview resolution": the worker may run the bank on a smaller copy of the
    # frame when the bank is too heavy for camera rate (`preview_factor`).
    preview: bool = False


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
    # Full resolution, one entry per layer (see `Run`); None when the bank cannot run.
    outputs: list[LayerMaps] | None
    maps: list[list[ShownMap]]  # per layer, its first filters (shown_counts): what panes show
    story: Story | None
    error: str | None  # one line, shown on the panes instead of maps
    compute_ms: float
    run: Run | None = None  # what the next computation on the same frame may reuse
    display_size: tuple[int, int] = (0, 0)
    difference: ShownMap | None = None  # live B minus the pinned A, when their sizes agree
    reductions: int = 0  # maps reduced for display in this result (the source frame included)
    # The maps were made on the frame shrunk this many times in each direction (1: exact).
    preview_factor: int = 1


# Preview resolution: the frame rate a preview keeps to, and the shrink factors it may use.
PREVIEW_TARGET_MS = 1000 / 15
PREVIEW_FACTORS = (1, 2, 3, 4)


def preview_factor(full_ms: float, current: int) -> int:
    """The shrink factor for the next frame of a bank that takes ``full_ms`` on the whole
    frame, the work going with the pixels: the smallest that keeps to `PREVIEW_TARGET_MS`
    (at most the largest of `PREVIEW_FACTORS`). A smaller factor than ``current`` is taken
    only with a margin, so a bank near the limit does not flip between two each frame.
    """
    for factor in PREVIEW_FACTORS:
        margin = 1.0 if factor >= current else 0.7
        if full_ms / factor**2 <= margin * PREVIEW_TARGET_MS:
            return factor
    return PREVIEW_FACTORS[-1]


def shrunk(image: np.ndarray, factor: int) -> np.ndarray:
    """``image`` with ``factor`` x ``factor`` blocks averaged (area resampling). Runs on the
    compute worker."""
    if factor == 1:
        return image
    height, width = image.shape[:2]
    size = (max(1, width // factor), max(1, height // factor))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _source_map(image: np.ndarray, size: tuple[int, int]) -> ShownMap:
    # RGB frames take no levels: their range is the bytes' range, not measured.
    return ShownMap(reduce_for_display(image, size), image, (0.0, 255.0))


def _difference(job: Job, outputs: list[LayerMaps]) -> ShownMap | None:
    """The live map of the pinned filter minus A, or None when there is none of that size."""
    pin = job.pinned
    if pin is None or pin.layer >= len(outputs) or pin.filter >= len(outputs[pin.layer]):
        return None
    live = outputs[pin.layer][pin.filter]
    if live.shape != pin.values.shape:
        return None
    difference = live - pin.values
    display, value_range = reduce_and_measure(difference, job.display_size)
    return ShownMap(display, difference, value_range)


def compute(
    frame: Frame,
    job: Job,
    previous: Result | None = None,
    cancelled: Callable[[], bool] | None = None,
    factor: int = 1,
) -> Result:
    """Run ``job`` on ``frame`` and reduce what is on screen for display. Runs on the worker
    thread.

    The panes get display-size maps and each full map's value range, so the GUI thread never
    touches a full-resolution array per frame. Only the panes in ``job.visible`` are reduced;
    the maps of the last layer's hidden panes are not even measured (every other layer's are:
    the round-off floors of the layers after it follow from their ranges). The channel story
    is computed only when ``job.selected`` names a filter (the window sends None while the
    story is hidden). When ``previous`` was computed on this very frame (a still image, a
    frozen frame), maps that an edit did not change are carried over with their displays: a
    weight edit recomputes one filter, not the bank.

    ``cancelled`` is handed to `Bank.run`; a cancelled run raises `RunCancelled`.

    ``factor`` > 1 runs the bank on the frame shrunk that many times (a preview, see
    `preview_factor`); the source pane still shows the whole frame.
    """
    start = time.perf_counter()
    same_frame = (
        previous
        if previous is not None
        and previous.frame is frame.image
        and previous.preview_factor == factor
        else None
    )
    kept = same_frame if same_frame and same_frame.display_size == job.display_size else None
    reductions = 0
    if kept:
        source = kept.source
    else:
        source = _source_map(frame.image, job.display_size)
        reductions += 1
    visible = job.visible
    shown_always = {job.selected, (job.pinned.layer, job.pinned.filter) if job.pinned else None}
    # A pane exists for the first shown[n] maps of a layer (the window caps them), and is
    # reduced when it is on screen; the story's and the pinned map always are.
    counts = job.bank.channels()[1:]  # each layer's maps
    shown = shown_counts(counts)
    wanted = {
        (n, o)
        for n, count in enumerate(shown)
        for o in range(count)
        if visible is None or (n, o) in visible
    } | {key for key in shown_always if key is not None}
    last = len(counts) - 1
    # Every map's range but the last layer's hidden ones feeds the round-off floors.
    measure = BandMeasure(job.display_size, wanted, set(range(last)))
    try:
        run = job.bank.run(
            shrunk(frame.image, factor),
            job.selected,
            reuse=same_frame.run if same_frame else None,
            cancelled=cancelled,
            watcher=measure,
        )
    except BankError as e:
        elapsed = (time.perf_counter() - start) * 1000
        return Result(
            job.generation, frame.index, frame.image, source, None, [], None, str(e), elapsed
        )
    displays: list[list[np.ndarray | None]] = []
    ranges: list[list[tuple[float, float]]] = []
    for n, out in enumerate(run.outputs):
        # A reused map keeps its index (Bank.run carries filter o over from filter o), but the
        # layer may have lost filters since: only its maps, one by one, are carried over.
        displays.append([])
        ranges.append([])
        for o, m in enumerate(out):
            on_screen = (n, o) in wanted
            before = kept.maps[n][o] if kept and (n, o) in run.reused else None
            if before is not None and (before.display is not None or not on_screen):
                displays[n].append(before.display if on_screen else None)
                ranges[n].append(before.value_range)
                continue
            measured = measure.result(n, o, None, m)
            if measured is not None and (measured[0] is not None or not on_screen):
                displays[n].append(measured[0])
                ranges[n].append(measured[1])
                reductions += on_screen
                continue
            if on_screen:
                display, value_range = reduce_and_measure(m, job.display_size)
                displays[n].append(display)
                ranges[n].append(value_range)
                reductions += 1
                continue
            displays[n].append(None)
            # Measured when the next layer's round-off floors need it.
            ranges[n].append(finite_range(m) if n < last else (0.0, 0.0))
    run = run.with_input_peaks()  # carried over from an earlier run on the same image
    floors = round_off_floors(job.bank, run, ranges)
    maps = [
        [ShownMap(*shown) for shown in zip(layer_displays, out, layer_ranges, layer_floors)]
        for layer_displays, out, layer_ranges, layer_floors in zip(
            displays, run.outputs, ranges, floors
        )
    ]
    story = None
    if run.partials is not None and job.selected is not None:
        story = _story(job, run, maps, floors[job.selected[0]][job.selected[1]], measure)
        reductions += len(run.partials)
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
        reductions,
        factor,
    )


def _story(
    job: Job, run: Run, maps: list[list[ShownMap]], floor: float, measure: BandMeasure
) -> Story:
    """The selected filter's channel story from its partial maps (reduced and measured by
    ``measure`` where the engine told it of them). Runs on the worker thread."""
    assert job.selected is not None and run.partials is not None
    n, f = job.selected
    layer = job.bank.layers[n]
    assert isinstance(layer, ConvLayer)
    bias = np.float32(layer.filters[f].bias)
    measured: list[tuple[np.ndarray, tuple[float, float]]] = []
    for c, m in enumerate(run.partials):
        told = measure.result(n, f, c, m)
        if told is not None and told[0] is not None:
            measured.append((told[0], told[1]))
        else:
            measured.append(reduce_and_measure(m, job.display_size))
    partials = tuple(
        ShownMap(d, m, value_range, floor) for (d, value_range), m in zip(measured, run.partials)
    )
    # The engine made the sum and the biased sum with the partials (`Run.story_sums`), and
    # told ``measure`` of their bands. Reduction is linear (block means), so the biased sum's
    # display follows from the sum's, and the activation's is the filter's own pane.
    sums = run.story_sums
    assert sums is not None  # made whenever the partials are
    total, biased = sums[0], sums[1]
    told = measure.result(n, f, len(run.partials), total)
    total_display, total_range = (
        told
        if told is not None and told[0] is not None
        else reduce_and_measure(total, job.display_size)
    )
    return Story(
        n,
        f,
        partials,
        ShownMap(total_display, total, total_range, floor),
        ShownMap(
            total_display + bias,
            biased,
            (total_range[0] + float(bias), total_range[1] + float(bias)),
            floor,
        ),
        maps[n][f],
    )


class Capture:
    """One source's capture thread: opens it, then reads into the frame slot at its pace.

    Opening happens on this thread too, so a camera that takes seconds to open (or never
    does) never blocks the GUI. Events for the GUI go to ``events(capture, kind, payload)``:
    ("opened", the source) or ("failed", a one-line message). The thread ends after a still's
    only frame, and on any failure, which is always reported: a source error, a source bug, or
    an exception from ``on_frame`` ("the capture stopped: ...").

    With a ``demand`` (the worker's `FrameDemand`) and a source that can grab without decoding
    (`GrabbingSource`: cameras, video files, patterns), every frame is grabbed at the source's
    pace, so a video keeps its real playback speed and a camera's buffer never goes stale, but
    only the frames the worker is ready for are decoded (`decodes`, `grabs` count them).
    """

    def __init__(
        self,
        opener: Callable[[], Source],
        on_frame: Callable[[np.ndarray], None],
        events: Callable[[Capture, str, object], None],
        demand: FrameDemand | None = None,
    ) -> None:
        self._opener = opener
        self._on_frame = on_frame
        self._events = events
        self._demand = demand
        self._stop = threading.Event()
        self._paused = threading.Event()
        self.source: Source | None = None
        self.decodes = 0  # frames read or retrieved (decoded); written by the capture thread
        self.grabs = 0  # frames grabbed and never decoded
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
        # Runs on the capture thread.
        # A still is read once, whatever the worker is doing.
        live_grabs = source.live and isinstance(source, GrabbingSource)
        demand = self._demand if live_grabs else None
        period = 1.0 / source.fps if source.fps else 0.0
        # The time one frame step takes (a camera's grab blocks for a frame period): how early
        # a frame must be decoded for the worker to find it when it is done.
        step_s = period or 1.0 / 30
        due = time.monotonic()
        grabbed = False  # a frame grabbed and not decoded: the newest the source gave
        while not self._stop.is_set():
            if self._paused.is_set():
                self._stop.wait(0.05)
                due = time.monotonic()
                continue
            try:
                if demand is not None and grabbed and demand.wanted(step_s):
                    # The frame due now was grabbed already: decode it, no step.
                    grabbed = False
                    image = cast(GrabbingSource, source).retrieve()
                    self.decodes += 1
                    if image is not None:
                        self._on_frame(image)
                    continue
                if period:
                    delay = due - time.monotonic()
                    if delay > 0:
                        # Wake early when the worker goes idle: the grabbed frame is due.
                        if demand is not None and grabbed:
                            demand.wait_idle(min(delay, 0.05))
                        else:
                            self._stop.wait(min(delay, 0.05))
                        continue
                started = time.monotonic()
                if demand is not None and not demand.wanted(step_s):
                    grabbed = cast(GrabbingSource, source).grab()
                    self.grabs += 1
                    image = None
                else:
                    grabbed = False
                    image = source.read()
                    self.decodes += 1
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
                if due < time.monotonic():
                    due = time.monotonic()  # fell behind: don't try to catch up
            else:
                # A camera paces itself: its grab blocks until the next frame.
                step_s = 0.8 * step_s + 0.2 * max(time.monotonic() - started, 1e-3)


class Worker:
    """The compute worker: newest frame x newest job -> latest-result slot.

    The worker's `demand` tells the capture thread when to decode the next frame. A job whose
    generation is newer than the one being computed cancels that computation (`Bank.run`
    checks between layers and filters): the next bank's maps never wait behind a slow bank.
    A job of the same generation (only the panes on screen changed) does not cancel it.

    The thread is supervised: ``compute`` errors become a Result with ``error``, and anything
    that escapes the loop (a bug in the result slot or the ``on_result`` callback) ends the
    thread with ``last_failure`` recorded; ``ensure_alive``, called from the GUI's poll, then
    starts a fresh thread, which recomputes the newest frame with the newest job. Restarts in
    a row back off (0 s, then 0.1 s doubling to 5 s) so a failure that repeats on every result
    cannot spin.

    Creating one keeps freed frame-sized blocks in the C heap for the rest of the process
    (`heap.keep_frame_buffers`): each frame's maps would be page-faulted in afresh otherwise.
    """

    def __init__(self, results: LatestSlot, on_result: Callable[[], None] | None = None) -> None:
        keep_frame_buffers()
        self._results = results
        self._on_result = on_result
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._job: Job | None = None
        self._stopping = False
        self._next_index = 0
        self.last_compute_ms = 0.0
        self.demand = FrameDemand()
        self._busy_since = 0.0  # when the running computation started; 0 when idle
        self._cancelled = 0
        # Supervision and counters; written under self._cond.
        self.restarts = 0
        self.last_failure = ""
        self._unreported: str | None = None  # the failure ensure_alive has yet to report
        self._failures_in_a_row = 0
        self._restart_at = 0.0
        self._frames_computed = 0
        self._computations = 0
        self._last_computed_index = -1
        self.last_generation = -1  # of the newest result put in the slot
        self._thread = self._start_thread()

    def _start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self._supervised, name="compute", daemon=True)
        thread.start()
        return thread

    def put_frame(self, image: np.ndarray) -> None:
        """Replace any frame not yet computed. Runs on the capture thread."""
        with self._cond:
            self._frame = Frame(image, self._next_index)
            self._next_index += 1
            self.demand.offered()
            self._cond.notify()

    def put_job(self, job: Job) -> None:
        """Make ``job`` the newest job (GUI thread); a newer generation cancels the running one."""
        with self._cond:
            self._job = job
            self._cond.notify()

    @property
    def job_generation(self) -> int:
        """The generation of the newest job handed over (-1 before any). Any thread."""
        with self._cond:
            return -1 if self._job is None else self._job.generation

    def busy_for(self) -> float:
        """Seconds the running computation has taken so far; 0 when idle. Any thread."""
        with self._cond:
            since = self._busy_since
        return time.monotonic() - since if since else 0.0

    @property
    def cancelled(self) -> int:
        """Computations abandoned because a newer bank or selection arrived."""
        with self._cond:
            return self._cancelled

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
        # Runs on the compute thread: whatever escapes the loop is recorded, never silent. The
        # live view goes on while a loop compiles (seconds, on a machine's first start).
        try:
            with direct.without_waiting():
                self._run()
        except BaseException as e:
            traceback.print_exc()
            with self._cond:
                self._record_failure(_one_line(e))

    def _run(self) -> None:
        # Runs on the compute thread. A restarted thread starts afresh: it recomputes the newest
        # frame with the newest job (the result that was lost when the last thread died).
        done: tuple[int, Job | None, int] = (-1, None, 1)  # frame index, job, preview factor
        previous: Result | None = None
        full_ms = 0.0  # what the newest bank takes on a whole frame, as last measured
        while True:
            with self._cond:
                while not self._stopping and not self._has_work(done):
                    self._cond.wait()
                if self._stopping:
                    return
                frame, job = self._frame, self._job
                self._busy_since = time.monotonic()
            assert frame is not None and job is not None
            self.demand.taken(self.last_compute_ms / 1000)
            if frame.index == done[0] and job is done[1]:
                factor = 1  # the same frame and bank after a preview: now the exact maps
            elif job.preview:
                factor = preview_factor(full_ms, done[2])
            else:
                factor = 1
            done = (frame.index, job, factor)

            def cancelled(job: Job = job) -> bool:
                newest = self._job  # one attribute read: atomic, no lock needed
                return newest is not None and newest.generation != job.generation

            try:
                result = compute(frame, job, previous, cancelled, factor)
            except RunCancelled:
                with self._cond:
                    self._cancelled += 1
                    self._busy_since = 0.0
                self.demand.finished()
                continue
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
            # Carried over maps make a recomputation cheap: only a whole run says what the
            # bank costs.
            if result.run is not None and not result.run.reused:
                full_ms = result.compute_ms * factor**2
            self.demand.finished()
            with self._cond:
                self._busy_since = 0.0
                self._computations += 1
                if frame.index != self._last_computed_index:
                    self._last_computed_index = frame.index
                    self._frames_computed += 1
            self.last_generation = result.generation
            self._results.put(result)
            if self._on_result is not None:
                self._on_result()
            if self._failures_in_a_row:
                with self._cond:
                    self._failures_in_a_row = 0  # a result went out: the back-off starts over

    def _has_work(self, done: tuple[int, Job | None, int]) -> bool:
        # A new frame, or a new job (a new bank, or only other panes on screen), or the exact
        # maps of a frame that nothing newer follows (a still, a frozen frame) after a preview.
        return (
            self._frame is not None
            and self._job is not None
            and (self._frame.index != done[0] or self._job is not done[1] or done[2] > 1)
        )
