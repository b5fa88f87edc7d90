"""Learning a filter: least squares recovers a known kernel; gradient descent walks to it."""

from __future__ import annotations

import numpy as np
import pytest

from playground import Bank, BankError, ConvLayer
from playground.engine.learn import KernelDescent, canny_target, fit_kernel
from tests.engine import reference


def image(seed=0, shape=(32, 40, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def reference_output(img, kernels, bias, input_mode, padding, border="reflect"):
    layer = {
        "type": "conv",
        "padding": padding,
        "border": border,
        "filters": [{"kernels": kernels.tolist(), "bias": bias}],
    }
    d = {"format": "filter-playground.bank", "version": 1, "input": input_mode, "layers": [layer]}
    outputs, _ = reference.run(d, img)
    return outputs[0][0]


@pytest.mark.parametrize(
    ("input_mode", "size", "padding"),
    [
        ("rgb", (3, 3), "same"),
        ("rgb", (3, 3), "valid"),
        ("gray", (5, 5), "same"),
        ("gray", (5, 5), "valid"),
        ("rgb", (2, 4), "same"),  # even sizes: the extra padding pixel goes bottom/right
    ],
)
def test_fit_recovers_a_known_kernel(input_mode, size, padding):
    rng = np.random.default_rng(1)
    channels = 3 if input_mode == "rgb" else 1
    kernels = rng.standard_normal((channels, *size))
    img = image(2)
    target = reference_output(img, kernels, 0.3, input_mode, padding)
    f = fit_kernel(img, target, size=size, input=input_mode, padding=padding)
    assert f.kernels.shape == (channels, *size)
    np.testing.assert_allclose(f.kernels, kernels, atol=1e-6)
    assert f.bias == pytest.approx(0.3, abs=1e-6)


@pytest.mark.parametrize("border", ["zero", "replicate", "wrap"])
def test_fit_follows_the_border(border):
    kernels = np.random.default_rng(4).standard_normal((1, 3, 3))
    img = image(5, (20, 24))
    target = reference_output(img, kernels, 0.0, "gray", "same", border)
    f = fit_kernel(img, target, 3, input="gray", border=border, bias=False)
    np.testing.assert_allclose(f.kernels, kernels, atol=1e-6)
    assert f.bias == 0.0


def test_fitted_filter_reproduces_its_target_in_the_engine():
    kernels = np.random.default_rng(6).standard_normal((3, 3, 3))
    img = image(7)
    target = reference_output(img, kernels, -0.1, "rgb", "same")
    f = fit_kernel(img, target)
    (out,) = Bank((ConvLayer((f,), padding="same", border="reflect"),)).apply(img)
    np.testing.assert_allclose(out[0], target, atol=1e-4)


def test_ridge_shrinks_the_kernel():
    img = image(8)
    target = canny_target(img)
    plain = fit_kernel(img, target, 3)
    shrunk = fit_kernel(img, target, 3, ridge=1.0)
    assert np.abs(shrunk.kernels).sum() < np.abs(plain.kernels).sum()
    with pytest.raises(BankError, match="ridge"):
        fit_kernel(img, target, 3, ridge=-1)


def test_subsampling_is_repeatable(monkeypatch):
    from playground.engine import learn

    monkeypatch.setattr(learn, "MAX_ROWS", 300)
    img = image(9)
    target = canny_target(img)
    a, b = fit_kernel(img, target, 3), fit_kernel(img, target, 3)
    assert a == b


def design_matrix(img, kh, kw):
    """Rows (C*kh*kw patch, 1) for every output pixel of a 'same', reflect-padded layer."""
    x = reference.input_planes(img, "rgb")
    top, left = (kh - 1) // 2, (kw - 1) // 2
    xp = np.pad(x, ((0, 0), (top, kh - 1 - top), (left, kw - 1 - left)), mode="reflect")
    rows = []
    for y in range(x.shape[1]):
        for col in range(x.shape[2]):
            rows.append([*xp[:, y : y + kh, col : col + kw].ravel(), 1.0])
    return np.array(rows)


def test_a_fit_summed_over_many_blocks_is_the_least_squares_answer(monkeypatch):
    # Big images are reduced a block of rows at a time; 7 rows a block here (32x40 = 183
    # blocks, the last one short). The target is a filter's output plus noise, so no kernel
    # fits it exactly and every pixel's row moves the answer.
    from playground.engine import learn

    kernels = np.random.default_rng(15).standard_normal((3, 3, 3))
    img = image(16)
    target = reference_output(img, kernels, 0.4, "rgb", "same")
    target = target + 0.1 * np.random.default_rng(16).standard_normal(target.shape)
    expected = np.linalg.lstsq(design_matrix(img, 3, 3), target.ravel(), rcond=None)[0]
    monkeypatch.setattr(learn, "BLOCK", 7 * 29)
    f = fit_kernel(img, target)
    np.testing.assert_allclose(f.kernels.ravel(), expected[:-1], atol=1e-9)
    assert f.bias == pytest.approx(expected[-1], abs=1e-9)


def test_descent_losses_are_the_mean_squared_error_of_its_filter():
    # The loss is computed from the normal equations; it must be what the filter's output,
    # from the float64 reference, actually misses the target by.
    img = image(17, (16, 20, 3))
    target = canny_target(img)
    gd = KernelDescent(img, target, 3, init="random", seed=2)
    for _ in range(3):
        gd.step(7)
        f = gd.filter()
        out = reference_output(img, np.asarray(f.kernels, np.float64), f.bias, "rgb", "same")
        assert gd.losses[-1] == pytest.approx(float(np.mean((out - target) ** 2)), rel=1e-6)


def test_mismatched_target_size_names_both_sizes():
    img = image(3)
    with pytest.raises(BankError, match=r"target is 32x40.*30x38"):
        fit_kernel(img, np.zeros((32, 40)), 3, padding="valid")
    with pytest.raises(BankError, match=r"target is 10x10.*32x40"):
        KernelDescent(img, np.zeros((10, 10)), 3)
    with pytest.raises(BankError, match="leaves nothing"):
        fit_kernel(img[:2], np.zeros((1, 1)), 3, padding="valid")


def test_uint8_and_rgb_targets_are_scaled_and_made_gray():
    img = image(10)
    gray = np.random.default_rng(11).integers(0, 256, (32, 40), dtype=np.uint8)
    a = fit_kernel(img, gray, 3)
    b = fit_kernel(img, gray / 255.0, 3)
    c = fit_kernel(img, np.stack([gray] * 3, axis=2), 3)
    np.testing.assert_allclose(a.kernels, b.kernels, atol=1e-9)
    np.testing.assert_allclose(a.kernels, c.kernels, atol=1e-9)


def test_descent_loss_falls_at_every_step_and_reaches_the_fit():
    img = image(12, (16, 20))
    kernels = np.random.default_rng(13).standard_normal((1, 3, 3))
    target = reference_output(img, kernels, 0.2, "gray", "same")
    gd = KernelDescent(img, target, 3, input="gray", init="random", seed=1)
    gd.step(200)
    losses = np.array(gd.losses)
    assert len(losses) == 201
    assert np.all(np.diff(losses) < 0)
    gd.step(4000)
    best = fit_kernel(img, target, 3, input="gray")
    np.testing.assert_allclose(gd.kernel, best.kernels, atol=1e-2)
    assert gd.bias == pytest.approx(best.bias, abs=1e-2)
    f = gd.filter()
    assert f.kernels.shape == (1, 3, 3)


def test_descent_rgb_zeros_init_and_explicit_rate():
    img = image(14, (16, 20, 3))
    target = canny_target(img)
    gd = KernelDescent(img, target, 3, padding="same")
    assert gd.losses[0] == pytest.approx(float(np.mean(target**2)))
    loss = gd.step(50)
    assert loss == gd.losses[-1] < gd.losses[0]
    assert gd.kernel.shape == (3, 3, 3)
    with pytest.raises(BankError, match="learning rate"):
        KernelDescent(img, target, 3, learning_rate=0)


def test_canny_target_marks_the_boundary_of_half_black_half_white():
    img = np.zeros((32, 40), np.uint8)
    img[:, 20:] = 255
    edges = canny_target(img)
    assert edges.shape == (32, 40)
    assert edges.dtype == np.float32
    assert set(np.unique(edges)) == {0.0, 1.0}
    cols = np.nonzero(edges.any(axis=0))[0]
    assert set(cols) <= {19, 20}
    assert edges[:, 19:21].any(axis=1).all()  # every row has its edge pixel
    # the same image as RGB and as float gives the same map
    np.testing.assert_array_equal(canny_target(np.stack([img] * 3, axis=2)), edges)
    np.testing.assert_array_equal(canny_target(img / 255.0), edges)
