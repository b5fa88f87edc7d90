"""The xcb check at startup: a machine that lacks the X11 libraries Qt's xcb plugin needs gets
one line naming them and the apt-get line that installs them, and exit 2, not Qt's abort.

The missing libraries are simulated by standing in for the dynamic loader, so this runs the
same on a machine that has them all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from playground.ui import xcb

ROOT = Path(__file__).resolve().parents[2]
NOT_FOUND = "{}: cannot open shared object file: No such file or directory"


def fake_loader(missing: set[str]):
    """dlopen on a machine without ``missing``: the plugin fails on the first one."""

    def load(name: str) -> None:
        if name.endswith("libqxcb.so") and missing:
            raise OSError(NOT_FOUND.format(min(missing)))
        if name in missing:
            raise OSError(NOT_FOUND.format(name))

    return load


def test_missing_libraries_names_every_one_not_only_the_first(monkeypatch, tmp_path):
    monkeypatch.setattr(
        xcb, "load_library", fake_loader({"libxcb-icccm.so.4", "libxcb-keysyms.so.1"})
    )
    assert xcb.missing_libraries(tmp_path / "libqxcb.so") == [
        "libxcb-icccm.so.4",
        "libxcb-keysyms.so.1",
    ]


def test_a_plugin_that_loads_or_fails_otherwise_is_left_to_qt(monkeypatch, tmp_path):
    monkeypatch.setattr(xcb, "load_library", fake_loader(set()))
    assert xcb.missing_libraries(tmp_path / "libqxcb.so") == []

    def undefined_symbol(name: str) -> None:
        raise OSError(f"{name}: undefined symbol: _ZN7QObject5eventEP6QEvent")

    monkeypatch.setattr(xcb, "load_library", undefined_symbol)
    assert xcb.missing_libraries(tmp_path / "libqxcb.so") == []


@pytest.mark.parametrize(
    ("qt_args", "environ", "expected"),
    [
        ([], {}, True),
        ([], {"QT_QPA_PLATFORM": "xcb"}, True),
        ([], {"QT_QPA_PLATFORM": "xcb;wayland"}, True),
        ([], {"QT_QPA_PLATFORM": "offscreen"}, False),
        ([], {"WAYLAND_DISPLAY": "wayland-0"}, False),
        (["-platform", "offscreen"], {"QT_QPA_PLATFORM": "xcb"}, False),
        (["-platform=xcb"], {"QT_QPA_PLATFORM": "offscreen"}, True),
    ],
)
def test_uses_xcb_follows_qt_choice_of_platform(qt_args, environ, expected):
    assert xcb.uses_xcb(qt_args, environ, platform="linux") is expected
    assert xcb.uses_xcb(qt_args, environ, platform="win32") is False


def test_readme_carries_the_same_apt_line():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert xcb.APT_LINE in " ".join(readme.split())
    for package in ("libxcb-icccm4", "libxcb-keysyms1", "libxcb-cursor0"):
        assert package in xcb.APT_LINE


LAUNCH = """
import sys
from pathlib import Path
from playground import cli
from playground.ui import xcb

missing = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}

def load(name):
    if name.endswith("libqxcb.so"):
        raise OSError("libxcb-icccm.so.4: cannot open shared object file: No such file")
    if name in missing:
        raise OSError(name + ": cannot open shared object file: No such file or directory")

xcb.plugin_path = lambda: Path(sys.argv[1])
xcb.load_library = load
sys.exit(cli.main(["--no-camera"]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt uses xcb on Linux only")
def test_launch_without_xcb_libraries_prints_one_line_and_exits_2(tmp_path):
    # A fresh interpreter: no QApplication yet, as at a real launch.
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=":0", XDG_DATA_HOME=str(tmp_path / "data"), XDG_SESSION_TYPE="x11")
    result = subprocess.run(
        [sys.executable, "-c", LAUNCH, str(tmp_path / "libqxcb.so")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("filter-playground: Qt's X11 platform plugin cannot load")
    assert "missing libxcb-icccm.so.4, libxcb-keysyms.so.1;" in lines[0]
    assert lines[0].endswith(f"sudo {xcb.APT_LINE}")
    assert result.stdout == ""
    # A launch from the menu has no stderr: the log file keeps the same line.
    log = tmp_path / "data" / "FilterPlayground" / "Filter Playground" / "filter-playground.log"
    assert "missing libxcb-icccm.so.4, libxcb-keysyms.so.1;" in log.read_text(encoding="utf-8")
