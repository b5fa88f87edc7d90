"""Bank edits: every result validates, and the feature maps change exactly as the edit says."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from playground import Bank, BankError, ConvLayer, Filter, PoolLayer, load_bank
from playground.assets import resource_path
from playground.engine import editing

RNG = np.random.default_rng(1234)


def random_filter(c_in: int, size: tuple[int, int] = (3, 3), name: str = "") -> Filter:
    kernels = RNG.normal(size=(c_in, *size))
    return Filter(kernels, float(RNG.normal()), name)


def stack(input_mode: str = "rgb", activation: str = "none") -> Bank:
    """rgb -> conv(2 filters, same) -> max pool -> conv(3 filters, valid) -> conv(2, same)."""
    c = 3 if input_mode == "rgb" else 1
    return Bank(
        (
            ConvLayer(
                (random_filter(c, name="a"), random_filter(c, name="b")),
                name="first",
                padding="same",
                border="reflect",
                activation=activation,
            ),
            PoolLayer("max", 2, name="pool"),
            ConvLayer(
                tuple(random_filter(2, name=f"m{i}") for i in range(3)),
                name="middle",
                activation=activation,
            ),
            ConvLayer(
                tuple(random_filter(3, (5, 5), name=f"z{i}") for i in range(2)),
                name="last",
                padding="same",
            ),
        ),
        input=input_mode,
    )


def image(h: int = 20, w: int = 24) -> np.ndarray:
    return RNG.random((h, w, 3)).astype(np.float32)


def grey_image(h: int = 20, w: int = 24) -> np.ndarray:
    g = RNG.random((h, w)).astype(np.float32)
    return np.stack([g, g, g], axis=2)


def assert_same_maps(got: list[np.ndarray], want: list[np.ndarray], atol: float = 1e-5) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        # Float32 round-off is relative to the map's largest values, not to each pixel's.
        scale = max(1.0, float(np.abs(w).max()))
        np.testing.assert_allclose(g, w, atol=atol * scale, rtol=1e-5)


def roundtrip(bank: Bank) -> Bank:
    """The bank rebuilt from its file dict: proves the result is a valid bank by value."""
    again = Bank.from_dict(bank.to_dict())
    assert again == bank
    return again


def with_next_channel_zeroed(bank: Bank, layer: int, channel: int) -> Bank:
    """``bank`` with the kernels reading ``channel`` in the conv layer after ``layer`` zeroed."""
    n = next(i for i in range(layer + 1, len(bank.layers)) if isinstance(bank.layers[i], ConvLayer))
    conv = bank.layers[n]
    for i, f in enumerate(conv.filters):
        conv = conv.with_filter(i, f.with_kernel(channel, np.zeros(f.size)))
    return bank.with_layer(n, conv)


# --- filters -----------------------------------------------------------------------------------


def test_add_filter_appends_the_channel_mean_and_keeps_every_other_map():
    bank = stack()
    img = image()
    before = bank.apply(img)
    after = editing.add_filter(bank, 0)
    roundtrip(after)
    maps = after.apply(img)

    new = after.layers[0].filters[-1]
    assert new.name == "filter 3"
    assert new.bias == 0.0
    assert new.kernels.shape == (3, 3, 3)
    np.testing.assert_array_equal(new.kernels[:, 1, 1], [1 / 3, 1 / 3, 1 / 3])
    assert np.count_nonzero(new.kernels) == 3

    assert maps[0].shape == (3, 20, 24)
    np.testing.assert_allclose(maps[0][:2], before[0], atol=1e-6)
    np.testing.assert_allclose(maps[0][2], img.mean(axis=2), atol=1e-6)
    # The pool passes the new channel on; the next conv layer reads it with zero kernels.
    assert after.layers[2].in_channels == 3
    np.testing.assert_array_equal(after.layers[2].filters[0].kernels[2], np.zeros((3, 3)))
    assert_same_maps(maps[2:], before[2:])


def test_add_filter_on_valid_padding_gives_the_cropped_mean():
    bank = stack()
    img = image()
    after = editing.add_filter(bank, 2)
    maps = after.apply(img)
    pooled = bank.apply(img)[1]  # what reaches layer 3
    assert maps[2].shape == (4, 8, 10)
    np.testing.assert_allclose(maps[2][3], pooled.mean(axis=0)[1:-1, 1:-1], atol=1e-6)
    assert after.layers[3].in_channels == 4
    assert_same_maps(maps[3:], bank.apply(img)[3:])


def test_add_filter_names_are_unique_and_kernels_may_be_given():
    layer = ConvLayer((random_filter(1, name="filter 2"),), padding="same")
    bank = Bank((layer,), input="gray")
    assert editing.add_filter(bank, 0).layers[0].filters[1].name == "filter 3"
    given_2d = editing.add_filter(bank, 0, [[1, 2], [3, 4]], name="mine")
    assert given_2d.layers[0].filters[1].name == "mine"
    assert given_2d.layers[0].filters[1].kernels.tolist() == [[[1, 2], [3, 4]]]
    rgb = stack()
    given_3d = editing.add_filter(rgb, 0, np.ones((3, 3, 3)))
    assert given_3d.layers[0].filters[2].kernels.shape == (3, 3, 3)
    with pytest.raises(BankError, match="shape"):
        editing.add_filter(rgb, 0, np.ones((2, 3, 3)))
    with pytest.raises(BankError, match="numbers"):
        editing.add_filter(rgb, 0, [["a"]])
    with pytest.raises(BankError, match="pool layer"):
        editing.add_filter(rgb, 1)
    with pytest.raises(BankError, match="no layer 9"):
        editing.add_filter(rgb, 8)
    # A valid-padding layer keeps one kernel size: the dataclass refuses the odd one out.
    with pytest.raises(BankError, match="padding 'same'"):
        editing.add_filter(rgb, 2, np.ones((5, 5)))


@pytest.mark.parametrize("index", [0, 1, 2])
def test_remove_filter_drops_its_map_and_the_next_layers_channel(index):
    bank = stack(activation="relu")
    img = image()
    before = bank.apply(img)
    after = editing.remove_filter(bank, 2, index)
    roundtrip(after)
    maps = after.apply(img)
    assert [f.name for f in after.layers[2].filters] == [f"m{i}" for i in range(3) if i != index]
    np.testing.assert_allclose(maps[2], np.delete(before[2], index, axis=0), atol=1e-6)
    assert after.layers[3].in_channels == 2
    # The next layer now sees exactly what it saw before, minus the removed channel.
    expected = with_next_channel_zeroed(bank, 2, index).apply(img)
    assert_same_maps(maps[3:], expected[3:])


def test_remove_filter_refuses_the_last_filter_of_a_layer():
    bank = Bank((ConvLayer((random_filter(3),)),))
    with pytest.raises(BankError, match="only this filter"):
        editing.remove_filter(bank, 0, 0)
    with pytest.raises(BankError, match="no filter 3"):
        editing.remove_filter(stack(), 0, 2)


def test_duplicate_filter_inserts_a_copy_and_keeps_later_maps():
    bank = stack(activation="relu")
    img = image()
    before = bank.apply(img)
    after = editing.duplicate_filter(bank, 0, 0)
    roundtrip(after)
    maps = after.apply(img)
    assert [f.name for f in after.layers[0].filters] == ["a", "a copy", "b"]
    np.testing.assert_array_equal(
        after.layers[0].filters[1].kernels, bank.layers[0].filters[0].kernels
    )
    assert after.layers[0].filters[1].bias == bank.layers[0].filters[0].bias
    np.testing.assert_allclose(maps[0][[0, 2]], before[0], atol=1e-6)
    np.testing.assert_allclose(maps[0][1], before[0][0], atol=1e-6)
    middle = after.layers[2].filters[0].kernels
    assert middle.shape[0] == 3
    np.testing.assert_array_equal(middle[1], np.zeros((3, 3)))
    assert_same_maps(maps[2:], before[2:])
    again = editing.duplicate_filter(after, 0, 0)
    assert [f.name for f in again.layers[0].filters] == ["a", "a copy 2", "a copy", "b"]


def test_duplicate_of_an_unnamed_filter_and_of_a_long_name():
    bank = Bank((ConvLayer((Filter(np.ones((1, 3, 3))),)),), input="gray")
    assert editing.duplicate_filter(bank, 0, 0).layers[0].filters[1].name == "filter 1 copy"
    long = editing.rename_filter(bank, 0, 0, "x" * 200)
    copy = editing.duplicate_filter(long, 0, 0).layers[0].filters[1].name
    assert len(copy) == 200 and copy.endswith(" copy")


@pytest.mark.parametrize(("index", "new_index"), [(0, 2), (2, 0), (1, 1), (0, 1)])
def test_move_filter_permutes_this_layers_maps_and_keeps_later_ones(index, new_index):
    bank = stack(activation="relu")
    img = image()
    before = bank.apply(img)
    after = editing.move_filter(bank, 2, index, new_index)
    roundtrip(after)
    maps = after.apply(img)
    order = [0, 1, 2]
    order.insert(new_index, order.pop(index))
    assert [f.name for f in after.layers[2].filters] == [f"m{i}" for i in order]
    np.testing.assert_array_equal(maps[2], before[2][order])
    assert_same_maps(maps[:2], before[:2])
    assert_same_maps(maps[3:], before[3:])


def test_move_filter_refuses_positions_outside_the_layer():
    with pytest.raises(BankError, match="no filter 3"):
        editing.move_filter(stack(), 0, 0, 2)
    with pytest.raises(BankError, match="no filter 0"):
        editing.move_filter(stack(), 0, 0, -1)


def test_rename_filter_and_layer():
    bank = stack()
    renamed = editing.rename_layer(editing.rename_filter(bank, 2, 1, "blob"), 1, "shrink")
    assert renamed.layers[2].filters[1].name == "blob"
    assert renamed.layers[1].name == "shrink"
    assert bank.layers[2].filters[1].name == "m1"  # the original is untouched
    with pytest.raises(BankError, match="200"):
        editing.rename_filter(bank, 0, 0, "x" * 201)
    with pytest.raises(BankError, match="string"):
        editing.rename_layer(bank, 0, 3)


def test_resize_filter_under_same_padding_keeps_the_map_and_only_resizes_one():
    bank = stack()
    img = image()
    after = editing.resize_filter(bank, 0, 1, 5, 7)
    roundtrip(after)
    assert after.layers[0].filters[0].size == (3, 3)
    assert after.layers[0].filters[1].size == (5, 7)
    grown = after.layers[0].filters[1].kernels
    np.testing.assert_array_equal(grown[:, 1:4, 2:5], bank.layers[0].filters[1].kernels)
    assert np.count_nonzero(grown) == 27
    # Zero taps around the centre change nothing under "same" padding.
    assert_same_maps(after.apply(img), bank.apply(img))
    shrunk = editing.resize_filter(after, 0, 1, 3, 3)
    assert shrunk == bank


def test_resize_filter_under_valid_padding_resizes_the_whole_layer():
    bank = stack()
    after = editing.resize_filter(bank, 2, 0, 1, 1)
    roundtrip(after)
    assert [f.size for f in after.layers[2].filters] == [(1, 1)] * 3
    for f, g in zip(after.layers[2].filters, bank.layers[2].filters):
        np.testing.assert_array_equal(f.kernels[:, 0, 0], g.kernels[:, 1, 1])
    assert after.output_shapes(20, 24)[2] == (3, 10, 12)
    with pytest.raises(BankError, match="between 1 and 101"):
        editing.resize_filter(bank, 2, 0, 0, 3)


def test_even_sizes_keep_the_tap_that_same_padding_centres():
    k = np.arange(9.0).reshape(1, 3, 3)
    grown = editing.resize_kernels(k, 4, 4)
    assert grown[0, 1, 1] == 4.0  # the centre tap (1, 1) stays at ((4 - 1) // 2, (4 - 1) // 2)
    np.testing.assert_array_equal(grown[0, :3, :3], k[0])
    np.testing.assert_array_equal(editing.resize_kernels(grown, 3, 3), k)
    assert editing.resize_kernels(k, 1, 5)[0].tolist() == [[0, 3, 4, 5, 0]]


def test_set_kernel_same_size_and_new_size():
    bank = stack()
    k = np.arange(9.0).reshape(3, 3)
    after = editing.set_kernel(bank, 0, 1, 2, k)
    np.testing.assert_array_equal(after.layers[0].filters[1].kernels[2], k)
    np.testing.assert_array_equal(
        after.layers[0].filters[1].kernels[:2], bank.layers[0].filters[1].kernels[:2]
    )
    big = np.ones((5, 5))
    resized = editing.set_kernel(bank, 0, 1, 0, big)
    roundtrip(resized)
    f = resized.layers[0].filters[1]
    assert f.size == (5, 5)
    np.testing.assert_array_equal(f.kernels[0], big)
    np.testing.assert_array_equal(f.kernels[1:, 1:4, 1:4], bank.layers[0].filters[1].kernels[1:])
    assert resized.layers[0].filters[0].size == (3, 3)  # "same": only this filter
    valid = editing.set_kernel(bank, 2, 0, 1, np.ones((1, 1)))
    assert {f.size for f in valid.layers[2].filters} == {(1, 1)}
    with pytest.raises(BankError, match="no channel 4"):
        editing.set_kernel(bank, 0, 0, 3, k)
    with pytest.raises(BankError, match="2-D"):
        editing.set_kernel(bank, 0, 0, 0, np.ones((1, 3, 3)))
    with pytest.raises(BankError, match="NaN"):
        editing.set_kernel(bank, 0, 0, 0, np.full((3, 3), np.nan))


def test_copy_kernel_to_all_channels_and_set_bias():
    bank = stack()
    after = editing.copy_kernel_to_all_channels(bank, 0, 1, 2)
    src = bank.layers[0].filters[1].kernels[2]
    for k in after.layers[0].filters[1].kernels:
        np.testing.assert_array_equal(k, src)
    biased = editing.set_bias(bank, 2, 0, 0.25)
    assert biased.layers[2].filters[0].bias == 0.25
    img = image()
    np.testing.assert_allclose(
        biased.apply(img)[2][0],
        bank.apply(img)[2][0] - bank.layers[2].filters[0].bias + 0.25,
        atol=1e-5,
    )
    with pytest.raises(BankError, match="bias"):
        editing.set_bias(bank, 0, 0, float("inf"))
    with pytest.raises(BankError, match="pool"):
        editing.set_bias(bank, 1, 0, 1.0)


# --- layers ------------------------------------------------------------------------------------


def test_add_conv_layer_at_the_end_outputs_the_channel_mean():
    bank = stack()
    img = image()
    before = bank.apply(img)
    after = editing.add_conv_layer(bank)
    roundtrip(after)
    new = after.layers[-1]
    assert new.name == "layer 5"
    assert new.padding == "same"
    assert new.in_channels == 2 and new.out_channels == 1
    assert new.filters[0].size == (3, 3)
    maps = after.apply(img)
    assert_same_maps(maps[:-1], before)
    np.testing.assert_allclose(maps[-1][0], before[-1].mean(axis=0), atol=1e-5)


def test_add_conv_layer_in_front_sums_the_next_layers_kernels():
    bank = stack()
    after = editing.add_conv_layer(bank, 0, kernel_size=5)
    roundtrip(after)
    new = after.layers[0]
    assert new.in_channels == 3 and new.filters[0].size == (5, 5)
    np.testing.assert_allclose(new.filters[0].kernels[:, 2, 2], [1 / 3] * 3)
    assert after.layers[1].in_channels == 1
    np.testing.assert_allclose(
        after.layers[1].filters[0].kernels[0], bank.layers[0].filters[0].kernels.sum(axis=0)
    )
    # On a grey image the mean is that grey and the summed kernels see it as before.
    img = grey_image()
    assert_same_maps(after.apply(img)[1:], bank.apply(img), atol=1e-4)


def test_add_conv_layer_after_a_pool_layer_fixes_the_conv_after_the_pool():
    bank = stack()
    after = editing.add_conv_layer(bank, 1, kernel_size=(1, 3))
    roundtrip(after)
    assert isinstance(after.layers[1], ConvLayer)
    assert after.layers[1].in_channels == 2
    assert after.layers[3].in_channels == 1
    with pytest.raises(BankError, match="position 1 to 5, not 7"):
        editing.add_conv_layer(bank, 6)
    with pytest.raises(BankError, match="kernel size"):
        editing.add_conv_layer(bank, 0, kernel_size=0)


def test_add_pool_layer_halves_the_maps():
    bank = stack()
    after = editing.add_pool_layer(bank, 0, op="avg", size=2)
    roundtrip(after)
    assert after.layers[0] == PoolLayer("avg", 2, name="pool 5")
    assert after.output_shapes(20, 24)[0] == (3, 10, 12)
    named = editing.add_pool_layer(after)
    assert named.layers[-1].name == "pool 6"
    with pytest.raises(BankError, match="pool op"):
        editing.add_pool_layer(bank, op="min")


def test_remove_layer_fits_the_next_conv_layer_to_what_reaches_it():
    bank = stack()
    img = image()
    no_pool = editing.remove_layer(bank, 1)
    roundtrip(no_pool)
    assert no_pool.output_shapes(20, 24)[1] == (3, 18, 22)
    no_middle = editing.remove_layer(bank, 2)  # 3 filters out, 2 channels reach the last layer
    roundtrip(no_middle)
    last = no_middle.layers[2]
    assert last.in_channels == 2
    for f, g in zip(last.filters, bank.layers[3].filters):
        np.testing.assert_array_equal(f.kernels, g.kernels[:2])
    no_first = editing.remove_layer(bank, 0)  # 3 rgb channels reach a layer that read 2
    roundtrip(no_first)
    middle = no_first.layers[1]
    assert middle.in_channels == 3
    for f, g in zip(middle.filters, bank.layers[2].filters):
        np.testing.assert_array_equal(f.kernels[:2], g.kernels)
        np.testing.assert_array_equal(f.kernels[2], np.zeros((3, 3)))
    no_first.apply(img)


def test_remove_layer_refuses_the_only_layer_but_pool_only_banks_are_fine():
    bank = Bank((ConvLayer((random_filter(3),)), PoolLayer()))
    pool_only = editing.remove_layer(bank, 0)
    assert pool_only.layers == (PoolLayer(),)
    with pytest.raises(BankError, match="at least one layer"):
        editing.remove_layer(pool_only, 0)


def test_move_layer_reorders_and_fits_channels():
    bank = stack()
    img = image()
    before = bank.apply(img)
    pool_first = editing.move_layer(bank, 1, 0)
    roundtrip(pool_first)
    assert isinstance(pool_first.layers[0], PoolLayer)
    assert pool_first.layers[1] == bank.layers[0]  # channels are unchanged by a pool
    # Pooling commutes with nothing in general, but the later shapes are the same.
    assert [s for s in pool_first.output_shapes(20, 24)][3] == before[3].shape
    last_first = editing.move_layer(bank, 3, 0)
    roundtrip(last_first)
    assert last_first.layers[0].in_channels == 3
    assert last_first.layers[1].in_channels == 2
    assert last_first.layers[3].in_channels == 2
    same = editing.move_layer(bank, 2, 2)
    assert same == bank
    with pytest.raises(BankError, match="no layer 5"):
        editing.move_layer(bank, 0, 4)


def test_set_layer_settings_conv():
    bank = stack()
    after = editing.set_layer_settings(bank, 0, stride=2, border="wrap", activation="abs")
    roundtrip(after)
    la = after.layers[0]
    assert (la.stride, la.border, la.activation) == ((2, 2), "wrap", "abs")
    assert after.output_shapes(20, 24)[0] == (2, 10, 12)
    explicit = editing.set_layer_settings(bank, 2, padding=(1, 2), dilation=(2, 1), flip=True)
    assert explicit.layers[2].padding == (1, 1, 2, 2)  # (y, x): top, bottom, left, right
    assert explicit.layers[2].dilation == (2, 1)
    assert explicit.layers[2].flip is True
    with pytest.raises(BankError, match="layer 1: stride"):
        editing.set_layer_settings(bank, 0, stride=0)
    with pytest.raises(BankError, match="no setting 'op'"):
        editing.set_layer_settings(bank, 0, op="max")
    with pytest.raises(BankError, match="layer 3: flip"):
        editing.set_layer_settings(bank, 2, flip="yes")


def test_set_layer_settings_resizes_mixed_filters_when_padding_stops_being_same():
    bank = editing.resize_filter(stack(), 0, 1, 5, 5)
    assert [f.size for f in bank.layers[0].filters] == [(3, 3), (5, 5)]
    valid = editing.set_layer_settings(bank, 0, padding="valid")
    roundtrip(valid)
    assert [f.size for f in valid.layers[0].filters] == [(3, 3), (3, 3)]
    np.testing.assert_array_equal(
        valid.layers[0].filters[1].kernels, bank.layers[0].filters[1].kernels[:, 1:4, 1:4]
    )


def test_set_layer_settings_pool():
    bank = stack()
    bigger = editing.set_layer_settings(bank, 1, size=3)
    assert bigger.layers[1].size == (3, 3) and bigger.layers[1].stride == (3, 3)
    overlapping = editing.set_layer_settings(bank, 1, size=3, stride=1)
    assert overlapping.layers[1].stride == (1, 1)
    kept = editing.set_layer_settings(overlapping, 1, size=2)
    assert kept.layers[1].stride == (1, 1)  # a stride chosen apart from the size stays
    avg = editing.set_layer_settings(bank, 1, op="avg")
    assert avg.layers[1].op == "avg"
    with pytest.raises(BankError, match="no setting 'padding'"):
        editing.set_layer_settings(bank, 1, padding="same")
    with pytest.raises(BankError, match="layer 2: pool size"):
        editing.set_layer_settings(bank, 1, size=99)


def test_set_input_mode_keeps_maps_on_grey_images():
    bank = stack(activation="relu")
    img = grey_image()
    before = bank.apply(img)
    gray = editing.set_input_mode(bank, "gray")
    roundtrip(gray)
    assert gray.input == "gray" and gray.layers[0].in_channels == 1
    np.testing.assert_allclose(
        gray.layers[0].filters[0].kernels[0], bank.layers[0].filters[0].kernels.sum(axis=0)
    )
    assert_same_maps(gray.apply(img), before)
    back = editing.set_input_mode(gray, "rgb")
    roundtrip(back)
    assert back.input == "rgb" and back.layers[0].in_channels == 3
    assert_same_maps(back.apply(img), before)
    assert editing.set_input_mode(bank, "rgb") is bank
    with pytest.raises(BankError, match="input"):
        editing.set_input_mode(bank, "cmyk")


def test_set_input_mode_of_a_pool_only_bank_and_after_a_pool():
    pool_only = Bank((PoolLayer(),))
    assert editing.set_input_mode(pool_only, "gray").input == "gray"
    bank = Bank((PoolLayer(), ConvLayer((random_filter(1),))), input="gray")
    rgb = editing.set_input_mode(bank, "rgb")
    assert rgb.layers[1].in_channels == 3


# --- text --------------------------------------------------------------------------------------


def line_stack() -> Bank:
    return load_bank(resource_path("banks", "line-stack.json"))


def test_describe_layer_and_title():
    bank = line_stack()
    assert (
        editing.describe_layer(bank, 0, 720, 1280)
        == "conv 3×3 · 2 filters · stride 1 · same · relu → 2 × 720 × 1280"
    )
    assert editing.describe_layer(bank, 1, 720, 1280) == "max pool 2×2 / 2 → 2 × 360 × 640"
    assert (
        editing.describe_layer(bank, 2, None, None)
        == "conv 3×3 · 1 filter · stride 1 · same · relu"
    )
    assert (
        editing.layer_title(bank, 0, 720, 1280) == "1 · lines — conv 3×3 · 2 filters → 2×720×1280"
    )
    assert editing.layer_title(bank, 1) == "2 · pool — max pool 2×2"
    odd = editing.set_layer_settings(bank, 0, stride=(2, 1), padding=(1, 0), dilation=2)
    odd = editing.resize_filter(odd, 0, 1, 5, 3)
    assert editing.describe_layer(odd, 0, 720, 1280) == (
        "conv 5×3 · 2 filters · stride 2×1 · pad 1×0 · dilation 2 · relu → 2 × 357 × 1276"
    )
    mixed = editing.resize_filter(bank, 0, 1, 5, 5)
    assert editing.describe_layer(mixed, 0, None, None).startswith("conv 3×3, 5×5 · 2 filters")


def test_output_size_text_fills_in_the_formula():
    bank = line_stack()
    assert (
        editing.output_size_text(bank, 0, 720, 1280)
        == "H' = ⌈720 / 1⌉ = 720\nW' = ⌈1280 / 1⌉ = 1280"
    )
    assert editing.output_size_text(bank, 1, 720, 1280) == (
        "H' = ⌊(720 − 2) / 2⌋ + 1 = 360\nW' = ⌊(1280 − 2) / 2⌋ + 1 = 640"
    )
    explicit = editing.set_layer_settings(bank, 0, padding=1)
    assert editing.output_size_text(explicit, 0, 720, 1280) == (
        "H' = ⌊(720 + 2 − 1·(3−1) − 1) / 1⌋ + 1 = 720\n"
        "W' = ⌊(1280 + 2 − 1·(3−1) − 1) / 1⌋ + 1 = 1280"
    )
    strided = editing.set_layer_settings(bank, 0, padding="valid", stride=(2, 3), dilation=2)
    assert editing.output_size_text(strided, 0, 720, 1280) == (
        "H' = ⌊(720 + 0 − 2·(3−1) − 1) / 2⌋ + 1 = 358\n"
        "W' = ⌊(1280 + 0 − 2·(3−1) − 1) / 3⌋ + 1 = 426"
    )
    assert strided.output_shapes(720, 1280)[0] == (2, 358, 426)


def test_output_size_text_says_when_nothing_is_left():
    bank = editing.set_layer_settings(line_stack(), 1, size=8)
    assert editing.output_size_text(bank, 1, 6, 20) == (
        "H' = ⌊(6 − 8) / 8⌋ + 1 = 0 → nothing left\nW' = ⌊(20 − 8) / 8⌋ + 1 = 2"
    )
    assert editing.output_size_text(bank, 2, 6, 20) == (
        "Nothing reaches layer 3: layer 2 shrinks the 6×20 image to nothing."
    )
    assert editing.describe_layer(bank, 2, 6, 20).endswith("→ nothing left")
    with pytest.raises(BankError, match="image size"):
        editing.output_size_text(bank, 0, 0, 20)


# --- any sequence of edits ---------------------------------------------------------------------

SIZES = st.integers(1, 4)
INPUTS = ["rgb", "gray"]


@st.composite
def banks(draw) -> Bank:
    mode = draw(st.sampled_from(INPUTS))
    channels = 3 if mode == "rgb" else 1
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 2)) == 0:
            layers.append(PoolLayer(draw(st.sampled_from(["max", "avg"])), draw(SIZES)))
            continue
        padding = draw(st.sampled_from(["same", "valid", 1]))
        size = (draw(SIZES), draw(SIZES))
        filters = []
        for i in range(draw(st.integers(1, 3))):
            if padding == "same":
                size = (draw(SIZES), draw(SIZES))
            filters.append(Filter(np.full((channels, *size), 0.1 * i), 0.0, f"f{i}"))
        layers.append(ConvLayer(tuple(filters), padding=padding))
        channels = len(filters)
    return Bank(tuple(layers), input=mode)


def edits(data: st.DataObject) -> list:
    """(name, function of bank) for every edit; indices mostly valid, one past either end too."""
    d = data.draw

    def index(count: int) -> int:
        """Mostly one of ``count`` valid indices; sometimes one past either end."""
        if count < 1 or d(st.integers(0, 7)) == 0:
            return d(st.sampled_from([-1, max(count, 0)]))
        return d(st.integers(0, count - 1))

    def layer(b: Bank) -> int:
        return index(len(b.layers))

    def slot(b: Bank) -> tuple[int, int, int]:
        """(layer, filter, count of that layer's filters); a pool or missing layer counts 2."""
        n = layer(b)
        la = b.layers[n] if 0 <= n < len(b.layers) else None
        count = len(la.filters) if isinstance(la, ConvLayer) else 2
        return n, index(count), count

    def channel(b: Bank, n: int, f: int) -> int:
        la = b.layers[n] if 0 <= n < len(b.layers) else None
        ok = isinstance(la, ConvLayer) and 0 <= f < len(la.filters)
        return index(la.in_channels if ok else 3)

    def move_filter(b: Bank) -> Bank:
        n, f, count = slot(b)
        return editing.move_filter(b, n, f, index(count))

    def set_kernel(b: Bank) -> Bank:
        n, f, _ = slot(b)
        shape = (d(SIZES), d(SIZES))
        return editing.set_kernel(b, n, f, channel(b, n, f), np.ones(shape))

    def copy_kernel(b: Bank) -> Bank:
        n, f, _ = slot(b)
        return editing.copy_kernel_to_all_channels(b, n, f, channel(b, n, f))

    def settings_(b: Bank) -> Bank:
        keys = ["stride", "padding", "border", "dilation", "op", "size", "flip", "activation"]
        values = [0, 1, 2, "same", "valid", "max", "zero", True, (1, 2), "relu"]
        chosen = d(st.dictionaries(st.sampled_from(keys), st.sampled_from(values), max_size=2))
        return editing.set_layer_settings(b, layer(b), **chosen)

    text = st.text(max_size=5)
    return [
        ("add_filter", lambda b: editing.add_filter(b, layer(b))),
        ("remove_filter", lambda b: editing.remove_filter(b, *slot(b)[:2])),
        ("duplicate_filter", lambda b: editing.duplicate_filter(b, *slot(b)[:2])),
        ("rename_filter", lambda b: editing.rename_filter(b, *slot(b)[:2], d(text))),
        ("rename_layer", lambda b: editing.rename_layer(b, layer(b), d(text))),
        ("move_filter", move_filter),
        (
            "add_conv_layer",
            lambda b: editing.add_conv_layer(b, None if d(st.booleans()) else layer(b), d(SIZES)),
        ),
        ("add_pool_layer", lambda b: editing.add_pool_layer(b, layer(b), "avg", d(SIZES))),
        ("remove_layer", lambda b: editing.remove_layer(b, layer(b))),
        ("move_layer", lambda b: editing.move_layer(b, layer(b), layer(b))),
        ("set_layer_settings", settings_),
        ("set_input_mode", lambda b: editing.set_input_mode(b, d(st.sampled_from(INPUTS)))),
        ("resize_filter", lambda b: editing.resize_filter(b, *slot(b)[:2], d(SIZES), d(SIZES))),
        ("set_kernel", set_kernel),
        ("copy_kernel", copy_kernel),
        ("set_bias", lambda b: editing.set_bias(b, *slot(b)[:2], d(st.floats(-1.5e6, 1.5e6)))),
    ]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bank=banks(), data=st.data())
def test_any_sequence_of_edits_gives_valid_banks_or_bank_errors(bank, data):
    ops = edits(data)
    img = np.full((12, 12, 3), 0.5, np.float32)
    for _ in range(data.draw(st.integers(1, 8))):
        name, op = data.draw(st.sampled_from(ops))
        try:
            result = op(bank)
        except BankError as e:
            assert str(e) and "\n" not in str(e), name
            event(f"{name} refused")
            continue
        event(f"{name} done")
        assert isinstance(result, Bank), name
        bank = roundtrip(result)
        for n in range(len(bank.layers)):
            editing.describe_layer(bank, n, 12, 12)
            editing.output_size_text(bank, n, 12, 12)
        try:
            bank.output_shapes(12, 12)
        except BankError:
            continue  # shrunk to nothing on this small image: valid, just not runnable here
        bank.apply(img)
