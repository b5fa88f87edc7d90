"""`CellNumbers`: each map cell's value written in the cell, once cells are large enough on
screen to hold a number (small maps such as the lessons' 8x8, or any map zoomed in far enough),
as setosa's image-kernels shows them.

Everything runs on the GUI thread. Performance: only the cells inside the view are formatted and
drawn, and only when a cell is at least `MIN_CELL_PX` screen pixels wide, so one paint handles
at most about (view width / MIN_CELL_PX) x (view height / MIN_CELL_PX) cells whatever the map's
size; the full map is sliced, never scanned.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from playground.ui.style import cell_number

MIN_CELL_PX = 14.0
"""Screen pixels a cell needs before numbers are drawn: room for one digit at `_MIN_FONT_PX`."""

# At MIN_CELL_PX a 4K view holds about 270 x 150 cells; a bigger count is a mapping gone wrong.
_MAX_CELLS = 50_000
_MIN_FONT_PX = 7
_MAX_FONT_PX = 15
# A digit is about this fraction of the font's pixel size wide (DejaVu Sans and its peers).
_DIGIT_WIDTH = 0.62
_DARK = QColor(20, 20, 20)
_LIGHT = QColor(250, 250, 250)


def _cell_texts(values: np.ndarray, floor: float) -> list[list[str]]:
    """The numbers as the probe prints them; values within the round-off floor read as 0."""
    return [[("0" if abs(v) <= floor else cell_number(v)) for v in row] for row in values.tolist()]


class CellNumbers(QGraphicsItem):
    """Draws the value of every visible cell of a map placed at [0, W) x [0, H) in its parent's
    coordinates (a pane's ViewBox, one unit per full-resolution pixel).

    The text colour follows the cell's colour (dark on light cells, light on dark) from the
    levels and colour map the pane uses.
    """

    def __init__(self) -> None:
        super().__init__()
        self._values: np.ndarray | None = None
        self._rgb = False
        self._levels = (0.0, 1.0)
        self._diverging = False
        self._floor = 0.0
        self._font = QFont()
        self.setZValue(5)  # above the image, below the probe's outline

    def setValues(
        self,
        values: np.ndarray,
        levels: tuple[float, float],
        diverging: bool,
        floor: float = 0.0,
    ) -> None:
        """The full-resolution map (H x W, or H x W x 3 uint8) and how its cells are coloured.

        Keeps a reference, no copy; only the visible cells are read, when painted.
        """
        if self._values is None or values.shape[:2] != self._values.shape[:2]:
            self.prepareGeometryChange()
        self._values = values
        self._rgb = values.ndim == 3
        self._levels = levels
        self._diverging = diverging
        self._floor = floor
        self.update()

    def boundingRect(self) -> QRectF:
        if self._values is None:
            return QRectF()
        h, w = self._values.shape[:2]
        return QRectF(0, 0, w, h)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        if self._values is None:
            return
        transform = painter.transform()
        cell_w, cell_h = abs(transform.m11()), abs(transform.m22())
        if min(cell_w, cell_h) < MIN_CELL_PX:
            return
        h, w = self._values.shape[:2]
        # The part of the map inside the view (option.exposedRect is the whole item unless
        # the item asks for Qt's extended style option, which costs every paint a mapping).
        inverse, invertible = transform.inverted()
        if widget is None or not invertible:
            return
        exposed = inverse.mapRect(QRectF(widget.rect())).intersected(QRectF(0, 0, w, h))
        if exposed.isEmpty():
            return
        c0, c1 = max(0, math.floor(exposed.left())), min(w, math.ceil(exposed.right()))
        r0, r1 = max(0, math.floor(exposed.top())), min(h, math.ceil(exposed.bottom()))
        if (r1 - r0) * (c1 - c0) > _MAX_CELLS:
            return  # a view larger than any screen: nothing readable to write
        block = self._values[r0:r1, c0:c1]
        if self._rgb:
            # A grey pixel (the lessons' images) carries one number, a colour one all three.
            texts = [
                [str(r) if r == g == b else f"{r}\n{g}\n{b}" for r, g, b in row]
                for row in block.tolist()
            ]
            longest = 3
            lines = 3 if any("\n" in t for row in texts for t in row) else 1
            shade = block @ np.array([0.299, 0.587, 0.114]) / 255.0
        else:
            texts = _cell_texts(block, self._floor)
            longest, lines = max(len(t) for row in texts for t in row), 1
            shade = self._shade(block)
        size = min(cell_w * 0.9 / (_DIGIT_WIDTH * longest), cell_h * 0.8 / (1.25 * lines))
        if size < _MIN_FONT_PX:
            return
        self._font.setPixelSize(min(_MAX_FONT_PX, int(size)))
        painter.save()
        painter.resetTransform()
        painter.setFont(self._font)
        flags = int(Qt.AlignmentFlag.AlignCenter)
        for i, row in enumerate(texts):
            for j, text in enumerate(row):
                rect = transform.mapRect(QRectF(c0 + j, r0 + i, 1, 1))
                painter.setPen(_DARK if shade[i, j] > 0.5 else _LIGHT)
                painter.drawText(rect, flags, text)
        painter.restore()

    def _shade(self, block: np.ndarray) -> np.ndarray:
        """How light each cell is drawn, 0 (dark) to 1 (light), from the levels and colour map."""
        lo, hi = self._levels
        t = np.clip((block.astype(np.float64) - lo) / ((hi - lo) or 1.0), 0.0, 1.0)
        if self._diverging:
            # White in the middle, saturated blue or red at the ends.
            return 1.0 - np.abs(2.0 * t - 1.0)
        return t
