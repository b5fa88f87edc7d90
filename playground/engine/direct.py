"""Direct correlation of kernels up to 13x13, compiled: every filter of a band of rows in one
pass.

For kernels of up to 25 taps, ``cv2.filter2D`` per (filter, channel) spends more time moving
maps than multiplying: each call writes a whole partial map that the next pass reads back to
sum it. The loops here, compiled by Numba (LLVM) for the kernel's exact size, stride and
dilation, sum every tap of a pixel in a register and write each feature map once. On 2 cores,
8 filters 3x3x3 at 1280x720 took 6 ms against 15 ms for the ``filter2D`` passes, and 2.4 ms
with the frame's conversion once eight filters shared each input value loaded (`_fused`).

A kernel loop is compiled once per shape and kept in Numba's on-disk cache, so a later start
loads it in milliseconds. The first compile on a machine takes 0.3 to 3 s a loop, in a child
process that the compiler thread feeds (`compiled`, `_Child`): callers that do not wait run their
uncompiled path (OpenCV, numpy) until it is done. Waited for, the live view's first frame on a
fresh machine came after 10 s of them, and a pane pass compiled on the GUI thread froze the
window.

Filters of up to 75 taps (5x5x3, 3x3x8) sum every tap of a pixel in registers, eight filters
at a time, in vector code written out for the kernel's shape (`_fused`, `_row_sums`): each input
value loaded serves every filter. Larger filters would unroll too long a body to compile in
seconds; they sum channel by channel, two output rows at a time so each input row loaded serves
both, in loops LLVM vectorizes itself. LLVM vectorizes those only while the tap loops inside the
pixel loop unroll into a short straight line: past 25 taps a channel that body is too long, and
kernels sum one kernel row at a time (`_by_row`). Those beat OpenCV's ``filter2D`` and the
engine's DFT blocks up to 13x13 (see MAX_TAPS).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent import futures
from typing import Any, TypeVar, cast

import numpy as np

# Taps of a filter (channels x kernel rows x kernel columns) that `_fused` unrolls, for GROUP
# filters at once. Its compile grows with that body (8 filters 5x5x3: 2.8 s, 7x7x3: 7.7 s,
# 11x11x3: 46 s, in the compiler child), past what a first start should wait for.
FUSED_MAX_TAPS = 75
GROUP = 8
# Taps of one channel summed in one unrolled loop; larger kernels sum one kernel row at a time.
CHANNEL_MAX_TAPS = 25
# Kernels up to this many taps, and rows up to this many, run here; larger ones through
# filter2D or the DFT. 8 filters k x k x 3 on 2 cores, the row loop against the DFT blocks
# (filter2D for 7x7), ms at 640x480 / 1280x720 / 1920x1080: 7x7 11/27/- vs 19/45/-,
# 11x11 24/58/114 vs 32/70/150, 13x13 24/66/143 vs 26/70/155, 15x15 43/-/- vs 28/-/-.
MAX_TAPS = 13 * 13
ROW_MAX_TAPS = 13

# correlate(x, first, weights, bias, out, filters, oy0, oy1): see `correlator`.
Correlate = Callable[..., None]
Loop = TypeVar("Loop", bound=Callable[..., object])


def eligible(kh: int, kw: int, stride_x: int) -> bool:
    """Whether kernels of kh x kw taps, ``stride_x`` apart along rows, run here.

    A column stride makes the pixel loop's loads strided, which LLVM does not vectorize; such
    layers keep OpenCV's path. So do rows of more than ROW_MAX_TAPS taps in kernels too large
    to unroll whole: the row loop unrolls a row's taps.
    """
    taps = kh * kw
    small = taps <= CHANNEL_MAX_TAPS or (taps <= MAX_TAPS and kw <= ROW_MAX_TAPS)
    return small and stride_x == 1


def correlator(
    channels: int, kh: int, kw: int, sy: int, dy: int, dx: int, relu: bool = False, count: int = 1
) -> Correlate | None:
    """The compiled loop for ``count`` filters of ``channels`` kernels of kh x kw taps, or None
    while it compiles (see `compiled`).

    The kernel's size, the row stride ``sy`` and the dilation (``dy``, ``dx``) are compiled in:
    the tap loops unroll, and LLVM vectorizes the pixel loop only when it can tell the taps'
    loads apart (with ``dx`` read at run time the fused loop ran 3.6x slower, with ``sy`` and
    ``dy`` the channel loop 7x). Each new shape costs one compile, kept on disk.

    Its arguments: ``x`` (C, H, W) float32, padded so that output pixel (oy, ox) reads rows
    oy * sy + i * dy and columns ox + j * dx (the layer's column stride is 1, see
    `eligible`); ``first``, the channel of x that kernel 0 reads; ``weights`` (F, channels,
    kh, kw) float32, already flipped for true convolution; ``bias`` (F,); ``out`` (C_out, H',
    W') float32; ``filters`` (F,) int64, the map of ``out`` each filter writes (F is
    ``count``: the loop for up to FUSED_MAX_TAPS taps is compiled for its last group); rows
    [oy0, oy1) of those maps are written, through a ReLU with ``relu``. Every array is
    C-contiguous and writable (the loop is compiled for those types). It runs on the calling
    thread (an engine pool thread) with the interpreter lock released.
    """
    if channels * kh * kw <= FUSED_MAX_TAPS:
        return compiled(_fused, channels, kh, kw, sy, dy, dx, relu, count % GROUP)
    if kh * kw <= CHANNEL_MAX_TAPS:
        return compiled(_by_channel, kh, kw, sy, dy, dx, relu)
    return compiled(_by_row, kh, kw, sy, dy, dx, relu)


def f32(*shape: int) -> np.ndarray:
    """Zeros of ``shape``, float32: the arrays of the samples a loop is compiled on."""
    return np.zeros(shape, np.float32)


# A correlator call that writes no row (oy0 == oy1), with the argument types of every real one.
_CORRELATE_SAMPLE = (
    f32(1, 1, 1),
    0,
    f32(1, 1, 1, 1),
    f32(1),
    f32(1, 1, 1),
    np.zeros(1, np.int64),
    0,
    0,
)

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_compiler: futures.ThreadPoolExecutor | None = None
_asked: dict[tuple, futures.Future] = {}
_ready: dict[tuple, Callable] = {}
_background = True
_thread = threading.local()


@contextlib.contextmanager
def without_waiting() -> Iterator[None]:
    """Inside, this thread's runs do not wait for a loop that is compiling: its filters take
    OpenCV's path meanwhile, the same maps to float32 round-off but not bit for bit. The live
    view's compute thread runs so; a batch, a script and the command line wait, so that the
    same bank and image always give the same bytes."""
    before = getattr(_thread, "go_on", False)
    _thread.go_on = True
    try:
        yield
    finally:
        _thread.go_on = before


def compile_in_background(enabled: bool) -> None:
    """False: every caller waits for the loops it asks for, `without_waiting` or not. The
    tests run so: they check the compiled loops from their first call, with no compile
    running beside them."""
    global _background
    _background = enabled


def compiled(build: Callable[..., Loop], *args: Hashable, wait: bool | None = None) -> Loop | None:
    """The loop ``build(*args)`` returns (made by `compile_loop`), compiled.

    Loops compile on the compiler thread, one at a time in the order they were asked for.
    With ``wait``, the caller blocks until its loop is compiled; without, it gets None until
    then and takes its uncompiled path. ``wait`` None: wait unless this thread is inside
    `without_waiting`. A loop that fails to compile is logged once, and is None for good.
    Any thread may ask.
    """
    key = (build, *args)
    done = _ready.get(key)
    if done is not None:
        return cast(Loop, done)
    global _compiler
    with _lock:
        asked = _asked.get(key)
        if asked is None:
            if _compiler is None:
                _compiler = futures.ThreadPoolExecutor(1, thread_name_prefix="loop compiler")
            asked = _asked[key] = _compiler.submit(_compile, key, build, args)
    if wait is None:
        wait = not getattr(_thread, "go_on", False)
    if wait or not _background:
        try:
            asked.result()
        except futures.CancelledError:  # by `stop_compiling`: asked for anew
            return compiled(build, *args, wait=wait)
    return cast("Loop | None", _ready.get(key))


def _compile(key: tuple, build: Callable[..., Callable], args: tuple) -> None:
    """Runs on the compiler thread."""
    try:
        try:
            with _from_cache_only():
                _ready[key] = build(*args)
            return
        except _NotCached:
            pass
        _child_compiles(build, args)
        _ready[key] = build(*args)
    except Exception:  # Numba or LLVM refused it: the uncompiled path stays
        _log.exception("the compiled loop %s%s could not be built", build.__name__, args)


class _NotCached(Exception):
    """A loop asked for from Numba's cache only is not there (`_from_cache_only`)."""


_cache_watch: list[object] = []  # the one Numba listener, once registered


@contextlib.contextmanager
def _from_cache_only() -> Iterator[None]:
    """Inside, a loop that this thread builds loads from Numba's cache on disk, or raises
    `_NotCached` where Numba would start compiling it (its "numba:compile" event comes after
    the cache missed). Every loop is asked for there first, and the compiler child is started
    only for a loop that is not: starting it on every run for nothing cost 1.5 s of a core
    (importing Numba), beside the app's first frames and the engine's timings. Runs on the
    compiler thread."""
    _prepare_numba()
    from numba.core import event

    if not _cache_watch:

        class Refuse(event.Listener):
            def on_start(self, event: object) -> None:
                if getattr(_thread, "cache_only", False):
                    raise _NotCached

            def on_end(self, event: object) -> None:
                pass

        _cache_watch.append(Refuse())
        event.register("numba:compile", _cache_watch[0])
    _thread.cache_only = True
    try:
        yield
    finally:
        _thread.cache_only = False


# The flag that makes `python -m playground` (or the frozen app) a compiler child.
CHILD_FLAG = "--compile-loops"
# A loop compiles in 0.3 to 3 s here; a child that takes this long is stuck, and killed.
CHILD_TIMEOUT_S = 120.0


class _Child:
    """A process of ours that compiles loops into Numba's cache on disk, so that this process
    only loads them from there, in milliseconds.

    Performance trap: Numba's compiler is Python, and holds the interpreter lock for most of
    a compile. On the compiler thread it starved the GUI thread, which takes the lock back
    after every Qt call: the live view's first start on a machine stalled the window for up
    to half a second at a time, for the 10 s its loops took.
    """

    def __init__(self) -> None:
        frozen = getattr(sys, "frozen", False)
        command = (
            [sys.executable, CHILD_FLAG]
            if frozen
            else [sys.executable, "-m", "playground", CHILD_FLAG]
        )
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        self._replies: queue.Queue[str | None] = queue.Queue()
        # Reads the child's replies, so that a stuck child times out. Pure Python on a pipe: a
        # daemon thread is safe to leave at exit.
        threading.Thread(target=self._read, name="loop compiler child", daemon=True).start()

    def _read(self) -> None:
        """Runs on the child's reader thread."""
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._replies.put(line.strip())
        self._replies.put(None)

    def compile(self, build: Callable, args: tuple) -> str | None:
        """The child's reply ("cached", "uncached" or "failed"), or None if it died or took
        too long (then it is killed). Runs on the compiler thread."""
        assert self._process.stdin is not None
        request = json.dumps([build.__module__, build.__qualname__, list(args)])
        try:
            self._process.stdin.write(request + "\n")
            self._process.stdin.flush()
            reply = self._replies.get(timeout=CHILD_TIMEOUT_S)
        except (OSError, ValueError, queue.Empty):
            reply = None
        if reply is None:
            self._process.kill()
        return reply


_child: _Child | None = None
_child_used = True


def _child_compiles(build: Callable, args: tuple) -> None:
    """Have the child compile ``build(*args)`` into the cache; the build that follows here
    loads it, or compiles it in this process after all if the child could not (no cache to
    write, a child that cannot start). Runs on the compiler thread."""
    global _child, _child_used
    if not _child_used:
        return
    try:
        if _child is None:
            _child = _Child()
        reply = _child.compile(build, args)
    except OSError:
        reply = None
    if reply != "cached":
        # Without a cache on disk (or a working child) it would compile everything twice.
        _child_used = False
        _log.info("loops compile in this process: the compiler child said %s", reply)


def serve_compiles() -> int:
    """The compiler child's loop (`CHILD_FLAG`): one request a line on stdin, a loop's builder
    by module, name and arguments; one reply a line. Ends at the end of stdin."""
    import importlib

    for line in sys.stdin:
        try:
            module, name, args = json.loads(line)
            if not module.startswith("playground."):  # our builders only
                raise ValueError(module)
            build = getattr(importlib.import_module(module), name)
            loop = build(*args)
            reply = (
                "uncached"
                if type(getattr(loop, "_cache", None)).__name__ == "NullCache"
                else "cached"
            )
        except Exception:
            reply = "failed"
        print(reply, flush=True)
    return 0


def stop_compiling() -> None:
    """Drop the loops still waiting to compile (the one compiling finishes), so that a process
    whose window closed exits instead of compiling loops nobody will run: on a first start,
    closing the window after 1.5 s left the process compiling for 5 s more. A later run asks
    for them anew. Any thread."""
    with _lock:
        for key, asked in list(_asked.items()):
            if asked.cancel():
                del _asked[key]


def wait(timeout: float | None = None) -> bool:
    """Block until every loop asked for so far is compiled (or has failed); False if
    ``timeout`` seconds passed first. The live benchmarks wait, to time the compiled engine."""
    with _lock:
        pending = list(_asked.values())
    return not futures.wait(pending, timeout).not_done


def _prepare_numba() -> None:
    """Before Numba is first imported: compile for the CPU's full vector width.

    Performance trap: on CPUs with AVX-512, LLVM's tuning prefers 256-bit vectors (against
    the clock slowdown of early AVX-512 cores), and the loops here ran at half the width
    that oneDNN, PyTorch's engine, uses on the same CPU. With 512-bit ones, 8 filters k x k x 3
    on 2 cores (Sapphire Rapids), each in its own process, medians of 4 pairs of runs: 3x3 at
    1280x720 5.8 -> 5.2 ms, 11x11 41.5 -> 37 ms; 5x5 at 640x480 3.4 -> 3.1 ms. Numba reads
    the features in NUMBA_CPU_FEATURES when it is imported and keys its cache on them; a value
    the user set wins. The compiler child inherits it. Runs on the compiler thread (the
    child's main thread in the child)."""
    if "NUMBA_CPU_FEATURES" in os.environ or "numba" in sys.modules:
        return
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    if features.get("avx512f"):
        os.environ["NUMBA_CPU_FEATURES"] = features.flatten() + ",-prefer-256-bit"


def compile_loop(loop: Loop, samples: Iterable[tuple], interleave: int = 0) -> Loop:
    """``loop`` compiled (nogil) for the argument types of each of ``samples``, calls that do
    no work. Kept in Numba's cache on disk where one can be written: beside its file, or in the
    user's cache folder when that is read-only (an installed or frozen app); with neither,
    Numba refuses to cache, and the loop compiles on each start. ``interleave``: how many
    vectors of pixels each vectorized loop makes at once (0: LLVM's choice). Runs on the
    compiler thread (see `compiled`), the one thread that compiles, so the LLVM option it sets
    for this loop reaches no other."""
    import llvmlite.binding as llvm

    _prepare_numba()
    import numba

    jit = functools.partial(numba.njit, nogil=True, boundscheck=False, fastmath={"contract"})
    try:
        jitted = jit(cache=True)(loop)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        jitted = jit()(loop)
    if interleave:
        llvm.set_option("", f"-force-vector-interleave={interleave}")
    try:
        for sample in samples:
            jitted(*sample)
    finally:
        if interleave:
            llvm.set_option("", "-force-vector-interleave=0")
    # A dispatcher is called as the loop is: same arguments, same result.
    return cast(Loop, jitted)


# Performance trap: LLVM's cost model makes one vector of pixels per iteration of the channel
# and row loops, whose multiply-adds then wait on each other's latency; four independent ones
# overlap. 8 filters k x k x 3 on 2 cores, each in its own process, medians of 7 pairs of
# runs: 5x5 at 640x480 7.4 -> 6.0 ms, at 1280x720 20.8 -> 18.7 ms; 7x7 and 11x11 about 0.9x.
# The fused loop keeps LLVM's choice: its 27 weights fill the registers, and four vectors
# made it 1.1x slower.
_INTERLEAVE = 4


@functools.cache
def _fused(
    channels: int, kh: int, kw: int, sy: int, dy: int, dx: int, relu: bool, tail: int
) -> Correlate:
    """Every tap of a pixel summed in registers for GROUP filters at once, the last ``tail``
    filters of a pack that is not a multiple of GROUP as a group of their own: see
    `_row_sums`."""
    _row_sums()
    # What _rows writes out, literal where it is called (a str from this closure is). _rows
    # itself is a global, not in the closure: Numba would not find a loop in its cache again
    # whose closure holds a compiled function.
    shape = f"{channels} {kh} {kw} {sy} {dy} {dx} {int(relu)}"
    whole, rest = f"{shape} {GROUP}", f"{shape} {tail}"

    def fused(x, first, weights, bias, out, filters, oy0, oy1):
        count = weights.shape[0]
        for f in range(0, count - tail, GROUP):
            _rows(x, first, weights, bias, out, filters, f, oy0, oy1, whole)
        if tail:
            _rows(x, first, weights, bias, out, filters, count - tail, oy0, oy1, rest)

    return compile_loop(fused, [_CORRELATE_SAMPLE])


def _rows_at_once(group: int) -> int:
    """Output rows a pass of `_row_sums` makes for ``group`` filters: eight sums in flight
    (each waits on its multiply-adds' latency), up to four rows (1 filter 3x3 at 1280x720, one
    thread: 1, 2, 4 rows at once 0.77, 0.50, 0.41 ms)."""
    return max(1, min(4, GROUP // group))


def _lanes() -> int:
    """Floats in one vector register of the CPU the loops compile for (Numba's target)."""
    import llvmlite.binding as llvm

    features = os.environ.get("NUMBA_CPU_FEATURES") or llvm.get_host_cpu_features().flatten()
    flags = set(features.split(","))
    if "+avx512f" in flags:
        return 16
    return 8 if "+avx" in flags else 4


# The one row-sums intrinsic (`_row_sums`), made once Numba may be imported.
_rows: Any = None


def _row_sums() -> None:
    """The code of one pass of `_fused`, written as LLVM vector instructions.

    ``rows(x, first, weights, bias, out, filters, f, oy0, oy1, shape)`` writes output rows
    [oy0, oy1) of filters f .. f + G - 1 (arguments as `correlator`'s; ``shape`` a literal str,
    "C KH KW SY DY DX RELU G"), `_rows_at_once` rows a pass. Along each row, one vector of
    pixels at a time: each input vector is loaded once and multiplied into the sums of every
    filter and row it feeds, the weights broadcast from memory as the multiply-adds read them;
    the row's last pixels through masked loads and stores. The vectors are as wide as the CPU's
    (`_lanes`).

    Performance trap: left to LLVM's loop vectorizer, a loop over several filters' sums ran
    scalar (it wanted a run-time overlap check per pair of pointers, hundreds), and with those
    allowed it hoisted every weight out of the loop as a vector, spilled them to unaligned stack
    slots and reloaded each across two cache lines: 1.2x slower than one filter at a time.
    Written out here, the weights stay scalar loads beside the multiply-adds (LLVM cannot hoist
    them past the stores, which it cannot tell apart from them). 8 filters 3x3x3 at 1280x720,
    one thread (AVX-512): 5.0 -> 3.1 ms; 5x5x3 16 -> 7.6 ms.
    """
    global _rows
    if _rows is not None:
        return
    _prepare_numba()
    from llvmlite import ir
    from numba.core import cgutils, errors, types
    from numba.extending import intrinsic

    lanes = _lanes()
    f32, i64, i32, i8 = ir.FloatType(), ir.IntType(64), ir.IntType(32), ir.IntType(8)
    vector = ir.VectorType(f32, lanes)
    mask_type = ir.VectorType(ir.IntType(1), lanes)

    @intrinsic
    def rows(typingctx, x, first, weights, bias, out, filters, f, oy0, oy1, shape):
        if not isinstance(shape, types.StringLiteral):
            raise errors.RequireLiteralValue(str(shape))
        C, KH, KW, SY, DY, DX, RELU, G = (int(n) for n in shape.literal_value.split())
        R = _rows_at_once(G)
        signature = types.void(x, first, weights, bias, out, filters, f, oy0, oy1, shape)

        def codegen(context, builder, sig, args):
            xa, wa, ba, oa, fa = (
                context.make_array(sig.args[i])(context, builder, args[i]) for i in (0, 2, 3, 4, 5)
            )
            first, f, oy0, oy1 = args[1], args[6], args[7], args[8]
            module = builder.module
            pointer = vector.as_pointer()
            fma = cgutils.get_or_insert_function(
                module, ir.FunctionType(vector, [vector] * 3), f"llvm.fma.v{lanes}f32"
            )
            masked_load = cgutils.get_or_insert_function(
                module,
                ir.FunctionType(vector, [pointer, i32, mask_type, vector]),
                f"llvm.masked.load.v{lanes}f32.p0",
            )
            masked_store = cgutils.get_or_insert_function(
                module,
                ir.FunctionType(ir.VoidType(), [vector, pointer, i32, mask_type]),
                f"llvm.masked.store.v{lanes}f32.p0",
            )
            x_strides = cgutils.unpack_tuple(builder, xa.strides)
            out_strides = cgutils.unpack_tuple(builder, oa.strides)
            width = cgutils.unpack_tuple(builder, oa.shape)[2]
            mul, add = builder.mul, builder.add
            zero = ir.Constant(vector, None)
            undefined = ir.Constant(vector, ir.Undefined)
            spread = ir.Constant(ir.VectorType(i32, lanes), [0] * lanes)

            def at(base, offset):  # base + offset bytes
                moved = builder.gep(builder.bitcast(base, i8.as_pointer()), [offset])
                return builder.bitcast(moved, f32.as_pointer())

            def element(base, index):
                return builder.load(builder.gep(base, [index]))

            def splat(value):
                one = builder.insert_element(undefined, value, i32(0))
                return builder.shuffle_vector(one, undefined, spread)

            def rows_from(oy, rows):
                """Output rows [oy, oy + rows) of the group."""
                # The input rows they read, by offset from row oy * SY: each is loaded once
                # for every output row and kernel row it serves.
                offsets = sorted({r * SY + i * DY for r in range(rows) for i in range(KH)})
                line = {}
                for c in range(C):
                    plane = mul(add(first, i64(c)), x_strides[0])
                    for o in offsets:
                        y = add(mul(oy, i64(SY)), i64(o))
                        line[c, o] = at(xa.data, add(plane, mul(y, x_strides[1])))
                target = {}
                for g in range(G):
                    o = element(fa.data, add(f, i64(g)))
                    for r in range(rows):
                        row = mul(add(oy, i64(r)), out_strides[1])
                        target[g, r] = at(oa.data, add(mul(o, out_strides[0]), row))

                def pixels(ox, mask):
                    """A vector of pixels from column ox; with ``mask``, those it holds."""
                    sums = {}
                    for g in range(G):
                        b = splat(element(ba.data, add(f, i64(g))))
                        sums.update(((g, r), b) for r in range(rows))
                    for c in range(C):
                        for o in offsets:
                            for j in range(KW):
                                p = builder.gep(line[c, o], [add(ox, i64(j * DX))])
                                p = builder.bitcast(p, pointer)
                                if mask is None:
                                    v = builder.load(p, align=4)
                                else:
                                    v = builder.call(masked_load, [p, i32(4), mask, zero])
                                for g in range(G):
                                    filter_start = mul(add(f, i64(g)), i64(C * KH * KW))
                                    for r in range(rows):
                                        i, apart = divmod(o - r * SY, DY)
                                        if apart or not 0 <= i < KH:
                                            continue
                                        tap = add(filter_start, i64((c * KH + i) * KW + j))
                                        w = splat(element(wa.data, tap))
                                        sums[g, r] = builder.call(fma, [w, v, sums[g, r]])
                    for (g, r), s in sums.items():
                        if RELU:  # NaN stays NaN, as with np.maximum
                            s = builder.select(builder.fcmp_ordered("<", s, zero), zero, s)
                        p = builder.bitcast(builder.gep(target[g, r], [ox]), pointer)
                        if mask is None:
                            builder.store(s, p, align=4)
                        else:
                            builder.call(masked_store, [s, p, i32(4), mask])

                whole = builder.udiv(width, i64(lanes))
                with cgutils.for_range(builder, whole) as loop:
                    pixels(mul(loop.index, i64(lanes)), None)
                done = mul(whole, i64(lanes))
                rest = builder.sub(width, done)
                with builder.if_then(builder.icmp_signed(">", rest, i64(0))):
                    lane = ir.Constant(ir.VectorType(i64, lanes), list(range(lanes)))
                    count = ir.Constant(ir.VectorType(i64, lanes), ir.Undefined)
                    count = builder.insert_element(count, rest, i32(0))
                    count = builder.shuffle_vector(count, count, spread)
                    pixels(done, builder.icmp_signed("<", lane, count))

            height = builder.sub(oy1, oy0)
            passes = builder.sdiv(height, i64(R))
            with cgutils.for_range(builder, passes) as loop:
                rows_from(add(oy0, mul(loop.index, i64(R))), R)
            if R > 1:  # the last rows, one at a time
                start = add(oy0, mul(passes, i64(R)))
                with cgutils.for_range(builder, builder.sub(oy1, start)) as loop:
                    rows_from(add(start, loop.index), 1)
            return context.get_dummy_value()

        return signature, codegen

    _rows = rows


@functools.cache
def _by_channel(kh: int, kw: int, sy: int, dy: int, dx: int, relu: bool) -> Correlate:
    """Channel by channel, each one's taps summed into the output rows, two rows at a time."""

    def by_channel(x, first, weights, bias, out, filters, oy0, oy1):
        width = out.shape[2]
        n = weights.shape[1]
        for f in range(weights.shape[0]):
            oy = oy0
            while oy < oy1:
                # Two rows at once share the input rows they both read, except a last odd one.
                pair = oy + 1 < oy1
                top = out[filters[f], oy]
                bottom = out[filters[f], oy + 1 if pair else oy]
                top[:] = bias[f]
                if pair:
                    bottom[:] = bias[f]
                for c in range(n):
                    plane = x[first + c]
                    if pair:
                        for ox in range(width):
                            s0 = top[ox]
                            s1 = bottom[ox]
                            for i in range(kh):
                                for j in range(kw):
                                    w = weights[f, c, i, j]
                                    s0 += w * plane[oy * sy + i * dy, ox + j * dx]
                                    s1 += w * plane[(oy + 1) * sy + i * dy, ox + j * dx]
                            top[ox] = s0
                            bottom[ox] = s1
                    else:
                        for ox in range(width):
                            s0 = top[ox]
                            for i in range(kh):
                                for j in range(kw):
                                    s0 += weights[f, c, i, j] * plane[oy * sy + i * dy, ox + j * dx]
                            top[ox] = s0
                if relu:
                    for ox in range(width):
                        if top[ox] < 0:
                            top[ox] = 0
                        if bottom[ox] < 0:
                            bottom[ox] = 0
                oy += 2 if pair else 1

    return compile_loop(by_channel, [_CORRELATE_SAMPLE], _INTERLEAVE)


@functools.cache
def _by_row(kh: int, kw: int, sy: int, dy: int, dx: int, relu: bool) -> Correlate:
    """One kernel row at a time: each input row's kw taps added into the output rows it feeds.

    Only a kernel row's taps unroll, so the pixel loop stays vectorized for kernels whose whole
    body would not (`_by_channel` runs scalar past 25 taps). With a row stride and dilation of
    1, two output rows at a time: input row oy + i feeds row oy through kernel row i and row
    oy + 1 through kernel row i - 1, so each input value loaded serves both.
    """
    pairs = sy == 1 and dy == 1 and kh > 1

    def by_row(x, first, weights, bias, out, filters, oy0, oy1):
        width = out.shape[2]
        n = weights.shape[1]
        for f in range(weights.shape[0]):
            b = bias[f]
            oy = oy0
            while pairs and oy + 1 < oy1:
                top = out[filters[f], oy]
                bottom = out[filters[f], oy + 1]
                for ox in range(width):
                    top[ox] = b
                    bottom[ox] = b
                for c in range(n):
                    line = x[first + c, oy]
                    for ox in range(width):
                        s0 = top[ox]
                        for j in range(kw):
                            s0 += weights[f, c, 0, j] * line[ox + j * dx]
                        top[ox] = s0
                    for i in range(1, kh):
                        line = x[first + c, oy + i]
                        for ox in range(width):
                            s0 = top[ox]
                            s1 = bottom[ox]
                            for j in range(kw):
                                v = line[ox + j * dx]
                                s0 += weights[f, c, i, j] * v
                                s1 += weights[f, c, i - 1, j] * v
                            top[ox] = s0
                            bottom[ox] = s1
                    line = x[first + c, oy + kh]
                    for ox in range(width):
                        s1 = bottom[ox]
                        for j in range(kw):
                            s1 += weights[f, c, kh - 1, j] * line[ox + j * dx]
                        bottom[ox] = s1
                if relu:
                    for ox in range(width):
                        top[ox] = 0 if top[ox] < 0 else top[ox]
                        bottom[ox] = 0 if bottom[ox] < 0 else bottom[ox]
                oy += 2
            for y in range(oy, oy1):  # every row without pairs, else a last odd one
                row = out[filters[f], y]
                for ox in range(width):
                    row[ox] = b
                for c in range(n):
                    for i in range(kh):
                        line = x[first + c, y * sy + i * dy]
                        for ox in range(width):
                            s = row[ox]
                            for j in range(kw):
                                s += weights[f, c, i, j] * line[ox + j * dx]
                            row[ox] = s
                if relu:
                    for ox in range(width):
                        row[ox] = 0 if row[ox] < 0 else row[ox]

    return compile_loop(by_row, [_CORRELATE_SAMPLE], _INTERLEAVE)


def story_sums(relu: bool = False) -> Callable[..., None] | None:
    """The compiled last steps of the channel story's filter, for rows [oy0, oy1): the sum of
    its partial maps, the sum plus the bias, and the feature map; None while it compiles (see
    `compiled`).

    Its arguments: ``maps`` (C + 2, H', W'): the partial maps (made by `correlator`'s loop for
    one channel), then the sum and the biased sum it writes; ``bias`` (1,) float32; ``out``
    (C_out, H', W') and ``o``, the map the biased sum goes to (through a ReLU with ``relu``);
    ``oy0``, ``oy1``. Arrays C-contiguous and writable. One pass where three numpy passes and a
    copy each took the interpreter lock, which the live view's GUI thread holds while it paints.
    Runs on the calling thread (an engine pool thread) with the lock released.
    """
    return compiled(_story_sums, relu)


@functools.cache
def _story_sums(relu: bool) -> Callable[..., None]:
    # Performance trap: a compiled loop that calls another one captured from its closure is
    # not found in Numba's cache again, and recompiled on every start (5 s here). And a slice
    # assignment (total[:] = ...) took 2 s of compiling more than the loop that replaces it.
    def story_sums(maps, bias, out, o, oy0, oy1):
        channels = maps.shape[0] - 2
        width = out.shape[2]
        b = bias[0]
        for y in range(oy0, oy1):
            total = maps[channels, y]
            first = maps[0, y]
            for ox in range(width):
                total[ox] = first[ox]
            for c in range(1, channels):
                partial = maps[c, y]
                for ox in range(width):
                    total[ox] += partial[ox]
            biased = maps[channels + 1, y]
            target = out[o, y]
            for ox in range(width):
                s = total[ox] + b
                biased[ox] = s
                target[ox] = 0 if relu and s < 0 else s

    return compile_loop(story_sums, [(f32(3, 1, 1), f32(1), f32(1, 1, 1), 0, 0, 0)])


@functools.cache
def _rgb_planes() -> Callable[..., None]:
    # Performance trap: one pixel loop writing all three planes ran scalar, and so did any loop
    # writing planes of unknown strides (a band of padded planes); a loop per plane over the
    # row's bytes, 3 apart, into C-contiguous planes vectorizes (640x480, one thread: 0.96 ->
    # 0.43 ms).
    def rgb_planes(image, scale, planes, top, left):
        height, width = image.shape[0], image.shape[1]
        for y in range(height):
            line = image[y].reshape(3 * width)
            for c in range(3):
                # A slice: indexing the row at left + x ran 2.6x slower.
                plane = planes[c, top + y, left : left + width]
                for x in range(width):
                    plane[x] = line[3 * x + c] * scale

    sample = (np.zeros((0, 1, 3), np.uint8), np.float32(1), f32(3, 1, 1), 0, 0)
    return compile_loop(rgb_planes, [sample])


def rgb_planes(
    image: np.ndarray, scale: float, planes: np.ndarray, top: int = 0, left: int = 0
) -> None:
    """Write a C-contiguous uint8 RGB frame (h, w, 3), times ``scale``, into rows
    [top, top + h) and columns [left, left + w) of float32 ``planes`` (3, H, W), C-contiguous
    and writable: one compiled pass over the frame, where splitting it and then scaling each
    plane took two (1280x720: 1.2 ms against 4 ms); numpy's two while it compiles. Runs on the
    calling thread, lock released."""
    loop = compiled(_rgb_planes, wait=False)  # the numpy passes give the same bytes
    if loop is None:
        h, w = image.shape[:2]
        inside = planes[:, top : top + h, left : left + w]
        np.multiply(image.transpose(2, 0, 1), np.float32(scale), out=inside)
    else:
        loop(image, np.float32(scale), planes, top, left)
