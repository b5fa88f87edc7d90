"""What the kernel under the grid will do, before you try it on an image.

`KernelAnalysisPanel` shows, for one 2-D kernel, the numbers of `playground.engine.analysis`:
its 2-D frequency response (log magnitude of the zero-padded DFT, low frequencies in the
centre), its DC gain, whether it is separable into a column times a row, its symmetry, and its
orientation tuning (the response to a step edge at every angle) as a polar plot.

The panel follows a drag of a weight: `setKernel` recomputes everything in well under a
millisecond for a 15 x 15 kernel (median 0.4 ms measured). The one expensive analysis, the
orientation tuning, is linear in the weights, so its per-pixel edge coverages are computed once per
kernel shape (`analysis.orientation_weights`, cached) and each new kernel costs one matrix product.

Everything here runs on the GUI thread.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from playground.engine import analysis, kernel_ops
from playground.ui.kernel_editor import format_weight
from playground.ui.style import NEGATIVE, POSITIVE, short_number

__all__ = ["FFT_SIZE", "FLOOR", "TUNING_STEPS", "KernelAnalysisPanel"]

# Same process-wide option as playground.ui.panes (row-major (H, W) arrays, no transposes);
# every pyqtgraph image in the app must agree on it.
pg.setConfigOptions(imageAxisOrder="row-major")

FFT_SIZE = 64  # the kernel is zero-padded to FFT_SIZE x FFT_SIZE before the DFT
# The response image is log10(FLOOR * peak + |H|). The log spreads the 3 decades below the peak
# over the colour map, so side lobes and stop bands stay visible next to a pass band; the floor
# (1/1000 of the peak, i.e. -60 dB) keeps the log finite where |H| is exactly 0 (the DC of a
# zero-sum kernel) and keeps float rounding noise (1e-16) from stretching the range. The levels are
# the exact extremes of the transform, so the darkest colour always means "1/1000 of the peak or
# less" and the brightest "the peak", whatever the kernel's scale.
FLOOR = 1e-3
TUNING_STEPS = 72  # edge angles for the orientation tuning: every 5 degrees

# A weight sum, a tuning spread or a response below this fraction of sum |w| counts as 0:
# relative, so that 1/9-weights and 100-weights behave alike.
_ZERO = 1e-9

# The diverging convention of the kernel grid: red positive, blue negative.
_POSITIVE = QColor(*POSITIVE)
_NEGATIVE = QColor(*NEGATIVE)
_PREFERRED = QColor(230, 168, 0)  # amber: neither sign's colour

# Viridis (matplotlib's perceptually uniform map) at 9 stops; a small table rather than
# pg.colormap.get("viridis"), which reads a data file a frozen bundle might not carry.
_VIRIDIS = (
    "#440154",
    "#472d7b",
    "#3b528b",
    "#2c728e",
    "#21918c",
    "#28ae80",
    "#5ec962",
    "#addc30",
    "#fde725",
)


def _viridis_lut() -> np.ndarray:
    # 256 uint8 entries: pyqtgraph then hands Qt an Indexed8 image with the LUT as colour table.
    cmap = pg.ColorMap(np.linspace(0.0, 1.0, len(_VIRIDIS)), [QColor(c) for c in _VIRIDIS])
    return np.ascontiguousarray(cmap.getLookupTable(0.0, 1.0, 256, alpha=False), dtype=np.uint8)


def _number(value: float) -> str:
    """3 decimals for everyday gains (1.000, 0.072), 3 significant digits for tiny or huge."""
    if value != 0 and not 0.01 <= abs(value) < 1000:
        return short_number(value)
    return f"{value:.3f}"


def _dc_text(gain: float, scale: float) -> str:
    if abs(gain) <= _ZERO * scale:
        return "DC gain 0 (flat areas go black: an edge or detail detector)"
    if abs(gain - 1.0) <= _ZERO * scale:
        return "DC gain 1.000 (keeps flat areas)"
    if gain < 0:
        return f"DC gain {_number(gain)} (inverts flat areas)"
    return f"DC gain {_number(gain)} ({'brightens' if gain > 1 else 'darkens'} flat areas)"


def _ratio_text(ratio: float) -> str:
    # Two decimals, unless they would print the threshold itself for a ratio on either side.
    text = f"{ratio:.2f}"
    if float(text) == analysis.NEAR_SEPARABLE and ratio != analysis.NEAR_SEPARABLE:
        text = f"{ratio:.3g}"
    return f"σ2/σ1 = {text}"


def _integer_scale(column: np.ndarray) -> float:
    """A factor that makes the column whole numbers, largest at most 32 ([1 2 1], [1 4 6 4 1]),
    else one that makes its largest entry 1."""
    top = float(np.max(np.abs(column)))
    for n in range(1, 33):
        scaled = column * (n / top)
        if np.all(np.abs(scaled - np.rint(scaled)) <= 1e-6):
            return n / top
    return 1.0 / top


def _vector_text(values: np.ndarray, most: int | None = None) -> str:
    """[1 2 1]; with ``most``, longer vectors keep their first and last few entries around
    an ellipsis, so a 15-tap Gaussian takes two lines rather than five."""
    words = [format_weight(v) for v in values]
    if most is not None and len(words) > most:
        keep = (most - 1) // 2
        words = [*words[:keep], "…", *words[-keep:]]
    return "[" + " ".join(words) + "]"


# Factors longer than this are elided in the label (in full in its tooltip).
_SHOWN_TAPS = 7


def _separability_texts(sep: analysis.Separability) -> tuple[str, str]:
    """(label text, tooltip) for a separability result."""
    why = (
        "A separable kernel is a column times a row: it can run as two 1-D passes,\n"
        "kh + kw multiplies per pixel instead of kh × kw.\n"
        "σ2/σ1: second over first singular value of the kernel (0 for a column × row)."
    )
    if sep.column is None or sep.row is None:
        return f"not separable ({_ratio_text(sep.ratio)})", why
    if not np.any(sep.column) or not np.any(sep.row):
        return "separable (every weight is 0)", why
    s = _integer_scale(sep.column)
    column, row = sep.column * s, sep.row / s
    # Whole numbers exactly, so [1 2 1] never prints as [1 2 0.99999999].
    column = np.where(np.abs(column - np.rint(column)) <= 1e-6, np.rint(column), column)
    full = f"column {_vector_text(column)} × row {_vector_text(row)}"
    if sep.separable:
        short = f"column {_vector_text(column, _SHOWN_TAPS)} × row {_vector_text(row, _SHOWN_TAPS)}"
        return f"separable: {short}", f"{full}\n\n{why}"
    return f"near-separable ({_ratio_text(sep.ratio)})", f"≈ {full}\n\n{why}"


_SYMMETRY_TEXTS = {
    "even": "even (blurs, Laplacians: same response to opposite edges)",
    "odd": "odd (edge detectors: opposite signs for opposite edges)",
    "none": "no symmetry",
}

# Where the bright side of an edge at angle θ (counter-clockwise, 0 = right) lies, per 45°.
_SIDES = (
    "on the right",
    "at the top right",
    "at the top",
    "at the top left",
    "on the left",
    "at the bottom left",
    "at the bottom",
    "at the bottom right",
)


def _preferred_angle(angles: np.ndarray, responses: np.ndarray, tolerance: float) -> float:
    """The centre of the longest circular run of angles within ``tolerance`` of the largest
    response: a 3 x 3 Sobel answers equally from -20° to 20°, and its direction is 0°, not the
    first angle of that plateau."""
    steps = len(angles)
    step = 360.0 / steps
    top = responses >= responses.max() - tolerance
    best_start, best_length = int(np.argmax(top)), 0
    for start in range(steps):
        if not top[start] or top[start - 1]:
            continue  # not the first angle of a run
        length = 0
        while length < steps and top[(start + length) % steps]:
            length += 1
        if length > best_length:
            best_start, best_length = start, length
    if best_length == 0:  # every angle is at the top (caught earlier as flat); be safe
        return 0.0
    return float((angles[best_start] + (best_length - 1) * step / 2) % 360.0)


class _SquarePlot(pg.PlotWidget):
    """A plot that asks its layout to be as tall as it is wide (height for width).

    The grid gives the plots their square height and puts spare height below the text, where it
    is no use to anyone but does not stretch a plot into a letterboxed strip.
    """

    def __init__(self, parent: QWidget, **kwargs: object) -> None:
        super().__init__(parent, **kwargs)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def sizeHint(self) -> QSize:
        return QSize(160, 160)

    def minimumSizeHint(self) -> QSize:
        return QSize(110, 110)


class KernelAnalysisPanel(QWidget):
    """Frequency response, DC gain, separability, symmetry and orientation tuning of one kernel.

    `setKernel` recomputes everything (under 1 ms for 15 x 15: fast enough to follow a drag);
    `clear` replaces the panel with a one-line message (a pooling layer has no kernel).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kernelAnalysis")
        self._image = np.empty((0, 0), dtype=np.float32)
        self._curve = (np.empty(0), np.empty(0))
        self._preferred: float | None = None

        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        foreground = palette.color(QPalette.ColorRole.Text)
        muted = QColor(foreground)
        muted.setAlpha(110)
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))

        # -- frequency response: one persistent ImageItem in a square, axis-less plot; the
        # caption under it says where the low frequencies are (axes would take a third of it).
        self.responsePlot = _SquarePlot(self, background=background)
        self.responsePlot.setObjectName("frequencyResponse")
        item = self._setup_plot(self.responsePlot)
        item.hideAxis("left")
        item.hideAxis("bottom")
        item.setAspectLocked(True)
        # invertY: row 0 (the most negative vertical frequency) at the top, as in the kernel grid,
        # so the peak of a stripe pattern lies in the same direction as on screen.
        item.getViewBox().invertY(True)
        self._image_item = pg.ImageItem()
        self._image_item.setLookupTable(_viridis_lut(), update=False)
        # setRect needs the image's size: give it a (blank) image of the final shape first.
        self._image_item.setImage(
            np.zeros((FFT_SIZE, FFT_SIZE), np.float32), autoLevels=False, levels=(0.0, 1.0)
        )
        # Pixel i of the shifted DFT is frequency (i - size/2)/size cycles per pixel.
        half = (FFT_SIZE // 2 + 0.5) / FFT_SIZE
        self._image_item.setRect(QRectF(-half, -half, 1.0, 1.0))
        item.addItem(self._image_item)
        item.setRange(xRange=(-half, 1 - half), yRange=(-half, 1 - half), padding=0)
        self.responsePlot.setToolTip(
            "Frequency response: how strongly the kernel passes each stripe pattern\n"
            "(|DFT| of the kernel zero-padded to 64 × 64).\n"
            "Centre: zero frequency (flat areas). Edges: the finest stripes, ½ cycle per pixel;\n"
            "left-right is horizontal frequency, up-down vertical frequency.\n"
            "Log scale over 3 decades: yellow = the peak, dark purple = 1/1000 of it or less."
        )

        # -- orientation tuning: r = |response(θ)| at angle θ, red where positive, blue negative
        self.tuningPlot = _SquarePlot(self, background=background)
        self.tuningPlot.setObjectName("orientationTuning")
        polar = self._setup_plot(self.tuningPlot)
        polar.hideAxis("left")
        polar.hideAxis("bottom")
        polar.setAspectLocked(True)
        theta = np.linspace(0, 2 * np.pi, 97)
        ring = pg.mkPen(muted, width=1, cosmetic=True)
        for radius in (0.5, 1.0):
            polar.addItem(
                pg.PlotCurveItem(radius * np.cos(theta), radius * np.sin(theta), pen=ring)
            )
        polar.addItem(pg.PlotCurveItem([-1.0, 1.0], [0.0, 0.0], pen=ring))
        polar.addItem(pg.PlotCurveItem([0.0, 0.0], [-1.0, 1.0], pen=ring))
        # Only 0° and 90° are labelled: they fix the convention (counter-clockwise from the
        # right), and a "180°" outside the ring would need a quarter more width than the curve.
        for text, (x, y), anchor in (
            ("0°", (1.03, 0.0), (0.0, 0.5)),
            ("90°", (0.0, 1.02), (0.5, 1.0)),
        ):
            label = pg.TextItem(text, color=muted, anchor=anchor)
            label.setFont(small)
            label.setPos(x, y)
            polar.addItem(label)
        self._positive_curve = pg.PlotCurveItem(pen=pg.mkPen(_POSITIVE, width=2), connect="finite")
        self._negative_curve = pg.PlotCurveItem(pen=pg.mkPen(_NEGATIVE, width=2), connect="finite")
        self._preferred_line = pg.PlotCurveItem(
            pen=pg.mkPen(_PREFERRED, width=2, style=Qt.PenStyle.DashLine)
        )
        for curve in (self._positive_curve, self._negative_curve, self._preferred_line):
            polar.addItem(curve)
        polar.setRange(xRange=(-1.3, 1.3), yRange=(-1.3, 1.3), padding=0)
        self.tuningPlot.setToolTip(
            "Orientation tuning: the response to a step edge through the kernel's centre,\n"
            "drawn at the angle of the edge's bright side (0° = bright on the right,\n"
            "90° = bright at the top). Red: positive response, blue: negative.\n"
            "Scaled so the largest response reaches the outer circle; amber: the preferred angle."
        )

        heading_font = QFont(self.font())
        heading_font.setBold(True)
        response_heading = self._label("frequency response", heading_font)
        tuning_heading = self._label("edge orientation", heading_font)
        caption = self._label("low frequencies in the centre, log scale", small)
        caption.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.orientationLabel = self._label(font=small)
        self.orientationLabel.setObjectName("analysisOrientation")
        self.dcGainLabel = self._label()
        self.dcGainLabel.setObjectName("analysisDcGain")
        self.dcGainLabel.setToolTip(
            "Sum of the weights: the factor applied to a flat area (the response at the centre"
            " of the frequency plot)."
        )
        self.separabilityLabel = self._label()
        self.separabilityLabel.setObjectName("analysisSeparability")
        self.symmetryLabel = self._label()
        self.symmetryLabel.setObjectName("analysisSymmetry")
        self.symmetryLabel.setToolTip(
            "Even: unchanged by a half turn; its frequency response is real (no shift).\n"
            "Odd: negated by a half turn; its response is imaginary (a quarter-period shift)."
        )

        page = QWidget()
        grid = QGridLayout(page)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        grid.addWidget(response_heading, 0, 0)
        grid.addWidget(tuning_heading, 0, 1)
        grid.addWidget(self.responsePlot, 1, 0)
        grid.addWidget(self.tuningPlot, 1, 1)
        grid.addWidget(caption, 2, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.orientationLabel, 2, 1, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        lines = QVBoxLayout()
        lines.setContentsMargins(0, 6, 0, 0)
        lines.setSpacing(4)
        for label in (self.dcGainLabel, self.separabilityLabel, self.symmetryLabel):
            lines.addWidget(label)
        grid.addLayout(lines, 3, 0, 1, 2)
        grid.setRowStretch(4, 1)  # spare height below the text, not around the square plots

        self._message = QLabel(self)
        self._message.setObjectName("analysisMessage")
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setWordWrap(True)
        self._message.setTextFormat(Qt.TextFormat.PlainText)
        self._message.setMargin(12)

        self._stack = QStackedWidget(self)
        self._stack.addWidget(page)
        self._stack.addWidget(self._message)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self._stack)

        self.clear("no kernel")

    @staticmethod
    def _setup_plot(plot: pg.PlotWidget) -> pg.PlotItem:
        # A display, not a viewer: no pan/zoom, no context menu, no "A" auto-range button, and
        # no keyboard focus taken from the kernel grid.
        plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        item = plot.getPlotItem()
        item.setMouseEnabled(x=False, y=False)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.getViewBox().disableAutoRange()
        item.getViewBox().setDefaultPadding(0.0)
        item.layout.setContentsMargins(2, 2, 2, 2)
        return item

    def _label(self, text: str = "", font: QFont | None = None) -> QLabel:
        label = QLabel(text, self)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if font is not None:
            label.setFont(font)
        return label

    # -- public -------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        # As tall as the content needs at 340 px (about 300 px for a 3 x 3 kernel), so the dock
        # leaves the rest of its height to the kernel grid above.
        return QSize(340, super().sizeHint().height())

    def setKernel(self, kernel: np.ndarray, filter_kernels: np.ndarray | None = None) -> None:
        """Analyse and show one 2-D kernel (float weights, any kh x kw).

        ``filter_kernels``: the (C_in, kh, kw) kernels of the filter it belongs to; with more than
        one channel, the DC gain read is the filter's (what its summed map does to a flat grey
        area), with this kernel's share beside it.

        A kernel that is not a finite 2-D array shows a one-line message instead; nothing raises.
        """
        try:
            k = np.array(kernel, dtype=np.float64)
        except (TypeError, ValueError):
            self.clear("not a kernel: the weights are not numbers")
            return
        if k.ndim != 2 or k.size == 0:
            self.clear(f"not a kernel: a 2-D grid of weights is needed, got shape {k.shape}")
            return
        if not np.all(np.isfinite(k)):
            self.clear("cannot analyse: some weights are not finite numbers (NaN or ∞)")
            return

        scale = float(np.abs(k).sum())  # the yardstick of "zero" for sums and responses

        response = analysis.frequency_response(k, FFT_SIZE)
        peak = float(response.max())
        if peak > 0:
            image = np.log10(FLOOR * peak + response).astype(np.float32)
            levels = (math.log10(FLOOR * peak), math.log10((1.0 + FLOOR) * peak))
        else:  # every weight 0: nothing passes, show the floor colour everywhere
            image = np.zeros(response.shape, np.float32)
            levels = (0.0, 1.0)
        self._image = np.ascontiguousarray(image)
        # Explicit levels with autoLevels=False: no min/max sampling per update (see panes.py).
        self._image_item.setImage(self._image, autoLevels=False, levels=levels)

        gain_text = _dc_text(kernel_ops.dc_gain(k), scale)
        whole = None if filter_kernels is None else np.asarray(filter_kernels, dtype=np.float64)
        if whole is not None and whole.ndim == 3 and len(whole) > 1:
            gain_text = (
                "filter "
                + _dc_text(float(whole.sum()), float(np.abs(whole).sum()))
                + f"; this kernel {_number(kernel_ops.dc_gain(k))}"
            )
        self.dcGainLabel.setText(gain_text)
        text, tip = _separability_texts(analysis.separability(k))
        self.separabilityLabel.setText(text)
        self.separabilityLabel.setToolTip(tip)
        self.symmetryLabel.setText(_SYMMETRY_TEXTS[analysis.symmetry(k)])
        self._show_tuning(k, scale)
        self._stack.setCurrentIndex(0)

    def clear(self, message: str) -> None:
        """Show ``message`` (one line, e.g. "a pooling layer has no kernel") instead of the
        analysis."""
        self._message.setText(message)
        self._image = np.empty((0, 0), dtype=np.float32)
        self._image_item.clear()
        self._curve = (np.empty(0), np.empty(0))
        self._preferred = None
        for curve in (self._positive_curve, self._negative_curve, self._preferred_line):
            curve.setData([], [])
        for label in (
            self.dcGainLabel,
            self.separabilityLabel,
            self.symmetryLabel,
            self.orientationLabel,
        ):
            label.clear()
        self._stack.setCurrentIndex(1)

    def messageText(self) -> str:
        """The message shown by `clear` ("" while a kernel is shown)."""
        return self._message.text() if self._stack.currentIndex() == 1 else ""

    def dcGainText(self) -> str:
        return self.dcGainLabel.text()

    def separabilityText(self) -> str:
        return self.separabilityLabel.text()

    def symmetryText(self) -> str:
        return self.symmetryLabel.text()

    def orientationText(self) -> str:
        return self.orientationLabel.text()

    def preferredAngle(self) -> float | None:
        """The edge angle in degrees (0 = bright on the right, 90 = bright at the top) with the
        largest response, or None when every angle gives the same response (blurs, Laplacians)."""
        return self._preferred

    def responseImage(self) -> np.ndarray:
        """What the frequency-response image item holds: log10(FLOOR * peak + |H|), float32
        FFT_SIZE x FFT_SIZE, zero frequency at (FFT_SIZE // 2, FFT_SIZE // 2); empty when
        cleared."""
        return self._image

    def polarCurve(self) -> tuple[np.ndarray, np.ndarray]:
        """(xs, ys) of the closed tuning curve: |response(θ)| at angle θ, divided by the largest
        |response| (so the curve touches the outer circle); empty when there is no response."""
        return self._curve

    # -- internals ----------------------------------------------------------------------------

    def _show_tuning(self, k: np.ndarray, scale: float) -> None:
        angles, weights = analysis.orientation_weights(k.shape[0], k.shape[1], TUNING_STEPS)
        responses = weights @ k.ravel()
        biggest = float(np.abs(responses).max())
        tolerance = _ZERO * scale
        if biggest <= tolerance:
            self._curve = (np.empty(0), np.empty(0))
            self._preferred = None
            for curve in (self._positive_curve, self._negative_curve, self._preferred_line):
                curve.setData([], [])
            self.orientationLabel.setText("no preferred direction: edges through the centre give 0")
            self.orientationLabel.setToolTip("")
            return

        # Close the loop and put a point at the origin wherever the sign flips, at the linearly
        # interpolated angle: each sign's lobes then end exactly where the other's begin.
        theta = np.radians(np.append(angles, 360.0))
        r = np.append(responses, responses[0]) / biggest
        r[np.abs(r) <= _ZERO] = 0.0
        flips = np.nonzero(r[:-1] * r[1:] < 0)[0]
        zero_theta = theta[flips] + (theta[flips + 1] - theta[flips]) * (
            r[flips] / (r[flips] - r[flips + 1])
        )
        theta = np.insert(theta, flips + 1, zero_theta)
        r = np.insert(r, flips + 1, 0.0)
        xs, ys = np.abs(r) * np.cos(theta), np.abs(r) * np.sin(theta)
        self._curve = (xs, ys)
        self._positive_curve.setData(np.where(r >= 0, xs, np.nan), np.where(r >= 0, ys, np.nan))
        self._negative_curve.setData(np.where(r <= 0, xs, np.nan), np.where(r <= 0, ys, np.nan))

        if float(np.ptp(responses)) <= tolerance:
            self._preferred = None
            self._preferred_line.setData([], [])
            self.orientationLabel.setText(
                f"no preferred direction: {short_number(float(responses.mean()))} at every angle"
            )
            self.orientationLabel.setToolTip("")
            return
        preferred = _preferred_angle(angles, responses, tolerance)
        self._preferred = preferred
        a = math.radians(preferred)
        self._preferred_line.setData([0.0, math.cos(a)], [0.0, math.sin(a)])
        side = _SIDES[round(preferred / 45.0) % 8]
        self.orientationLabel.setText(f"prefers {preferred:g}° (bright {side})")
        self.orientationLabel.setToolTip(
            f"Response to a unit step edge: {short_number(float(responses.max()))} at best, "
            f"{short_number(float(responses.min()))} at worst."
        )
