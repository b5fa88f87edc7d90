"""Shared test setup.

Qt must not try to open a display in CI or on a headless machine: the offscreen platform plugin
is selected here, at import time, before any test module (or pytest-qt) imports Qt.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
