"""Filters are learned: fit a kernel to a target map, in closed form or step by step.

A conv filter is linear in its weights: each output pixel is ``bias + sum_c sum_ij K[c,i,j] *
Xpad[c, y+i, x+j]`` (stride 1, dilation 1, no flip, no activation). Collect, for every output
pixel, the patch of input pixels it sees as one row of a **design matrix** A (C_in*kh*kw columns,
plus a column of ones for the bias); then ``A @ w`` is the filter's output, and finding the
filter whose output best matches a target map is ordinary least squares.

:func:`fit_kernel` solves it in one go; :class:`KernelDescent` walks there by full-batch gradient
descent on the same objective, one step at a time, so the UI can animate a kernel being learned;
:func:`canny_target` makes a ready-made target (an edge map) from an image.

Neither the fit nor the descent keeps A: both need only the normal equations. The rows of
``[A | t]`` are built a block at a time and summed into its Gram matrix M = [A | t]^T [A | t]
((columns+1) square, float64), which holds A^T A, A^T t and t^T t. The fit solves
``A^T A w = A^T t`` (numpy's least squares on that small matrix, so a direction the image does not
pin down, e.g. on a flat image, gets the minimum-norm answer); a descent step costs columns^2
instead of rows x columns. Why not QR or SVD on A itself: on the 2 shared cores users (and CI)
have, threaded LAPACK on a tall matrix is 5-10x slower than the matrix product that builds M,
and the 300 descent steps of the dialog's animation (on the learner thread, one result per 10
steps) would cost rows x columns each on a camera-sized frame. Forming M squares A's
condition number; with the cond(A) measured on real fits (12 for 3x3 on noise, 1.3e3 for 3x3
RGB on a photo) the weights stay exact to 1e-9 relative, far below the float32 the bank stores
them in.

The patches are read exactly as the engine pads: "same" puts the extra pixel of an odd total at
the bottom/right, and the borders are numpy's pad modes (reflect = numpy 'reflect', the mirror
without repeating the edge pixel, as OpenCV's BORDER_REFLECT_101). So a fitted filter put in a
``ConvLayer(padding=..., border=...)`` with the same settings reproduces the fit.

Large images: when there are more than :data:`MAX_ROWS` output pixels (or the design matrix would
hold more than :data:`MAX_DESIGN` numbers, for big kernels), a random subset of pixels is used,
drawn with a fixed seed (:data:`SUBSAMPLE_SEED`), so the same inputs always give the same filter.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import cv2
import numpy as np

from playground.engine.bank import (
    BORDERS,
    INPUT_MODES,
    MAX_KERNEL,
    Filter,
    _choice,
    _pair,
    image_planes,
)
from playground.engine.convolve import same_padding
from playground.engine.errors import BankError

PADDINGS = ("same", "valid")
# Typed as numpy's mode literals, which np.pad's signature takes (not any str).
NUMPY_PAD_MODES: dict[str, Literal["constant", "reflect", "edge", "wrap"]] = {
    "zero": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "wrap": "wrap",
}

# At most this many output pixels (rows of the design matrix) are used; more are subsampled.
MAX_ROWS = 200_000
# ... and at most this many numbers in the design matrix (rows x columns), for big kernels.
MAX_DESIGN = 20_000_000
SUBSAMPLE_SEED = 0
# Numbers (rows x columns) of [A | t] built at once before they are summed into M: 16 MB of
# float64, whatever the image size.
BLOCK = 2_000_000


# --- the least-squares problem ---------------------------------------------------------------


def _planes(image: Any, mode: str) -> np.ndarray:
    """The image as (C, H, W) planes by the engine's rules, in float64 so a fit is not limited
    by float32 rounding."""
    return image_planes(image, mode, np.float64)


def _target_map(target: Any) -> np.ndarray:
    """The target as an HxW float64 map: uint8 scaled by 1/255, RGB made gray (BT.601)."""
    try:
        return _planes(target, "gray")[0]
    except BankError as e:
        raise BankError(f"target: {e}") from None


class _Problem:
    """One fit, reduced to the Gram matrix of ``[A | t]``: A the design matrix
    (rows x (C*kh*kw [+1])), t the target vector as the last column."""

    def __init__(
        self,
        image: Any,
        target: Any,
        size: Any,
        input: str,
        padding: str,
        border: str,
        bias: bool,
    ) -> None:
        _choice(input, "input", INPUT_MODES)
        _choice(padding, "padding", PADDINGS)
        _choice(border, "border", BORDERS)
        kh, kw = _pair(size, "kernel size", 1, MAX_KERNEL)
        x = _planes(image, input)
        t = _target_map(target)
        c, h, w = x.shape
        if padding == "same":
            top, bottom = same_padding(h, kh, 1, 1)
            left, right = same_padding(w, kw, 1, 1)
        else:
            top = bottom = left = right = 0
        ho, wo = h + top + bottom - kh + 1, w + left + right - kw + 1
        if ho < 1 or wo < 1:
            raise BankError(
                f"a {kh}x{kw} kernel with padding 'valid' leaves nothing of the {h}x{w} image"
            )
        if t.shape != (ho, wo):
            raise BankError(
                f"the target is {t.shape[0]}x{t.shape[1]} but a {kh}x{kw} kernel with padding "
                f"{padding!r} makes a {ho}x{wo} output from the {h}x{w} image"
            )
        xp = np.pad(x, ((0, 0), (top, bottom), (left, right)), mode=NUMPY_PAD_MODES[border])
        # (C, Ho, Wo, kh, kw): every output pixel's patch, as a view (nothing copied yet).
        windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))
        k = c * kh * kw
        columns = k + (1 if bias else 0)
        n = ho * wo
        rows = min(n, MAX_ROWS, max(MAX_DESIGN // columns, 1))
        if rows < n:
            pick = np.sort(np.random.default_rng(SUBSAMPLE_SEED).choice(n, rows, replace=False))
        else:
            pick = np.arange(n)
        block = max(BLOCK // (columns + 1), 1)
        gram = np.zeros((columns + 1, columns + 1))
        for start in range(0, rows, block):
            ys, xs = np.divmod(pick[start : start + block], wo)
            patches = windows[:, ys, xs]  # (C, m, kh, kw), a copy of just this block
            m = len(ys)
            at = np.empty((m, columns + 1), np.float64)
            at[:, :k] = np.moveaxis(patches, 1, 0).reshape(m, k)
            if bias:
                at[:, k] = 1.0
            at[:, -1] = t[ys, xs]
            gram += at.T @ at
        self.gram = gram
        self.rows = rows
        self.shape = (c, kh, kw)
        self.bias = bias
        self.subsampled = rows < n

    def loss(self, w: np.ndarray) -> float:
        """mean((A w - t)^2) over the fitted pixels, as the quadratic form [w; -1]^T M [w; -1]."""
        v = np.append(w, -1.0)
        # Exactly >= 0 in real numbers; round-off near a perfect fit must not make it negative.
        return max(float(v @ self.gram @ v) / self.rows, 0.0)

    def filter(self, w: np.ndarray, name: str = "") -> Filter:
        c, kh, kw = self.shape
        return Filter(w[: c * kh * kw].reshape(c, kh, kw), float(w[-1]) if self.bias else 0.0, name)


def fit_kernel(
    image: Any,
    target: Any,
    size: int | tuple[int, int] = (3, 3),
    input: str = "rgb",
    padding: str = "same",
    border: str = "reflect",
    bias: bool = True,
    ridge: float = 0.0,
) -> Filter:
    """The filter whose output on ``image`` is closest to ``target``, in the least-squares sense.

    Parameters
    ----------
    image : HxW or HxWx3(x4) image, uint8 (scaled by 1/255) or float, as :meth:`Bank.apply`.
    target : HxW map to imitate: a feature map (float), an edge map image (uint8, scaled by
        1/255; RGB is made gray with BT.601), e.g. :func:`canny_target`. Its size must be the
        filter's output size: the image's for "same", (H-kh+1)x(W-kw+1) for "valid".
    size : (kh, kw) or one int for a square kernel.
    input : "rgb" (3 kernels) or "gray" (1 kernel), as the bank's input mode.
    padding, border : the conv layer settings the filter is fitted for ("same" or "valid";
        "zero", "reflect", "replicate" or "wrap"). Stride and dilation are 1, flip is off.
    bias : fit a bias too (otherwise it is 0).
    ridge : >= 0; minimises mean((A w - t)^2) + ridge * sum(K^2) (the bias is not penalised),
        which keeps the kernel small where the image does not pin it down (e.g. flat images).

    Returns a :class:`Filter` with kernels (C_in, kh, kw). Raises BankError when the target's
    size does not match (naming both), or for a bad setting. Beyond :data:`MAX_ROWS` output
    pixels a fixed-seed random subset of them is fitted (see the module docstring).
    """
    ridge = float(ridge)
    if not math.isfinite(ridge) or ridge < 0:
        raise BankError(f"ridge must be a finite number >= 0, got {ridge!r}")
    p = _Problem(image, target, size, input, padding, border, bias)
    ata, atb = p.gram[:-1, :-1].copy(), p.gram[:-1, -1]
    if ridge > 0:
        # rows * ridge * sum(K^2) added to rows * mean(...): ridge * rows on the kernel weights'
        # diagonal (not the bias's).
        k = p.shape[0] * p.shape[1] * p.shape[2]
        ata[np.arange(k), np.arange(k)] += ridge * p.rows
    # lstsq's default cut-off on this matrix drops the directions whose eigenvalue is below its
    # own round-off (a flat image's): there the minimum-norm answer, not amplified noise.
    w = np.linalg.lstsq(ata, atb, rcond=None)[0]
    return p.filter(w)


# --- gradient descent, for the animation -----------------------------------------------------


class KernelDescent:
    """Full-batch gradient descent on :func:`fit_kernel`'s objective, one step at a time.

    The loss is the mean squared error ``mean((A w - t)^2)`` between the filter's output and the
    target (the same pixels as fit_kernel, subsampled the same way), so the kernel converges to
    fit_kernel's answer (ridge 0). ``learning_rate`` None picks 1/L, L = 2 * the largest
    eigenvalue of the normal matrix A^T A / rows (the gradient's Lipschitz constant): the loss
    then falls at every step.

    Attributes: ``kernel`` (C_in, kh, kw) and ``bias`` (the current weights, float64),
    ``losses`` (the loss before any step, then after each step), ``learning_rate``.
    """

    def __init__(
        self,
        image: Any,
        target: Any,
        size: int | tuple[int, int] = (3, 3),
        input: str = "rgb",
        padding: str = "same",
        border: str = "reflect",
        learning_rate: float | None = None,
        init: str = "zeros",
        seed: int = 0,
        bias: bool = True,
    ) -> None:
        _choice(init, "init", ("zeros", "random"))
        self._p = _Problem(image, target, size, input, padding, border, bias)
        # Steps use the normal matrix (A^T A, A^T t): the same gradients as on A, at columns^2
        # per step instead of rows x columns (the dialog animates 300 of them).
        self._ata = self._p.gram[:-1, :-1]
        self._atb = self._p.gram[:-1, -1]
        rows, columns = self._p.rows, self._ata.shape[0]
        if learning_rate is None:
            lipschitz = 2.0 * _largest_eigenvalue(self._ata) / rows
            learning_rate = 1.0 / lipschitz if lipschitz > 0 else 1.0
        else:
            learning_rate = float(learning_rate)
            if not math.isfinite(learning_rate) or learning_rate <= 0:
                raise BankError(f"learning rate must be a finite number > 0, got {learning_rate}")
        self.learning_rate = learning_rate
        self._w = np.zeros(columns)
        if init == "random":
            k = columns - (1 if bias else 0)
            self._w[:k] = np.random.default_rng(seed).standard_normal(k) / math.sqrt(k)
        self.losses: list[float] = [self._p.loss(self._w)]

    @property
    def kernel(self) -> np.ndarray:
        c, kh, kw = self._p.shape
        return self._w[: c * kh * kw].reshape(c, kh, kw).copy()

    @property
    def bias(self) -> float:
        return float(self._w[-1]) if self._p.bias else 0.0

    def step(self, n: int = 1) -> float:
        """Take ``n`` steps; returns the mean squared error after them (also in ``losses``)."""
        scale = 2.0 * self.learning_rate / self._p.rows
        for _ in range(int(n)):
            # The gradient of mean((A w - t)^2) is 2 (A^T A w - A^T t) / rows.
            self._w -= scale * (self._ata @ self._w - self._atb)
            self.losses.append(self._p.loss(self._w))
        return self.losses[-1]

    def filter(self, name: str = "") -> Filter:
        """The current weights as a Filter (BankError if a too-large rate blew them up)."""
        return self._p.filter(self._w, name)


def _largest_eigenvalue(ata: np.ndarray) -> float:
    """The largest eigenvalue of A^T A: exact for small ones, else power iteration (+10%)."""
    columns = int(ata.shape[1])
    if columns <= 2048:
        return float(np.linalg.eigvalsh(ata)[-1])
    v = np.random.default_rng(0).standard_normal(columns)
    estimate = 0.0
    for _ in range(100):
        u = ata @ v
        estimate = float(np.linalg.norm(u))
        if estimate == 0:
            return 0.0
        v = u / estimate
    return 1.1 * estimate


# --- ready-made targets ----------------------------------------------------------------------


def canny_target(image: Any, low: float = 50, high: float = 150) -> np.ndarray:
    """An edge map of ``image`` to fit a filter to: HxW float32, 1.0 on edges, 0.0 elsewhere.

    The image is made gray (BT.601, as a gray bank's input) and quantised to uint8 (float images
    are taken as [0, 1] and clipped), then ``cv2.Canny(gray, low, high)`` marks edges with
    hysteresis thresholds ``low`` and ``high`` on the gradient magnitude (0..255 scale; 3x3 Sobel,
    L1 norm). The map is the image's size, the target for padding "same".
    """
    gray = _planes(image, "gray")[0]
    gray8 = np.clip(np.rint(gray * 255.0), 0, 255).astype(np.uint8)
    return (cv2.Canny(gray8, float(low), float(high)) > 0).astype(np.float32)


__all__ = [
    "KernelDescent",
    "canny_target",
    "fit_kernel",
]
