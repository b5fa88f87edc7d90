"""The compiled loops (engine/direct.py) that run every small kernel: sums, borders, strides,
dilation, groups and the story filter, against the float64 reference."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from playground import Bank
from playground.engine import convolve, direct
from playground.engine.bank import ConvLayer, image_planes
from tests.engine import reference
from tests.engine.test_apply import bank_dict, conv_layer

RNG = np.random.default_rng(7)
IMAGE = RNG.integers(0, 256, (37, 53, 3), dtype=np.uint8)  # odd sizes: a short last band


def random_filters(n, channels, kh, kw, rng):
    return [
        {
            "kernels": rng.standard_normal((channels, kh, kw)).round(3).tolist(),
            "bias": round(float(rng.standard_normal()), 3),
        }
        for _ in range(n)
    ]


def assert_compiled_matches_reference(d, image=IMAGE):
    bank = Bank.from_dict(d)
    for layer in bank.layers:
        if isinstance(layer, ConvLayer):
            plan = convolve.compile_conv(layer)
            # The point of this file: these filters do run through the compiled loops.
            assert all(plan.packed(o) for o in range(len(layer.filters)))
    expected = reference.run(d, image)
    assert expected is not None
    outputs = bank.apply(image)[-1]
    for got, want in zip(outputs, expected[0][-1], strict=True):
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * scale)


@pytest.mark.parametrize(
    "channels, kh, kw",
    [
        *[(3, 3, 3), (1, 5, 5), (3, 1, 1), (2, 3, 4), (3, 5, 5), (8, 3, 3), (4, 1, 5), (3, 2, 2)],
        # past 25 taps a channel: one kernel row at a time
        *[(3, 7, 7), (3, 11, 11), (1, 13, 13), (3, 9, 3), (2, 3, 13), (4, 6, 5)],
    ],
)
@pytest.mark.parametrize("border", ["zero", "reflect", "replicate", "wrap"])
def test_compiled_kernels_sum_every_channel_and_tap(channels, kh, kw, border):
    rng = np.random.default_rng(channels * 100 + kh * 10 + kw)
    first = conv_layer(random_filters(channels, 3, 3, 3, rng), padding="same")
    layer = conv_layer(
        random_filters(5, channels, kh, kw, rng), padding="same", border=border, activation="relu"
    )
    layers = [layer] if channels == 3 else [first, layer]
    assert_compiled_matches_reference(bank_dict(layers))


@pytest.mark.parametrize("count", [1, 2, 8, 13, 16])
@pytest.mark.parametrize("channels, k", [(3, 3), (3, 5), (8, 3)])
def test_filters_sum_in_groups_of_eight_and_a_last_group_of_the_rest(count, channels, k):
    # A group of fewer filters makes more rows a pass; IMAGE's odd height leaves rows over, and
    # its width ends in a part of a vector.
    rng = np.random.default_rng(count * 10 + k)
    first = conv_layer(random_filters(channels, 3, 3, 3, rng), padding="same")
    layer = conv_layer(
        random_filters(count, channels, k, k, rng), padding="same", activation="relu"
    )
    layers = [layer] if channels == 3 else [first, layer]
    assert_compiled_matches_reference(bank_dict(layers))


NARROWER_VECTORS = """
import llvmlite.binding as llvm, numpy as np
features = [f if "avx512" not in f else "-" + f[1:] for f in llvm.get_host_cpu_features().flatten().split(",")]
import os
os.environ["NUMBA_CPU_FEATURES"] = ",".join(features)
from playground.engine import direct
direct.compile_in_background(False)
rng = np.random.default_rng(2)
x = rng.standard_normal((3, 11, 45)).astype(np.float32)
w = rng.standard_normal((11, 3, 3, 3)).astype(np.float32)
b = rng.standard_normal(11).astype(np.float32)
out = np.zeros((11, 9, 43), np.float32)
direct.correlator(3, 3, 3, 1, 1, 1, True, 11)(x, 0, w, b, out, np.arange(11), 0, 9)
want = np.zeros(out.shape)
for f in range(11):
    for y in range(9):
        for ox in range(43):
            want[f, y, ox] = b[f] + sum(
                float(w[f, c, i, j]) * float(x[c, y + i, ox + j])
                for c in range(3) for i in range(3) for j in range(3)
            )
print(direct._lanes(), float(np.abs(out - np.maximum(want, 0)).max()))
"""


def test_on_a_cpu_without_avx512_the_filters_sum_in_narrower_vectors_alike(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", NARROWER_VECTORS],
        cwd=Path(__file__).parents[2],
        env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lanes, error = done.stdout.split()
    assert lanes == ("8" if "+avx" in llvm_features() else "4")
    assert float(error) < 1e-5


def llvm_features() -> set[str]:
    import llvmlite.binding as llvm

    return set(llvm.get_host_cpu_features().flatten().split(","))


@pytest.mark.parametrize(
    "settings",
    [
        {"stride": [2, 1], "padding": "same", "activation": "relu"},
        {"stride": [3, 1], "padding": "valid"},
        {"dilation": [2, 3], "padding": "same", "activation": "tanh"},
        {"dilation": 2, "stride": [2, 1], "padding": [3, 0, 1, 4], "border": "reflect"},
        {"padding": [0, 2, 2, 0], "flip": True},
        {"padding": [4, 4, 5, 5]},  # wider than the kernel
    ],
)
@pytest.mark.parametrize("channels, k", [(3, 3), (3, 5), (3, 7)])
def test_row_strides_dilation_padding_and_flip(settings, channels, k):
    rng = np.random.default_rng(k)
    layer = conv_layer(random_filters(4, channels, k, k, rng), **settings)
    assert_compiled_matches_reference(bank_dict([layer]))


def test_large_separable_or_shared_kernels_keep_opencvs_fewer_multiply_adds():
    rng = np.random.default_rng(8)
    tent = np.array([1, 2, 3, 4, 5, 4, 3, 2, 1])
    blur = np.outer(tent, tent)  # rank 1 in exact integers
    kernels = [
        rng.standard_normal((3, 9, 9)),  # every tap of every channel: the compiled loop
        np.stack([blur, 2 * blur, -blur]),  # separable: two 1-D passes a channel
        np.stack(3 * [rng.standard_normal((9, 9))]),  # one kernel for R, G, B: summed first
    ]
    filters = [{"kernels": k.tolist(), "bias": 0.5} for k in kernels]
    d = bank_dict([conv_layer(filters, padding="same")])
    plan = convolve.compile_conv(Bank.from_dict(d).layers[0])
    assert [plan.packed(o) for o in range(3)] == [True, False, False]
    want = reference.run(d, IMAGE)[0][-1]
    for got, expected in zip(Bank.from_dict(d).apply(IMAGE)[-1], want, strict=True):
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=2e-5 * scale)


def test_groups_read_their_own_channels():
    rng = np.random.default_rng(3)
    first = conv_layer(random_filters(6, 3, 3, 3, rng), padding="same")
    grouped = conv_layer(random_filters(4, 3, 3, 3, rng), padding="same", groups=2)
    assert_compiled_matches_reference(bank_dict([first, grouped]))


def test_gray_input():
    rng = np.random.default_rng(4)
    layer = conv_layer(random_filters(3, 1, 5, 5, rng), padding="same")
    assert_compiled_matches_reference(bank_dict([layer], input_mode="gray"))


def test_a_column_stride_keeps_the_opencv_path_and_the_same_numbers():
    rng = np.random.default_rng(5)
    d = bank_dict([conv_layer(random_filters(3, 3, 3, 3, rng), stride=2, padding="same")])
    bank = Bank.from_dict(d)
    assert not convolve.compile_conv(bank.layers[0]).packed(0)
    want = reference.run(d, IMAGE)[0][-1]
    np.testing.assert_allclose(bank.apply(IMAGE)[-1], want, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize(
    "channels, k, activation, stride",
    [
        (3, 3, "none", 1),
        (3, 3, "relu", 1),
        (3, 5, "tanh", 1),
        (3, 3, "relu", 2),
        (1, 3, "abs", 1),
        (3, 9, "relu", 1),
    ],
)
def test_the_story_filter_leaves_its_pack_and_every_map_stays_right(
    channels, k, activation, stride
):
    rng = np.random.default_rng(6)
    layer = conv_layer(
        random_filters(6, channels, k, k, rng),
        padding="same",
        activation=activation,
        stride=[stride, 1],
    )
    mode = "rgb" if channels == 3 else "gray"
    d = bank_dict([layer], mode)
    bank = Bank.from_dict(d)
    plan = bank._compiled[0]
    assert plan.packed(2)
    out, maps = convolve.run_conv(plan, image_planes(IMAGE, mode), story=2)
    expected_maps, expected_partials = reference.run(d, IMAGE)
    for got, want in zip(out, expected_maps[-1]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5)
    partials = expected_partials[0][2]
    bias = bank.layers[0].filters[2].bias
    story = maps[2]
    assert story is not None and len(story) == channels + 2
    np.testing.assert_allclose(story[:channels], partials, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(story[channels], partials.sum(axis=0), rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(story[channels + 1], partials.sum(axis=0) + bias, atol=2e-5)


@pytest.mark.parametrize("size", [(31, 47), (131, 67)])  # one band; bands on the pool
def test_a_camera_frame_converts_to_planes_in_one_pass(size):
    frame = RNG.integers(0, 256, (*size, 3), dtype=np.uint8)
    planes = image_planes(frame, "rgb")
    want = reference.input_planes(frame, "rgb")
    assert planes.dtype == np.float32 and planes.shape == (3, *size)
    np.testing.assert_allclose(planes, want, rtol=1e-7, atol=0)
    assert planes[:, 0, 0].tolist() == pytest.approx((frame[0, 0] / 255).tolist(), rel=1e-7)


@pytest.mark.parametrize(
    "sizes, padding",
    [
        ([3], "same"),  # the frame converts into zero-bordered planes
        ([5], [0, 4, 3, 1]),  # a border of its own width on each side
        ([3, 5], "same"),  # packs that pad apart: the planes are padded for each
    ],
)
@pytest.mark.parametrize(
    "conversion", ["compiled", "split over the pool", "numpy while it compiles"]
)
def test_a_camera_frame_padded_as_it_converts_gives_the_reference_maps_and_edits(
    sizes, padding, conversion, monkeypatch
):
    if conversion == "split over the pool":  # as a large frame is
        monkeypatch.setattr(convolve, "_PARALLEL_CONVERSION_PIXELS", 0)
    if conversion == "numpy while it compiles":
        loop = direct.compiled

        def compiling(build, *args, wait=None):
            return None if build is direct._rgb_planes else loop(build, *args, wait=wait)

        monkeypatch.setattr(direct, "compiled", compiling)
    rng = np.random.default_rng(12)
    frame = rng.integers(0, 256, (97, 131, 3), dtype=np.uint8)
    filters = [f for k in sizes for f in random_filters(3, 3, k, k, rng)]
    d = bank_dict([conv_layer(filters, padding=padding, activation="relu")])
    assert_compiled_matches_reference(d, frame)
    # An edit reruns one filter on the planes of the run before, padded as they were.
    bank = Bank.from_dict(d)
    before = bank.run(frame, (0, 1))
    filters[1]["kernels"] = rng.standard_normal(np.shape(filters[1]["kernels"])).tolist()
    d = bank_dict([conv_layer(filters, padding=padding, activation="relu")])
    run = Bank.from_dict(d).run(frame, (0, 1), reuse=before)
    expected, partials = reference.run(d, frame)
    assert (0, 1) not in run.reused
    np.testing.assert_allclose(run.outputs[0], expected[0], rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(run.partials, partials[0][1], rtol=1e-4, atol=2e-5)


def test_kernels_past_13x13_are_not_compiled():
    assert direct.eligible(5, 5, 1) and direct.eligible(1, 25, 1) and direct.eligible(13, 13, 1)
    assert not direct.eligible(15, 15, 1) and not direct.eligible(3, 15, 1)
    assert not direct.eligible(3, 3, 2)
