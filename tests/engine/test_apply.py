"""Bank.apply against the float64 reference, and the seeds' worked examples exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import playground
from playground import Bank, BankError
from playground.engine import convolve, direct
from tests.engine import reference


def conv_layer(filters, **settings_):
    return {"type": "conv", **settings_, "filters": filters}


def bank_dict(layers, input_mode="rgb"):
    return {"format": "filter-playground.bank", "version": 1, "input": input_mode, "layers": layers}


def assert_matches_reference(d, image):
    expected = reference.run(d, image)
    assert expected is not None
    outputs, partials = Bank.from_dict(d).apply(image, partials=True)
    assert len(outputs) == len(expected[0])
    for got, want in zip(outputs, expected[0]):
        assert got.dtype == np.float32
        assert got.shape == want.shape
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * scale)
    for got_layer, want_layer in zip(partials, expected[1]):
        if want_layer is None:
            assert got_layer is None
            continue
        for got, want in zip(got_layer, want_layer):
            scale = max(1.0, float(np.abs(want).max()))
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * scale)


# --- the seeds' worked examples --------------------------------------------------------------


def test_one_dimensional_bump_with_identity_kernel():
    image = np.array([[0, 0, 0, 1, 1, 0, 0, 0]], dtype=np.float32)
    bank = Bank.from_dict(bank_dict([conv_layer([{"kernels": [[[0, 1, 0]]]}])], "gray"))
    (out,) = bank.apply(image)
    assert out.shape == (1, 1, 6)
    assert out[0, 0].tolist() == [0, 0, 1, 1, 0, 0]


def test_vertical_line_image_with_vertical_line_detector():
    image = np.zeros((8, 8), np.float32)
    image[:, 3:5] = 1.0
    detector = playground.presets.kernel("vertical-line")
    bank = Bank((playground.ConvLayer((playground.Filter(detector[None]),)),), input="gray")
    (out,) = bank.apply(image)
    assert out.shape == (1, 6, 6)
    for row in out[0]:
        assert row.tolist() == [0, 0, 3, 3, 0, 0]


def test_rgb_filter_output_is_sum_of_its_three_partial_maps_plus_bias():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    kernels = rng.standard_normal((3, 3, 3))
    bank = Bank((playground.ConvLayer((playground.Filter(kernels, bias=0.25),)),))
    (out,), (maps,) = bank.apply(image, partials=True)
    assert maps[0].shape == (3, 28, 38)
    np.testing.assert_allclose(out[0], maps[0].sum(axis=0) + 0.25, rtol=1e-5, atol=1e-5)
    # and each partial map is one channel correlated with its own kernel
    expected = reference.run(
        bank_dict([conv_layer([{"kernels": kernels.tolist(), "bias": 0.25}])]), image
    )
    for c in range(3):
        np.testing.assert_allclose(maps[0][c], expected[1][0][0][c], rtol=1e-4, atol=1e-5)


def test_horizontal_edge_detector_fires_on_bright_to_dark_rows_only():
    image = np.zeros((6, 6), np.float32)
    image[:3] = 1.0  # bright top half, dark bottom half
    detector = playground.presets.kernel("horizontal-edge")
    (out,) = Bank((playground.ConvLayer((playground.Filter(detector[None]),)),), "gray").apply(
        image
    )
    assert out[0].tolist() == [[0] * 4, [3] * 4, [3] * 4, [0] * 4]


# --- input conversion ------------------------------------------------------------------------


def test_uint8_is_scaled_and_gray_is_bt601_luma_of_rgb():
    image = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [51, 102, 153]]], np.uint8)
    identity = {"kernels": [[[1]]]}
    (out,) = Bank.from_dict(bank_dict([conv_layer([identity])], "gray")).apply(image)
    expected = [0.299, 0.587, 0.114, (0.299 * 51 + 0.587 * 102 + 0.114 * 153) / 255]
    np.testing.assert_allclose(out[0, 0], expected, rtol=1e-6)


def test_rgb_channels_stay_in_rgb_order_and_alpha_is_ignored():
    image = np.zeros((2, 2, 4), np.uint8)
    image[..., 0], image[..., 3] = 255, 7
    red_only = {"kernels": [[[1]], [[0]], [[0]]]}
    blue_only = {"kernels": [[[0]], [[0]], [[1]]]}
    (out,) = Bank.from_dict(bank_dict([conv_layer([red_only, blue_only])])).apply(image)
    assert out[0].tolist() == [[1, 1], [1, 1]]
    assert out[1].tolist() == [[0, 0], [0, 0]]


def test_gray_image_into_rgb_bank_feeds_every_channel():
    image = np.full((3, 3), 0.5, np.float32)
    sum_of_channels = {"kernels": [[[1]], [[1]], [[1]]]}
    (out,) = Bank.from_dict(bank_dict([conv_layer([sum_of_channels])])).apply(image)
    np.testing.assert_allclose(out[0], 1.5)


def test_image_with_nan_is_refused():
    image = np.full((4, 4), np.nan)
    bank = Bank.from_dict(bank_dict([conv_layer([{"kernels": [[[1]]]}])], "gray"))
    with pytest.raises(BankError, match="NaN"):
        bank.apply(image)


# --- geometry --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [7, 8, 9, 10])
@pytest.mark.parametrize("k", [2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_same_padding_gives_ceil_size_and_puts_the_extra_pixel_bottom_right(size, k, stride):
    rng = np.random.default_rng(size * 100 + k * 10 + stride)
    image = rng.random((size, size + 1))
    d = bank_dict(
        [
            conv_layer(
                [{"kernels": rng.standard_normal((1, k, k)).tolist()}],
                padding="same",
                stride=stride,
            )
        ],
        "gray",
    )
    (out,) = Bank.from_dict(d).apply(image)
    assert out.shape == (1, -(-size // stride), -(-(size + 1) // stride))
    assert_matches_reference(d, image)


def test_output_shapes_follow_the_formula_and_name_the_layer_that_empties():
    d = bank_dict(
        [
            conv_layer(
                [{"kernels": np.ones((3, 5, 3)).tolist()}],
                stride=[2, 1],
                dilation=2,
                padding=[1, 0],
            ),
            {"type": "pool", "op": "max", "size": 2},
        ]
    )
    bank = Bank.from_dict(d)
    # H: floor((30 + 2 - 2*4 - 1)/2) + 1 = 12; W: floor((40 - 2*2 - 1)/1) + 1 = 36
    assert bank.output_shapes(30, 40) == [(1, 12, 36), (1, 6, 18)]
    with pytest.raises(BankError, match="layer 2"):
        bank.output_shapes(8, 40)  # layer 1 gives 1 row, which the 2x2 pool cannot cover
    with pytest.raises(BankError, match=r"layer 2.*nothing"):
        bank.apply(np.zeros((8, 40, 3), np.uint8))


# --- the engine's special paths, each against the reference ----------------------------------


def test_large_image_with_many_filters_runs_on_the_pool_and_matches():
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (90, 110, 3), dtype=np.uint8)
    filters = [
        {"kernels": rng.standard_normal((3, 5, 5)).tolist(), "bias": float(b)}
        for b in rng.standard_normal(6)
    ]
    d = bank_dict([conv_layer(filters, padding="same", border="reflect", activation="tanh")])
    assert_matches_reference(d, image)


def test_banks_run_from_several_threads_at_once_each_get_their_own_maps():
    """A batch runs images on threads of its own, a script may too: each run takes bands from
    the one engine pool beside the others, and none waits on another's or mixes its maps in."""
    import threading

    rng = np.random.default_rng(11)
    cases = []
    for k in (3, 5, 11):
        image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
        filters = [
            {"kernels": rng.standard_normal((3, k, k)).tolist(), "bias": float(b)}
            for b in rng.standard_normal(4)
        ]
        d = bank_dict([conv_layer(filters, padding="same", activation="relu")])
        cases.append((Bank.from_dict(d), image, reference.run(d, image)[0][0]))
    results: dict[tuple[int, int], np.ndarray] = {}

    def run(t: int) -> None:
        for n in range(6):
            bank, image, _ = cases[(t + n) % len(cases)]
            results[t, n] = bank.apply(image)[0]

    threads = [threading.Thread(target=run, args=(t,)) for t in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert len(results) == 18
    for (t, n), got in results.items():
        want = cases[(t + n) % len(cases)][2]
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * scale)


def test_separable_kernels_and_shared_kernels_match():
    gaussian = playground.presets.kernel("gaussian", size=9, sigma=2.0)
    sobel = playground.presets.kernel("sobel-x")
    rng = np.random.default_rng(8)
    image = rng.integers(0, 256, (80, 96, 3), dtype=np.uint8)
    filters = [
        {"name": "blur everywhere", "kernels": [gaussian.tolist()] * 3},
        {
            "name": "sobel on R and B",
            "kernels": [sobel.tolist(), np.zeros((3, 3)).tolist(), sobel.tolist()],
        },
        {"name": "all zero", "kernels": np.zeros((3, 3, 3)).tolist(), "bias": 0.5},
    ]
    d = bank_dict([conv_layer(filters, padding="same", border="replicate")])
    bank = Bank.from_dict(d)
    bank.apply(image)  # the shared-kernel path (no partials) ...
    assert_matches_reference(d, image)  # ... and the per-channel path
    fast = bank.apply(image)
    expected = reference.run(d, image)[0]
    np.testing.assert_allclose(fast[0], expected[0], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("border", ["zero", "reflect", "replicate", "wrap"])
def test_padding_wider_than_the_kernel_with_every_border(border):
    rng = np.random.default_rng(9)
    image = rng.random((7, 9))
    d = bank_dict(
        [
            conv_layer(
                [{"kernels": rng.standard_normal((1, 2, 3)).tolist()}],
                padding=[4, 5],
                border=border,
            )
        ],
        "gray",
    )
    assert_matches_reference(d, image)


def test_flip_is_true_convolution():
    image = np.zeros((5, 5), np.float32)
    image[2, 2] = 1.0  # an impulse: correlation shows the kernel rotated, convolution upright
    k = np.arange(9, dtype=float).reshape(3, 3)
    layer = {"kernels": [k.tolist()]}
    (corr,) = Bank.from_dict(bank_dict([conv_layer([layer], padding="same")], "gray")).apply(image)
    (conv,) = Bank.from_dict(
        bank_dict([conv_layer([layer], padding="same", flip=True)], "gray")
    ).apply(image)
    np.testing.assert_array_equal(conv[0, 1:4, 1:4], k)
    np.testing.assert_array_equal(corr[0, 1:4, 1:4], k[::-1, ::-1])


# --- random banks against the reference ------------------------------------------------------


@st.composite
def banks_and_images(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mode = draw(st.sampled_from(["rgb", "gray"]))
    h, w = draw(st.integers(1, 18)), draw(st.integers(1, 18))
    channels = 3 if mode == "rgb" else 1
    layers = []
    small = st.integers(1, 3)
    for n in range(draw(st.integers(1, 3))):
        if n > 0 and draw(st.integers(0, 3)) == 0:
            pool = {
                "type": "pool",
                "op": draw(st.sampled_from(["max", "avg"])),
                "size": draw(st.one_of(small, st.lists(small, min_size=2, max_size=2))),
            }
            if draw(st.booleans()):
                pool["stride"] = draw(st.one_of(small, st.lists(small, min_size=2, max_size=2)))
            layers.append(pool)
            continue
        padding = draw(
            st.one_of(
                st.sampled_from(["valid", "same"]),
                st.integers(0, 3),
                st.lists(st.integers(0, 3), min_size=2, max_size=2),
                st.lists(st.integers(0, 4), min_size=4, max_size=4),  # top, bottom, left, right
            )
        )
        size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        # Groups split the channels and the filters alike (depthwise: groups = channels).
        groups = draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0]))
        count = draw(st.integers(1, 3)) if groups == 1 else groups * draw(st.integers(1, 2))
        kernels = channels // groups
        filters = []
        for _ in range(count):
            if padding == "same" and draw(st.booleans()):
                size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
            shape = draw(st.sampled_from(["random", "shared", "rank1", "integers"]))
            if shape == "shared":
                k = np.repeat(rng.standard_normal((1, *size)), kernels, axis=0)
            elif shape == "rank1":
                k = np.einsum(
                    "ci,cj->cij",
                    rng.standard_normal((kernels, size[0])),
                    rng.standard_normal((kernels, size[1])),
                )
            elif shape == "integers":
                k = rng.integers(-2, 3, (kernels, *size)).astype(float)
            else:
                k = rng.standard_normal((kernels, *size))
            filters.append({"kernels": k.tolist(), "bias": float(rng.standard_normal())})
        activation = draw(st.sampled_from(["none", "relu", "leaky-relu", "abs", "sigmoid", "tanh"]))
        slope = {"slope": draw(st.sampled_from([0.0, 0.01, 0.3, 1.0]))}
        layers.append(
            conv_layer(
                filters,
                stride=draw(st.one_of(small, st.lists(small, min_size=2, max_size=2))),
                dilation=draw(st.one_of(small, st.lists(small, min_size=2, max_size=2))),
                padding=padding,
                border=draw(st.sampled_from(["zero", "reflect", "replicate", "wrap"])),
                flip=draw(st.booleans()),
                activation=activation,
                **(slope if activation == "leaky-relu" else {}),
                **({"groups": groups} if groups != 1 else {}),
            )
        )
        channels = len(filters)
    if draw(st.booleans()):
        image = rng.integers(0, 256, (h, w, 3) if draw(st.booleans()) else (h, w), dtype=np.uint8)
    else:
        image = rng.random((h, w, 3)).astype(np.float32)
    return bank_dict(layers, mode), image


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(banks_and_images())
def test_random_banks_match_the_float64_reference(case):
    d, image = case
    if reference.run(d, image) is None:
        with pytest.raises(BankError, match="nothing"):
            Bank.from_dict(d).apply(image)
    else:
        assert_matches_reference(d, image)
        # The live view's path (no partials: shared-channel sums, the DFT for large kernels).
        expected = reference.run(d, image)[0]
        for got, want in zip(Bank.from_dict(d).run(image).outputs, expected, strict=True):
            scale = max(1.0, float(np.abs(want).max()))
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * scale)


def test_run_gives_outputs_and_only_the_selected_filters_partials():
    rng = np.random.default_rng(11)
    image = rng.integers(0, 256, (70, 80, 3), dtype=np.uint8)
    d = bank_dict(
        [
            conv_layer(
                [
                    {"kernels": rng.standard_normal((3, 3, 3)).tolist(), "bias": 0.5}
                    for _ in range(3)
                ],
                padding="same",
                activation="relu",
            ),
            {"type": "pool", "size": 2},
            conv_layer([{"kernels": rng.standard_normal((3, 5, 5)).tolist()} for _ in range(2)]),
        ]
    )
    expected_outputs, expected_partials = reference.run(d, image)
    bank = Bank.from_dict(d)
    for layer, filt in [(0, 1), (2, 0), (2, 1)]:
        run = bank.run(image, selected=(layer, filt))
        np.testing.assert_allclose(run.inputs, reference.input_planes(image, "rgb"), atol=1e-6)
        for got, want in zip(run.outputs, expected_outputs):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(
            run.partials, expected_partials[layer][filt], rtol=1e-4, atol=1e-4
        )
    assert bank.run(image, selected=(1, 0)).partials is None  # a pool layer has no kernels
    assert bank.run(image).partials is None


def _edits(bank: Bank, rng: np.random.Generator) -> list[Bank]:
    """Edits a user makes between two frames: a weight, a bias, a layer setting, filters."""
    from playground.engine import editing

    convs = [n for n, layer in enumerate(bank.layers) if hasattr(layer, "filters")]
    n = int(rng.choice(convs))
    layer = bank.layers[n]
    f = int(rng.integers(len(layer.filters)))
    kernel = np.array(layer.filters[f].kernels[0])
    kernel.flat[int(rng.integers(kernel.size))] += 0.5
    edits = [
        editing.set_kernel(bank, n, f, 0, kernel),
        editing.set_bias(bank, n, f, float(layer.filters[f].bias) - 0.25),
        editing.rename_filter(bank, n, f, "renamed"),
        editing.set_layer_settings(bank, n, activation="abs"),
        editing.duplicate_filter(bank, n, f),
        bank,
    ]
    if len(layer.filters) > 1:
        edits.append(editing.remove_filter(bank, n, f))
    return edits


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(banks_and_images(), st.integers(0, 2**32 - 1))
def test_a_run_reusing_an_earlier_one_equals_a_fresh_run(case, seed):
    # The live view reuses the previous frame's maps after an edit on a frozen frame: what it
    # shows must be what a fresh run (and the float64 reference) gives for the edited bank.
    d, image = case
    bank = Bank.from_dict(d)
    if reference.run(d, image) is None:
        return
    rng = np.random.default_rng(seed)
    earlier = bank.run(image)
    for edited in _edits(bank, rng):
        expected = reference.run(edited.to_dict(), image)
        if expected is None:
            continue
        layers = [n for n, layer in enumerate(edited.layers) if hasattr(layer, "filters")]
        n = int(rng.choice(layers))
        selected = (n, int(rng.integers(len(edited.layers[n].filters))))
        run = edited.run(image, selected, reuse=earlier)
        for got, want in zip(run.outputs, expected[0], strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(run.partials, expected[1][n][selected[1]], rtol=1e-4, atol=1e-4)
        for layer, filt in run.reused:
            np.testing.assert_array_equal(run.outputs[layer][filt], earlier.outputs[layer][filt])


def test_an_unchanged_bank_reuses_every_map_and_a_weight_edit_recomputes_one_filter():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    d = bank_dict(
        [
            conv_layer(
                [{"kernels": rng.standard_normal((3, 3, 3)).tolist()} for _ in range(4)],
                padding="same",
            ),
            conv_layer([{"kernels": rng.standard_normal((4, 3, 3)).tolist()} for _ in range(2)]),
        ]
    )
    bank = Bank.from_dict(d)
    first = bank.run(image)
    again = bank.run(image, reuse=first)
    assert again.reused == {(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)}
    assert again.outputs[1] is first.outputs[1]

    from playground.engine import editing

    edited = editing.set_bias(bank, 0, 2, 1.0)
    run = edited.run(image, reuse=first)
    assert run.reused == {(0, 0), (0, 1), (0, 3)}  # layer 2's input changed: all recomputed
    expected = reference.run(edited.to_dict(), image)[0]
    for got, want in zip(run.outputs, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)

    gray = editing.set_input_mode(bank, "gray")  # another input: nothing is reused
    assert gray.run(image, reuse=first).reused == frozenset()


@pytest.mark.parametrize("border", ["zero", "reflect", "replicate", "wrap"])
@pytest.mark.parametrize(
    ("padding", "stride", "dilation", "shape"),
    [
        ("same", 1, 1, (11, 11)),
        ("valid", [2, 1], 1, (10, 12)),
        ([3, 7], [1, 3], 1, (11, 11)),
        ("same", 2, [2, 1], (10, 10)),
        ("same", [2, 1], [1, 2], (13, 13)),
    ],
)
@pytest.mark.parametrize("path", ["compiled rows", "DFT blocks"])
def test_large_kernels_match_the_reference(
    border, padding, stride, dilation, shape, path, monkeypatch
):
    # Kernels of 100+ weights that are not separable take the compiled row loop up to 13x13,
    # and the DFT past it or (a column stride) in its place: every border, padding, stride and
    # dilation must give what the float64 loop gives.
    if path == "DFT blocks":
        monkeypatch.setattr(direct, "MAX_TAPS", direct.CHANNEL_MAX_TAPS)
    rng = np.random.default_rng(21)
    image = rng.integers(0, 256, (37, 45, 3), dtype=np.uint8)
    d = bank_dict(
        [
            conv_layer(
                [
                    {"kernels": rng.standard_normal((3, *shape)).tolist(), "bias": 0.3},
                    # the same kernel on every channel: its planes are summed first
                    {"kernels": [rng.standard_normal(shape).tolist()] * 3, "bias": -0.2},
                    # one all-zero channel
                    {
                        "kernels": [
                            np.zeros(shape).tolist(),
                            *rng.standard_normal((2, *shape)).tolist(),
                        ]
                    },
                ],
                padding=padding,
                stride=stride,
                dilation=dilation,
                border=border,
                flip=True,
                activation="tanh",
            )
        ]
    )
    bank = Bank.from_dict(d)
    compiled = path == "compiled rows" and bank.layers[0].stride[1] == 1
    assert convolve.compile_conv(bank.layers[0]).packed(0) == compiled
    assert_matches_reference(d, image)
    expected = reference.run(d, image)[0][0]
    run = bank.run(image, selected=(0, 1))  # the story filter takes the direct path
    np.testing.assert_allclose(run.outputs[0], expected, rtol=1e-4, atol=1e-4)


def test_leaky_relu_keeps_a_slope_of_the_negative_values_and_its_file_says_so(tmp_path):
    from playground import load_bank, save_bank

    rng = np.random.default_rng(12)
    image = rng.integers(0, 256, (21, 17, 3), dtype=np.uint8)
    d = bank_dict(
        [
            conv_layer(
                [{"kernels": rng.standard_normal((3, 3, 3)).tolist(), "bias": -0.5}],
                padding="same",
                activation="leaky-relu",
                slope=0.2,
            )
        ]
    )
    assert_matches_reference(d, image)
    bank = Bank.from_dict(d)
    out = bank.apply(image)[0][0]
    assert out.min() < 0  # the negative side is kept, scaled
    probe = bank.probe(image, 1, 1, 4, 5)
    assert probe.value == pytest.approx(float(out[4, 5]), abs=1e-5)
    assert probe.activation == "leaky-relu" and probe.slope == 0.2
    path = tmp_path / "leaky.json"
    save_bank(bank, path)
    assert '"slope": 0.2' in path.read_text()
    assert load_bank(path) == bank
    # Other activations write no slope: their files read as before.
    relu = dict(d, layers=[dict(d["layers"][0], activation="relu", slope=0.01)])
    save_bank(Bank.from_dict(relu), path)
    assert "slope" not in path.read_text()
    for bad in (-0.1, 1.5, "steep"):
        with pytest.raises(BankError, match="slope"):
            Bank.from_dict(dict(d, layers=[dict(d["layers"][0], slope=bad)]))
