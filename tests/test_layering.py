"""Architecture rules: the import-linter contracts in pyproject.toml, and what they cannot see.

`lint-imports` checks the arrows between engine, sources, controller and ui statically, imports
inside functions included. What a contract cannot say is checked at run time: `import
playground`, the display math and the CLI's presets/apply commands never load Qt (PySide6,
shiboken6) or pyqtgraph. Scripts, the CLI and the compute thread must work on machines without a
display and without the GUI's dependencies loaded. That check runs in a fresh interpreter where
importing any of those packages raises ImportError, so even an import made through importlib,
or one swallowed by a ``try: ... except ImportError``, is caught.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
BLOCKED = ("PySide6", "shiboken6", "pyqtgraph")

# playground.engine and playground.sources are covered by a contract; these are not.
MODULES = (
    "playground",
    "playground.assets",
    "playground.controller.display",
    "playground.lessons",
    "playground.bench",
    "playground.cli",
)

SCRIPT = r"""
import contextlib, importlib, importlib.abc, io, json, sys

BLOCKED = tuple(sys.argv[1].split(","))
MODULES = sys.argv[2].split(",")
bank_path, image_path, out_dir = sys.argv[3:6]
attempts = []


class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            attempts.append(name)
            raise ImportError(f"{name} is blocked by test_layering")
        return None


def loaded():
    return sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)


assert not loaded(), f"loaded before the test started: {loaded()}"
sys.meta_path.insert(0, Blocker())
for name in BLOCKED:  # the blocker itself works
    try:
        importlib.import_module(name)
    except ImportError:
        pass
    else:
        raise SystemExit(f"{name} could be imported despite the blocker")
assert attempts == list(BLOCKED), attempts
attempts.clear()

for name in MODULES:
    importlib.import_module(name)

import numpy as np
import playground
from playground import cli

bank = playground.Bank(
    (
        playground.ConvLayer(
            (playground.Filter.repeated([[0, 1, 0], [1, -4, 1], [0, 1, 0]], 3, name="lap"),),
            padding="same",
            border="reflect",
        ),
        playground.PoolLayer("max", 2),
    )
)
maps = bank.apply(np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3))
assert [m.shape for m in maps] == [(1, 6, 8), (1, 3, 4)], [m.shape for m in maps]

stdout = io.StringIO()
with contextlib.redirect_stdout(stdout):
    presets_code = cli.main(["presets"])
    apply_code = cli.main(["apply", bank_path, image_path, "--out", out_dir])
print(json.dumps({
    "presets": presets_code,
    "apply": apply_code,
    "listed": stdout.getvalue(),
    "attempts": attempts,
    "loaded": loaded(),
}))
"""


def test_the_import_contracts_are_kept() -> None:
    # The venv's lint-imports, from the repository root where pyproject.toml holds the contracts
    # (and tests/import_contracts.py the contract type they use); no cache file in the tree.
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_core_never_imports_qt_or_pyqtgraph(tmp_path: Path) -> None:
    from playground.assets import resource_path

    image = tmp_path / "frame.png"
    rgb = np.random.default_rng(5).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".png", rgb)
    assert ok
    buf.tofile(image)
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            ",".join(BLOCKED),
            ",".join(MODULES),
            str(resource_path("banks", "line-stack.json")),
            str(image),
            str(out),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["attempts"] == [], f"tried to import {report['attempts']}"
    assert report["loaded"] == []
    assert report["presets"] == 0 and "sobel-x" in report["listed"]
    assert report["apply"] == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        f"layer{n}.{ext}" for n in (1, 2, 3) for ext in ("npy", "png")
    ]
