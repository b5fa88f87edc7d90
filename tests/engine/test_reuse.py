"""A run that reuses an earlier one gives exactly what a fresh run gives, whatever the edit.

The live view keeps the last run on a still or frozen frame and hands it to the next run, across
every edit a user makes and across undo and redo. These tests walk random banks through random
edit sequences (and jumps back in the history) and compare every reusing run with a fresh run of
the same bank, and with the float64 reference.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import Bank, BankError
from playground.controller.display import finite_range, round_off_floors
from playground.engine import editing
from tests.engine import reference
from tests.engine.test_apply import bank_dict, conv_layer


def _conv_layers(bank: Bank) -> list[int]:
    return [n for n, layer in enumerate(bank.layers) if hasattr(layer, "filters")]


def random_edit(bank: Bank, rng: np.random.Generator) -> Bank:
    """One edit a user could make from the window, chosen at random; may raise BankError."""
    convs = _conv_layers(bank)
    if not convs:  # a bank of pools: only layer edits apply
        return editing.add_conv_layer(bank, int(rng.integers(len(bank.layers) + 1)))
    n = int(rng.choice(convs))
    layer = bank.layers[n]
    f = int(rng.integers(len(layer.filters)))
    kind = rng.integers(16)
    if kind == 0:
        kernel = np.array(layer.filters[f].kernels[0])
        kernel.flat[int(rng.integers(kernel.size))] += 0.5
        return editing.set_kernel(bank, n, f, 0, kernel)
    if kind == 1:
        return editing.set_bias(bank, n, f, float(rng.normal()))
    if kind == 2:
        return editing.resize_filter(bank, n, f, int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    if kind == 3:
        return editing.add_filter(bank, n)
    if kind == 4:
        return editing.remove_filter(bank, n, f)
    if kind == 5:
        return editing.duplicate_filter(bank, n, f)
    if kind == 6:
        return editing.move_filter(bank, n, f, int(rng.integers(len(layer.filters))))
    if kind == 7:
        return editing.add_conv_layer(bank, int(rng.integers(len(bank.layers) + 1)))
    if kind == 8:
        return editing.add_pool_layer(bank, int(rng.integers(len(bank.layers) + 1)))
    if kind == 9:
        return editing.remove_layer(bank, int(rng.integers(len(bank.layers))))
    if kind == 10:
        return editing.move_layer(
            bank, int(rng.integers(len(bank.layers))), int(rng.integers(len(bank.layers)))
        )
    if kind == 11:
        padding = ["valid", "same", 0, 1, 2][int(rng.integers(5))]
        return editing.set_layer_settings(bank, n, padding=padding)
    if kind == 12:
        setting = ["stride", "dilation"][int(rng.integers(2))]
        return editing.set_layer_settings(bank, n, **{setting: int(rng.integers(1, 3))})
    if kind == 13:
        border = ["zero", "reflect", "replicate", "wrap"][int(rng.integers(4))]
        activation = ["none", "relu", "abs", "tanh"][int(rng.integers(4))]
        return editing.set_layer_settings(bank, n, border=border, activation=activation)
    if kind == 14:
        return editing.set_input_mode(bank, ["rgb", "gray"][int(rng.integers(2))])
    return editing.rename_filter(bank, n, f, f"renamed {rng.integers(100)}")


def random_selection(bank: Bank, rng: np.random.Generator) -> tuple[int, int] | None:
    if rng.random() < 0.2:
        return None
    n = int(rng.integers(len(bank.layers)))
    layer = bank.layers[n]
    count = len(layer.filters) if hasattr(layer, "filters") else 1
    return n, int(rng.integers(count))


def assert_same_maps(got: np.ndarray, want: np.ndarray, floor: float) -> None:
    """Equal shapes, and values equal within float32 round-off (``floor``, per map).

    The selected filter's map is the sum of its partial maps, where the others may sum channels
    before correlating: the two differ by round-off, so a map carried over from a run with
    another selection may too, and by no more.
    """
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=floor)


def assert_same_run(got, want, selected) -> None:
    ranges = [[finite_range(m) for m in out] for out in want.outputs]
    floors = round_off_floors(want.bank, want, ranges)
    assert len(got.outputs) == len(want.outputs)
    for a, b, layer_floors in zip(got.outputs, want.outputs, floors):
        assert a.shape == b.shape
        for m, n, floor in zip(a, b, layer_floors):
            assert_same_maps(m, n, floor)
    if want.partials is None:
        assert got.partials is None
    else:
        n, f = selected
        assert_same_maps(got.partials, want.partials, floors[n][f])


@st.composite
def starting_banks(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    layers, channels = [], 3
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 3)) == 0:
            layers.append({"type": "pool", "size": draw(st.integers(1, 2))})
            continue
        size = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
        filters = [
            {"kernels": rng.standard_normal((channels, *size)).tolist(), "bias": 0.1}
            for _ in range(draw(st.integers(1, 3)))
        ]
        padding = draw(st.sampled_from(["valid", "same", 1]))
        layers.append(conv_layer(filters, padding=padding))
        channels = len(filters)
    return Bank.from_dict(bank_dict(layers))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(starting_banks(), st.integers(0, 2**32 - 1))
def test_random_edit_sequences_with_undo_reuse_exactly_what_a_fresh_run_gives(bank, seed):
    rng = np.random.default_rng(seed)
    image = rng.integers(
        0, 256, (int(rng.integers(12, 30)), int(rng.integers(12, 30)), 3), np.uint8
    )
    history = [bank]
    previous = None
    for _ in range(12):
        if len(history) > 1 and rng.random() < 0.25:
            current = history[int(rng.integers(len(history)))]  # undo / redo to any snapshot
        else:
            try:
                current = random_edit(history[-1], rng)
            except BankError:
                continue
            history.append(current)
        selected = random_selection(current, rng)
        try:
            fresh = current.run(image, selected)
        except BankError:
            with pytest.raises(BankError):
                current.run(image, selected, reuse=previous)
            continue
        run = current.run(image, selected, reuse=previous)
        assert_same_run(run, fresh, selected)
        for layer, filt in run.reused:
            np.testing.assert_array_equal(run.outputs[layer][filt], previous.outputs[layer][filt])
        previous = run


def test_resizing_a_valid_padded_kernel_after_a_run_gives_the_new_output_size():
    # The finding: Resize on a layer without "same" padding broadcast the old maps into the new
    # size ("could not broadcast input array from shape (286,437) into shape (300,449)").
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (40, 50, 3), np.uint8)
    d = bank_dict(
        [conv_layer([{"kernels": rng.standard_normal((3, 3, 3)).tolist()} for _ in range(3)])]
    )
    bank = Bank.from_dict(d)
    first = bank.run(image, (0, 1))
    resized = editing.resize_filter(bank, 0, 0, 7, 7)
    run = resized.run(image, (0, 1), reuse=first)
    assert run.outputs[0].shape == (3, 34, 44)
    expected_outputs, expected_partials = reference.run(resized.to_dict(), image)
    np.testing.assert_allclose(run.outputs[0], expected_outputs[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(run.partials, expected_partials[0][1], rtol=1e-4, atol=1e-4)
    back = bank.run(image, (0, 1), reuse=run)  # undo
    assert_same_run(back, bank.run(image, (0, 1)), (0, 1))


def test_a_weight_edit_in_the_last_layer_shares_the_maps_it_left_alone():
    # A 1080p still with 8 filters: copying the 7 unchanged maps into a new stack cost more
    # than recomputing the one edited (the weight edit took 2.3x one run of the whole bank).
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (45, 60, 3), np.uint8)
    d = bank_dict(
        [conv_layer([{"kernels": rng.standard_normal((3, 3, 3)).tolist()} for _ in range(4)])]
    )
    bank = Bank.from_dict(d)
    first = bank.run(image, (0, 1))
    kernels = np.array(bank.layers[0].filters[2].kernels)
    kernels[1, 0, 2] += 0.5
    edited = editing.set_kernels(bank, 0, 2, kernels)
    run = edited.run(image, (0, 1), reuse=first)
    assert run.reused == {(0, 0), (0, 3)}
    for o in (0, 3):
        assert np.shares_memory(run.outputs[0][o], first.outputs[0][o])
    expected_outputs, expected_partials = reference.run(edited.to_dict(), image)
    assert run.outputs[0].shape == expected_outputs[0].shape
    np.testing.assert_allclose(np.asarray(run.outputs[0]), expected_outputs[0], atol=1e-4)
    np.testing.assert_allclose(run.partials, expected_partials[0][1], atol=1e-4)
    np.testing.assert_allclose(run.story_sums[0], expected_partials[0][1].sum(axis=0), atol=1e-4)


def test_an_edit_on_a_still_reads_the_input_padded_by_the_run_before(monkeypatch):
    # Padding a 1080p still's planes again took 3.5 ms of the 20 an edit of one filter took.
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (40, 50, 3), np.uint8)
    d = bank_dict(
        [
            conv_layer(
                [{"kernels": rng.standard_normal((3, 3, 3)).tolist()} for _ in range(3)],
                padding="same",
            )
        ]
    )
    bank = Bank.from_dict(d)
    first = bank.run(image, (0, 0))
    assert len(first.paddings) == 1
    (planes,) = first.paddings.values()
    np.testing.assert_array_equal(planes[:, 1:-1, 1:-1], first.inputs)
    edited = editing.set_bias(bank, 0, 0, 2.0)
    run = edited.run(image, (0, 0), reuse=first)
    assert next(iter(run.paddings.values())) is planes
    expected_outputs, expected_partials = reference.run(edited.to_dict(), image)
    np.testing.assert_allclose(np.asarray(run.outputs[0]), expected_outputs[0], atol=1e-4)
    np.testing.assert_allclose(run.partials, expected_partials[0][0], atol=1e-4)
    # Another border pads afresh: the planes padded with zeros are not read as reflected.
    reflected = editing.set_layer_settings(edited, 0, border="reflect")
    run = reflected.run(image, (0, 0), reuse=run)
    expected_outputs, _ = reference.run(reflected.to_dict(), image)
    np.testing.assert_allclose(np.asarray(run.outputs[0]), expected_outputs[0], atol=1e-4)
    # A large image's padded planes are not kept with its run.
    monkeypatch.setattr("playground.engine.bank.PADDINGS_KEPT_BYTES", planes.nbytes - 1)
    assert bank.run(image, (0, 0)).paddings == {}


def test_round_off_floors_measure_the_input_once_per_image():
    rng = np.random.default_rng(6)
    image = rng.integers(0, 200, (20, 30, 3), np.uint8)
    bank = Bank.from_dict(bank_dict([conv_layer([{"kernels": np.ones((3, 3, 3)).tolist()}])]))
    first = bank.run(image).with_input_peaks()
    want = tuple(float(image[..., c].max()) / 255 for c in range(3))
    np.testing.assert_allclose(first.input_peaks, want, rtol=1e-6)
    edited = editing.set_bias(bank, 0, 0, 1.0)
    assert edited.run(image, reuse=first).input_peaks == first.input_peaks
