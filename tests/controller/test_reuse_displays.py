"""What the worker hands the panes after an edit on a still frame equals a fresh computation.

The worker keeps its last result and reuses its maps, displays and ranges on the same frame.
After any edit, undo or redo, each layer must have exactly one shown map per filter, equal to
what a computation from scratch gives.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import BankError
from playground.controller.pipeline import Frame, Job, compute
from playground.engine import editing
from tests.controller.test_controller import FakeSource, random_frames, two_filter_bank
from tests.engine.test_reuse import assert_same_maps, random_edit, random_selection, starting_banks

DISPLAY = (24, 18)


def assert_same_result(got, want) -> None:
    assert got.error == want.error
    if want.error is not None:
        return
    assert [len(d) for d in got.maps] == [len(d) for d in want.maps]
    for got_layer, want_layer in zip(got.maps, want.maps):
        for a, b in zip(got_layer, want_layer):
            assert_same_maps(a.display, b.display, b.floor)
    for got_layer, want_layer in zip(got.maps, want.maps):
        for a, b in zip(got_layer, want_layer):
            assert_same_maps(np.array(a.value_range), np.array(b.value_range), b.floor)
    assert (got.story is None) == (want.story is None)
    if want.story is not None:
        got_story, want_story = story_maps(got.story), story_maps(want.story)
        assert len(got_story) == len(want_story)
        for a, b in zip(got_story, want_story):
            assert_same_maps(a.display, b.display, b.floor)


def story_maps(story):
    return [*story.partials, story.total, story.biased, story.activated]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(starting_banks(), st.integers(0, 2**32 - 1))
def test_results_reusing_the_last_one_on_a_still_equal_fresh_results(bank, seed):
    rng = np.random.default_rng(seed)
    frame = Frame(rng.integers(0, 256, (30, 40, 3), np.uint8), 0)
    history, previous = [bank], None
    for generation in range(12):
        if len(history) > 1 and rng.random() < 0.25:
            current = history[int(rng.integers(len(history)))]
        else:
            try:
                current = random_edit(history[-1], rng)
            except BankError:
                continue
            history.append(current)
        job = Job(current, generation, random_selection(current, rng), DISPLAY)
        result = compute(frame, job, previous)
        assert_same_result(result, compute(frame, job))
        if result.run is not None:
            assert [len(d) for d in result.maps] == current.channels()[1:]
            previous = result


def test_undo_of_an_added_filter_with_a_pool_selected_shows_every_pane(qtbot):
    # The finding: add a pool, add a filter, select the pool, Ctrl+Z gave
    # "IndexError: no pane 4 in layer 0" (the worker reused a layer's five displays for four).
    from playground.controller import Controller

    c = Controller(two_filter_bank())
    try:
        frame = random_frames(1)[0]
        with qtbot.waitSignal(c.sourceChanged, timeout=10_000):
            c.open_source(FakeSource([frame], live=False))
        c.edit(editing.add_pool_layer, "Add pool")
        c.edit(lambda b: editing.add_filter(b, 0), "Add filter")
        c.select(1)
        qtbot.waitUntil(
            lambda: c.last_result is not None and c.last_result.generation == c.generation,
            timeout=10_000,
        )
        c.undo()
        qtbot.waitUntil(
            lambda: c.last_result is not None and c.last_result.generation == c.generation,
            timeout=10_000,
        )
        result = c.last_result
        assert result.error is None
        # One ShownMap per filter: its display and its range can no longer disagree in number.
        assert [len(d) for d in result.maps] == [2, 2]
    finally:
        c.close()
