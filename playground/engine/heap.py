"""The C heap under the live pipeline and batch runs (glibc's malloc, on Linux; elsewhere
nothing to do).

Every live frame allocates its maps afresh: the input planes, one array per layer, the story's
partial maps, each a few MB. With glibc's defaults, a block that size is an mmap of its own,
unmapped when freed and faulted in again, page by zeroed page, for the next frame; with the
engine's threads on other cores each unmap also costs a TLB shootdown. At 720p, 8 filters
3x3x3 and the channel story, that was 4,900 page faults and 42 ms per frame, against 220 and
23 ms with the blocks kept in the heap (playground.bench's live table shows the effect).
"""

from __future__ import annotations

import ctypes
import sys

# mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# Blocks below this come from the heap and are reused: 1080p maps of 16 filters (130 MB) are.
MMAP_THRESHOLD = 256 * 2**20
# Free memory at the top of the heap beyond this goes back to the OS: a frame's worth of maps
# is kept for the next frame, a huge bank's maps are not kept once it is gone.
TRIM_THRESHOLD = 512 * 2**20
# Arenas for all threads. glibc gives threads up to 8 per core, and each source switch starts a
# capture thread: frame-sized blocks kept in a dozen arenas fragment them. A 7,000-action
# monkey run grew RSS by 58-62 MB with glibc's default, 38.5 MB with 2 (malloc_trim'ed both);
# the pipeline's few large allocations never contend for an arena's lock.
ARENA_MAX = 2
# The same policy for a process started from this one (glibc reads these at its start): the
# bench's peers get the heap the engine has.
FRAME_BUFFERS_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD),
    "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD),
    "MALLOC_ARENA_MAX": str(ARENA_MAX),
}

_kept = False


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt  # noqa: B018 - musl has no mallopt: AttributeError
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def keep_frame_buffers() -> bool:
    """Keep freed frame-sized blocks in the heap for the next frame (glibc only; once per
    process, from whichever thread starts the live pipeline or a batch job). True where it
    took effect."""
    global _kept
    if _kept:
        return True
    libc = _libc()
    if libc is None:
        return False
    # Setting either threshold also turns off glibc's own threshold tuning, which raises the
    # mmap threshold only after a block has been unmapped and never above 32 MB.
    _kept = (
        bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
        and bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
        and bool(libc.mallopt(_M_ARENA_MAX, ARENA_MAX))
    )
    return _kept


def release_free_heap() -> bool:
    """Hand the C heap's free pages back to the OS (glibc's malloc_trim); False elsewhere.

    glibc keeps freed memory in per-thread arenas (and, with `keep_frame_buffers`, frame-sized
    blocks); with the capture, compute and engine pool threads allocating frame-sized buffers,
    RSS holds memory no live object uses. Trimming before a reading makes RSS follow live
    memory, which is what a leak check is about.
    """
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
