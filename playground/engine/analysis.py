"""What a kernel will do before you try it: frequency response, DC gain, separability, symmetry
and orientation tuning. Pure numpy; the kernel panel only draws these numbers."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

# Below this ratio of the second to the first singular value a kernel is called near-separable:
# its rank-1 approximation keeps more than 99% of its energy.
NEAR_SEPARABLE = 0.1
_RANK1 = 1e-6  # rank 1 up to the rounding of weights typed or generated to a few digits
_SUPERSAMPLE = 8  # sub-pixels per pixel side when drawing the step edges


@dataclass(frozen=True)
class Separability:
    """``ratio`` is the second singular value over the first (0 for rank 1). When separable or
    near-separable, kernel ~= outer(column, row)."""

    separable: bool
    near: bool
    ratio: float
    column: np.ndarray | None
    row: np.ndarray | None


def _kernel(kernel: np.ndarray) -> np.ndarray:
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or k.size == 0:
        raise ValueError(f"a kernel is a non-empty 2-D array, got shape {k.shape}")
    return k


def frequency_response(kernel: np.ndarray, size: int = 64) -> np.ndarray:
    """|DFT| of the kernel zero-padded to size x size, zero frequency in the centre.

    Rows are vertical frequency, columns horizontal; the same magnitude whether the kernel is
    applied as correlation or convolution.
    """
    k = _kernel(kernel)
    size = max(size, *k.shape)
    return np.fft.fftshift(np.abs(np.fft.fft2(k, s=(size, size))))


def separability(kernel: np.ndarray) -> Separability:
    k = _kernel(kernel)
    u, s, vt = np.linalg.svd(k)
    if s[0] == 0:
        return Separability(True, True, 0.0, np.zeros(k.shape[0]), np.zeros(k.shape[1]))
    ratio = float(s[1] / s[0]) if len(s) > 1 else 0.0
    separable, near = ratio <= _RANK1, ratio < NEAR_SEPARABLE
    if not near:
        return Separability(False, False, ratio, None, None)
    column, row = u[:, 0] * np.sqrt(s[0]), vt[0] * np.sqrt(s[0])
    if column[np.argmax(np.abs(column))] < 0:  # the sign convention people expect: [1 2 1]
        column, row = -column, -row
    return Separability(separable, near, ratio, column, row)


def symmetry(kernel: np.ndarray, tolerance: float = 1e-9) -> str:
    """ "even" (unchanged by a 180 degree turn: blurs, Laplacians), "odd" (negated by it: edge
    detectors, which respond with opposite signs to opposite edges) or "none"."""
    k = _kernel(kernel)
    scale = tolerance * max(1.0, float(np.abs(k).max()))
    turned = k[::-1, ::-1]
    if np.allclose(k, turned, rtol=0, atol=scale):
        return "even"
    if np.allclose(k, -turned, rtol=0, atol=scale):
        return "odd"
    return "none"


@functools.lru_cache(maxsize=8)
def orientation_weights(kh: int, kw: int, steps: int = 72) -> tuple[np.ndarray, np.ndarray]:
    """(angles in degrees, W) with ``W @ kernel.ravel()`` the responses of `orientation_tuning`
    for any kh x kw kernel.

    The response to an edge is linear in the weights: row i of W is how much of each pixel the
    bright side of edge i covers. W is built once per shape (about 14 ms at 15 x 15) and cached;
    then a kernel costs one small matrix product, so a panel can follow a drag.
    """
    n = _SUPERSAMPLE
    # Sub-pixel centres, in pixels from the kernel's centre; y grows upwards.
    ys = (kh - 1) / 2 - (np.arange(kh * n) + 0.5) / n + 0.5
    xs = (np.arange(kw * n) + 0.5) / n - 0.5 - (kw - 1) / 2
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    angles = np.arange(steps) * (360.0 / steps)
    weights = np.empty((steps, kh * kw))
    for i, angle in enumerate(np.radians(angles)):
        side = gx * np.cos(angle) + gy * np.sin(angle)
        # Samples exactly on the edge count half: opposite edges then mirror each other exactly.
        bright = np.where(np.abs(side) < 1e-9, 0.5, (side > 0).astype(np.float64))
        weights[i] = bright.reshape(kh, n, kw, n).mean(axis=(1, 3)).ravel()  # area-weighted
    angles.flags.writeable = False  # shared by every caller through the cache
    weights.flags.writeable = False
    return angles, weights


def orientation_tuning(kernel: np.ndarray, steps: int = 72) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's response to a unit step edge through its centre, for edge normals at
    ``steps`` angles in [0, 360) degrees (0: bright on the right, 90: bright at the top).

    Returns (angles in degrees, responses). An edge detector's preferred direction is the
    angle of its largest response; a blur answers 0.5 x its DC gain at every angle.
    """
    k = _kernel(kernel)
    angles, weights = orientation_weights(k.shape[0], k.shape[1], steps)
    return angles.copy(), weights @ k.ravel()
