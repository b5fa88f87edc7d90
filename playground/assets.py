"""Where the bundled resources (sample images, ready banks, icons) are at run time."""

from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir() -> Path:
    """The resources folder: in a PyInstaller bundle, a wheel install, or the source tree."""
    candidates = [
        Path(getattr(sys, "_MEIPASS", _PACKAGE)) / "resources",  # frozen bundle
        _PACKAGE / "resources",  # installed wheel (pyproject maps resources/ there)
        _PACKAGE.parent / "resources",  # source tree / editable install
    ]
    for candidate in candidates:
        if (candidate / "banks").is_dir():
            return candidate
    raise FileNotFoundError("the bundled resources folder is missing; reinstall Filter Playground")


def resource_path(*parts: str) -> Path:
    """A file among the bundled resources, e.g. ``resource_path("banks", "edges-rgb.json")``."""
    return resource_dir().joinpath(*parts)


def is_bundled(path: str | Path) -> bool:
    """True for a file among the bundled resources: a ready bank is a template, never saved to."""
    try:
        return Path(path).resolve().is_relative_to(resource_dir().resolve())
    except OSError:
        return False
