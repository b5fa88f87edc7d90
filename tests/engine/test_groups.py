"""Conv layers with groups (depthwise when groups = C_in): each filter reads its group's input
channels only. The maps, partial maps, probe and budget follow the float64 reference on every
engine path; files carry groups only where they are not 1; edits keep what they can."""

from __future__ import annotations

import json

import numpy as np
import pytest

from playground import Bank, BankError, ConvLayer, Filter, PoolLayer, load_bank, save_bank
from playground.engine import budget, editing
from tests.engine import reference
from tests.engine.test_apply import assert_matches_reference, bank_dict, conv_layer

RNG = np.random.default_rng(57)
IMAGE = RNG.integers(0, 256, (90, 110, 3), dtype=np.uint8)  # large enough for the pool threads


def kernels(count, channels, kh, kw, kind="random"):
    """``count`` filters' kernels of ``channels`` x kh x kw, of the kind an engine path takes."""
    out = []
    for _ in range(count):
        if kind == "rank1":  # separable: sepFilter2D from 7x7 up
            k = np.einsum(
                "ci,cj->cij",
                RNG.standard_normal((channels, kh)),
                RNG.standard_normal((channels, kw)),
            )
        elif kind == "shared":  # one correlation of the summed channels
            k = np.repeat(RNG.standard_normal((1, kh, kw)), channels, axis=0)
        else:  # up to 13x13 through the compiled loops, past it the DFT blocks
            k = RNG.standard_normal((channels, kh, kw))
        out.append({"kernels": k.tolist(), "bias": float(RNG.standard_normal())})
    return out


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # depthwise rgb, then 2 groups of 3 channels with 2 filters each
        ((3, 1, 3, "random", {}), (4, 3, 3, "random", {"padding": 1})),
        # depthwise with a multiplier of 2 (6 filters, 1 kernel each), strided, dilated, wrap
        (
            (6, 1, 5, "random", {"stride": 2, "dilation": 2, "border": "wrap", "padding": 3}),
            (6, 1, 3, "random", {"padding": "same", "border": "reflect"}),
        ),
        # separable 7x7 depthwise, then shared-kernel groups
        ((3, 1, 7, "rank1", {"padding": "same"}), (6, 1, 3, "shared", {"padding": 4})),
        # 9x9 through the compiled row loop, then padding wider than the kernel (a padded copy)
        ((3, 1, 9, "random", {"padding": "same"}), (3, 1, 3, "random", {"padding": 5})),
        # 15x15 through the DFT blocks
        ((3, 1, 15, "random", {"padding": "same"}), (3, 3, 3, "random", {"padding": 1})),
    ],
)
def test_grouped_layers_match_the_float64_reference_on_every_engine_path(first, second):
    layers = []
    channels = 3
    for count, per, k, kind, settings in (first, second):
        groups = channels // per
        layers.append(
            conv_layer(
                kernels(count, per, k, k, kind),
                groups=groups,
                activation="relu",
                **settings,
            )
        )
        channels = count
    d = bank_dict(layers)
    assert_matches_reference(d, IMAGE)  # apply, with every filter's partial maps
    bank = Bank.from_dict(d)
    expected = reference.run(d, IMAGE)
    # The live view's run (shared sums, the DFT, bands) and its one story filter.
    for n, layer in enumerate(bank.layers):
        for f in (0, len(layer.filters) - 1):
            run = bank.run(IMAGE, selected=(n, f))
            for got, want in zip(run.outputs, expected[0], strict=True):
                np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(run.partials, expected[1][n][f], rtol=1e-4, atol=1e-4)


def test_the_probe_of_a_grouped_filter_reads_its_groups_channels_and_adds_up():
    layer = ConvLayer(
        tuple(Filter(RNG.standard_normal((1, 3, 3)), 0.5) for _ in range(6)),
        groups=3,
        padding=1,
    )
    bank = Bank((layer,))
    (out,) = bank.apply(IMAGE)
    planes = reference.input_planes(IMAGE, "rgb")
    for f, channel in enumerate([0, 0, 1, 1, 2, 2]):
        p = bank.probe(IMAGE, 1, f + 1, 7, 9)
        assert [t.channel for t in p.channels] == [channel]
        patch = np.pad(planes[channel], 1)[7:10, 9:12]
        np.testing.assert_allclose(p.channels[0].patch, patch)
        assert p.value == pytest.approx(float(out[f, 7, 9]), abs=1e-5)


def test_a_grouped_layer_counts_only_the_kernels_it_has_in_the_budget():
    # Depthwise: 3 filters of one 3x3 kernel each, not 3 of 3 kernels.
    layer = ConvLayer(tuple(Filter(np.ones((1, 3, 3))) for _ in range(3)), groups=3)
    est = budget.estimate(Bank((layer,)), 30, 40)
    assert est.flops == 3 * 1 * 9 * 28 * 38
    _, (maps,) = Bank((layer,)).apply(IMAGE[:30, :40], partials=True)
    assert [m.shape for m in maps] == [(1, 28, 38)] * 3


def test_groups_are_written_only_where_they_are_not_1_and_read_back(tmp_path):
    grouped = ConvLayer(tuple(Filter(RNG.standard_normal((1, 3, 3))) for _ in range(3)), groups=3)
    plain = ConvLayer((Filter(RNG.standard_normal((3, 3, 3))),), padding="same")
    bank = Bank((grouped, PoolLayer(), plain))
    path = tmp_path / "bank.json"
    save_bank(bank, path)
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert data["layers"][0]["groups"] == 3 and "groups" not in data["layers"][2]
    assert load_bank(path) == bank
    # A file without the key (every older file) reads as groups 1.
    del data["layers"][0]["groups"]
    with pytest.raises(BankError, match="layer 1, filter 1: kernels have 1 channels"):
        Bank.from_dict(data)


@pytest.mark.parametrize(
    ("groups", "filters", "kernels", "message"),
    [
        (2, 3, 1, "3 filters do not split into 2 groups"),
        (0, 3, 1, "groups must be an integer between 1 and 1024, got 0"),
        ("3", 3, 1, "groups must be an integer between 1 and 1024, got '3'"),
        (True, 3, 1, "groups must be an integer between 1 and 1024, got True"),
        (
            3,
            3,
            2,
            "layer 1: 3 groups of filters with 2 kernels each read 6 channels, layer input has 3",
        ),
        (2, 2, 1, "layer 1: 2 groups of filters with 1 kernel each read 2 channels"),
    ],
)
def test_bad_groups_are_refused_in_one_line_naming_the_layer(groups, filters, kernels, message):
    d = bank_dict([conv_layer([{"kernels": [[[1.0]]] * kernels}] * filters, groups=groups)])
    with pytest.raises(BankError) as refused:
        Bank.from_dict(d)
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert str(refused.value).startswith("layer 1")


def depthwise_bank() -> Bank:
    first = ConvLayer(
        tuple(Filter(RNG.standard_normal((1, 3, 3)), 0.1 * o) for o in range(3)),
        groups=3,
        padding="same",
    )
    second = ConvLayer(
        tuple(Filter(RNG.standard_normal((1, 3, 3))) for _ in range(3)), groups=3, padding=1
    )
    return Bank((first, second))


def test_setting_groups_to_1_keeps_every_map_and_back_to_3_keeps_them_too():
    bank = depthwise_bank()
    want = bank.apply(IMAGE)
    ungrouped = editing.set_layer_settings(bank, 0, groups=1)
    assert ungrouped.layers[0].groups == 1 and ungrouped.layers[0].filters[1].in_channels == 3
    for got, w in zip(ungrouped.apply(IMAGE), want, strict=True):
        np.testing.assert_allclose(got, w, atol=1e-5)
    regrouped = editing.set_layer_settings(ungrouped, 0, groups=3)
    assert regrouped == bank
    with pytest.raises(BankError, match="layer 1: 3 filters do not split into 2 groups"):
        editing.set_layer_settings(bank, 0, groups=2)


def test_a_groups_setting_that_does_not_divide_the_input_channels_is_refused():
    bank = Bank((ConvLayer(tuple(Filter(np.ones((3, 1, 1))) for _ in range(2))),))
    with pytest.raises(BankError, match="layer 1: its 3 input channels do not split into 2 groups"):
        editing.set_layer_settings(bank, 0, groups=2)


@pytest.mark.parametrize(
    ("edit", "order", "same_last"),
    [
        (lambda b: editing.add_filter(b, 0), [0, 1, 2, None], True),
        (lambda b: editing.duplicate_filter(b, 0, 1), [0, 1, 1, 2], True),
        (lambda b: editing.remove_filter(b, 0, 1), [0, 2], False),
        (lambda b: editing.move_filter(b, 0, 0, 2), [1, 2, 0], True),
        (lambda b: editing.add_conv_layer(b, 1), [0, 1, 2], False),
    ],
)
def test_filter_edits_on_grouped_layers_keep_the_maps_they_do_not_change(edit, order, same_last):
    # A grouped layer (or the one after) that cannot hold the edit becomes groups 1 with
    # zero kernels where a filter read nothing: the maps it did not mean to change stay.
    bank = depthwise_bank()
    before = bank.apply(IMAGE)
    after = edit(bank).apply(IMAGE)
    assert after[0].shape[0] == len(order)
    for o, was in enumerate(order):
        if was is not None:
            np.testing.assert_allclose(after[0][o], before[0][was], atol=1e-5)
    if same_last:
        np.testing.assert_allclose(after[-1], before[-1], atol=1e-5)


def test_a_move_within_a_group_keeps_the_groups():
    layer = ConvLayer(tuple(Filter(RNG.standard_normal((1, 3, 3))) for _ in range(6)), groups=3)
    bank = Bank((layer,))
    moved = editing.move_filter(bank, 0, 2, 3)  # the two filters of the second group swap
    assert moved.layers[0].groups == 3
    np.testing.assert_allclose(moved.apply(IMAGE)[0][[3, 2]], bank.apply(IMAGE)[0][[2, 3]])
    across = editing.move_filter(bank, 0, 0, 5)
    assert across.layers[0].groups == 1
    np.testing.assert_allclose(across.apply(IMAGE)[0][5], bank.apply(IMAGE)[0][0], atol=1e-5)


def test_a_depthwise_rgb_layer_turns_gray_with_the_maps_of_a_gray_image():
    bank = depthwise_bank()
    gray_image = np.repeat(IMAGE[:, :, :1], 3, axis=2)
    gray = editing.set_input_mode(bank, "gray")
    assert gray.layers[0].groups == 1 and gray.layers[0].in_channels == 1
    for got, want in zip(gray.apply(gray_image), bank.apply(gray_image), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_describe_layer_says_depthwise_or_how_many_groups():
    assert "depthwise" in editing.describe_layer(depthwise_bank(), 0, None, None)
    four = ConvLayer(tuple(Filter(np.ones((3, 1, 1))) for _ in range(4)))
    halves = ConvLayer(tuple(Filter(np.ones((2, 1, 1))) for _ in range(2)), groups=2)
    assert "· 2 groups →" in editing.describe_layer(Bank((four, halves)), 1, 9, 9)
