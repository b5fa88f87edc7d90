"""Shared test setup.

Qt must not try to open a display in CI or on a headless machine: the offscreen platform plugin
is selected here, at import time, before any test module (or pytest-qt) imports Qt.
"""

from __future__ import annotations

import os

import pytest

from playground.engine import direct  # no Qt in the engine: the platform is still unchosen

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True, scope="session")
def loops_compile_when_asked():
    """The compiled loops are checked from their first call, and no compile runs in the
    background beside a test (tests/engine/test_compiler.py checks the background)."""
    direct.compile_in_background(False)
    yield
    direct.compile_in_background(True)


@pytest.fixture
def uncompiled(monkeypatch):
    """Every compiled loop still compiling, as on a fresh machine's first start."""
    monkeypatch.setattr(direct, "compiled", lambda build, *args, wait=None: None)
