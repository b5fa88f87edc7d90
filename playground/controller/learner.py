"""The learner: fits a layer-1 filter to a target map on a worker thread. QtCore only.

A fit (least squares) takes about a second on a camera-sized frame and a descent needs the same
Gram matrix first, so neither may run on the GUI thread. The learner takes an immutable job (a
bank snapshot, the frame, which filter and which target), runs it on its own thread and hands
results back through a one-entry slot that the GUI polls: a descent overwrites its previous
result at every tick, so nothing queues when the GUI is slow.

It never writes the bank. Whoever started the job applies the learned filter with
``controller.edit(...)``, so the controller stays the only writer of the bank.

Every job gets a generation number and its own slot. :meth:`Learner.cancel` (the bank or the
target changed under the job) bumps the generation, and results of an older generation are
dropped: a cancelled fit cannot be interrupted, and its thread may post after the cancel.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from playground.controller.pipeline import LatestSlot, _one_line
from playground.engine import learn
from playground.engine.bank import Bank, ConvLayer, Filter
from playground.engine.errors import BankError

# Gradient descent is animated: this many ticks of STEPS_PER_TICK steps, one result per tick,
# TICK_S apart so that a user sees the kernel move and can stop it.
TICKS = 30
STEPS_PER_TICK = 10
TICK_S = 0.03
# How often the GUI looks into the result slot while a job runs (a lock and a compare).
POLL_MS = 15


@dataclass(frozen=True)
class LearnJob:
    """What to learn: filter ``filter`` of conv layer 1 of ``bank``, fitted on ``frame``.

    ``target`` is None for the Canny edges of the frame, or the index of another filter of
    layer 1 whose map (before its activation, a target a linear filter can match) is imitated.
    """

    bank: Bank
    frame: np.ndarray
    filter: int
    target: int | None
    size: tuple[int, int]


@dataclass(frozen=True)
class Learned:
    """One result of a job: the filter learned so far, the losses so far (descent only), and
    whether the job is over (``done``; ``stopped`` when a stop ended a descent early)."""

    generation: int
    kind: str  # "fit" or "descent"
    filter: Filter | None
    losses: tuple[float, ...] = ()
    done: bool = False
    stopped: bool = False
    error: str | None = None  # one line; the job is over


def learn_arguments(job: LearnJob) -> tuple:
    """The arguments ``fit_kernel`` and ``KernelDescent`` share (image, target, size, input,
    padding, border). Runs on the learner thread: the target may be a convolution of the frame.

    Raises BankError with a one-line reason when layer 1 cannot be learned this way.
    """
    conv = job.bank.layers[0]
    if not isinstance(conv, ConvLayer):
        raise BankError("layer 1 is a pool layer: learning fits a filter of a conv layer 1")
    plain = conv.stride == (1, 1) and conv.dilation == (1, 1) and not conv.flip
    if conv.padding not in learn.PADDINGS or not plain or conv.groups != 1:
        raise BankError(
            "learning fits layer 1 as stride 1, dilation 1, no flip, groups 1, 'same' or "
            "'valid' padding: change those layer settings first"
        )
    if job.target is None:
        target = learn.canny_target(job.frame)
    else:
        linear = replace(job.bank, layers=(replace(conv, activation="none"),))
        target = linear.apply(job.frame)[0][job.target]
    return job.frame, target, job.size, job.bank.input, conv.padding, conv.border


def _fit(job: LearnJob, generation: int, slot: LatestSlot) -> None:
    """Runs on the learner thread: one least-squares fit, one result."""
    learned = learn.fit_kernel(*learn_arguments(job))
    slot.put(Learned(generation, "fit", learned, done=True))


def _descend(
    job: LearnJob,
    generation: int,
    slot: LatestSlot,
    stop: threading.Event,
    ticks: int,
    steps_per_tick: int,
    tick_s: float,
) -> None:
    """Runs on the learner thread: a descent, one result per tick, ``stop`` checked between
    ticks (and waited on instead of sleeping, so a stop ends the pause at once)."""
    descent = learn.KernelDescent(*learn_arguments(job))
    for tick in range(ticks):
        if stop.wait(tick_s if tick else 0.0):
            # Stopped before the first step: there is nothing learned to hand back.
            learned = descent.filter() if tick else None
            slot.put(Learned(generation, "descent", learned, tuple(descent.losses), True, True))
            return
        descent.step(steps_per_tick)
        done = tick == ticks - 1
        slot.put(Learned(generation, "descent", descent.filter(), tuple(descent.losses), done))


def _run(kind: str, generation: int, slot: LatestSlot, work: Callable[[], None]) -> None:
    """Runs on the learner thread: a job's body, any failure turned into a one-line result so
    that the thread never dies silently and the GUI leaves its busy state."""
    try:
        work()
    except BankError as e:
        slot.put(Learned(generation, kind, None, done=True, error=str(e)))
    except Exception as e:
        traceback.print_exc()  # the whole story for a bug report; the user gets one line
        slot.put(Learned(generation, kind, None, done=True, error=_one_line(e)))


class Learner(QObject):
    """Runs one learning job at a time on a worker thread and delivers its results.

    ``learned`` is emitted on the GUI thread with the newest :class:`Learned` of the current
    job, at most once per poll; results of a cancelled job never arrive.
    """

    learned = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._slot = LatestSlot()
        self._generation = 0
        self._stop = threading.Event()
        self._busy = False
        self._kind = ""
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._on_poll)

    @property
    def busy(self) -> bool:
        """True from the start of a job until its last result is delivered (or it is cancelled)."""
        return self._busy

    def fit(self, job: LearnJob) -> None:
        """Start a least-squares fit of ``job``; one result arrives, with ``done`` set."""
        generation = self._begin()
        slot = self._slot  # the thread gets the slot, never this QObject
        self._start("fit", generation, lambda: _fit(job, generation, slot))

    def descend(
        self,
        job: LearnJob,
        ticks: int = TICKS,
        steps_per_tick: int = STEPS_PER_TICK,
        tick_s: float = TICK_S,
    ) -> None:
        """Start gradient descent on ``job``: a result after every ``steps_per_tick`` steps,
        the last one (after ``ticks`` of them, or a :meth:`stop`) with ``done`` set."""
        generation = self._begin()
        slot, stop = self._slot, self._stop
        self._start(
            "descent",
            generation,
            lambda: _descend(job, generation, slot, stop, ticks, steps_per_tick, tick_s),
        )

    def stop(self) -> None:
        """End the job early (nothing happens when none runs). A descent ends after its current
        step and delivers the weights it reached (done, stopped); a fit cannot be interrupted,
        so its result is dropped."""
        if self._kind == "fit":
            self.cancel()
        else:
            self._stop.set()

    def cancel(self) -> None:
        """Drop the current job: nothing more of it is delivered, and a descent stops."""
        self._stop.set()
        self._generation += 1
        self._busy = False
        self._poll.stop()

    def _begin(self) -> int:
        self.cancel()
        # Each job has its own slot and stop event: a cancelled fit finishing late must not
        # overwrite the new job's result, and stopping an old job must not stop the new one.
        self._slot = LatestSlot()
        self._stop = threading.Event()
        self._busy = True
        return self._generation

    def _start(self, kind: str, generation: int, work: Callable[[], None]) -> None:
        self._kind = kind
        # Daemon: a cancelled fit still finishing must not keep the application from quitting;
        # it only writes to the slot, never to a Qt object.
        thread = threading.Thread(
            target=_run,
            args=(kind, generation, self._slot, work),
            name=f"learner {kind}",
            daemon=True,
        )
        thread.start()
        self._poll.start()

    def _on_poll(self) -> None:
        result = self._slot.take()
        if not isinstance(result, Learned) or result.generation != self._generation:
            return  # nothing new, or a result of a job cancelled since
        if result.done:
            self._busy = False
            self._poll.stop()
        self.learned.emit(result)
