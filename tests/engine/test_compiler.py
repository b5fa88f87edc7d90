"""The engine on a fresh machine: its loops compile in the background while it runs uncompiled,
with the same numbers, and a compiled loop is never compiled again for another argument type."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from playground import Bank
from playground.controller import display
from playground.engine import convolve, direct
from playground.engine.bank import image_planes
from tests.engine import reference
from tests.engine.test_apply import bank_dict, conv_layer
from tests.engine.test_direct import random_filters

RNG = np.random.default_rng(11)


@pytest.fixture
def background():
    direct.compile_in_background(True)
    yield
    assert direct.wait(10)
    direct.compile_in_background(False)


def test_a_loop_compiles_in_the_background_while_the_live_view_goes_on(background):
    release = threading.Event()
    builds = []

    def build(n):
        builds.append(threading.current_thread().name)
        release.wait(10)
        return lambda: n

    with direct.without_waiting():
        assert direct.compiled(build, 1) is None
        assert direct.compiled(build, 1) is None  # asked again while it compiles: built once
    assert direct.compiled(build, 1, wait=False) is None
    assert not direct.wait(0)
    release.set()
    assert direct.wait(10)
    with direct.without_waiting():
        loop = direct.compiled(build, 1)
    assert loop is not None and loop() == 1
    assert len(builds) == 1 and builds[0].startswith("loop compiler")


def test_a_script_waits_for_its_loop_and_gets_the_compiled_maps_every_time(background):
    threads = []

    def build(n):
        threads.append(threading.current_thread().name)
        return lambda: n

    loop = direct.compiled(build, 3)  # outside the live view: waits
    assert loop is not None and loop() == 3
    assert threads[0].startswith("loop compiler")  # compiled there all the same
    d = bank_dict([conv_layer(random_filters(4, 3, 3, 5, RNG), padding="same")])
    image = RNG.integers(0, 256, (33, 45, 3), dtype=np.uint8)
    first = Bank.from_dict(d).apply(image)[-1]  # the first run of a new shape on this machine
    assert np.array_equal(Bank.from_dict(d).apply(image)[-1], first)  # the same bytes


def test_a_closed_window_leaves_the_loops_still_queued_uncompiled(background):
    started, release = threading.Event(), threading.Event()
    built = []

    def build(n):
        if n == 0:
            started.set()
            release.wait(10)
        built.append(n)
        return lambda: n

    with direct.without_waiting():
        for n in range(3):
            assert direct.compiled(build, n) is None
    assert started.wait(10)
    direct.stop_compiling()  # as Controller.close does
    release.set()
    assert direct.wait(10)
    assert built == [0]  # the one compiling finished; the queued ones were dropped
    loop = direct.compiled(build, 2)  # asked for anew, by a script: compiled and waited for
    assert loop is not None and loop() == 2 and built == [0, 2]


def test_a_loop_that_cannot_compile_is_logged_once_and_its_callers_stay_uncompiled(
    background, caplog
):
    def build(n):
        raise ValueError("LLVM refused")

    with caplog.at_level(logging.ERROR, "playground.engine.direct"):
        assert direct.compiled(build, 2) is None
        assert direct.compiled(build, 2) is None
        assert direct.wait(10)
    failures = [r for r in caplog.records if "could not be built" in r.getMessage()]
    assert len(failures) == 1 and "LLVM refused" in failures[0].exc_text


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_while_the_loops_compile_every_map_and_the_story_come_out_right(uncompiled, activation):
    d = bank_dict(
        [conv_layer(random_filters(5, 3, 3, 3, RNG), padding="same", activation=activation)]
    )
    bank = Bank.from_dict(d)
    plan = bank._compiled[0]
    assert all(plan.packed(o) for o in range(5))  # compiled, once they are
    image = RNG.integers(0, 256, (41, 59, 3), dtype=np.uint8)
    out, maps = convolve.run_conv(plan, image_planes(image, "rgb"), story=1)
    expected_maps, expected_partials = reference.run(d, image)
    np.testing.assert_allclose(out, expected_maps[-1], rtol=1e-4, atol=2e-5)
    story = maps[1]
    partials = expected_partials[0][1]
    np.testing.assert_allclose(story[:3], partials, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(story[3], partials.sum(axis=0), rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("size", [(31, 47), (131, 67)])  # one band; bands on the pool
def test_while_its_pass_compiles_a_frame_still_converts_to_planes(uncompiled, size):
    frame = RNG.integers(0, 256, (*size, 3), dtype=np.uint8)
    planes = image_planes(frame, "rgb")
    np.testing.assert_allclose(planes, reference.input_planes(frame, "rgb"), rtol=1e-7, atol=0)


def float64_block_means(values, factor):
    rows, cols = values.shape[0] // factor, values.shape[1] // factor
    out = np.zeros((rows, cols))
    for r in range(rows):
        for c in range(cols):
            out[r, c] = values[r * factor : (r + 1) * factor, c * factor : (c + 1) * factor].mean(
                dtype=np.float64
            )
    return out


@pytest.mark.parametrize("compiled", [True, False])
def test_a_map_is_reduced_and_measured_alike_compiled_or_not(monkeypatch, compiled):
    if not compiled:
        monkeypatch.setattr(direct, "compiled", lambda build, *args, wait=None: None)  # compiling
    values = RNG.standard_normal((203, 301)).astype(np.float32)
    values[7, 11] = np.nan  # passed over by the range, carried into its block's mean
    values[150, 2] = -9.0
    values[190, 299] = 7.5  # in the rows and columns no block holds: counted in the range
    shown, (lo, hi) = display.reduce_and_measure(values, (100, 67))
    assert (lo, hi) == (-9.0, 7.5)
    factor = 203 // shown.shape[0]
    np.testing.assert_allclose(shown, float64_block_means(values, factor), rtol=1e-5, atol=1e-6)
    assert np.isnan(shown[7 // factor, 11 // factor])


def test_while_its_pass_compiles_a_pane_is_left_to_pyqtgraph(uncompiled):
    image = RNG.standard_normal((20, 30)).astype(np.float32)
    lut = np.arange(256, dtype=np.uint32)
    assert display.packed_colours(image, (-1.0, 1.0), lut) is None


# In a process of its own: the loops are asked for (and compiled on the compiler thread) by a
# first frame, before any real call, as on a fresh start.
LIVE_VIEW_CALLS = """
import numpy as np
from playground.controller.pipeline import Frame, Job, compute
from playground.engine import direct
from tests.engine.test_compiler import live_view_bank

bank = live_view_bank()
job = Job(bank, 1, selected=(0, 2), display_size=(320, 180))
rng = np.random.default_rng(3)
frame = Frame(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), 0)
with direct.without_waiting():  # as the live view: every loop it needs is asked for
    previous = compute(frame, job)
assert direct.wait(120)
loops = {key: loop for key, loop in direct._ready.items()}
built = {key: len(loop.signatures) for key, loop in loops.items()}
previous = compute(frame, job)
edited = Job(bank.with_kernel(0, 3, 1, np.ones((3, 3))), 2, (0, 2), (320, 180))
compute(frame, edited, previous)  # a weight edit on a still: a run that reuses the last
compute(Frame(frame.image[:100, :160].copy(), 1), job)  # small: one band, no pool
assert direct.wait(120)  # loops it asks for anew (another block size) compile meanwhile
print(sorted(loop.py_func.__name__ for loop in loops.values()))
print([key[0].__name__ for key, loop in loops.items() if len(loop.signatures) != built[key]])
"""


def live_view_bank():
    rng = np.random.default_rng(4)
    layer = conv_layer(random_filters(8, 3, 3, 3, rng), padding="same", activation="relu")
    return Bank.from_dict(bank_dict([layer]))


def test_the_live_views_loops_are_compiled_once_for_the_types_they_are_called_with():
    done = subprocess.run(
        [sys.executable, "-c", LIVE_VIEW_CALLS],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names, recompiled = done.stdout.splitlines()
    assert names == str(["block_stats", "fused", "fused", "rgb_planes", "story_sums"])
    assert recompiled == "[]"  # none compiled again, on a calling thread, for another type


CHILD_COMPILES = """
from playground.engine import direct
loop = direct.compiled(direct._fused, 2, 3, 3, 1, 1, 1, True, 0)  # waits
stats = loop.stats
print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()), direct._child is not None)
"""


def test_a_fresh_machines_loops_compile_in_a_child_and_load_here_from_the_cache(tmp_path):
    # The compiler's Python holds the interpreter lock; in a child it leaves it to the window.
    def start() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", CHILD_COMPILES],
            cwd=Path(__file__).parents[2],
            env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)},  # as empty as a new one
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    # Loaded from what the child wrote, not compiled here.
    assert start() == ["1", "0", "True"]
    assert any(tmp_path.rglob("*.nbc"))
    # The next start finds it in the cache and starts no child (importing Numba in one cost
    # a core 1.5 s beside the first frames).
    assert start() == ["1", "0", "False"]


def test_the_compiler_child_answers_each_request_on_its_line():
    requests = [
        json.dumps(["playground.engine.direct", "_story_sums", [True]]),
        json.dumps(["playground.engine.direct", "no_such_builder", []]),
        "not json",
        json.dumps(["os", "system", ["true"]]),
        json.dumps(["playground.controller.display", "_block_stats", [3]]),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "playground", direct.CHILD_FLAG],
        cwd=Path(__file__).parents[2],
        input="\n".join(requests) + "\n",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["cached", "failed", "failed", "failed", "cached"]
