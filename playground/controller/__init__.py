"""The only place that knows about threads: document, capture thread, compute worker."""

from playground.controller.controller import Controller

__all__ = ["Controller"]
