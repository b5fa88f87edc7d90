"""An independent float64 implementation of the bank format's semantics, for tests only.

Written from the format's formula, not from the engine:
out[o,y,x] = act(bias[o] + sum_c sum_ij K[o,c,i,j] * Xpad[g*C + c, y*sy + i*dy, x*sx + j*dx]),
where a layer of G groups splits its filters into G runs and filter o's run g reads the input
channels g*C .. g*C + C - 1 (C kernels a filter); g = 0 without groups.
It reads the v1 dict directly so it shares no code with playground.engine.
"""

from __future__ import annotations

import math

import numpy as np

NUMPY_PAD_MODES = {"zero": "constant", "reflect": "reflect", "replicate": "edge", "wrap": "wrap"}


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def input_planes(image, mode):
    img = np.asarray(image)
    x = img.astype(np.float64) / 255.0 if img.dtype == np.uint8 else img.astype(np.float64)
    if x.ndim == 3:
        x = x[:, :, :3] if x.shape[2] >= 3 else x[:, :, 0]
    if mode == "gray":
        if x.ndim == 3:
            x = 0.299 * x[:, :, 0] + 0.587 * x[:, :, 1] + 0.114 * x[:, :, 2]
        return x[None]
    if x.ndim == 2:
        return np.stack([x, x, x])
    return np.moveaxis(x, 2, 0)


def activation(v, name, slope=0.01):
    if name == "relu":
        return np.maximum(v, 0)
    if name == "leaky-relu":
        return np.where(v > 0, v, slope * v)
    if name == "abs":
        return np.abs(v)
    if name == "tanh":
        return np.tanh(v)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-np.clip(v, -700, 700)))
    return v


def padding_amounts(layer, size, k, stride, dilation):
    """(before, after) along one axis, per the format: 'same' gives ceil(size/stride)."""
    padding = layer.get("padding", "valid")
    if padding == "valid":
        return 0, 0
    if padding == "same":
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + dilation * (k - 1) + 1 - size, 0)
        return total // 2, total - total // 2
    return None


def conv(x, layer):
    """Returns (outputs (C_out, H', W'), partials per filter (C_in, H', W')) or None if empty."""
    sy, sx = pair(layer.get("stride", 1))
    dy, dx = pair(layer.get("dilation", 1))
    mode = NUMPY_PAD_MODES[layer.get("border", "zero")]
    _, h, w = x.shape
    outs, partials = [], []
    per_group = len(layer["filters"]) // layer.get("groups", 1)
    for o, f in enumerate(layer["filters"]):
        k = np.array(f["kernels"], dtype=np.float64)
        first = (o // per_group) * k.shape[0]  # the input channel of its first kernel
        if layer.get("flip", False):
            k = k[:, ::-1, ::-1]
        _, kh, kw = k.shape
        padding = layer.get("padding", "valid")
        if isinstance(padding, str):
            top, bottom = padding_amounts(layer, h, kh, sy, dy)
            left, right = padding_amounts(layer, w, kw, sx, dx)
        elif isinstance(padding, int) or len(padding) == 2:
            py, px = pair(padding)
            top = bottom = py
            left = right = px
        else:
            top, bottom, left, right = padding
        ho = (h + top + bottom - dy * (kh - 1) - 1) // sy + 1
        wo = (w + left + right - dx * (kw - 1) - 1) // sx + 1
        if ho < 1 or wo < 1:
            return None
        xp = np.pad(x, ((0, 0), (top, bottom), (left, right)), mode=mode)
        part = np.zeros((k.shape[0], ho, wo))
        for c in range(k.shape[0]):
            for i in range(kh):
                for j in range(kw):
                    y0, x0 = i * dy, j * dx
                    window = xp[
                        first + c,
                        y0 : y0 + sy * (ho - 1) + 1 : sy,
                        x0 : x0 + sx * (wo - 1) + 1 : sx,
                    ]
                    part[c] += k[c, i, j] * window
        partials.append(part)
        outs.append(
            activation(
                part.sum(axis=0) + f.get("bias", 0.0),
                layer.get("activation", "none"),
                layer.get("slope", 0.01),
            )
        )
    return np.stack(outs), partials


def pool(x, layer):
    ky, kx = pair(layer.get("size", 2))
    sy, sx = pair(layer.get("stride", layer.get("size", 2)))
    c, h, w = x.shape
    ho, wo = (h - ky) // sy + 1, (w - kx) // sx + 1
    if ho < 1 or wo < 1:
        return None
    out = np.zeros((c, ho, wo))
    for ch in range(c):
        for y in range(ho):
            for xx in range(wo):
                win = x[ch, y * sy : y * sy + ky, xx * sx : xx * sx + kx]
                out[ch, y, xx] = win.max() if layer.get("op", "max") == "max" else win.mean()
    return out


def run(bank_dict, image):
    """(outputs, partials) per layer, or None when the stack shrinks the image to nothing."""
    x = input_planes(image, bank_dict.get("input", "rgb"))
    outputs, partials = [], []
    for layer in bank_dict["layers"]:
        if layer.get("type", "conv") == "pool":
            x, part = pool(x, layer), None
            if x is None:
                return None
        else:
            result = conv(x, layer)
            if result is None:
                return None
            x, part = result
        outputs.append(x)
        partials.append(part)
    return outputs, partials
