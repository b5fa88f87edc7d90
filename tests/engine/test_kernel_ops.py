"""Typed weights and whole-kernel operations (playground.engine.kernel_ops).

Expected values are written here independently: literal numbers, numpy one-liners and loops.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from playground.engine import kernel_ops
from playground.engine.bank import MAX_WEIGHT
from playground.engine.errors import BankError

PARSED = [
    ("2", 2.0),
    ("-2", -2.0),
    ("0.25", 0.25),
    (".5", 0.5),
    ("5.", 5.0),
    ("1/9", 1 / 9),
    ("-1/8", -0.125),
    ("1/-8", -0.125),
    (" 1 / 3 ", 1 / 3),
    ("1e-3", 0.001),
    ("2.5E2", 250.0),
    (" 3 ", 3.0),
    ("+1", 1.0),
    ("\u22122", -2.0),  # typographic minus
    ("\u22121/9", -1 / 9),
    ("0", 0.0),
    ("1000000", 1e6),
    ("-1e6", -1e6),
    ("1e-400", 0.0),  # underflow is a (tiny) number, not an error
]

REFUSED = [
    ("abc", "'abc' is not a number"),
    ("1/0", "division by zero in '1/0'"),
    ("nan", "'nan' is not a finite number"),
    ("-inf", "'-inf' is not a finite number"),
    ("Infinity", "'Infinity' is not a finite number"),
    ("1e9", "1e9 is too large (at most ±1e6)"),
    ("1000001", "1000001 is too large (at most ±1e6)"),
    ("1e400", "1e400 is too large (at most ±1e6)"),
    ("1e300/1e-300", "1e300/1e-300 is too large (at most ±1e6)"),
    ("1/2/3", "'1/2/3' is not a number"),
    ("2*3", "'2*3' is not a number"),
    ("__import__('os')", "'__import__('os')' is not a number"),
    ("0x10", "'0x10' is not a number"),
    ("1_000", "'1_000' is not a number"),
    ("--1", "'--1' is not a number"),
    ("1 2", "'1 2' is not a number"),
    ("1e", "'1e' is not a number"),
    (".", "'.' is not a number"),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parse_weight_accepts(text, expected):
    assert kernel_ops.parse_weight(text) == expected


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_parse_weight_refuses_with_one_line_reason(text, message):
    with pytest.raises(BankError) as caught:
        kernel_ops.parse_weight(text)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text", ["", "   "])
def test_parse_weight_refuses_empty_text(text):
    with pytest.raises(BankError, match="empty cell is not a number"):
        kernel_ops.parse_weight(text)


@settings(max_examples=300)
@given(st.floats(min_value=-MAX_WEIGHT, max_value=MAX_WEIGHT, allow_nan=False))
def test_parse_weight_reads_repr_back_exactly(x):
    assert kernel_ops.parse_weight(repr(x)) == x


@settings(max_examples=200)
@given(
    st.integers(min_value=-1000, max_value=1000),
    st.integers(min_value=1, max_value=1000),
)
def test_parse_weight_fraction_is_true_division(numerator, denominator):
    assert kernel_ops.parse_weight(f"{numerator}/{denominator}") == numerator / denominator


def test_check_weight():
    assert kernel_ops.check_weight(0.5) == 0.5
    with pytest.raises(BankError, match=r"^'nan' is not a finite number$"):
        kernel_ops.check_weight(math.nan)
    with pytest.raises(BankError, match=r"^1e9 is too large \(at most ±1e6\)$"):
        kernel_ops.check_weight(1e9)


# -- operations -------------------------------------------------------------------------------

K = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])

finite_kernels = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9),
    elements=st.floats(-1000, 1000, allow_nan=False, allow_subnormal=False),
)


def test_flips_rotate_transpose_literal():
    assert np.array_equal(kernel_ops.flip_horizontal(K), [[3, 2, 1], [6, 5, 4]])
    assert np.array_equal(kernel_ops.flip_vertical(K), [[4, 5, 6], [1, 2, 3]])
    # Counter-clockwise on screen: the top-right weight moves to the top-left.
    assert np.array_equal(kernel_ops.rotate90(K), [[3, 6], [2, 5], [1, 4]])
    assert np.array_equal(kernel_ops.transpose(K), [[1, 4], [2, 5], [3, 6]])


@pytest.mark.parametrize(
    "operation",
    [
        kernel_ops.flip_horizontal,
        kernel_ops.flip_vertical,
        kernel_ops.rotate90,
        kernel_ops.transpose,
        kernel_ops.normalize_sum,
        kernel_ops.make_zero_sum,
    ],
)
def test_operations_return_new_writable_float64_arrays(operation):
    source = K.copy()
    source.setflags(write=False)  # like a bank's kernels
    result = operation(source)
    assert result.dtype == np.float64
    assert result.flags.writeable and result.flags.c_contiguous
    assert not np.shares_memory(result, source)
    assert np.array_equal(source, K)


def test_normalize_sum_and_zero_sum_literal():
    assert np.allclose(kernel_ops.normalize_sum(K), K / 21)
    assert np.allclose(kernel_ops.make_zero_sum(K), K - 3.5)
    assert kernel_ops.dc_gain(K) == 21.0


def test_normalize_sum_refuses_zero_sum_kernel():
    sobel = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    with pytest.raises(BankError) as caught:
        kernel_ops.normalize_sum(sobel)
    assert str(caught.value) == "the kernel sums to 0; it cannot be normalised to 1"


def test_normalize_sum_refuses_weights_beyond_the_bank_limit():
    nearly_zero_sum = np.array([[1.0, -1.0 + 1e-9]])
    with pytest.raises(BankError, match="normalising would make a weight of"):
        kernel_ops.normalize_sum(nearly_zero_sum)


def test_operations_refuse_non_2d():
    with pytest.raises(BankError, match="2-D"):
        kernel_ops.rotate90(np.zeros((2, 3, 3)))


@settings(max_examples=200)
@given(finite_kernels)
def test_rotate90_four_times_is_identity(k):
    out = k
    for _ in range(4):
        out = kernel_ops.rotate90(out)
    assert np.array_equal(out, k)


@settings(max_examples=200)
@given(finite_kernels)
def test_flips_and_transpose_are_involutions(k):
    for operation in (kernel_ops.flip_horizontal, kernel_ops.flip_vertical, kernel_ops.transpose):
        assert np.array_equal(operation(operation(k)), k)


@settings(max_examples=200)
@given(finite_kernels)
def test_normalize_sum_gives_sum_one(k):
    total = k.sum()
    if abs(total) < 1e-3 * max(1.0, np.abs(k).sum()):
        return  # near-cancelling sums are covered by the refusal tests
    out = kernel_ops.normalize_sum(k)
    assert out.sum() == pytest.approx(1.0, abs=1e-9)
    assert np.allclose(out * total, k)


@settings(max_examples=200)
@given(finite_kernels)
def test_make_zero_sum_gives_sum_zero(k):
    out = kernel_ops.make_zero_sum(k)
    assert abs(out.sum()) <= 1e-9 * max(1.0, np.abs(k).sum())


# -- resize -----------------------------------------------------------------------------------


def test_resize_pads_and_crops_around_the_centre_literal():
    k3 = np.arange(1.0, 10.0).reshape(3, 3)
    grown = kernel_ops.resize(k3, 5, 5)
    expected = np.zeros((5, 5))
    expected[1:4, 1:4] = k3
    assert np.array_equal(grown, expected)
    assert np.array_equal(kernel_ops.resize(k3, 1, 1), [[5.0]])
    # Odd to even: the extra row/column goes at the bottom/right; the centre stays the anchor.
    assert np.array_equal(
        kernel_ops.resize(k3, 4, 4),
        [[1, 2, 3, 0], [4, 5, 6, 0], [7, 8, 9, 0], [0, 0, 0, 0]],
    )
    # Even side: its centre is index (n - 1) // 2, the engine's anchor for "same" padding.
    k4 = np.arange(16.0).reshape(4, 4)
    assert np.array_equal(kernel_ops.resize(k4, 3, 3), k4[:3, :3])
    assert np.array_equal(kernel_ops.resize(k4, 2, 2), k4[1:3, 1:3])  # one off each side
    assert kernel_ops.resize(k4, 5, 5)[2, 2] == k4[1, 1]
    assert kernel_ops.resize(K, 2, 5).shape == (2, 5)


@pytest.mark.parametrize(("kh", "kw"), [(0, 3), (3, 0), (102, 3), (3, 102), (2.0, 3), (True, 3)])
def test_resize_refuses_bad_sizes(kh, kw):
    with pytest.raises(BankError):
        kernel_ops.resize(K, kh, kw)


def test_resize_accepts_the_limits():
    assert kernel_ops.resize(K, 101, 1).shape == (101, 1)


@settings(max_examples=200)
@given(
    finite_kernels,
    st.integers(min_value=1, max_value=15),
    st.integers(min_value=1, max_value=15),
)
def test_resize_keeps_the_centre_weight(k, kh, kw):
    out = kernel_ops.resize(k, kh, kw)
    assert out.shape == (kh, kw)
    centre = k[(k.shape[0] - 1) // 2, (k.shape[1] - 1) // 2]
    assert out[(kh - 1) // 2, (kw - 1) // 2] == centre
    # Nothing is invented: the weights are the old ones or zeros.
    assert set(np.unique(out)) <= set(np.unique(k)) | {0.0}


@settings(max_examples=200)
@given(
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=0, max_value=3),
    st.data(),
)
def test_resize_round_trips_odd_growth(hy, hx, gy, gx, data):
    kh, kw = 2 * hy + 1, 2 * hx + 1
    k = data.draw(hnp.arrays(np.float64, (kh, kw), elements=st.floats(-10, 10)))
    grown = kernel_ops.resize(k, kh + 2 * gy, kw + 2 * gx)
    assert np.array_equal(kernel_ops.resize(grown, kh, kw), k)
    # The padding is a symmetric zero border.
    assert np.array_equal(grown[gy : gy + kh, gx : gx + kw], k)
    assert np.abs(grown).sum() == pytest.approx(np.abs(k).sum())


def test_dc_gain_is_the_sum_of_the_weights():
    assert kernel_ops.dc_gain(np.full((3, 3), 1 / 9)) == pytest.approx(1.0)
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    assert kernel_ops.dc_gain(sobel_x) == 0.0
