"""The learner: fits and descends on its own thread, delivers only the current job's results."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from dataclasses import replace

import numpy as np
import pytest

from playground import Bank, ConvLayer, Filter, PoolLayer
from playground.controller.learner import Learner, LearnJob
from playground.engine import learn

WAIT_MS = 10_000


def bank():
    rng = np.random.default_rng(3)
    return Bank(
        (
            ConvLayer(
                (
                    Filter(rng.standard_normal((3, 3, 3)), 0.0, "a"),
                    Filter(rng.standard_normal((3, 3, 3)), 0.2, "b"),
                ),
                padding="same",
                activation="relu",
            ),
        )
    )


def frame(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (40, 48, 3), dtype=np.uint8)


@pytest.fixture
def learner(qtbot):
    learner = Learner()
    results = []
    learner.learned.connect(results.append)
    learner.results = results  # type: ignore[attr-defined]
    yield learner
    learner.cancel()


def test_a_fit_runs_off_the_gui_thread_and_equals_the_engines_fit(qtbot, learner, monkeypatch):
    threads = []
    real = learn.fit_kernel

    def recording_fit(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(learn, "fit_kernel", recording_fit)
    b, f = bank(), frame()
    learner.fit(LearnJob(b, f, 0, None, (3, 3)))
    assert learner.busy
    qtbot.waitUntil(lambda: not learner.busy, timeout=WAIT_MS)
    assert threads and threads[0] is not threading.main_thread()
    (result,) = learner.results
    assert result.done and result.error is None
    expected = real(f, learn.canny_target(f), (3, 3), "rgb", "same", "zero")
    np.testing.assert_allclose(result.filter.kernels, expected.kernels, rtol=1e-6, atol=1e-7)
    assert result.filter.bias == pytest.approx(expected.bias, abs=1e-7)


def test_a_cancelled_fit_is_never_delivered_and_does_not_hide_the_next_one(
    qtbot, learner, monkeypatch
):
    release = threading.Event()
    real = learn.fit_kernel
    calls = []

    def first_call_blocks(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            release.wait(WAIT_MS / 1000)
        return real(*args, **kwargs)

    monkeypatch.setattr(learn, "fit_kernel", first_call_blocks)
    b = bank()
    learner.fit(LearnJob(b, frame(0), 0, None, (3, 3)))
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=WAIT_MS)
    learner.cancel()  # e.g. the bank changed under it
    assert not learner.busy
    learner.fit(LearnJob(b, frame(1), 0, 1, (3, 3)))
    qtbot.waitUntil(lambda: not learner.busy, timeout=WAIT_MS)
    release.set()  # the cancelled fit finishes last; its result must go nowhere
    qtbot.waitUntil(
        lambda: not any(t.name == "learner fit" for t in threading.enumerate()), timeout=WAIT_MS
    )
    (result,) = learner.results
    f = frame(1)
    target = b.with_layer(0, replace(b.layers[0], activation="none")).apply(f)[0][1]
    expected = real(f, target, (3, 3), "rgb", "same", "zero")
    np.testing.assert_allclose(result.filter.kernels, expected.kernels, rtol=1e-6, atol=1e-7)


def test_stop_ends_a_descent_with_the_weights_it_reached(qtbot, learner):
    # A descent far longer than the test: only the stop can end it.
    learner.descend(LearnJob(bank(), frame(), 0, 1, (3, 3)), ticks=100_000, tick_s=0.005)
    qtbot.waitUntil(lambda: len(learner.results) >= 2, timeout=WAIT_MS)
    learner.stop()
    qtbot.waitUntil(lambda: not learner.busy, timeout=WAIT_MS)
    last = learner.results[-1]
    assert last.done and last.stopped and last.filter is not None
    assert len(last.losses) - 1 < 100_000 * 10
    assert last.losses[-1] < last.losses[0]
    qtbot.waitUntil(
        lambda: not any(t.name.startswith("learner") for t in threading.enumerate()),
        timeout=WAIT_MS,
    )


def test_a_pool_first_layer_is_a_one_line_error_not_a_raise(qtbot, learner):
    pooled = Bank((PoolLayer("max", (2, 2)), *bank().layers))
    learner.fit(LearnJob(pooled, frame(), 0, None, (3, 3)))
    qtbot.waitUntil(lambda: not learner.busy, timeout=WAIT_MS)
    (result,) = learner.results
    assert result.filter is None and "pool" in result.error and "\n" not in result.error


def test_the_learner_needs_no_widgets():
    # QtCore only, as the rest of the controller: a fit under a bare QCoreApplication with
    # QtWidgets, QtGui and pyqtgraph unimportable.
    code = textwrap.dedent(
        """
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name in ("PySide6.QtWidgets", "PySide6.QtGui") or name.startswith("pyqtgraph"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        import numpy as np
        from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
        app = QCoreApplication([])
        from playground import Bank, ConvLayer, Filter
        from playground.controller.learner import Learner, LearnJob
        bank = Bank((ConvLayer((Filter(np.ones((3, 3, 3)) / 27, 0.0, "mean"),), padding="same"),))
        frame = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
        learner, loop, got = Learner(), QEventLoop(), []
        learner.learned.connect(lambda r: (got.append(r), loop.quit()))
        QTimer.singleShot(10000, loop.quit)
        learner.fit(LearnJob(bank, frame, 0, None, (3, 3)))
        loop.exec()
        print(got[0].filter.kernels.shape if got else None)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(3, 3, 3)"
