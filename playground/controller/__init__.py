"""The only place that knows about threads: document, capture thread, compute worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playground.controller.controller import Controller

__all__ = ["Controller"]


def __getattr__(name: str) -> object:
    # Imported on first use, so that `playground.controller.display` (the display math, no Qt)
    # can be imported without QtCore.
    if name == "Controller":
        from playground.controller.controller import Controller

        return Controller
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
