"""Regression guard for a broken Qt binding.

Why this exists: PySide6-Essentials 6.12.0 on CPython 3.11 drops one reference to ``None`` on
every call of a C++ method returning void (``QTimer.setInterval``, ``processEvents``, ...).
``sys.getrefcount(None)`` then falls by one per call, and a live window, which makes such calls
all the time, soon frees None itself and aborts with "Fatal Python error: none_dealloc".
pyproject.toml pins PySide6-Essentials below 6.12 for this reason; this test fails on any binding
with the bug, so the pin is not lifted (or a broken build installed) unnoticed.

On CPython 3.12+ None is immortal and its reference count never moves, so the bug cannot abort
there; the assertions still hold.

Why the measurements run in a fresh interpreter: None's reference count is global state that
other tests' code changes. OpenCV's wheels are built against old Python headers, whose
``Py_INCREF`` bumps even an immortal object's count: on CPython 3.13, ``VideoCapture.read()``
past the end of a file takes None's count from 0xFFFFFFFF to 0x100000001, after which the
interpreter counts references to None again, so a probe run after the video tests saw 1000
where it expects 0. A leftover thread of an earlier test could likewise take or drop references
between two samples. A child process (``sys.executable``, the same installed binding) that
imports only Qt, disables gc and runs no other thread measures the binding and nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CALLS = 10_000
# The interpreter may take or drop a few references of its own meanwhile; the bug drops CALLS.
SLACK = 100

VOID_CALLS = ("QTimer.setInterval", "QTimer.setSingleShot", "QObject.setObjectName")

# Run as ``python -c PROBE CALLS``; prints one JSON object with what it measured. Each "lost" is
# the references to None lost over CALLS calls, less those lost over CALLS calls of a pure-Python
# no-op (the loop's own effect, 0 in a quiet interpreter).
PROBE = r"""
import gc, json, os, sys, threading

from PySide6.QtCore import QCoreApplication, QObject, QTimer

CALLS = int(sys.argv[1])
app = QCoreApplication([])
gc.disable()  # a collection freeing objects that refer to None would move the count too
# A fresh interpreter holds only a few thousand references to None: a binding that drops one per
# call would free None within the first loop and abort the child. Held ones keep it alive so
# that every measurement reports how many it lost (up to 6 * CALLS in all).
ballast = [None] * (10 * CALLS)


def drift(call):
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        call()
    return before - sys.getrefcount(None)


def noop():
    return None


out = {"python_threads": threading.active_count()}
baseline = drift(noop)
out["baseline"] = baseline

before = sys.getrefcount(None)
held = [None] * 1000
out["probe_seen"] = sys.getrefcount(None) - before
del held

timer = QTimer()
void_calls = {
    "QTimer.setInterval": (lambda: timer.setInterval(5), lambda: timer.interval() == 5),
    "QTimer.setSingleShot": (lambda: timer.setSingleShot(True), lambda: timer.isSingleShot()),
    "QObject.setObjectName": (
        lambda: QObject.setObjectName(timer, "guard"),
        lambda: timer.objectName() == "guard",
    ),
}
out["lost"], out["took_effect"] = {}, {}
for name, (call, took_effect) in void_calls.items():
    out["lost"][name] = drift(call) - baseline
    out["took_effect"][name] = took_effect()
out["lost"]["processEvents"] = drift(QCoreApplication.processEvents) - baseline

timer = QTimer()
both = drift(lambda: timer.setInterval(5)) + drift(QCoreApplication.processEvents)
out["lost"]["setInterval then processEvents"] = both - 2 * baseline
out["took_effect"]["setInterval then processEvents"] = timer.interval() == 5
print(json.dumps(out), flush=True)
# No interpreter shutdown: after a broken binding's drops, freeing the ballast would free None
# and abort here, after the measurements that say what is wrong.
os._exit(0)
"""


@pytest.fixture(scope="module")
def measured() -> dict:
    """What the probe measured in a fresh interpreter with the installed binding."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(CALLS)],
        capture_output=True,
        text=True,
        # A broken binding can free None and abort the child: that is a failure, not a hang.
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    # A child killed by none_dealloc is the bug itself: report its last words.
    assert run.returncode == 0, f"the probe exited with {run.returncode}:\n{run.stderr[-2000:]}"
    out = json.loads(run.stdout)
    # The measurement's premise: nothing but this thread can touch None meanwhile.
    assert out["python_threads"] == 1
    return out


def test_refcount_probe_sees_references_to_none(measured: dict) -> None:
    # The measurement itself works: holding 1000 more references to None shows up as 1000 on an
    # interpreter where None is mortal (3.11 and older), the ones the bug can crash.
    if sys.version_info < (3, 12):
        assert measured["probe_seen"] == 1000
    else:
        assert measured["probe_seen"] == 0  # immortal None: the count is a constant
    # and a loop of pure-Python calls returning None neither takes nor drops any.
    assert measured["baseline"] == 0


@pytest.mark.parametrize("method", VOID_CALLS)
def test_void_method_calls_keep_none_alive(measured: dict, method: str) -> None:
    lost = measured["lost"][method]
    assert measured["took_effect"][method]
    assert lost < SLACK, f"{method} dropped {lost} references to None in {CALLS} calls"


def test_process_events_keeps_none_alive(measured: dict) -> None:
    lost = measured["lost"]["processEvents"]
    assert lost < SLACK, f"processEvents dropped {lost} references to None in {CALLS} calls"


def test_set_interval_then_process_events_keeps_none_alive(measured: dict) -> None:
    lost = measured["lost"]["setInterval then processEvents"]
    assert measured["took_effect"]["setInterval then processEvents"]
    assert lost < SLACK, f"{lost} references to None dropped in {2 * CALLS} void calls"
