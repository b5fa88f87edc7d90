"""The live pipeline keeps frame-sized blocks in the C heap: a frame's maps, freed, are reused
for the next frame's instead of being unmapped and page-faulted in again."""

from __future__ import annotations

import resource
import sys

import numpy as np
import pytest

from playground.controller.pipeline import LatestSlot, Worker
from playground.engine.heap import keep_frame_buffers, release_free_heap

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="mallopt is glibc's (Linux)"
)


def _faults_of_one_frame_of_maps() -> int:
    """Minor page faults while 16 maps of 1280x720 float32 (59 MB, past the 32 MB up to which
    glibc learns to keep blocks by itself) are allocated, written and freed."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    maps = np.empty((16, 720, 1280), np.float32)
    maps.fill(1.0)
    del maps
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@glibc
def test_a_worker_keeps_the_next_frames_maps_from_faulting_in_afresh():
    worker = Worker(LatestSlot())
    try:
        assert keep_frame_buffers()  # the worker did it; again is a no-op
        _faults_of_one_frame_of_maps()  # the first frame's maps come from the OS
        # Unmapped and mapped again, every frame faults its pages in (about 600 faults here, with
        # numpy's huge pages); kept in the heap, none.
        assert _faults_of_one_frame_of_maps() < 50
    finally:
        worker.stop()
        assert release_free_heap()
