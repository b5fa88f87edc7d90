"""Whether Qt's X11 (xcb) platform plugin can load, checked before QApplication exists.

When a system library the plugin links is missing, Qt aborts with a message that names only
libxcb-cursor0 even when that one is installed (a minimal Debian lacked libxcb-icccm4 and
libxcb-keysyms1), and a launch from the menu shows nothing at all. Loading the plugin with the
dynamic loader first gives the real missing names, so the app can say what to install.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

# The system libraries (DT_NEEDED) of PySide6's libqxcb.so and the libQt6XcbQpa.so.6 it links,
# read with `readelf -d` from PySide6 6.11 and mapped to packages with `dpkg -S` on Debian 12.
# Those Qt needs even offscreen (libGL, libglib, libxkbcommon) are in the README's first line.
XCB_PACKAGES = {
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}

# All of them, not only those found missing: a library that is present but whose own dependency
# is missing also fails to load, and installing the whole set fixes both.
APT_LINE = "apt-get install " + " ".join(sorted(set(XCB_PACKAGES.values())))

_NOT_FOUND = re.compile(r"^(?P<name>[^\s:]+): cannot open shared object file")

# dlopen, as Qt's plugin loader does; OSError names the first library it cannot find. Looked up
# at each call, so a test can stand in for a machine that lacks libraries.
load_library = ctypes.CDLL


def uses_xcb(qt_args: Sequence[str], environ: Mapping[str, str], platform: str = "") -> bool:
    """True when QApplication, given ``qt_args``, would pick the xcb platform plugin on
    ``platform`` (default: this one, ``sys.platform``)."""
    if not (platform or sys.platform).startswith("linux"):
        return False
    name = environ.get("QT_QPA_PLATFORM", "")
    for i, arg in enumerate(qt_args):
        if arg.startswith("-platform="):
            name = arg.partition("=")[2]
        elif arg == "-platform" and i + 1 < len(qt_args):
            name = qt_args[i + 1]
    if not name:
        # Qt's default on Linux: wayland in a Wayland session (falling back to xcb), else xcb.
        return not (environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland")
    # "xcb", "xcb:option=value", or a fallback list "xcb;wayland": the first entry is tried first.
    return name.split(";")[0].split(":")[0] == "xcb"


def plugin_path() -> Path | None:
    """libqxcb.so among Qt's plugin folders (the wheel's, a bundle's, QT_PLUGIN_PATH), if any."""
    from PySide6.QtCore import QCoreApplication, QLibraryInfo

    folders = [QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)]
    folders += QCoreApplication.libraryPaths()
    for folder in folders:
        candidate = Path(folder) / "platforms" / "libqxcb.so"
        if candidate.is_file():
            return candidate
    return None


def missing_libraries(plugin: Path) -> list[str]:
    """The shared libraries that keep ``plugin`` from loading; empty if it loads, or if it fails
    for another reason (Qt then reports that itself)."""
    try:
        load_library(str(plugin))
    except OSError as e:
        first = _NOT_FOUND.match(str(e))
    else:
        return []
    if first is None:
        return []
    # The loader stops at the first missing library; try each known one for the full list.
    missing = {first["name"]}
    for soname in XCB_PACKAGES:
        try:
            load_library(soname)
        except OSError:
            missing.add(soname)
    return sorted(missing)


def problem(qt_args: Sequence[str] = (), environ: Mapping[str, str] | None = None) -> str | None:
    """One line saying which libraries the xcb plugin lacks and how to install them, or None
    when Qt will not use xcb or the plugin loads."""
    if not uses_xcb(qt_args, os.environ if environ is None else environ):
        return None
    plugin = plugin_path()
    if plugin is None:
        return None
    missing = missing_libraries(plugin)
    if not missing:
        return None
    return (
        f"Qt's X11 platform plugin cannot load, missing {', '.join(missing)}; "
        f"on Debian or Ubuntu install them with: sudo {APT_LINE}"
    )
