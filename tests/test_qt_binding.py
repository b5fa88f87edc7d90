"""Regression guard for a broken Qt binding.

Why this exists: PySide6-Essentials 6.12.0 on CPython 3.11 drops one reference to ``None`` on
every call of a C++ method returning void (``QTimer.setInterval``, ``processEvents``, ...).
``sys.getrefcount(None)`` then falls by one per call, and a live window, which makes such calls
all the time, soon frees None itself and aborts with "Fatal Python error: none_dealloc".
pyproject.toml pins PySide6-Essentials below 6.12 for this reason; this test fails on any binding
with the bug, so the pin is not lifted (or a broken build installed) unnoticed.

On CPython 3.12+ None is immortal and its reference count never moves, so the bug cannot abort
there; the assertions still hold.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
from PySide6.QtCore import QCoreApplication, QObject, QTimer

CALLS = 10_000
# Other threads and the interpreter may take or drop a few references of their own meanwhile.
SLACK = 100


def _none_refs_lost(call: Callable[[], object]) -> int:
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        call()
    return before - sys.getrefcount(None)


def test_refcount_probe_sees_references_to_none() -> None:
    # The measurement itself works: holding 1000 more references to None shows up as 1000 on an
    # interpreter where None is mortal (3.11 and older), the ones the bug can crash.
    before = sys.getrefcount(None)
    held = [None] * 1000
    seen = sys.getrefcount(None) - before
    assert len(held) == 1000
    if sys.version_info < (3, 12):
        assert seen == 1000
    else:
        assert seen == 0  # immortal None: the count is a constant


VOID_CALLS: dict[str, tuple[Callable[[QTimer], object], Callable[[QTimer], bool]]] = {
    # name: (the void call, a check that it took effect)
    "QTimer.setInterval": (lambda t: t.setInterval(5), lambda t: t.interval() == 5),
    "QTimer.setSingleShot": (lambda t: t.setSingleShot(True), lambda t: t.isSingleShot()),
    "QObject.setObjectName": (
        lambda t: QObject.setObjectName(t, "guard"),
        lambda t: t.objectName() == "guard",
    ),
}


@pytest.mark.parametrize("method", list(VOID_CALLS))
def test_void_method_calls_keep_none_alive(qapp, method: str) -> None:
    timer = QTimer()
    call, took_effect = VOID_CALLS[method]
    lost = _none_refs_lost(lambda: call(timer))
    assert took_effect(timer)
    assert lost < SLACK, f"{method} dropped {lost} references to None in {CALLS} calls"


def test_process_events_keeps_none_alive(qapp) -> None:
    lost = _none_refs_lost(QCoreApplication.processEvents)
    assert lost < SLACK, f"processEvents dropped {lost} references to None in {CALLS} calls"


def test_set_interval_then_process_events_keeps_none_alive(qapp) -> None:
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        timer.setInterval(5)
    for _ in range(CALLS):
        QCoreApplication.processEvents()
    lost = before - sys.getrefcount(None)
    assert timer.interval() == 5
    assert lost < SLACK, f"{lost} references to None dropped in {2 * CALLS} void calls"
