"""Run a snippet in a child Python: a hang, a crash or a memory blow-up fails one test, not pytest."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Room for Python, numpy and OpenCV themselves; what a bounded read needs on top is small.
ADDRESS_SPACE = 1536 * 2**20

_PRELUDE = """
import resource, sys
if {limit}:
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
sys.path.insert(0, {root!r})
"""


def run_python(code: str, limit: int | None = ADDRESS_SPACE, timeout: float = 60) -> str:
    """Run ``code`` in a fresh interpreter under an address-space limit; its stdout.

    Fails the calling test (rather than hanging or killing pytest) when the child blocks past
    ``timeout`` seconds, dies from a signal, or exits non-zero.
    """
    script = _PRELUDE.format(limit=limit or 0, root=str(ROOT)) + textwrap.dedent(code)
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the child was still running after {timeout} s") from None
    assert done.returncode == 0, f"the child exited with {done.returncode}:\n{done.stderr}"
    return done.stdout
