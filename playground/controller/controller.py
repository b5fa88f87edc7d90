"""The controller: the one object the window talks to. QtCore only, no widgets.

It owns the document (current bank + undo history), the active source's capture thread and the
compute worker, and hands results to the GUI at display rate. Testable with a bare
QCoreApplication and fake sources.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import cast

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from playground.assets import is_bundled
from playground.controller.display import ShownMap
from playground.controller.document import Document
from playground.controller.map_export import write_map
from playground.controller.pipeline import Capture, Job, LatestSlot, Pin, Result, Worker
from playground.engine import budget, direct, editing
from playground.engine.bank import Bank, ConvLayer
from playground.engine.bankfile import load_bank, save_bank
from playground.engine.errors import BankError
from playground.engine.model_import import ModelImport, read_model
from playground.sources import camera, patterns
from playground.sources.base import Source
from playground.sources.image import SourceError

# Re-exported for the Source menu: the window lists cameras (`Controller.find_cameras`) and
# patterns through the controller and never imports playground.sources (an import-linter
# contract in pyproject.toml).
CAMERA_SIZES = camera.CAMERA_SIZES
PATTERNS = patterns.PATTERNS

# The GUI polls the result slot this often; polling a lock is cheap, and a short period keeps
# the edit-to-pane latency low without a queued signal per result.
POLL_MS = 5
# Weight edits reach the worker at most this often (faster bursts: the latest edit wins and the
# last one always lands). It stretches with the compute time so that while a user drags a
# weight each bank handed to the worker lives long enough to be shown.
MIN_PUSH_INTERVAL_S = 0.015
# A computation or a source opening that takes longer than this is announced (`busyChanged`).
BUSY_AFTER_S = 0.3
# Bank files up to this size are read and checked on the GUI thread (under 50 ms here); larger
# ones on a thread of their own: a 6 MB bank took 1-2 s to parse and check, frozen windows.
OPEN_ON_THREAD_BYTES = 512 * 1024


class Controller(QObject):
    """The only writer of the bank and the selection.

    Threads: every public method and every signal runs on the thread that created the
    controller (the GUI thread). What runs elsewhere is private to it and says so: sources open
    and read on their capture thread, the compute on the worker thread, the camera search on a
    "cameras" thread; they reach the GUI thread only through the result slot (the compute
    thread also signals, queued, the first result of each generation) and the event queue
    that the poll timer empties.
    """

    bankChanged = Signal()  # the current bank changed: edit, undo/redo, open
    documentChanged = Signal()  # path, dirty flag or undo/redo state changed
    selectionChanged = Signal(int, int, int)  # layer, filter, channel (0-based)
    sourceChanged = Signal(str)  # the description of the source now shown
    sourceFailed = Signal(str)  # one line: the source could not open, or stopped
    message = Signal(str)  # one-line status: a refused edit, a failed save
    resultReady = Signal(object)  # a Result about to be displayed (GUI thread)
    resultDisplayed = Signal()  # after resultReady's receivers updated the panes
    statsChanged = Signal(float, float)  # displayed frames per second, compute ms per frame
    camerasFound = Signal(list)  # indices of the cameras that open (see find_cameras)
    busyChanged = Signal(str)  # "Computing…" / "Opening x…" after BUSY_AFTER_S; "" when done
    bankOpened = Signal(str)  # the path of a bank file now open as the document
    # Emitted on the compute thread by the first result of each generation (an edit, a new
    # bank or selection): the GUI thread takes it at once (queued) instead of at the next
    # poll, 2.5 ms later on average. Later frames of the same bank wait for the poll: waking
    # the GUI for every frame of a 720p video doubled its worst stall.
    _answerReady = Signal()

    def __init__(self, bank: Bank, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = Document(bank)
        self._selection = (0, 0, 0)
        self._generation = 0
        self._display_size = (320, 240)
        self._pin: Pin | None = None
        self._results = LatestSlot()
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._answerReady.connect(self._on_poll, Qt.ConnectionType.QueuedConnection)
        self._answered = -1  # the generation _answerReady last told of; the compute thread's
        self._worker = Worker(self._results, self._on_worker_result)
        self._capture: Capture | None = None
        self._pending: Capture | None = None
        self._source_description = ""
        self._retry: Callable[[], bool] | None = None
        self._pushed_channels: list[int] = []
        self._paused = False
        self._preview = False
        self._finding_cameras = False
        self._displayed: Result | None = None
        self._last_push = 0.0
        self._shown_at: deque[float] = deque(maxlen=120)
        # The bank and frame size last checked for heaviness, so the check (which walks the
        # bank's filters) runs once per bank and size, not once per frame.
        self._estimated: tuple[Bank, tuple[int, ...]] | None = None
        self._visible: frozenset[tuple[int, int]] | None = None  # None: every pane
        self._story_shown = True
        self._last_job: Job | None = None
        self._pending_label = ""
        self._pending_since = 0.0
        self._busy = ""
        self._camera_modes: dict[int, tuple[str, list[tuple[int, int]]]] = {}
        # The bank file being read on a thread: (path, the document it replaces, that
        # document's bank then, when it started); None when none is.
        self._opening: tuple[Path, Document, Bank, float] | None = None

        self._push_timer = QTimer(self)
        self._push_timer.setSingleShot(True)
        self._push_timer.timeout.connect(self._push_job)
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(POLL_MS)
        self._poll_timer.timeout.connect(self._on_poll)
        self._poll_timer.start()
        self._stats_timer = QTimer(self)
        self._stats_timer.setInterval(500)
        self._stats_timer.timeout.connect(self._emit_stats)
        self._stats_timer.start()
        self._push_job()

    # --- sources -------------------------------------------------------------------------------

    def open_image(self, path: str | Path) -> bool:
        """Start opening an image file on the capture thread (GUI thread).

        Decoding and downscaling a large photo takes seconds, so it never happens here: the
        current source stays until the image shows (sourceChanged) or fails with one line
        naming the file (sourceFailed). Returns True: the opening has started.
        """
        from playground.sources.still import ImageSource

        return self._open_later(lambda: ImageSource(path), Path(path).name)

    def open_video(self, path: str | Path) -> bool:
        """Start opening a video file on the capture thread, as `open_image` does (GUI thread)."""
        from playground.sources.video import VideoSource

        return self._open_later(lambda: VideoSource(path), Path(path).name)

    def open_pattern(self, name: str) -> bool:
        from playground.sources.patterns import PatternSource

        return self._open_now(lambda: PatternSource(name))

    def open_source(self, source: Source) -> bool:
        """Show frames from an already open source (tests, scripts)."""
        opened = self._open_now(lambda: source)
        self._retry = None  # a source object cannot be opened again once closed
        return opened

    def open_camera(self, index: int, size: tuple[int, int] | None = None) -> bool:
        """Start opening camera ``index`` on the capture thread; the current source stays until
        the camera delivers (sourceChanged) or fails (sourceFailed)."""
        from playground.sources.camera import CameraSource

        return self._open_later(lambda: CameraSource(index, size), f"camera {index}")

    def retry_source(self) -> bool:
        """Open the last source asked for again: a camera plugged back in, a file put back."""
        if self._retry is None:
            self.message.emit("no source to retry")
            return False
        return self._retry()

    def _open_later(self, opener: Callable[[], Source], label: str) -> bool:
        # The source opens on its capture thread; the current one runs until it delivers.
        self._retry = lambda: self._open_later(opener, label)
        self._start(self._capture_for(opener), label)
        return True

    def _capture_for(self, opener: Callable[[], Source]) -> Capture:
        return Capture(opener, self._on_frame, self._post_event, self._worker.demand)

    def _open_now(self, opener: Callable[[], Source]) -> bool:
        # Files and patterns open in a few milliseconds: do it here, so a bad file is reported
        # at once and the current source keeps running.
        self._retry = lambda: self._open_now(opener)
        try:
            source = opener()
        except SourceError as e:
            self.sourceFailed.emit(str(e))
            return False
        self._start(self._capture_for(lambda: source))
        return True

    def _start(self, capture: Capture, label: str = "") -> None:
        if self._pending is not None:
            self._pending.stop()
        self._pending = capture
        self._pending_label = label
        self._pending_since = time.monotonic()
        capture.start()

    def _post_event(self, capture: Capture, kind: str, payload: object) -> None:
        # Runs on capture threads. Events are rare (opened, failed), so a queue is fine here;
        # frames never go through it.
        self._events.put((capture, kind, payload))

    def _on_frame(self, image: np.ndarray) -> None:
        # Runs on the capture thread.
        self._worker.put_frame(image)

    def set_visible(self, panes: Iterable[tuple[int, int]] | None, story_shown: bool) -> None:
        """Which (layer, filter) panes are on screen (None: all), and whether the channel story
        is (GUI thread). Maps of hidden panes are not reduced, and a hidden story is not
        computed; a change recomputes a frozen frame at once, and cancels nothing."""
        visible = None if panes is None else frozenset(panes)
        if visible == self._visible and story_shown == self._story_shown:
            return
        self._visible, self._story_shown = visible, story_shown
        if self._last_job is not None and not self._push_timer.isActive():
            # Same bank, same generation: results in flight still count.
            job = replace(self._last_job, visible=visible, selected=self._story_selection())
            self._last_job = job
            self._worker.put_job(job)

    @property
    def source_description(self) -> str:
        return self._source_description

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        """Freeze the current frame; edits keep recomputing on it."""
        self._paused = paused
        if self._capture is not None:
            self._capture.set_paused(paused)

    def find_cameras(self) -> None:
        """Look for cameras on a thread of their own and report them with ``camerasFound``.

        Opening a device to see whether it works takes a moment per camera (seconds for some
        drivers), so it never happens on the GUI thread. A search already running is not
        started twice.
        """
        if self._finding_cameras:
            return
        self._finding_cameras = True

        def search() -> None:
            # Runs on the "cameras" thread; the result reaches the GUI through the event queue.
            try:
                found = camera.list_cameras()
                modes = {i: (camera.camera_name(i), camera.camera_sizes(i)) for i in found}
            except Exception:  # a driver bug: no cameras rather than a dead search
                found, modes = [], {}
            self._events.put((None, "cameras", (found, modes)))

        threading.Thread(target=search, name="cameras", daemon=True).start()

    def camera_name(self, index: int) -> str:
        """Camera ``index``'s name as the last search found it (GUI thread)."""
        return self._camera_modes.get(index, (f"Camera {index}", []))[0]

    def camera_sizes(self, index: int) -> list[tuple[int, int]]:
        """The sizes camera ``index`` offers, as the last search found them (GUI thread)."""
        return self._camera_modes.get(index, ("", list(CAMERA_SIZES)))[1] or list(CAMERA_SIZES)

    def _handle_event(self, capture: Capture | None, kind: str, payload: object) -> None:
        if kind == "cameras":
            self._finding_cameras = False
            assert isinstance(payload, tuple)
            found, self._camera_modes = payload
            self.camerasFound.emit(found)
            return
        if kind in ("bank", "model"):
            assert isinstance(payload, tuple)
            path, outcome = payload
            wanted = self._still_wanted(path, outcome, "opened" if kind == "bank" else "imported")
            if isinstance(wanted, Bank):
                self._adopt(path, wanted)
            elif isinstance(wanted, ModelImport):
                self._adopt_model(path, wanted)
            return
        if kind == "exported":
            self.message.emit(str(payload))
            return
        if kind == "opened":
            if capture is None or capture is not self._pending:
                return
            old, self._capture, self._pending = self._capture, capture, None
            if old is not None:
                old.stop()
            capture.set_paused(self._paused)
            assert isinstance(payload, Source)
            self._source_description = payload.description
            self.sourceChanged.emit(payload.description)
        elif kind == "failed":
            if capture is self._pending:
                self._pending = None
            elif capture is not self._capture:
                return
            # The worker keeps the last frame, so the panes keep showing it.
            self.sourceFailed.emit(str(payload))

    # --- the document ----------------------------------------------------------------------------

    @property
    def bank(self) -> Bank:
        return self.document.bank

    def set_bank(self, bank: Bank, label: str, merge_key: object = None) -> None:
        """Make ``bank`` the current bank as one undoable step named ``label``."""
        self.document.push(bank, label, merge_key)
        self._bank_changed()

    def edit(self, change: Callable[[Bank], Bank], label: str, merge_key: object = None) -> bool:
        """Apply ``change`` to the current bank; a BankError becomes a message, not a raise."""
        try:
            bank = change(self.bank)
        except BankError as e:
            self.message.emit(str(e))
            return False
        self.set_bank(bank, label, merge_key)
        return True

    def set_kernel(self, kernel: np.ndarray) -> bool:
        """Replace the selected kernel (any size: the filter is resized around its centre)."""
        layer, filt, channel = self._selection
        return self.edit(
            lambda b: editing.set_kernel(b, layer, filt, channel, kernel),
            f"Edit kernel ({self._kernel_name()})",
            merge_key=("kernel", layer, filt, channel),
        )

    def set_kernels(self, kernels: np.ndarray) -> bool:
        """Replace every kernel of the selected filter with (C_in, kh, kw) ``kernels``."""
        layer, filt, _ = self._selection
        return self.edit(
            lambda b: editing.set_kernels(b, layer, filt, kernels),
            f"Edit kernels ({self._filter_name()})",
        )

    def _filter_name(self) -> str:
        layer, filt, _ = self._selection
        conv = self.bank.layers[layer]
        name = conv.filters[filt].name if isinstance(conv, ConvLayer) else ""
        return f"layer {layer + 1}, {name or f'filter {filt + 1}'}"

    def _kernel_name(self) -> str:
        return f"{self._filter_name()}, channel {self._selection[2] + 1}"

    def undo(self) -> None:
        if self.document.undo():
            self._bank_changed()

    def redo(self) -> None:
        if self.document.redo():
            self._bank_changed()

    def open_bank(self, path: str | Path) -> bool:
        """Open a bank file as the document; `bankOpened` says when it is. A bundled bank
        opens as an untitled copy: Save asks for a name instead of overwriting the app's own
        file.

        A file over OPEN_ON_THREAD_BYTES is read and checked on a thread of its own (the busy
        indicator says "Opening …" meanwhile) and becomes the document when it is done, unless
        the bank was edited in the meantime: then nothing is replaced and a message says so.
        Returns False when the file is refused at once (the message says why), True otherwise.
        """
        target = Path(path)
        try:
            size = target.stat().st_size
        except OSError:
            size = 0  # load_bank gives the one-line reason
        if size <= OPEN_ON_THREAD_BYTES:
            try:
                bank = load_bank(target)
            except BankError as e:
                self.message.emit(str(e))
                return False
            self._adopt(target, bank)
            return True
        self._read_on_thread(target, "bank", load_bank, "open")
        return True

    def import_model(self, path: str | Path) -> None:
        """Import a trained ONNX model's leading layers (`engine.model_import`) as a new,
        unsaved bank, read on a thread of its own (a model can be hundreds of MB). The message
        then says how many layers came in and where the import stopped and why; a model that
        cannot be read gives its one-line reason and changes nothing. As with `open_bank`, a
        bank edited meanwhile is kept and the import dropped."""
        self._read_on_thread(Path(path), "model", read_model, "import")

    def _read_on_thread(
        self, target: Path, kind: str, read: Callable[[Path], object], verb: str
    ) -> None:
        """Read ``target`` with ``read`` on a thread of its own; its outcome (what ``read``
        returned, or a one-line message) comes back as a ``kind`` event."""
        self._opening = (target, self.document, self.document.bank, time.monotonic())

        def run() -> None:
            # Runs on the file-reading thread.
            try:
                outcome: object = read(target)
            except BankError as e:
                outcome = str(e)
            except Exception as e:  # a bug in the reader must not end silently
                outcome = f"could not {verb} {target.name}: {e}"
            self._events.put((None, kind, (target, outcome)))

        threading.Thread(target=run, name=f"{kind}-reader", daemon=True).start()

    def export_map(self, layer: int, filt: int, path: str | Path) -> bool:
        """Write filter ``filt`` of layer ``layer``'s map, as last displayed, at full
        resolution (`map_export.write_map`: .npy, 16-bit .png or float .tif), on a thread of
        its own; the outcome comes back as a `message`. False when there is no such map."""
        maps = self.outputs()
        if not (0 <= layer < len(maps) and 0 <= filt < len(maps[layer])):
            self.message.emit("no feature map to export: select a filter whose map is shown")
            return False
        values, target = maps[layer][filt], Path(path)

        def run() -> None:
            # Runs on the map-export thread; a result's maps are never written after they
            # are made, so reading one here races with nothing.
            try:
                outcome = write_map(values, target)
            except BankError as e:
                outcome = str(e)
            except Exception as e:  # a bug in an encoder must not end silently
                outcome = f"could not export {target.name}: {e}"
            self._events.put((None, "exported", outcome))

        threading.Thread(target=run, name="map-export", daemon=True).start()
        return True

    def _still_wanted(self, path: Path, outcome: object, verb: str) -> object | None:
        """A file read on its thread, when it is still to be used: not when another was asked
        for since, when it failed (its message is said) or when the bank was edited meanwhile
        (that is said). GUI thread, from the poll."""
        if self._opening is None or self._opening[0] != path:
            return None  # another file was opened since: that one wins
        _, document, bank, _ = self._opening
        self._opening = None
        if isinstance(outcome, str):
            self.message.emit(outcome)
            return None
        if document is not self.document or document.bank is not bank:
            self.message.emit(f"{path.name} was not {verb}: the bank was edited meanwhile")
            return None
        return outcome

    def _adopt_model(self, path: Path, model: ModelImport) -> None:
        self.new_bank(model.bank)
        self.document.forget_saved()
        count = len(model.bank.layers)
        said = f"Imported {count} layer{'s' if count != 1 else ''} of {path.name}"
        self.message.emit(f"{said}; {model.stopped}" if model.stopped else f"{said}: all of it")

    def _adopt(self, path: Path, bank: Bank) -> None:
        self.document = Document(bank, None if is_bundled(path) else path)
        self._selection = (-1, -1, -1)
        self._bank_changed()
        self.bankOpened.emit(str(path))

    def new_bank(self, bank: Bank) -> None:
        """Start an unsaved document holding ``bank``."""
        self.document = Document(bank)
        self._selection = (-1, -1, -1)
        self._bank_changed()

    def save_bank(self, path: str | Path | None = None) -> bool:
        target = Path(path) if path is not None else self.document.path
        if target is None:
            self.message.emit("choose a file name to save the bank")
            return False
        try:
            save_bank(self.bank, target)
        except BankError as e:
            self.message.emit(str(e))
            return False
        self.document.mark_saved(target)
        self.documentChanged.emit()
        return True

    def _bank_changed(self) -> None:
        if self.bank.channels() != self._pushed_channels:
            # A result computed before this change has other layers or filters than the panes
            # now do: drop those still in flight at once, not after the throttled push. (After
            # a weight edit, a result of the previous weights may still show until then.)
            self._generation += 1
        self._clamp_selection()
        # The worker starts on the new bank before the window redraws its editors and panels
        # for it (5 ms of an edit's 50 at 1080p went to them first).
        self._schedule_push()
        self.bankChanged.emit()
        self.documentChanged.emit()
        if self._displayed is not None:
            self._note_heavy(self._displayed.frame.shape[:2])

    def _note_heavy(self, size: tuple[int, ...]) -> None:
        """Say once per bank and frame size when a frame will take a second or more: the maps
        then lag every edit, and the user should know it is the bank, not a hang."""
        bank = self.bank
        if (
            self._estimated is not None
            and self._estimated[0] is bank
            and self._estimated[1] == size
        ):
            return
        self._estimated = (bank, size)
        height, width = size
        try:
            est = budget.estimate(bank, height, width)
        except BankError:
            return  # refused: the panes say why
        if est.heavy:
            self.message.emit(
                f"This bank is heavy: {est.describe()} on this {width}x{height} image; "
                "the maps update slowly"
            )

    # --- selection --------------------------------------------------------------------------------

    @property
    def selection(self) -> tuple[int, int, int]:
        """(layer, filter, channel), 0-based; filter and channel are -1 on a pool layer."""
        return self._selection

    def select(self, layer: int, filt: int = 0, channel: int = 0) -> None:
        previous = self._selection
        self._selection = (layer, filt, channel)
        self._clamp_selection()
        if self._selection != previous:
            self.selectionChanged.emit(*self._selection)
            self._push_job()

    def _clamp_selection(self) -> None:
        layers = self.bank.layers
        layer, filt, channel = self._selection
        layer = min(max(layer, 0), len(layers) - 1)
        conv = layers[layer]
        if isinstance(conv, ConvLayer):
            filt = min(max(filt, 0), conv.out_channels - 1)
            channel = min(max(channel, 0), conv.filters[filt].in_channels - 1)  # its kernels
        else:
            filt = channel = -1
        if (layer, filt, channel) != self._selection:
            self._selection = (layer, filt, channel)
            self.selectionChanged.emit(*self._selection)

    # --- results ---------------------------------------------------------------------------------

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) the panes' maps are reduced to."""
        return self._display_size

    @property
    def preview(self) -> bool:
        return self._preview

    def set_preview(self, enabled: bool) -> None:
        """Preview resolution: while a bank is too heavy for camera rate, run it on a smaller
        copy of the frame (`pipeline.preview_factor`; `Result.preview_factor` says how much
        smaller), and on a still or frozen frame follow each preview with the exact maps."""
        if enabled != self._preview:
            self._preview = enabled
            self._push_job()

    def set_display_size(self, width: int, height: int) -> None:
        """The on-screen size of a pane's image: maps are reduced to it off the GUI thread."""
        size = (max(16, width), max(16, height))
        if size != self._display_size:
            self._display_size = size
            self._push_job()

    def outputs(self) -> list[np.ndarray]:
        """The full-resolution maps behind the panes most recently displayed: one (C_out, H, W)
        array per layer.

        For scripts and tests; the window reads the maps of its results. After an edit on a
        still or frozen frame the last layer's maps come as separate arrays (`Run`): they are
        stacked here, a copy, once per result asked for.
        """
        result = self._displayed
        if result is None or result.outputs is None:
            return []
        if not isinstance(result.outputs[-1], np.ndarray):
            result.outputs[-1] = np.asarray(result.outputs[-1])
        return cast("list[np.ndarray]", result.outputs)

    def pin(self, layer: int, filt: int) -> ShownMap | None:
        """Pin filter ``filt`` of layer ``layer``'s map, as last displayed, as A.

        From then on each result carries the live map minus A (``Result.difference``), computed
        on the worker. Returns A, or None when no such map is displayed: the last result may
        predate the selection, and a map off screen was not reduced for display.
        """
        shown = self._displayed
        if shown is None or layer >= len(shown.maps) or filt >= len(shown.maps[layer]):
            return None
        a = shown.maps[layer][filt]
        if a.display is None:
            return None
        self._pin = Pin(layer, filt, a.full)
        self._push_job()
        return a

    def unpin(self) -> None:
        """Forget the pinned map: results carry no difference."""
        if self._pin is not None:
            self._pin = None
            self._push_job()

    @property
    def last_result(self) -> Result | None:
        return self._displayed

    @property
    def generation(self) -> int:
        """Bumped each time a new bank or selection is handed to the worker."""
        return self._generation

    def _schedule_push(self) -> None:
        interval = max(MIN_PUSH_INTERVAL_S, 1.5 * self._worker.last_compute_ms / 1000)
        wait = self._last_push + interval - time.monotonic()
        if wait <= 0:
            self._push_job()
        elif not self._push_timer.isActive():
            self._push_timer.start(int(wait * 1000) + 1)

    def _push_job(self) -> None:
        self._push_timer.stop()
        self._last_push = time.monotonic()
        self._generation += 1
        self._pushed_channels = self.bank.channels()
        self._last_job = Job(
            self.bank,
            self._generation,
            self._story_selection(),
            self._display_size,
            self._pin,
            self._visible,
            self._preview,
        )
        self._worker.put_job(self._last_job)

    def _story_selection(self) -> tuple[int, int] | None:
        # The channel story is computed only while it is on screen.
        layer, filt, _ = self._selection
        return (layer, filt) if filt >= 0 and self._story_shown else None

    @property
    def worker(self) -> Worker:
        """The compute worker (its counters and health, for the soak benchmark)."""
        return self._worker

    @property
    def capture(self) -> Capture | None:
        """The capture thread of the source being shown, if any."""
        return self._capture

    def _on_worker_result(self) -> None:
        """Runs on the compute thread, for each result it puts in the slot."""
        generation = self._worker.last_generation
        if generation != self._answered:
            self._answered = generation
            with contextlib.suppress(RuntimeError):  # a window closed under it
                self._answerReady.emit()

    def _on_poll(self) -> None:
        # No thread dies silently: a compute thread that stopped is restarted and reported.
        restarted = self._worker.ensure_alive()
        if restarted is not None:
            self.message.emit(restarted)
        while True:
            try:
                capture, kind, payload = self._events.get_nowait()
            except queue.Empty:
                break
            self._handle_event(capture, kind, payload)
        self._update_busy()
        result = self._results.take()
        if not isinstance(result, Result) or result.generation != self._generation:
            return  # nothing new, or computed with a bank the user has since changed
        self._displayed = result
        self._note_heavy(result.frame.shape[:2])
        self.resultReady.emit(result)
        self._shown_at.append(time.monotonic())
        self.resultDisplayed.emit()

    def _update_busy(self) -> None:
        # Cheap enough for every poll: two clock reads and a lock.
        busy = ""
        if self._opening is not None and time.monotonic() - self._opening[3] > BUSY_AFTER_S:
            busy = f"Opening {self._opening[0].name}…"
        elif self._pending is not None and time.monotonic() - self._pending_since > BUSY_AFTER_S:
            busy = f"Opening {self._pending_label or 'the source'}…"
        elif self._worker.busy_for() > BUSY_AFTER_S:
            busy = "Computing the feature maps…"
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    @property
    def busy(self) -> str:
        """What `busyChanged` last said: "" when nothing slow is under way."""
        return self._busy

    def _emit_stats(self) -> None:
        now = time.monotonic()
        recent = [t for t in self._shown_at if now - t <= 1.0]
        self.statsChanged.emit(float(len(recent)), self._worker.last_compute_ms)

    def close(self) -> None:
        """Stop the threads and release the source; drop the engine's loops still waiting to
        compile."""
        direct.stop_compiling()
        self._poll_timer.stop()
        self._push_timer.stop()
        self._stats_timer.stop()
        for capture in (self._pending, self._capture):
            if capture is not None:
                capture.stop()
        self._worker.stop()
