"""`ChannelStrip`: every channel's kernel of a filter as a small heat map; click to select one.

Everything runs on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import (
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from playground.ui.kernel_editor.cells import (
    kernel_pixmap,
)


class _ChannelThumb(QWidget):
    """One channel of the strip: a heat map over its name; paints its own highlight."""

    clicked = Signal(int)

    def __init__(self, channel: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.channel = channel
        self.selected = False
        self._styled = False  # the label's font says ``selected`` yet
        # What the picture shows: (kernel bytes, shape, shared scale); None before the first.
        self._drawn: tuple[bytes, tuple[int, ...], float] | None = None
        self.setObjectName(f"channelThumb{channel}")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 2)
        layout.setSpacing(2)
        self.image = QLabel(self)
        self.image.setFixedSize(ChannelStrip.THUMB, ChannelStrip.THUMB)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label = QLabel(self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.label.font()
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        self.label.setFont(font)
        layout.addWidget(self.image, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.label)

    def showKernel(self, kernel: np.ndarray, size: int, scale: float) -> None:
        """Draw ``kernel`` on the shared ``scale``; one drawn so already is left alone (an edit
        changes one channel's kernel, and the others' pictures only when the scale moves)."""
        drawn = (kernel.tobytes(), kernel.shape, scale)
        if drawn != self._drawn:
            self._drawn = drawn
            self.image.setPixmap(kernel_pixmap(kernel, size, scale))

    def setSelected(self, selected: bool) -> None:
        if selected == self.selected and self._styled:
            return  # a new font lays the strip, the dock and the window out again
        self._styled = True
        self.selected = selected
        font = self.label.font()
        font.setBold(selected)
        self.label.setFont(font)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.selected:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        fill = QColor(highlight)
        fill.setAlphaF(0.15)
        painter.setBrush(fill)
        painter.setPen(QPen(highlight, 2))
        painter.drawRoundedRect(self.rect().adjusted(1, 1, -1, -1), 5, 5)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.channel)
            event.accept()
            return
        super().mousePressEvent(event)


class ChannelStrip(QWidget):
    """Every input channel's kernel of a filter as a small heat map, side by side.

    All maps share one colour scale (max |w| over the filter), so a channel that barely matters
    looks pale next to one that dominates. Scrolls horizontally when there are many channels.

    Signals
    -------
    channelSelected(int)
        A channel (0-based) was clicked.
    """

    channelSelected = Signal(int)
    THUMB = 48

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("channelStrip")
        self._thumbs: list[_ChannelThumb] = []
        self._current = 0
        self._scroll = QScrollArea(self)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setWidgetResizable(True)
        self._scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._row = QWidget()
        self._row_layout = QHBoxLayout(self._row)
        self._row_layout.setContentsMargins(0, 0, 0, 0)
        self._row_layout.setSpacing(2)
        self._row_layout.addStretch(1)
        self._scroll.setWidget(self._row)
        # New thumbnails are laid out later (and not at all while hidden): reveal the current
        # one again whenever the scrollable width changes.
        self._scroll.horizontalScrollBar().rangeChanged.connect(self._reveal_current)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._scroll)
        label_height = QFontMetrics(self.font()).height()
        scroll_bar = self._scroll.horizontalScrollBar().sizeHint().height()
        self.setFixedHeight(self.THUMB + label_height + 12 + scroll_bar)
        self.setToolTip("Every channel's kernel of this filter; colours share one scale.")

    def count(self) -> int:
        return len(self._thumbs)

    def current(self) -> int:
        return self._current

    def thumbnail(self, channel: int) -> QWidget:
        """The clickable widget of one channel."""
        return self._thumbs[channel]

    def setKernels(self, kernels: np.ndarray, names: Sequence[str]) -> None:
        """Show (C_in, kh, kw) kernels with their channel names; emits nothing."""
        k = np.asarray(kernels, dtype=np.float64)
        while len(self._thumbs) > len(k):
            thumb = self._thumbs.pop()
            self._row_layout.removeWidget(thumb)
            # Out of the layout it would still be drawn where it was until deleteLater runs.
            thumb.hide()
            thumb.deleteLater()
        while len(self._thumbs) < len(k):
            thumb = _ChannelThumb(len(self._thumbs), self._row)
            thumb.clicked.connect(self._on_thumb_clicked)
            self._row_layout.insertWidget(len(self._thumbs), thumb)
            self._thumbs.append(thumb)
        scale = float(np.max(np.abs(k))) if k.size else 0.0
        for channel, (thumb, name) in enumerate(zip(self._thumbs, names)):
            thumb.showKernel(k[channel], self.THUMB, scale)
            thumb.label.setText(name)
            gain = float(k[channel].sum())
            thumb.setToolTip(f"{name}: max |w| {np.max(np.abs(k[channel])):.3g}, sum {gain:.3g}")
        self.setCurrent(min(self._current, max(len(k) - 1, 0)))

    def setCurrent(self, channel: int) -> None:
        """Highlight one channel; emits nothing."""
        self._current = channel
        for thumb in self._thumbs:
            thumb.setSelected(thumb.channel == channel)
        self._reveal_current()

    def _reveal_current(self, *_: object) -> None:
        if 0 <= self._current < len(self._thumbs):
            self._scroll.ensureWidgetVisible(self._thumbs[self._current], 4, 0)

    def _on_thumb_clicked(self, channel: int) -> None:
        self.setCurrent(channel)
        self.channelSelected.emit(channel)
