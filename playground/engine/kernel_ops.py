"""Editing one kernel by hand: typed weights and whole-kernel operations.

Everything here is pure numpy (no Qt): the kernel grid calls it, and so can a script. A **kernel**
is one 2-D weight grid (kh x kw) applied to one input channel. Every operation takes a 2-D kernel
and returns a NEW float64 array (the bank's kernels are read-only; the caller builds a new bank
from the result). Row 0 is the top row as seen on screen.

Errors are `BankError` with a one-line reason the GUI shows as it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from playground.engine.bank import MAX_KERNEL, MAX_WEIGHT
from playground.engine.errors import BankError

__all__ = [
    "check_weight",
    "dc_gain",
    "flip_horizontal",
    "flip_vertical",
    "make_zero_sum",
    "normalize_sum",
    "parse_weight",
    "resize",
    "rotate90",
    "transpose",
]

# A sum this close to zero is a zero-sum kernel (floating-point residue of a designed one).
ZERO_SUM_TOLERANCE = 1e-12

# One decimal number: optional sign, digits with an optional fraction (or a bare fraction such as
# ".5"), optional exponent. No underscores, hex, "nan" or "inf": only what people type as weights.
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_WEIGHT = re.compile(rf"\s*({_NUMBER})\s*(?:/\s*({_NUMBER})\s*)?")
# Spellings of the minus and division signs that keyboards, word processors and web pages produce.
_TRANSLATE = str.maketrans({"\u2212": "-", "\u2012": "-", "\u2013": "-", "\u00f7": "/"})
_NOT_FINITE = re.compile(r"\s*[+-]?(?:nan|inf|infinity)\s*", re.IGNORECASE)


def _compact(value: float) -> str:
    """``1e6`` rather than Python's ``1e+06`` in messages."""
    text = f"{value:g}"
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if e else text


def parse_weight(text: str) -> float:
    """Parse a weight as a user types it into a kernel cell.

    Accepts a decimal number ("2", "-0.25", ".5", "+1", "1e-3") or a fraction of two of them
    ("1/9", "-1/8"), with surrounding spaces and the typographic minus sign ("−2"). This is a
    whitelist parser: user text is never evaluated.

    Parameters
    ----------
    text : str
        What the user typed.

    Returns
    -------
    float
        The weight, finite and within ±MAX_WEIGHT.

    Raises
    ------
    BankError
        With a one-line reason: not a number, division by zero, not finite, or too large.
    """
    if not isinstance(text, str):
        raise BankError(f"{text!r} is not a number")
    shown = text.strip()
    normal = text.translate(_TRANSLATE)
    if _NOT_FINITE.fullmatch(normal):
        raise BankError(f"'{shown}' is not a finite number")
    match = _WEIGHT.fullmatch(normal)
    if match is None:
        if not shown:
            raise BankError("an empty cell is not a number; type a weight such as 0 or 1/9")
        raise BankError(f"'{shown}' is not a number")
    # float() only ever sees text the regular expression has vetted as a plain decimal number.
    numerator = float(match.group(1))
    if match.group(2) is None:
        value = numerator
    else:
        denominator = float(match.group(2))
        if denominator == 0.0:
            raise BankError(f"division by zero in '{shown}'")
        value = numerator / denominator  # overflows to inf (caught below), never raises
    if not math.isfinite(value) or abs(value) > MAX_WEIGHT:
        raise BankError(f"{shown} is too large (at most ±{_compact(MAX_WEIGHT)})")
    return value


def check_weight(value: float) -> float:
    """Check a weight given as a number (not text): finite and within ±MAX_WEIGHT.

    Parameters
    ----------
    value : float
        The weight, e.g. from a spin box or a script.

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    BankError
        With the same one-line reasons as `parse_weight`.
    """
    number = float(value)
    if not math.isfinite(number):
        raise BankError(f"'{number!r}' is not a finite number")
    if abs(number) > MAX_WEIGHT:
        raise BankError(f"{_compact(number)} is too large (at most ±{_compact(MAX_WEIGHT)})")
    return number


def _kernel(k: np.ndarray) -> np.ndarray:
    """A float64 copy of a 2-D kernel, or BankError."""
    array = np.array(k, dtype=np.float64)
    if array.ndim != 2:
        raise BankError(f"a kernel is 2-D (kh, kw); got shape {array.shape}")
    if array.size == 0:
        raise BankError("a kernel must not be empty")
    return array


def _bounded(result: np.ndarray, operation: str) -> np.ndarray:
    """Refuse a result the bank would refuse, naming the operation that produced it."""
    peak = float(np.max(np.abs(result)))
    if not math.isfinite(peak) or peak > MAX_WEIGHT:
        raise BankError(
            f"{operation} would make a weight of {peak:.3g} (at most ±{_compact(MAX_WEIGHT)})"
        )
    return result


def dc_gain(k: np.ndarray) -> float:
    """The sum of the weights: how much the kernel scales a flat (constant) image.

    Parameters
    ----------
    k : numpy.ndarray
        A 2-D kernel.

    Returns
    -------
    float
        1 for a blur that keeps brightness, 0 for an edge or line detector.
    """
    return float(_kernel(k).sum())


def normalize_sum(k: np.ndarray) -> np.ndarray:
    """Scale the kernel so its weights sum to 1 (keeps the image's brightness).

    Parameters
    ----------
    k : numpy.ndarray
        A 2-D kernel.

    Returns
    -------
    numpy.ndarray
        A new float64 kernel ``k / k.sum()``.

    Raises
    ------
    BankError
        If the sum is (nearly) zero, or scaling would push a weight beyond ±MAX_WEIGHT.
    """
    return _summing_to_one(_kernel(k), "the kernel sums")


def make_zero_sum(k: np.ndarray) -> np.ndarray:
    """Subtract the mean weight so the kernel sums to 0 (flat areas give 0).

    Parameters
    ----------
    k : numpy.ndarray
        A 2-D kernel.

    Returns
    -------
    numpy.ndarray
        A new float64 kernel ``k - k.mean()``.

    Raises
    ------
    BankError
        If a weight would go beyond ±MAX_WEIGHT.
    """
    array = _kernel(k)
    return _bounded(array - array.mean(), "making the kernel zero-sum")


def _filter_kernels(kernels: np.ndarray) -> np.ndarray:
    """A float64 copy of a filter's (C_in, kh, kw) kernels, or BankError."""
    array = np.array(kernels, dtype=np.float64)
    if array.ndim != 3 or array.size == 0:
        raise BankError(f"a filter's kernels are (C_in, kh, kw); got shape {array.shape}")
    return array


def normalize_filter_sum(kernels: np.ndarray) -> np.ndarray:
    """Scale every kernel of a filter by one factor so that all its weights sum to 1.

    A flat grey area then keeps its brightness in the filter's summed map, whatever the split of
    the weights between channels (an RGB channel mean, 1/3 per channel, stays as it is).

    Raises
    ------
    BankError
        If the filter's weights sum to (nearly) zero, or a weight would pass ±MAX_WEIGHT.
    """
    return _summing_to_one(_filter_kernels(kernels), "the filter's weights sum")


def _summing_to_one(array: np.ndarray, what: str) -> np.ndarray:
    """``array / array.sum()``; BankError when it sums to (nearly) zero or overflows."""
    total = float(array.sum())
    if abs(total) < ZERO_SUM_TOLERANCE:
        raise BankError(f"{what} to 0; it cannot be normalised to 1")
    return _bounded(array / total, "normalising")


def make_filter_zero_sum(kernels: np.ndarray) -> np.ndarray:
    """Make every kernel of a filter zero-sum, so a flat area of any colour gives 0."""
    array = _filter_kernels(kernels)
    return np.stack([make_zero_sum(k) for k in array])


def each_kernel(operation: Callable[[np.ndarray], np.ndarray], kernels: np.ndarray) -> np.ndarray:
    """Apply a 2-D kernel operation (a flip, a rotation) to every kernel of a filter."""
    return np.stack([operation(k) for k in _filter_kernels(kernels)])


def flip_horizontal(k: np.ndarray) -> np.ndarray:
    """Mirror left-right (columns reversed)."""
    return np.ascontiguousarray(_kernel(k)[:, ::-1])


def flip_vertical(k: np.ndarray) -> np.ndarray:
    """Mirror top-bottom (rows reversed)."""
    return np.ascontiguousarray(_kernel(k)[::-1, :])


def rotate90(k: np.ndarray) -> np.ndarray:
    """Rotate by 90 degrees counter-clockwise as seen on screen (``np.rot90``); kh, kw swap."""
    return np.ascontiguousarray(np.rot90(_kernel(k)))


def transpose(k: np.ndarray) -> np.ndarray:
    """Swap rows and columns (mirror about the main diagonal); kh, kw swap."""
    return np.ascontiguousarray(_kernel(k).T)


def _resize_axis(length: int, new: int) -> tuple[int, int, int]:
    """(source start, destination start, count) that keeps the centre pixel in place.

    The centre of a side of ``n`` pixels is index ``(n - 1) // 2``: the anchor the engine uses
    for "same" padding, so an even side has its extra pixel after the centre (bottom/right).
    """
    shift = (new - 1) // 2 - (length - 1) // 2
    if shift >= 0:  # growing (or an even/odd change of the same reach): pad
        return 0, shift, min(length, new - shift)
    return -shift, 0, min(new, length + shift)


def resize(k: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Crop or zero-pad the kernel to kh x kw, keeping its centre weight at the centre.

    Padding and cropping are symmetric; when the change is odd the extra row (column) is at the
    bottom (right) of the centre, the engine's anchor rule: the centre of a side of n pixels is
    index ``(n - 1) // 2``. So odd growth and shrink round-trip exactly.

    Parameters
    ----------
    k : numpy.ndarray
        A 2-D kernel.
    kh, kw : int
        New height and width, each 1..MAX_KERNEL.

    Returns
    -------
    numpy.ndarray
        A new float64 kernel of shape (kh, kw).

    Raises
    ------
    BankError
        If a size is not an integer between 1 and MAX_KERNEL.
    """
    array = _kernel(k)
    for name, value in (("height", kh), ("width", kw)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise BankError(f"kernel {name} must be a whole number, got {value!r}")
        if not 1 <= value <= MAX_KERNEL:
            raise BankError(f"kernel {name} must be between 1 and {MAX_KERNEL}, got {value}")
    kh, kw = int(kh), int(kw)
    out = np.zeros((kh, kw), dtype=np.float64)
    sy, dy, ny = _resize_axis(array.shape[0], kh)
    sx, dx, nx = _resize_axis(array.shape[1], kw)
    if ny > 0 and nx > 0:
        out[dy : dy + ny, dx : dx + nx] = array[sy : sy + ny, sx : sx + nx]
    return out
