"""The slide: a conv filter's footprint sweeping over its layer's input, one output position at
a time, while the output map fills cell by cell (as setosa's image-kernels and the
conv_arithmetic animations show convolution).

Each position's numbers come from the engine: the window computes the probe at that position
(`playground.engine.probe`; the probe panel shows its arithmetic) and hands `SlidePanel` a
`SlideFrame` cut from the probe, the layer's input and the engine's output map. Nothing here
convolves: the frame holds bounded windows of those arrays (at most `WINDOW` cells a side), so
a step costs the same on an 8x8 lesson and a 4K frame.

Everything runs on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSignalBlocker, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from playground.engine.bank import ConvLayer
from playground.engine.probe import Probe, border_index
from playground.ui.style import NEGATIVE, NEUTRAL, POSITIVE, cell_number, sum_number

WINDOW = 14
"""At most this many cells a side of the input and output windows the slide draws (fewer when
the panel is narrow: `SlidePanel.windowCells`); a smaller (padded) input or output is drawn
whole."""

_MAX_WINDOW = 40  # cells a side at most, whatever the footprint
_READABLE_CELL_PX = 30  # a cell this wide holds a 3-digit number and the weight under it

MAX_CHANNELS = 3
"""Input channels drawn side by side; the partial sums of all of them still add up below."""

_FOOTPRINT = QColor(255, 170, 0)
_CURRENT = QColor(0, 170, 230)
_EMPTY = QColor(232, 232, 232)


@dataclass(frozen=True)
class ChannelWindow:
    """One input channel's cells around the footprint, padding included."""

    name: str
    values: np.ndarray  # (rows, cols) float64: the input, or the border's value in the padding
    inside: np.ndarray  # (rows, cols) bool: the cell is in the image (else it is padding)
    partial: float  # this channel's products summed at the current position (the probe's)
    kernel: np.ndarray  # (kh, kw) as applied at each tap


@dataclass(frozen=True)
class SlideFrame:
    """What the slide draws at one position of one conv filter.

    Input windows start at input coordinates ``origin`` (negative in the padding); output
    windows at output coordinates ``output_origin``. ``filled`` marks the output cells the
    footprint has visited (raster order up to ``position``).
    """

    probe: Probe
    channels: tuple[ChannelWindow, ...]
    hidden_channels: int
    origin: tuple[int, int]
    stride: tuple[int, int]
    first: tuple[int, int]  # input (row, col) of the footprint's first tap at output (0, 0)
    output: np.ndarray  # window of the engine's output map
    output_origin: tuple[int, int]
    output_shape: tuple[int, int]
    filled: np.ndarray  # bool, like ``output``

    @property
    def position(self) -> tuple[int, int]:
        """Output (y, x) of the footprint."""
        return self.probe.y, self.probe.x


def _window(centre: int, extent: tuple[int, int], size: int) -> tuple[int, int]:
    """[start, stop) of at most ``size`` cells within ``extent``, around ``centre``."""
    lo, hi = extent
    if hi - lo <= size:
        return lo, hi
    start = min(max(lo, centre - size // 2), hi - size)
    return start, start + size


def slide_frame(
    probe: Probe,
    spec: ConvLayer,
    layer_input: np.ndarray,
    output: np.ndarray,
    names: Sequence[str],
    size: int = WINDOW,
) -> SlideFrame:
    """Cut the windows the slide draws at ``probe``'s position from the layer's input (C, H, W)
    and the engine's output map (H', W') of the probed filter. Bounded: reads at most
    ``size`` x ``size`` cells per drawn channel, whatever the map's size."""
    _, h, w = layer_input.shape
    out_h, out_w = output.shape
    sy, sx = spec.stride
    rows, cols = probe.rows, probe.cols
    first = (int(rows[0]) - probe.y * sy, int(cols[0]) - probe.x * sx)
    span = (int(rows[-1] - rows[0]), int(cols[-1] - cols[0]))
    # The padded input: every cell some position's footprint covers, and the image.
    extent_r = (min(0, first[0]), max(h, first[0] + (out_h - 1) * sy + span[0] + 1))
    extent_c = (min(0, first[1]), max(w, first[1] + (out_w - 1) * sx + span[1] + 1))
    # The whole footprint and a cell around it, up to _MAX_WINDOW (a 101x101 kernel is cut).
    side = min(_MAX_WINDOW, max(size, max(span) + 3))
    r0, r1 = _window(int(rows[0] + rows[-1]) // 2, extent_r, side)
    c0, c1 = _window(int(cols[0] + cols[-1]) // 2, extent_c, side)
    rr, cc = np.arange(r0, r1), np.arange(c0, c1)
    ri, ci = border_index(rr, h, spec.border), border_index(cc, w, spec.border)
    filled_by_border = (ri[:, None] >= 0) & (ci[None, :] >= 0)
    inside = ((rr >= 0) & (rr < h))[:, None] & ((cc >= 0) & (cc < w))[None, :]
    channels = []
    for term in probe.channels[:MAX_CHANNELS]:
        plane = layer_input[term.channel]
        window = plane[np.ix_(np.maximum(ri, 0), np.maximum(ci, 0))].astype(np.float64)
        channels.append(
            ChannelWindow(
                names[term.channel] if term.channel < len(names) else f"ch {term.channel + 1}",
                np.where(filled_by_border, window, 0.0),
                inside,
                term.partial,
                term.kernel,
            )
        )
    oy0, oy1 = _window(probe.y, (0, out_h), size)
    ox0, ox1 = _window(probe.x, (0, out_w), size)
    raster = np.arange(oy0, oy1)[:, None] * out_w + np.arange(ox0, ox1)[None, :]
    return SlideFrame(
        probe,
        tuple(channels),
        max(0, len(probe.channels) - MAX_CHANNELS),
        (r0, c0),
        (sy, sx),
        first,
        np.array(output[oy0:oy1, ox0:ox1], dtype=np.float64),
        (oy0, ox0),
        (out_h, out_w),
        raster <= probe.y * out_w + probe.x,
    )


def _range(values: np.ndarray) -> tuple[float, float]:
    """The colour range of a window: its values and 0, and [0, 1] (the input image's range)
    when they fit in it, so a uniform white window is drawn white, not black."""
    finite = values[np.isfinite(values)]
    lo = min(0.0, float(finite.min())) if finite.size else 0.0
    hi = max(0.0, float(finite.max())) if finite.size else 1.0
    if lo >= 0.0 and hi <= 1.0:
        hi = 1.0
    return lo, hi


def _colour(value: float, lo: float, hi: float) -> QColor:
    """Grey from lo (black) to hi (white); blue-white-red around 0 when the range is signed."""
    if lo < 0 < hi or (lo < 0 and hi <= 0):
        m = max(abs(lo), abs(hi)) or 1.0
        t = max(-1.0, min(1.0, value / m))
        end = POSITIVE if t > 0 else NEGATIVE
        rgb = [round(n + (e - n) * abs(t)) for n, e in zip(NEUTRAL, end)]
        return QColor(*rgb)
    t = 0.0 if hi <= lo else max(0.0, min(1.0, (value - lo) / (hi - lo)))
    g = round(40 + 215 * t)
    return QColor(g, g, g)


def _text_pen(fill: QColor) -> QColor:
    return QColor(20, 20, 20) if fill.lightness() > 140 else QColor(250, 250, 250)


class _SlideCanvas(QWidget):
    """Paints a `SlideFrame`: each drawn channel's cells with the footprint's taps, then the
    output window filling up."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._frame: SlideFrame | None = None
        self.setMinimumHeight(180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def setFrame(self, frame: SlideFrame | None) -> None:
        self._frame = frame
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(900, 300)

    def paintEvent(self, event: QPaintEvent) -> None:
        frame = self._frame
        if frame is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rows, cols = frame.channels[0].values.shape
        out_rows, out_cols = frame.output.shape
        grids = len(frame.channels)
        gap_cells = 1.6  # room for an operator between grids
        width_cells = grids * cols + out_cols + gap_cells * grids + 0.6  # and the margins
        height_cells = max(rows, out_rows) + 3.2  # a title line above, two lines below
        cell = max(6.0, min(48.0, self.width() / width_cells, self.height() / height_cells))
        font = QFont(self.font())
        painter.setFont(font)
        top = cell * 1.2
        x = cell * 0.3
        for index, channel in enumerate(frame.channels):
            self._draw_channel(painter, frame, channel, QPointF(x, top), cell)
            x += cols * cell
            operator = "+" if index < grids - 1 else "="
            painter.setPen(self.palette().color(self.foregroundRole()))
            painter.drawText(
                QRectF(x, top, gap_cells * cell, rows * cell),
                int(Qt.AlignmentFlag.AlignCenter),
                operator,
            )
            x += gap_cells * cell
        self._draw_output(painter, frame, QPointF(x, top), cell)

    def _cell_font(self, painter: QPainter, cell: float, chars: int) -> bool:
        size = min(cell * 0.42, cell * 0.9 / (0.62 * max(chars, 1)))
        if size < 6:
            return False
        font = QFont(painter.font())
        font.setPixelSize(int(size))
        painter.setFont(font)
        return True

    def _draw_grid(
        self,
        painter: QPainter,
        origin: QPointF,
        cell: float,
        title: str,
        values: np.ndarray,
        shown: np.ndarray | None = None,
        padding: np.ndarray | None = None,
    ) -> None:
        """A titled grid of cells coloured by value, each with its number when it fits;
        cells not ``shown`` are blank, ``padding`` cells hatched."""
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(
            QRectF(
                origin.x(), origin.y() - cell * 1.2, max(cell * values.shape[1], cell * 8), cell
            ),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom),
            title,
        )
        base_font = QFont(painter.font())
        lo, hi = _range(values)
        texts = [[cell_number(v) for v in row] for row in values.tolist()]
        numbers = self._cell_font(painter, cell, max(len(t) for row in texts for t in row))
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                rect = QRectF(origin.x() + j * cell, origin.y() + i * cell, cell, cell)
                if shown is None or shown[i, j]:
                    fill = _colour(float(values[i, j]), lo, hi)
                    painter.fillRect(rect, fill)
                    if numbers:
                        painter.setPen(_text_pen(fill))
                        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), texts[i][j])
                else:
                    painter.fillRect(rect, _EMPTY)
                if padding is not None and padding[i, j]:
                    painter.fillRect(
                        rect, QBrush(QColor(120, 120, 120, 150), Qt.BrushStyle.BDiagPattern)
                    )
                painter.setPen(QPen(QColor(150, 150, 150), 1))
                painter.drawRect(rect)
        painter.setFont(base_font)

    def _draw_channel(
        self,
        painter: QPainter,
        frame: SlideFrame,
        channel: ChannelWindow,
        origin: QPointF,
        cell: float,
    ) -> None:
        foreground = self.palette().color(self.foregroundRole())
        base_font = QFont(painter.font())
        values = channel.values
        self._draw_grid(
            painter, origin, cell, f"{channel.name} · input", values, padding=~channel.inside
        )
        r0, c0 = frame.origin
        # Where the footprint started at each position visited so far: the stride's jumps.
        sy, sx = frame.stride
        dot = QColor(_FOOTPRINT)
        painter.setBrush(dot)
        painter.setPen(Qt.PenStyle.NoPen)
        for oy, ox in zip(*np.nonzero(frame.filled)):
            ay = frame.first[0] + (oy + frame.output_origin[0]) * sy - r0
            ax = frame.first[1] + (ox + frame.output_origin[1]) * sx - c0
            if 0 <= ay < values.shape[0] and 0 <= ax < values.shape[1]:
                centre = QPointF(origin.x() + (ax + 0.18) * cell, origin.y() + (ay + 0.18) * cell)
                painter.drawEllipse(centre, cell * 0.08, cell * 0.08)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        # The taps: outlined one by one, so dilation's gaps show; each carries its weight.
        probe = frame.probe
        weight_font = QFont(base_font)
        weight_font.setPixelSize(max(6, int(cell * 0.24)))
        for a, row in enumerate(probe.rows):
            for b, col in enumerate(probe.cols):
                i, j = int(row) - r0, int(col) - c0
                if not (0 <= i < values.shape[0] and 0 <= j < values.shape[1]):
                    continue
                rect = QRectF(origin.x() + j * cell, origin.y() + i * cell, cell, cell)
                painter.setPen(QPen(_FOOTPRINT, max(2.0, cell * 0.08)))
                painter.drawRect(rect.adjusted(1, 1, -1, -1))
                if cell >= 28:
                    painter.setFont(weight_font)
                    painter.setPen(QColor(150, 80, 0))
                    painter.drawText(
                        rect.adjusted(2, 0, -2, -1),
                        int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom),
                        f"×{cell_number(float(channel.kernel[a, b]))}",
                    )
        painter.setFont(base_font)
        painter.setPen(foreground)
        painter.drawText(
            QRectF(
                origin.x(),
                origin.y() + values.shape[0] * cell + 2,
                cell * values.shape[1] + cell,
                cell * 1.2,
            ),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
            f"Σ products = {sum_number(channel.partial)}",
        )

    def _draw_output(
        self, painter: QPainter, frame: SlideFrame, origin: QPointF, cell: float
    ) -> None:
        foreground = self.palette().color(self.foregroundRole())
        base_font = QFont(painter.font())
        probe = frame.probe
        out_h, out_w = frame.output_shape
        values = frame.output
        self._draw_grid(
            painter, origin, cell, f"feature map {out_h}×{out_w}", values, shown=frame.filled
        )
        oy0, ox0 = frame.output_origin
        i, j = probe.y - oy0, probe.x - ox0
        painter.setPen(QPen(_CURRENT, max(2.0, cell * 0.1)))
        painter.drawRect(QRectF(origin.x() + j * cell, origin.y() + i * cell, cell, cell))
        painter.setFont(base_font)
        painter.setPen(foreground)
        partials = " + ".join(sum_number(c.partial) for c in frame.channels)
        if frame.hidden_channels:
            partials += f" + … ({frame.hidden_channels} more)"
        activation = "" if probe.activation == "none" else f" → {probe.activation}"
        painter.drawText(
            QRectF(
                origin.x(),
                origin.y() + values.shape[0] * cell + 2,
                max(self.width() - origin.x(), cell * 8),
                cell * 2.4,
            ),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
            f"{partials} + bias {sum_number(probe.bias)}{activation}\n"
            f"= {sum_number(probe.value)} at x {probe.x}, y {probe.y}",
        )


class SlidePanel(QWidget):
    """Play, pause, step and scrub the footprint over every output position of one conv filter.

    The panel knows only the output's size and the position; the window answers
    `positionChanged` with the `SlideFrame` there (`setFrame`).
    """

    positionChanged = Signal(int, int)
    """Output (y, x) the footprint moved to."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("slidePanel")
        self._shape = (0, 0)
        self._index = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_tick)

        self._title = QLabel("Slide: select a conv filter and press Slide.", self)
        self._title.setWordWrap(True)
        self.buttons: dict[str, QToolButton] = {}
        controls = QHBoxLayout()
        for name, text, tip, slot in (
            ("start", "|◀", "Back to the first position", lambda: self.setIndex(0)),
            ("back", "◀", "One position back", lambda: self.step(-1)),
            ("play", "▶ Play", "Play / pause the slide", self._on_play_clicked),
            ("forward", "▶|", "One position on", lambda: self.step(1)),
        ):
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            controls.addWidget(button)
            self.buttons[name] = button
        self.speed = QSpinBox(self)
        self.speed.setRange(1, 60)
        self.speed.setValue(4)
        self.speed.setSuffix(" steps/s")
        self.speed.setToolTip("How fast Play moves the footprint")
        self.speed.valueChanged.connect(self._on_speed_changed)
        controls.addWidget(self.speed)
        self.scrub = QSlider(Qt.Orientation.Horizontal, self)
        self.scrub.setToolTip("Drag to any position (raster order: along each row, then down)")
        self.scrub.valueChanged.connect(self.setIndex)
        controls.addWidget(self.scrub, 1)
        self._where = QLabel(self)
        controls.addWidget(self._where)

        self.canvas = _SlideCanvas(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self._title)
        layout.addLayout(controls)
        layout.addWidget(self.canvas, 1)
        self._set_enabled(False)

    # --- public API --------------------------------------------------------------------------

    def setTarget(self, title: str, shape: tuple[int, int], index: int = 0) -> None:
        """Slide over an output of ``shape`` (H', W'), starting at raster ``index``; emits
        `positionChanged`."""
        self._shape = (int(shape[0]), int(shape[1]))
        count = self.positionCount()
        self._title.setText(title)
        self._set_enabled(count > 0)
        with QSignalBlocker(self.scrub):
            self.scrub.setRange(0, max(0, count - 1))
        self._index = -1
        self.setIndex(min(max(0, index), max(0, count - 1)))

    def clear(self, text: str) -> None:
        """No filter to slide: say why."""
        self.pause()
        self._shape = (0, 0)
        self._title.setText(text)
        self._set_enabled(False)
        self.canvas.setFrame(None)

    def setFrame(self, frame: SlideFrame) -> None:
        """Draw the footprint and the output at the current position."""
        self.canvas.setFrame(frame)

    def frame(self) -> SlideFrame | None:
        return self.canvas._frame

    def outputShape(self) -> tuple[int, int]:
        """(H', W') of the output slid over; (0, 0) when there is none."""
        return self._shape

    def windowCells(self, channels: int) -> int:
        """Cells a side of the windows that fit the panel at a readable size, for an input of
        ``channels`` channels (10, a lesson's padded 8x8, to `WINDOW`)."""
        grids = min(channels, MAX_CHANNELS) + 1
        across = (self.canvas.width() / _READABLE_CELL_PX - 1.6 * grids) / grids
        down = self.canvas.height() / _READABLE_CELL_PX - 3.2
        return int(max(10, min(WINDOW, across, down)))

    def positionCount(self) -> int:
        return self._shape[0] * self._shape[1]

    def index(self) -> int:
        """The position in raster order (along each output row, then down)."""
        return self._index

    def position(self) -> tuple[int, int]:
        """Output (y, x) of the footprint."""
        width = max(1, self._shape[1])
        return divmod(self._index, width)

    def setIndex(self, index: int) -> None:
        count = self.positionCount()
        if count == 0:
            return
        index = min(max(0, int(index)), count - 1)
        if index == self._index:
            return
        self._index = index
        with QSignalBlocker(self.scrub):
            self.scrub.setValue(index)
        y, x = self.position()
        self._where.setText(f"{index + 1} / {count}  ·  output y {y}, x {x}")
        self.positionChanged.emit(y, x)

    def step(self, delta: int) -> None:
        self.setIndex(self._index + delta)

    def play(self) -> None:
        if self.positionCount() == 0:
            return
        if self._index >= self.positionCount() - 1:
            self.setIndex(0)  # played to the end: Play starts over
        self._timer.start(round(1000 / self.speed.value()))
        self.buttons["play"].setText("⏸ Pause")

    def pause(self) -> None:
        self._timer.stop()
        self.buttons["play"].setText("▶ Play")

    def isPlaying(self) -> bool:
        return self._timer.isActive()

    # --- internals --------------------------------------------------------------------------

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (*self.buttons.values(), self.speed, self.scrub):
            widget.setEnabled(enabled)

    def _on_play_clicked(self) -> None:
        if self.isPlaying():
            self.pause()
        else:
            self.play()

    def _on_speed_changed(self, value: int) -> None:
        if self._timer.isActive():
            self._timer.setInterval(round(1000 / value))

    def _on_tick(self) -> None:
        if self._index >= self.positionCount() - 1:
            self.pause()
            return
        self.step(1)


def footprint_rect(probe: Probe) -> QRectF:
    """The footprint's bounding box in input pixels (padding may put it past the edges)."""
    return QRectF(
        float(probe.cols.min()),
        float(probe.rows.min()),
        float(probe.cols.max() - probe.cols.min() + 1),
        float(probe.rows.max() - probe.rows.min() + 1),
    )
