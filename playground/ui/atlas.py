"""`FilterAtlas`: every filter of one conv layer as a tile of its kernels, in one view, like the
figure of a trained model's first-layer filters: an RGB filter is one colour tile (its three
kernels as the red, green and blue of each weight), any other filter a small grid of its
kernels in the blue-white-red of the kernel editor. A click selects the filter.

Everything runs on the GUI thread, on a bank change only (never per frame): the tiles are
built once per layer, and at most `MAX_TILES` filters and `MAX_KERNELS_PER_TILE` kernels per
tile are drawn, so a layer of 1024 filters of 512 channels costs what 256 small pictures cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QScrollArea, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from playground.ui.kernel_editor import diverging_rgb

MAX_TILES = 256
MAX_KERNELS_PER_TILE = 16
TILE = 52  # pixels a side of a tile's picture: 64 tiles in four rows of a 1400 px window
_LABEL = 16  # pixels under a tile for its number
_GAP = 6


def colour_tile(kernels: np.ndarray, scale: float) -> np.ndarray:
    """An RGB filter's three (kh, kw) kernels as one uint8 RGB picture: each channel's weight
    as that colour's brightness, 0 at mid-grey and ``scale`` (the layer's largest |weight|)
    at full, so filters share one scale and compare (the usual picture of first-layer
    filters)."""
    w = np.moveaxis(np.asarray(kernels, dtype=np.float64), 0, -1)  # (kh, kw, 3)
    t = 0.5 + 0.5 * w / (scale or 1.0)
    return np.ascontiguousarray(np.rint(np.clip(t, 0.0, 1.0) * 255).astype(np.uint8))


def kernels_tile(kernels: np.ndarray, scale: float) -> np.ndarray:
    """A filter's first `MAX_KERNELS_PER_TILE` kernels (C, kh, kw) side by side in a near-square
    grid, one pixel of gap, in the diverging colours on the layer's shared ``scale``."""
    shown = np.asarray(kernels[:MAX_KERNELS_PER_TILE], dtype=np.float64)
    count, kh, kw = shown.shape
    across = math.ceil(math.sqrt(count))
    down = math.ceil(count / across)
    picture = np.full((down * (kh + 1) - 1, across * (kw + 1) - 1, 3), 90, np.uint8)
    for index, kernel in enumerate(shown):
        r, c = divmod(index, across)
        picture[r * (kh + 1) : r * (kh + 1) + kh, c * (kw + 1) : c * (kw + 1) + kw] = diverging_rgb(
            kernel, scale or 1.0
        )
    return picture


def _pixmap(rgb: np.ndarray, size: int) -> QPixmap:
    h, w = rgb.shape[:2]
    image = QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    factor = size / max(h, w)
    mode = (
        Qt.TransformationMode.FastTransformation
        if factor >= 1
        else Qt.TransformationMode.SmoothTransformation
    )
    return QPixmap.fromImage(
        image.scaled(max(1, round(w * factor)), max(1, round(h * factor)), mode=mode)
    )


class _Tiles(QWidget):
    """The painted grid of tiles (one widget, not one per filter: 64 widgets would cost a
    relayout each)."""

    clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pixmaps: list[QPixmap] = []
        self.names: list[str] = []
        self.selected = -1
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def columns(self) -> int:
        return max(1, (self.width() + _GAP) // (TILE + _GAP))

    def tileRect(self, index: int) -> QRect:
        r, c = divmod(index, self.columns())
        return QRect(c * (TILE + _GAP), r * (TILE + _LABEL + _GAP), TILE, TILE + _LABEL)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        columns = max(1, (width + _GAP) // (TILE + _GAP))
        rows = math.ceil(len(self.pixmaps) / columns)
        return max(TILE, rows * (TILE + _LABEL + _GAP))

    def sizeHint(self) -> QSize:
        return QSize(8 * (TILE + _GAP), self.heightForWidth(8 * (TILE + _GAP)))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        for index, pixmap in enumerate(self.pixmaps):
            rect = self.tileRect(index)
            if not rect.intersects(event.rect()):
                continue
            picture = QRect(
                rect.left() + (TILE - pixmap.width()) // 2,
                rect.top() + (TILE - pixmap.height()) // 2,
                pixmap.width(),
                pixmap.height(),
            )
            painter.drawPixmap(picture, pixmap)
            if index == self.selected:
                painter.setPen(QPen(palette.color(palette.ColorRole.Highlight), 3))
                painter.drawRect(rect.adjusted(-2, -2, 2, 2))
            painter.setPen(palette.color(palette.ColorRole.WindowText))
            # The filter's number (imported names such as conv1.weight[12] do not fit); the
            # name is the tooltip.
            painter.drawText(
                QRect(rect.left(), rect.top() + TILE, TILE, _LABEL),
                int(Qt.AlignmentFlag.AlignCenter),
                str(index + 1),
            )

    def indexAt(self, pos: QPoint) -> int:
        for index in range(len(self.pixmaps)):
            if self.tileRect(index).contains(pos):
                return index
        return -1

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            pos = event.pos()  # type: ignore[attr-defined]
            index = self.indexAt(pos)
            if index >= 0:
                QToolTip.showText(event.globalPos(), self.names[index], self)  # type: ignore[attr-defined]
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton and index >= 0:
            self.clicked.emit(index)
            event.accept()
        else:
            super().mousePressEvent(event)


class FilterAtlas(QWidget):
    """Every filter of one conv layer as a tile; `filterClicked` when a tile is clicked (the
    window selects that filter and answers with `setSelected`)."""

    filterClicked = Signal(int)
    """0-based filter index within the layer shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterAtlas")
        self._header = QLabel(self)
        self._header.setWordWrap(True)
        self._tiles = _Tiles()
        self._tiles.clicked.connect(self.filterClicked)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self._tiles)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self._header)
        layout.addWidget(scroll, 1)

    def setLayer(
        self, title: str, kernels: Sequence[np.ndarray], names: Sequence[str], colour: bool
    ) -> None:
        """Show one conv layer: each filter's (C_in, kh, kw) ``kernels``; ``colour`` draws
        3-channel filters as colour tiles (the layer reads the RGB image)."""
        shown = list(kernels[:MAX_TILES])
        scale = max((float(np.abs(k).max()) for k in shown), default=0.0)
        tiles = [
            colour_tile(k, scale) if colour and k.shape[0] == 3 else kernels_tile(k, scale)
            for k in shown
        ]
        self._tiles.pixmaps = [_pixmap(t, TILE) for t in tiles]
        self._tiles.names = [str(n) for n in names[: len(shown)]]
        more = len(kernels) - len(shown)
        kind = "colour tiles: each weight's R, G and B" if colour else "kernels side by side"
        self._header.setText(
            f"{title}: {len(kernels)} filter{'s' * (len(kernels) != 1)} ({kind}; mid-grey or "
            f"white is 0, all on one scale, ±{scale:.3g})"
            + (f"; the first {len(shown)} shown" if more else "")
            + ". Click a tile to select its filter."
        )
        self._tiles.updateGeometry()
        self._tiles.update()

    def clear(self, text: str) -> None:
        self._tiles.pixmaps, self._tiles.names = [], []
        self._header.setText(text)
        self._tiles.update()

    def setSelected(self, index: int) -> None:
        """Outline tile ``index`` (-1: none)."""
        self._tiles.selected = index
        self._tiles.update()

    def tileCount(self) -> int:
        return len(self._tiles.pixmaps)

    def tileCentre(self, index: int) -> QPoint:
        """Where tile ``index`` is, in the tiles widget (`tilesWidget`)."""
        return self._tiles.tileRect(index).center()

    def tilesWidget(self) -> QWidget:
        return self._tiles

    def headerText(self) -> str:
        return self._header.text()
