"""Weights as text and colour: spellings that fit a cell, the diverging colours, channel names.

Everything runs on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction

import numpy as np
from PySide6.QtCore import (
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QImage,
    QPixmap,
)

from playground.engine import kernel_ops
from playground.engine.bank import MAX_WEIGHT, ConvLayer
from playground.engine.errors import BankError
from playground.ui.style import DIVERGING_STOPS

# Role under which the model gives the weight itself, as a float.
WeightRole = Qt.ItemDataRole.UserRole + 1

_DARK_TEXT = QColor(24, 24, 24)
_LIGHT_TEXT = QColor(255, 255, 255)
_ERROR_COLOUR = "#c62828"

GESTURES = (
    "Type or double-click to edit a weight (2, -0.25, 1/9, 1e-3).\n"
    "Mouse wheel over a cell: ±0.1 (Shift ±1, Ctrl ±0.01).\n"
    "Drag up/down with the middle button or Alt+left button: 0.01 per pixel.\n"
    "Delete: set the selected cells to 0."
)


def default_channel_names(count: int) -> list[str]:
    """Default names of a filter's input channels: R, G, B; gray; or ch 1..N."""
    if count == 3:
        return ["R", "G", "B"]
    if count == 1:
        return ["gray"]
    return [f"ch {i + 1}" for i in range(count)]


def filter_channel_names(layer: ConvLayer, index: int) -> list[str]:
    """The names of the input channels filter ``index`` (0-based) of ``layer`` reads, one per
    kernel: the layer input's names (see `default_channel_names`), all of them unless the layer
    has groups, where a filter reads its group's few ("G" of R, G, B; "ch 5", "ch 6")."""
    read = layer.channels_read(index)
    return default_channel_names(layer.in_channels)[read.start : read.stop]


def diverging_rgb(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Colour weights blue (negative), near-white (0) and red (positive).

    Parameters
    ----------
    values : numpy.ndarray
        Weights of any shape.
    scale : float, optional
        The magnitude that gets the strongest colour; by default max |values|, so the pattern is
        visible whatever the kernel's scale.

    Returns
    -------
    numpy.ndarray
        uint8 RGB, shape ``values.shape + (3,)``, C-contiguous.
    """
    v = np.asarray(values, dtype=np.float64)
    if scale is None:
        scale = float(np.max(np.abs(v))) if v.size else 0.0
    t = np.clip(v / scale, -1.0, 1.0) if scale > 0 else np.zeros_like(v)
    rgb = np.stack(
        [np.interp(t, DIVERGING_STOPS[:, 0], DIVERGING_STOPS[:, c]) for c in (1, 2, 3)], axis=-1
    )
    return np.ascontiguousarray(np.rint(rgb).astype(np.uint8))


def _text_colour(rgb: Sequence[int]) -> QColor:
    r, g, b = (int(c) for c in rgb)
    return _DARK_TEXT if 0.299 * r + 0.587 * g + 0.114 * b > 140 else _LIGHT_TEXT


def format_weight(value: float) -> str:
    """Compact text of a weight for a grid cell: "1", "-2", "0.111", "0.25", "1.5e-05"."""
    value = float(value)
    if value == 0:
        return "0"  # also for -0.0
    if value.is_integer():
        return str(int(value))
    if abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _short_scientific(value: float, digits: int) -> str:
    """ "-1.1e-3" rather than Python's "-1.1e-03"."""
    mantissa, _, exponent = f"{value:.{digits - 1}e}".partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def spell_weight(value: float, digits: int) -> str:
    """A weight with ``digits`` significant digits (3 is `format_weight`), as fixed point or
    short scientific, whichever is shorter. Zero and small integers are exact at any digits."""
    value = float(value)
    if digits >= 3 or value == 0 or (value.is_integer() and abs(value) < 1000):
        return format_weight(value)
    fixed = f"{value:.{digits}g}"
    scientific = _short_scientific(value, digits)
    return fixed if len(fixed) <= len(scientific) else scientific


def spell_grid(values: np.ndarray, fits: Callable[[str], bool]) -> tuple[list[str], int]:
    """Texts for every weight of a grid at ONE precision: the most significant digits (3, 2
    or 1) at which every text fits. Returns the texts (row-major) and the digits; 1 when even
    those do not all fit (the font shrinks then).

    Per-cell fitting would show -0.667 as "-0.7" beside 0.667 as "0.667": one precision for
    the whole grid keeps equal weights equally precise whatever their sign.
    """
    flat = [float(v) for v in np.ravel(values)]
    for digits in (3, 2, 1):
        texts = [spell_weight(v, digits) for v in flat]
        if all(fits(t) for t in texts):
            return texts, digits
    return texts, 1


def _edit_text(value: float) -> str:
    """Full precision, and what `parse_weight` reads back exactly."""
    if value == 0:
        return "0"
    if value.is_integer():
        return str(int(value))
    return repr(value)


def _exact_text(value: float) -> str:
    """The exact weight, plus the fraction it is when that is short (1/9, -1/8)."""
    text = _edit_text(value)
    if not value.is_integer():
        fraction = Fraction(value).limit_denominator(1024)
        if fraction.denominator > 1 and float(fraction) == value:
            text += f"  (= {fraction.numerator}/{fraction.denominator})"
    return text


def _offset_text(dy: int, dx: int) -> str:
    if dy == 0 and dx == 0:
        return "centre"
    parts = []
    if dy:
        parts.append(f"{abs(dy)} {'up' if dy < 0 else 'down'}")
    if dx:
        parts.append(f"{abs(dx)} {'left' if dx < 0 else 'right'}")
    return ", ".join(parts) + " of the centre"


def _clean(value: float) -> float:
    """Drop binary noise after a nudge (0.1 + 0.2 is 0.30000000000000004) and clamp."""
    value = max(-MAX_WEIGHT, min(MAX_WEIGHT, value))
    return float(f"{value:.12g}")


def _as_kernel(kernel: np.ndarray) -> np.ndarray:
    k = np.array(kernel, dtype=np.float64)
    if k.ndim != 2 or k.size == 0:
        raise BankError(f"a kernel is a non-empty 2-D grid (kh, kw); got shape {k.shape}")
    return k


def _weight_from(value: object) -> float:
    if isinstance(value, str):
        return kernel_ops.parse_weight(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise BankError(f"{value!r} is not a number")
    return kernel_ops.check_weight(float(value))


def kernel_pixmap(kernel: np.ndarray, size: int, scale: float | None = None) -> QPixmap:
    """A kernel as a diverging heat map, fitted into ``size`` x ``size`` pixels.

    Small kernels are magnified with whole pixels (no blur), so every weight stays a crisp square.
    """
    k = _as_kernel(kernel)
    kh, kw = k.shape
    rgb = diverging_rgb(k, scale)
    image = QImage(rgb.tobytes(), kw, kh, 3 * kw, QImage.Format.Format_RGB888).copy()
    factor = size / max(kh, kw)
    w, h = max(1, round(kw * factor)), max(1, round(kh * factor))
    mode = (
        Qt.TransformationMode.FastTransformation
        if factor >= 1
        else Qt.TransformationMode.SmoothTransformation
    )
    return QPixmap.fromImage(image.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio, mode))


def _fixed_font() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font
