"""Feature-map panes: one live 2-D map per pane, a scrollable grid of them, and the channel story.

- `FeatureMapPane` shows one map (a feature map, a partial map, or the RGB source frame) with a
  title bar, a colour map, levels, a clipping badge, a hover readout in full-resolution pixel
  coordinates, and a context menu to change the colour map and levels.
- `PaneGrid` lays out one titled section of panes per layer and tells the controller which panes
  are on screen, so maps nobody sees need not be reduced.
- `ChannelStory` shows how one filter is built: its partial maps (one per input channel) summed,
  plus the bias, through the activation.

Everything here runs on the GUI thread. The panes never compute feature maps: the controller hands
them `ShownMap`s: arrays already reduced to about the pane's on-screen size, with the full map's
value range measured on the compute thread (the full-resolution map is read only under the mouse).

Performance: a pane is redrawn up to 60 times a second, so `FeatureMapPane.setMap` follows
pyqtgraph's fast path (one persistent `ImageItem`, C-contiguous float32 row-major data, explicit
levels, a 256-entry LUT set only when the colour map changes) and never triggers a Qt relayout (the
title bar and info line are painted text whose changes only schedule a repaint). The traps are
commented where they bite.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGraphicsRectItem,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from playground.controller.display import (
    LEVELS_MODES,
    ShownMap,
    clipped_fraction,
    is_signed,
    levels_for,
    shown_range,
)
from playground.ui.kernel_editor import kernel_pixmap
from playground.ui.style import diverging_lut, short_number

# Row-major (H, W) arrays are what numpy, OpenCV and the engine produce. With pyqtgraph's default
# (col-major) every frame would have to be transposed, and a transposed view is not C-contiguous,
# which knocks ImageItem off its fast QImage path. Process-wide option: every pyqtgraph image in the
# app must agree on it.
pg.setConfigOptions(imageAxisOrder="row-major")

__all__ = ["COLOR_MAPS", "LEVELS_MODES", "ChannelStory", "FeatureMapPane", "PaneGrid"]

COLOR_MAPS = ("gray", "diverging")

# Clipping below this fraction is not worth a badge.
_CLIP_BADGE_THRESHOLD = 0.005
# ChannelStory shows every partial map up to this many channels, else the first _STORY_SHOWN ones.
_STORY_MAX_CHANNELS = 6
_STORY_SHOWN = 5

# Letterbox around the image: a dark neutral grey in every theme. Distinct from both the black of a
# grey map's minimum and the white of the diverging map's zero, so the map's edges stay visible.
_LETTERBOX = QColor(52, 54, 58)
_CLIP_RED = QColor(205, 45, 45)


# Built once at import. Performance trap: a LUT must be uint8 with at most 256 entries; then
# pyqtgraph rescales the float map straight to uint8 indices and hands Qt an Indexed8 QImage with
# the LUT as its colour table. More entries (pyqtgraph's ColorMap default is 512) force a per-pixel
# table lookup into 32-bit colours on every frame. Grey uses no LUT at all: the scaled uint8 map
# becomes a Grayscale8 QImage as is.
_LUTS: dict[str, np.ndarray | None] = {"gray": None, "diverging": diverging_lut()}


def _muted(palette: QPalette, role: QPalette.ColorRole = QPalette.ColorRole.Text) -> QColor:
    """The text colour of `role` blended 40% towards the base: secondary text in any theme."""
    fg = palette.color(role)
    bg = palette.color(QPalette.ColorRole.Base)
    return QColor(
        round(fg.red() * 0.6 + bg.red() * 0.4),
        round(fg.green() * 0.6 + bg.green() * 0.4),
        round(fg.blue() * 0.6 + bg.blue() * 0.4),
    )


class _TitleBar(QWidget):
    """Title on the left (elided), badges on the right, all painted.

    Performance trap: a QLabel whose text changes calls updateGeometry(), which invalidates the
    parent layouts; with the clipping badge changing every frame in 64 panes that is 64 relayouts
    per frame. This widget has a fixed height and only repaints itself when its text changes.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = ""
        self._levels_badge = ""
        self._clip_badge = ""
        self._icon: QPixmap | None = None
        self._bold = QFont(self.font())
        self._bold.setBold(True)
        self._small = QFont(self.font())
        self._small.setPointSizeF(max(6.0, self.font().pointSizeF() * 0.85))
        self.setFixedHeight(QFontMetrics(self._bold).height() + 6)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def title(self) -> str:
        return self._title

    def badges(self) -> tuple[str, str]:
        return self._levels_badge, self._clip_badge

    def setTitle(self, title: str) -> None:
        if title != self._title:
            self._title = title
            self.setToolTip(title)
            self.update()

    def setIcon(self, icon: QPixmap | None) -> None:
        self._icon = icon
        self.update()

    def setBadges(self, levels_badge: str, clip_badge: str) -> None:
        if (levels_badge, clip_badge) != (self._levels_badge, self._clip_badge):
            self._levels_badge = levels_badge
            self._clip_badge = clip_badge
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(160, self.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        right = self.width() - 2
        small_fm = QFontMetrics(self._small)
        if self._clip_badge:
            width = small_fm.horizontalAdvance(self._clip_badge) + 10
            badge = QRectF(right - width, 3, width, self.height() - 6)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_CLIP_RED)
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor(255, 255, 255))
            painter.setFont(self._small)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, self._clip_badge)
            right -= width + 6
        if self._levels_badge:
            width = small_fm.horizontalAdvance(self._levels_badge) + 2
            painter.setPen(_muted(palette))
            painter.setFont(self._small)
            painter.drawText(
                QRectF(right - width, 0, width, self.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                self._levels_badge,
            )
            right -= width + 8
        left = 2
        if self._icon is not None:
            side = self.height() - 4
            painter.drawPixmap(QRect(left, 2, side, side), self._icon)
            left += side + 4
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.setFont(self._bold)
        available = max(0, right - left)
        text = QFontMetrics(self._bold).elidedText(
            self._title, Qt.TextElideMode.ElideRight, available
        )
        painter.drawText(
            QRect(left, 0, available, self.height()),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            text,
        )


class _InfoLine(QWidget):
    """One painted line of secondary text (same no-relayout reason as `_TitleBar`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._compact = ""
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.9))
        # Digits of equal width keep the readout from jittering while the mouse moves.
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setFamilies(["DejaVu Sans Mono", "Menlo", "Consolas", "monospace"])
        self.setFont(font)
        self.setFixedHeight(QFontMetrics(font).height() + 2)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._text

    def setText(self, text: str, compact: str = "") -> None:
        """Show `text`, or `compact` (if given) when `text` does not fit the width."""
        if (text, compact) != (self._text, self._compact):
            self._text = text
            self._compact = compact
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(160, self.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(_muted(self.palette()))
        metrics = self.fontMetrics()
        text = self._text
        if self._compact and metrics.horizontalAdvance(text) > self.width():
            text = self._compact
        text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, self.width())
        painter.drawText(
            self.rect(), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text
        )


class _FixedLevelsDialog(QDialog):
    """Two spin boxes (lo, hi) for the "Fixed..." levels; OK only while lo < hi."""

    def __init__(self, levels: tuple[float, float], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fixed levels")
        self.lo = QDoubleSpinBox(self)
        self.hi = QDoubleSpinBox(self)
        for box, value in ((self.lo, levels[0]), (self.hi, levels[1])):
            box.setDecimals(4)
            box.setRange(-1e6, 1e6)
            box.setSingleStep(0.1)
            box.setValue(value)
            box.valueChanged.connect(self._on_value_changed)
        form = QFormLayout(self)
        form.addRow("Low (black / blue)", self.lo)
        form.addRow("High (white / red)", self.hi)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self._on_value_changed()

    def levels(self) -> tuple[float, float]:
        return (self.lo.value(), self.hi.value())

    def _on_value_changed(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self.lo.value() < self.hi.value())


class _PaneLayout(QVBoxLayout):
    """The pane's layout, carrying its height-for-width rule.

    Parent layouts ask a child widget's layout, not the widget, for its height at a given width,
    so the rule "as tall as the map's aspect ratio needs" must live here.
    """

    def __init__(self, pane: FeatureMapPane) -> None:
        super().__init__(pane)
        self._pane = pane

    def hasHeightForWidth(self) -> bool:
        return self._pane._height_for_width

    def heightForWidth(self, width: int) -> int:
        return self._pane._height_for(width)


class FeatureMapPane(QWidget):
    """One live 2-D map: title bar, image, info line.

    The image is placed in full-resolution coordinates (the map's pixel (x, y) covers the square
    [x, x+1) x [y, y+1)) whatever the size of the reduced copy that is displayed, so the hover
    readout reports full-resolution coordinates and reads its value from the full map.

    Parameters
    ----------
    title : str
        Shown above the image, elided when the pane is narrow.
    parent : QWidget, optional
    """

    clicked = Signal()
    """Left click anywhere on the pane: the window selects this pane's filter."""
    hovered = Signal(int, int, float)
    """x, y (full-resolution pixel) and the value of the full map there (luma in [0, 1] for RGB)."""
    pixelClicked = Signal(int, int)
    """x, y (full-resolution pixel) under a left click on the image: the window probes it."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cmap = "gray"
        self._levels_mode = "auto"
        self._fixed = (0.0, 1.0)
        self._auto_style = True
        self._selected = False
        self._display: np.ndarray | None = None
        self._full: np.ndarray | None = None
        self._is_rgb = False
        self._stats = (0.0, 0.0)
        self._floor = 0.0
        self._round_off = False  # the map holds float32 round-off and nothing else
        self._levels = (0.0, 1.0)
        self._clipped = 0.0
        self._shape_key: tuple | None = None
        self._aspect = 3 / 4  # height / width of the full map; 4:3 until a map arrives
        self._hover: tuple[int, int] | None = None
        self._message = ""
        self._menu: QMenu | None = None
        self._fixed_dialog: _FixedLevelsDialog | None = None

        self._title_bar = _TitleBar(self)
        self._title_bar.setTitle(title)

        # A bare GraphicsView + ViewBox + ImageItem, not pg.ImageView: an ImageView builds a
        # histogram, ROI plot and timeline per pane, and 64 of them take seconds to create.
        self._view = pg.GraphicsView(self, background=_LETTERBOX)
        # Panes must not steal keyboard focus from the kernel editor when clicked.
        self._view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # enableMenu=False: ViewBox would otherwise build its (slow, .ui-based) menu per pane and
        # pop it up on right click instead of ours. enableMouse=False: no pan/zoom, so a click
        # selects. invertY: row 0 at the top, as in the image.
        self._vb = pg.ViewBox(
            lockAspect=True, enableMouse=False, enableMenu=False, invertY=True, defaultPadding=0.0
        )
        self._view.setCentralItem(self._vb)
        self._item = pg.ImageItem()
        self._marker: QGraphicsRectItem | None = None
        # A faint outline shows where a map ends when its edge is white (diverging zero) or black
        # (grey minimum). A cosmetic 1-px pen: constant on screen whatever the zoom.
        self._item.setBorder(pg.mkPen(QColor(128, 128, 128, 140), width=1, cosmetic=True))
        # Created once and fed with setImage: replacing the item per frame would rebuild its
        # QImage buffers and re-run the view's bounds bookkeeping every time.
        self._vb.addItem(self._item)
        self._vb.disableAutoRange()
        # Hover and click are read from the viewport's own Qt events rather than the pyqtgraph
        # scene's sigMouseMoved: the scene drops moves that arrive within 10 ms of the previous one
        # (mouseRateLimit), which can lose the LAST move, leaving a stale pixel in the readout.
        self._view.viewport().installEventFilter(self)

        self._message_label = QLabel(self)
        self._message_label.setWordWrap(True)
        self._message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message_label.setMargin(8)
        self._message_label.setTextFormat(Qt.TextFormat.PlainText)
        self._message_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

        self._stack = QStackedWidget(self)
        self._stack.addWidget(self._view)
        self._stack.addWidget(self._message_label)

        self._info = _InfoLine(self)

        layout = self._layout = _PaneLayout(self)
        layout.setContentsMargins(5, 3, 5, 3)
        layout.setSpacing(2)
        layout.addWidget(self._title_bar)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self._info)

        self._height_for_width = True
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMinimumSize(160, 140)
        self._item.setLookupTable(_LUTS[self._cmap], update=False)

    # ----------------------------------------------------------------------------- public API

    def title(self) -> str:
        return self._title_bar.title()

    def setTitle(self, title: str) -> None:
        """Set the text shown above the image (elided if long; the full text is the tooltip)."""
        self._title_bar.setTitle(title)

    def setTitleIcon(self, icon: QPixmap | None) -> None:
        """A small picture before the title (the story shows each partial map's kernel)."""
        self._title_bar.setIcon(icon)

    def titleIcon(self) -> QPixmap | None:
        return self._title_bar._icon

    def setMap(self, shown: ShownMap) -> None:
        """Show a new map (the per-frame call).

        ``shown.display`` is the map reduced to about the pane's on-screen size: float32
        H_d x W_d (other real dtypes are converted, at the cost of a copy per frame), or an RGB
        uint8 H x W x 3 image for the source pane (no colour map or levels apply to it). The
        hover readout reads ``shown.full``; the min/max line and the levels come from
        ``shown.value_range`` and ``shown.floor`` (a spread within the round-off floor is shown
        flat, and values within it read as zero); the clipped fraction from the display. So
        this call reads no full-resolution pixel at all.

        Notes
        -----
        The pane keeps references to both arrays (no copy): do not write into them afterwards.
        Clears a message set with `setMessage`.
        """
        display = np.asarray(shown.display)
        full = np.asarray(shown.full)
        if display.ndim == 3:
            if display.dtype != np.uint8 or display.shape[2] != 3:
                raise ValueError(
                    f"a 3-D display must be an RGB uint8 HxWx3 image, got {display.dtype} "
                    f"{display.shape}"
                )
            if full.ndim != 3 or full.shape[2] != 3:
                raise ValueError(f"full must be HxWx3 like an RGB display, got {full.shape}")
        elif display.ndim == 2:
            if full.ndim != 2:
                raise ValueError(f"full must be 2-D like display, got {full.shape}")
        else:
            raise ValueError(f"display must be 2-D or HxWx3, got shape {display.shape}")
        if display.size == 0 or full.size == 0:
            raise ValueError("empty map: show the reason with setMessage() instead")

        if self._message:
            self.setMessage("")
        self._is_rgb = display.ndim == 3
        if self._is_rgb:
            # No-op for the C-contiguous frames the sources produce.
            display = np.ascontiguousarray(display)
            self._display, self._full = display, full
            self._stats = (0.0, 255.0)
            self._levels = (0.0, 255.0)
            self._clipped = 0.0
            # levels=None for uint8 RGB: pyqtgraph wraps the bytes in an RGB888 QImage with no
            # per-pixel work. Levels (even 0..255) would rescale every pixel every frame.
            self._item.setImage(display, autoLevels=False, levels=None)
        else:
            # Performance trap: anything but C-contiguous float32 (float64, a transposed or
            # strided view) costs a full copy here, every frame. The engine produces float32.
            if display.dtype != np.float32 or not display.flags.c_contiguous:
                display = np.ascontiguousarray(display, dtype=np.float32)
            self._display, self._full = display, full
            raw = shown.value_range
            self._floor = floor = shown.floor
            self._round_off = raw != (0.0, 0.0) and shown_range(raw, floor) == (0.0, 0.0)
            self._stats = shown_range(raw, floor)
            if self._auto_style:
                self._apply_auto_style()
            self._levels = levels_for(self._levels_mode, self._fixed, *self._stats)
            self._clipped = clipped_fraction(self._display, self._levels_mode, self._levels)
            # Performance trap: always pass explicit levels with autoLevels=False. Without levels
            # pyqtgraph samples the image for min/max on every frame, and its subsampled guess
            # also differs from the levels this pane reports.
            self._item.setImage(display, autoLevels=False, levels=self._levels)
        self._update_geometry_for(display, full)
        self._update_text()

    def setColorMap(self, name: str) -> None:
        """Use the "gray" or "diverging" (blue-white-red) colour map; turns auto style off."""
        if name not in COLOR_MAPS:
            raise ValueError(f"unknown colour map {name!r}; expected one of {COLOR_MAPS}")
        self._auto_style = False
        self._set_color_map(name)
        self._sync_menu()

    def colorMap(self) -> str:
        return self._cmap

    def setLevelsMode(self, mode: str, fixed: tuple[float, float] | None = None) -> None:
        """Choose how the map's values map to colours; turns auto style off.

        Parameters
        ----------
        mode : str
            "auto": min..max of the map; "symmetric": -m..m with m = max |value| (0 maps to the
            middle colour); "fixed": `fixed` = (lo, hi), values outside are clipped.
        fixed : tuple of float, optional
            Required lo < hi for "fixed"; None there freezes the levels currently shown.
        """
        if mode not in LEVELS_MODES:
            raise ValueError(f"unknown levels mode {mode!r}; expected one of {LEVELS_MODES}")
        if mode == "fixed":
            lo, hi = self._levels if fixed is None else (float(fixed[0]), float(fixed[1]))
            if not hi > lo:
                raise ValueError(f"fixed levels need lo < hi, got ({lo}, {hi})")
            self._fixed = (lo, hi)
        self._auto_style = False
        self._levels_mode = mode
        self._restyle()
        self._sync_menu()

    def levelsMode(self) -> str:
        return self._levels_mode

    def setAutoStyle(self, enabled: bool) -> None:
        """Pick the style from each new map: diverging + symmetric if it has negative values,
        else gray + auto. On by default; choosing a colour map or levels turns it off."""
        self._auto_style = bool(enabled)
        if self._auto_style and self._display is not None and not self._is_rgb:
            self._apply_auto_style()
            self._restyle()
        self._sync_menu()

    def autoStyle(self) -> bool:
        return self._auto_style

    def levels(self) -> tuple[float, float]:
        """The levels (lo, hi) used for the last map; (0, 255) for an RGB image."""
        return self._levels

    def clippedFraction(self) -> float:
        """Fraction of the shown (display-size) map's pixels outside the levels (only "fixed"
        levels clip)."""
        return self._clipped

    def setSelected(self, selected: bool) -> None:
        """Highlight the pane (accent frame): it shows the selected filter."""
        if bool(selected) != self._selected:
            self._selected = bool(selected)
            self.update()

    def isSelected(self) -> bool:
        return self._selected

    def setMessage(self, text: str) -> None:
        """Show `text` instead of the image (e.g. why a layer has no output); "" shows the image.

        `setMap` clears the message.
        """
        self._message = text
        if text:
            self._message_label.setText(text)
            self._stack.setCurrentWidget(self._message_label)
            self._item.hide()
            self._hover = None
            self._title_bar.setBadges("", "")
            self._info.setText("")
        else:
            self._stack.setCurrentWidget(self._view)
            self._item.show()
            self._update_text()

    def message(self) -> str:
        return self._message

    def infoText(self) -> str:
        """The info line under the image: min/max of the map, or the hover readout."""
        return self._info.text()

    def badges(self) -> tuple[str, str]:
        """The title-bar badges: (levels, clipping), "" when not shown."""
        return self._title_bar.badges()

    def contextMenu(self) -> QMenu:
        """The pane's right-click menu (built on first use: most panes are never right-clicked)."""
        if self._menu is None:
            self._build_menu()
        assert self._menu is not None
        return self._menu

    def imageItem(self) -> pg.ImageItem:
        return self._item

    def viewBox(self) -> pg.ViewBox:
        return self._vb

    def graphicsView(self) -> pg.GraphicsView:
        return self._view

    # ------------------------------------------------------------------------------ Qt overrides

    def hasHeightForWidth(self) -> bool:
        return self._height_for_width

    def heightForWidth(self, width: int) -> int:
        return self._layout.totalHeightForWidth(width)

    def sizeHint(self) -> QSize:
        return QSize(220, self.heightForWidth(220))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._view.viewport():
            kind = event.type()
            if kind == QEvent.Type.MouseMove:
                self._hover_at(event.position().toPoint())  # type: ignore[attr-defined]
            elif kind in (
                QEvent.Type.MouseButtonPress,
                QEvent.Type.MouseButtonDblClick,
                QEvent.Type.MouseButtonRelease,
            ):
                if event.button() == Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
                    if kind == QEvent.Type.MouseButtonPress:
                        self.clicked.emit()
                        pixel = self._pixel_at(event.position().toPoint())  # type: ignore[attr-defined]
                        if pixel is not None:
                            self.pixelClicked.emit(*pixel)
                    # Consumed: the scene has nothing to do with a left click (no pan, no zoom),
                    # and an unaccepted press would bubble up to this pane and emit twice.
                    event.accept()
                    return True
            elif kind == QEvent.Type.Leave:
                self._end_hover()
        return super().eventFilter(watched, event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        # The title bar and info line: a click there selects too.
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            event.accept()  # the press was ours: an unaccepted release would travel up the parents
        else:
            super().mouseReleaseEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        # Also reached from the image: the graphics scene leaves context-menu events unaccepted
        # (ViewBox's own menu is disabled), so Qt passes them up to this pane.
        self.contextMenu().popup(event.globalPos())
        event.accept()

    def leaveEvent(self, event: QEvent) -> None:
        self._end_hover()
        super().leaveEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        if self._selected:
            pen = QPen(palette.color(QPalette.ColorRole.Highlight), 3)
        else:
            pen = QPen(palette.color(QPalette.ColorRole.Mid), 1)
        painter.setPen(pen)
        painter.setBrush(palette.color(QPalette.ColorRole.Base))
        inset = pen.widthF() / 2
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(inset, inset, -inset, -inset), 5, 5)

    # ------------------------------------------------------------------------------- internals

    def _height_for(self, width: int) -> int:
        """Pane height at `width` (inside the pane's margins) that shows the map without bars."""
        layout = self._layout
        margins = layout.contentsMargins()
        chrome = (
            self._title_bar.height()
            + self._info.height()
            + 2 * layout.spacing()
            + margins.top()
            + margins.bottom()
        )
        image_width = width - margins.left() - margins.right()
        return max(self.minimumHeight(), chrome + round(image_width * self._aspect))

    def _set_color_map(self, name: str) -> None:
        if name != self._cmap:
            self._cmap = name
            # The only place a LUT is set: building or setting one per frame would re-render and,
            # for a callable LUT, rebuild it on every paint.
            self._item.setLookupTable(_LUTS[name], update=self._display is not None)

    def _apply_auto_style(self) -> None:
        signed = is_signed(*self._stats)
        self._set_color_map("diverging" if signed else "gray")
        mode = "symmetric" if signed else "auto"
        if mode != self._levels_mode:
            self._levels_mode = mode
            self._sync_menu()

    def _prepare_fixed_levels(self, lo: float, hi: float) -> None:
        """Set fixed levels for the NEXT setMap without re-rendering the current map.

        For ChannelStory, which changes the shared levels every frame right before setMap:
        `setLevelsMode` would restyle the old map first (a wasted render).
        """
        self._auto_style = False
        self._fixed = (lo, hi)
        if self._levels_mode != "fixed":
            self._levels_mode = "fixed"
            self._sync_menu()

    def _restyle(self) -> None:
        """Re-apply levels to the map on screen (style changed, no new data)."""
        if self._display is None or self._is_rgb:
            return
        self._levels = levels_for(self._levels_mode, self._fixed, *self._stats)
        self._clipped = clipped_fraction(self._display, self._levels_mode, self._levels)
        self._item.setLevels(self._levels)
        self._update_text()

    def _update_geometry_for(self, display: np.ndarray, full: np.ndarray) -> None:
        key = (display.shape[:2], full.shape[:2])
        if key == self._shape_key:
            return
        self._shape_key = key
        height, width = full.shape[:2]
        # After setImage: setRect scales by the size of the image the item holds now. Only when a
        # shape changes: a new transform makes the view recompute its bounds.
        self._item.setRect(0, 0, width, height)
        self._vb.setRange(QRectF(0, 0, width, height), padding=0)
        aspect = height / width
        if aspect != self._aspect:
            self._aspect = aspect
            self._layout.invalidate()
            self.updateGeometry()

    def _update_text(self) -> None:
        if self._display is None or self._message:
            return
        if self._is_rgb:
            self._title_bar.setBadges("", "")
        else:
            lo, hi = self._levels
            if self._levels_mode == "auto":
                levels_badge = ""  # the info line's min/max are the levels
            elif lo == -hi:
                levels_badge = f"±{short_number(hi)}"
            else:
                levels_badge = f"{short_number(lo)} … {short_number(hi)}"
            clip_badge = ""
            if self._clipped > _CLIP_BADGE_THRESHOLD:
                percent = self._clipped * 100
                clip_badge = (
                    f"clipped {percent:.1f}%" if percent < 10 else f"clipped {percent:.0f}%"
                )
            self._title_bar.setBadges(levels_badge, clip_badge)
        if self._hover is not None and not self._hover_in_bounds(*self._hover):
            self._hover = None
        if self._hover is not None:
            # The mouse rests on a pixel while frames stream in: keep its value live.
            text, compact, _ = self._readout(*self._hover)
            self._info.setText(text, compact)
        else:
            self._info.setText(*self._stats_text())

    def _stats_text(self) -> tuple[str, str]:
        """The info line without hover: (text, compact form for narrow panes)."""
        assert self._full is not None
        if self._is_rgb:
            height, width = self._full.shape[:2]
            return f"{width}×{height} RGB", ""
        if self._round_off:
            return "≈ 0 (round-off)", "≈ 0"
        lo, hi = self._stats
        return (
            f"min {short_number(lo)}  max {short_number(hi)}",
            f"{short_number(lo)} … {short_number(hi)}",
        )

    def _hover_in_bounds(self, x: int, y: int) -> bool:
        if self._full is None:
            return False
        height, width = self._full.shape[:2]
        return 0 <= x < width and 0 <= y < height

    def _readout(self, x: int, y: int) -> tuple[str, str, float]:
        """Hover readout at full-resolution (x, y): (text, compact text, value)."""
        assert self._full is not None
        if self._is_rgb:
            r, g, b = (int(c) for c in self._full[y, x])
            # BT.601 luma on [0, 1], the engine's "gray".
            value = (0.299 * r + 0.587 * g + 0.114 * b) / 255.0
            return f"x {x}  y {y}  rgb {r} {g} {b}", f"{x},{y}: {r} {g} {b}", value
        value = float(self._full[y, x])
        if value != 0 and abs(value) <= self._floor:
            return f"x {x}  y {y}  value ≈ 0 (round-off)", f"{x},{y}: ≈ 0", value
        return (
            f"x {x}  y {y}  value {short_number(value)}",
            f"{x},{y}: {short_number(value)}",
            value,
        )

    def _pixel_at(self, pos: QPoint) -> tuple[int, int] | None:
        """The full-resolution (x, y) under a viewport position, or None off the map."""
        if self._full is None or self._message:
            return None
        point = self._vb.mapSceneToView(self._view.mapToScene(pos))
        x, y = math.floor(point.x()), math.floor(point.y())
        return (x, y) if self._hover_in_bounds(x, y) else None

    def setMarker(self, rect: QRectF | None, colour: QColor | None = None) -> None:
        """Outline ``rect`` (full-resolution pixels, e.g. the probe's footprint); None removes
        the outline. The outline stays across frames until changed."""
        if rect is None:
            if self._marker is not None:
                self._vb.removeItem(self._marker)
                self._marker = None
            return
        if self._marker is None:
            self._marker = QGraphicsRectItem()
            self._marker.setZValue(10)
            self._vb.addItem(self._marker)
        pen = QPen(colour or QColor(255, 200, 0), 2)
        pen.setCosmetic(True)  # 2 screen pixels at any zoom
        self._marker.setPen(pen)
        self._marker.setRect(rect)

    def marker(self) -> QRectF | None:
        return None if self._marker is None else self._marker.rect()

    def _hover_at(self, pos: QPoint) -> None:
        pixel = self._pixel_at(pos)
        if pixel is None:
            self._end_hover()
            return
        x, y = pixel
        self._hover = (x, y)
        text, compact, value = self._readout(x, y)
        self._info.setText(text, compact)
        self.hovered.emit(x, y, value)

    def _end_hover(self) -> None:
        if self._hover is not None:
            self._hover = None
            self._update_text()

    def _build_menu(self) -> None:
        menu = QMenu(self)
        menu.addSection("Colour map")
        self._cmap_group = QActionGroup(menu)
        self._cmap_actions: dict[str, QAction] = {}
        for name, label in (("gray", "Grey"), ("diverging", "Diverging (blue-white-red)")):
            action = menu.addAction(label)
            action.setCheckable(True)
            action.setData(name)
            self._cmap_group.addAction(action)
            action.triggered.connect(functools.partial(self.setColorMap, name))
            self._cmap_actions[name] = action
        menu.addSection("Levels")
        self._levels_group = QActionGroup(menu)
        self._levels_actions: dict[str, QAction] = {}
        for mode, label in (
            ("auto", "Auto (min … max)"),
            ("symmetric", "Symmetric around 0"),
            ("fixed", "Fixed…"),
        ):
            action = menu.addAction(label)
            action.setCheckable(True)
            action.setData(mode)
            self._levels_group.addAction(action)
            self._levels_actions[mode] = action
        self._levels_actions["auto"].triggered.connect(
            functools.partial(self.setLevelsMode, "auto")
        )
        self._levels_actions["symmetric"].triggered.connect(
            functools.partial(self.setLevelsMode, "symmetric")
        )
        self._levels_actions["fixed"].triggered.connect(self._on_fixed_action_triggered)
        menu.addSeparator()
        self._auto_action = menu.addAction("Automatic colours (from the map's sign)")
        self._auto_action.setCheckable(True)
        self._auto_action.triggered.connect(self.setAutoStyle)
        menu.addSeparator()
        self._copy_action = menu.addAction("Copy value readout")
        self._copy_action.triggered.connect(self._on_copy_action_triggered)
        self._menu = menu
        self._sync_menu()

    def _sync_menu(self) -> None:
        if self._menu is None:
            return
        self._cmap_actions[self._cmap].setChecked(True)
        self._levels_actions[self._levels_mode].setChecked(True)
        self._auto_action.setChecked(self._auto_style)

    def _on_fixed_action_triggered(self) -> None:
        # Non-blocking (open, not exec): the live view keeps running while the user types.
        if self._fixed_dialog is not None:
            self._fixed_dialog.deleteLater()
        start = self._fixed if self._levels_mode == "fixed" else self._levels
        dialog = _FixedLevelsDialog(start, self)
        dialog.accepted.connect(lambda: self.setLevelsMode("fixed", dialog.levels()))
        # Cancelled: the checked action goes back to the mode still in use.
        dialog.rejected.connect(self._sync_menu)
        self._fixed_dialog = dialog
        dialog.open()

    def _on_copy_action_triggered(self) -> None:
        QGuiApplication.clipboard().setText(self._info.text())


class _Section(QWidget):
    """One layer in a PaneGrid: a header and its panes in a grid."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header = QLabel(self)
        font = QFont(self.header.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.header.setFont(font)
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.setWordWrap(True)
        self.grid_host = QWidget(self)
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.header)
        layout.addWidget(self.grid_host)
        self.panes: list[FeatureMapPane] = []
        self.columns = 0

    def reflow(self, columns: int) -> None:
        for pane in self.panes:
            self.grid.removeWidget(pane)
        for index, pane in enumerate(self.panes):
            self.grid.addWidget(pane, index // columns, index % columns)
        # Equal stretch on exactly `columns` columns (a few panes keep the width they would have in
        # a full row); columns left over from a wider flow get none.
        for column in range(max(columns, self.grid.columnCount())):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)
        self.columns = columns


class PaneGrid(QScrollArea):
    """A scrollable grid of FeatureMapPanes with one titled section per layer.

    Panes flow into as many columns of about `targetPaneWidth()` pixels as the viewport fits, and
    re-flow when it is resized. Clicking a pane emits `paneClicked`; the window answers with
    `setSelected` once the controller has selected the filter.
    """

    paneClicked = Signal(int, int)
    pixelClicked = Signal(int, int, int, int)  # layer, index, x, y (full-resolution pixel)
    pixelHovered = Signal(int, int, int, int)  # layer, index, x, y under the mouse
    """(layer index, filter index), 0-based."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self._host = QWidget()
        self._vbox = QVBoxLayout(self._host)
        self._vbox.setContentsMargins(8, 8, 8, 8)
        self._vbox.setSpacing(14)
        self._vbox.addStretch(1)
        self.setWidget(self._host)
        self._sections: list[_Section] = []
        self._target_width = 180  # two columns beside the source in the default window
        self._columns = 1
        self._selected: tuple[int, int] | None = None

    def sectionTitle(self, layer: int) -> str:
        """The header above layer ``layer``'s panes (0-based)."""
        return self._sections[layer].header.text()

    def setSections(self, sections: Sequence[tuple[str, Sequence[str]]]) -> None:
        """One section per layer: (section title, [pane titles]).

        Existing panes are reused (only their titles change); panes are created or deleted only
        where a section's count changes, since creating one costs about a millisecond.
        """
        while len(self._sections) > len(sections):
            section = self._sections.pop()
            self._vbox.removeWidget(section)
            section.hide()
            section.deleteLater()
        for layer, (title, pane_titles) in enumerate(sections):
            if layer < len(self._sections):
                section = self._sections[layer]
            else:
                section = _Section(self._host)
                self._vbox.insertWidget(layer, section)
                self._sections.append(section)
            section.header.setText(title)
            count_changed = len(section.panes) != len(pane_titles)
            while len(section.panes) > len(pane_titles):
                pane = section.panes.pop()
                section.grid.removeWidget(pane)
                pane.hide()
                pane.deleteLater()
            while len(section.panes) < len(pane_titles):
                index = len(section.panes)
                pane = FeatureMapPane(parent=section.grid_host)
                # Fixed (layer, index) per pane: a section's panes only ever grow or shrink at
                # the end, so a pane keeps its place.
                pane.clicked.connect(functools.partial(self._on_pane_clicked, layer, index))
                pane.pixelClicked.connect(functools.partial(self.pixelClicked.emit, layer, index))
                pane.hovered.connect(
                    lambda x, y, _value, layer=layer, index=index: self.pixelHovered.emit(
                        layer, index, x, y
                    )
                )
                section.panes.append(pane)
            for pane, pane_title in zip(section.panes, pane_titles):
                pane.setTitle(pane_title)
            if count_changed or section.columns != self._columns:
                section.reflow(self._columns)
        selected = self._selected
        self._selected = None
        if selected is not None:
            self.setSelected(*selected)
        self._reflow()

    def sectionCount(self) -> int:
        return len(self._sections)

    def paneCount(self, layer: int) -> int:
        return len(self._sections[layer].panes)

    def pane(self, layer: int, index: int) -> FeatureMapPane:
        """The pane of filter `index` in layer `layer` (IndexError if there is none)."""
        if not (0 <= layer < len(self._sections)):
            raise IndexError(f"no layer {layer} (the grid has {len(self._sections)})")
        panes = self._sections[layer].panes
        if not (0 <= index < len(panes)):
            raise IndexError(f"no pane {index} in layer {layer} (it has {len(panes)})")
        return panes[index]

    def setSelected(self, layer: int, index: int) -> None:
        """Highlight exactly this pane; indices outside the grid (e.g. -1, -1) clear it."""
        if self._selected is not None:
            old_layer, old_index = self._selected
            with contextlib.suppress(IndexError):
                self.pane(old_layer, old_index).setSelected(False)
        try:
            self.pane(layer, index).setSelected(True)
        except IndexError:
            self._selected = None
        else:
            self._selected = (layer, index)

    def selected(self) -> tuple[int, int] | None:
        return self._selected

    def targetPaneWidth(self) -> int:
        return self._target_width

    def columns(self) -> int:
        return self._columns

    def visiblePanes(self) -> list[tuple[int, int]]:
        """(layer, index) of the panes at least partly inside the viewport, in layout order."""
        viewport = self.viewport()
        area = viewport.rect()
        visible = []
        for layer, section in enumerate(self._sections):
            for index, pane in enumerate(section.panes):
                if not pane.isVisible():
                    continue
                rect = QRect(pane.mapTo(viewport, QPoint(0, 0)), pane.size())
                if rect.intersects(area):
                    visible.append((layer, index))
        return visible

    def viewportEvent(self, event: QEvent) -> bool:
        # The viewport (not the scroll area) is what narrows when the vertical scroll bar appears.
        if event.type() == QEvent.Type.Resize:
            self._reflow()
        return super().viewportEvent(event)

    def _column_count(self) -> int:
        margins = self._vbox.contentsMargins()
        available = self.viewport().width() - margins.left() - margins.right()
        spacing = 6
        return max(1, (available + spacing) // (self._target_width + spacing))

    def _reflow(self) -> None:
        columns = self._column_count()
        self._columns = columns
        for section in self._sections:
            if section.columns != columns:
                section.reflow(columns)

    def _on_pane_clicked(self, layer: int, index: int) -> None:
        self.paneClicked.emit(layer, index)


class ChannelStory(QWidget):
    """How one filter makes its feature map, for learners.

    Lays out ``[partial ch1] + [partial ch2] + ... = [sum] → [+ bias] → [activation]``. The partial
    maps and the sum share one symmetric scale, so a channel that contributes little looks faint.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._header = QLabel(self)
        font = QFont(self._header.font())
        font.setBold(True)
        self._header.setFont(font)
        self._header.setTextFormat(Qt.TextFormat.PlainText)
        self._header.setWordWrap(True)

        self._row_host = QWidget()
        # The row is as tall as its panes' maps need (height for width); spare height stays
        # below it rather than turning into letterbox bars above and below every image.
        host_layout = QVBoxLayout(self._row_host)
        host_layout.setContentsMargins(0, 0, 0, 0)
        self._row = QHBoxLayout()
        self._row.setSpacing(4)
        host_layout.addLayout(self._row)
        host_layout.addStretch(1)
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setWidget(self._row_host)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self._header)
        layout.addWidget(self._scroll, 1)

        self._partial_panes: list[FeatureMapPane] = []
        self._operators: list[QLabel] = []
        self._more_label: QLabel | None = None
        self._channel_count = 0
        self._shared_levels = (-1.0, 1.0)
        self._sum_pane = self._story_pane("sum")
        self._bias_pane = self._story_pane("+ bias")
        self._act_pane = self._story_pane("activation")
        # Sum and partials: fixed shared levels (set per frame), diverging colours.
        self._sum_pane.setColorMap("diverging")
        self._rebuild_row(0, 0)

    def setStory(
        self,
        filter_name: str,
        channel_names: Sequence[str],
        bias: float,
        activation: str,
        kernels: np.ndarray | None = None,
    ) -> None:
        """Describe the filter: its name, the input channel names, its bias and activation, and
        optionally its (C_in, kh, kw) kernels, drawn before each partial map's title on one
        shared colour scale (the kernel times the channel is that partial map).

        Panes are created only when the number of shown channels changes. Over 6 channels, the
        first 5 partial maps are shown, followed by "… N more".
        """
        count = len(channel_names)
        shown = count if count <= _STORY_MAX_CHANNELS else _STORY_SHOWN
        if shown != len(self._partial_panes) or count != self._channel_count:
            self._rebuild_row(shown, count - shown)
        self._channel_count = count
        scale = float(np.abs(kernels).max()) if kernels is not None else 0.0
        for c, (pane, name) in enumerate(zip(self._partial_panes, channel_names)):
            # With its kernel drawn in front, the channel's name is title enough in a narrow pane.
            pane.setTitle(name if kernels is not None else f"{name} · partial")
            pane.setTitleIcon(
                None if kernels is None else kernel_pixmap(kernels[c], 32, scale or None)
            )
        self._sum_pane.setTitle("sum")
        self._bias_pane.setTitle(f"+ bias {short_number(bias)}")
        act = activation.strip() or "none"
        self._act_pane.setTitle(
            act if act.lower() not in ("none", "identity", "linear") else f"{act} (identity)"
        )
        self._header.setText(
            f"{filter_name}: Σ of {count} partial map{'s' if count != 1 else ''} "
            f"(one per input channel) + bias {short_number(bias)} → {act}"
        )

    def setMaps(
        self,
        partials: Sequence[ShownMap],
        total: ShownMap,
        biased: ShownMap,
        activated: ShownMap,
    ) -> None:
        """Show one frame of the story, in the order of `setStory`.

        Parameters
        ----------
        partials : sequence of ShownMap
            One partial map per input channel (all of them, also those not shown).
        total, biased, activated : ShownMap
            The sum of the partials, the sum plus the bias, and the activation of that.
        """
        if len(partials) != self._channel_count:
            raise ValueError(
                f"{len(partials)} partial maps for a story of {self._channel_count} channels"
            )
        m = 0.0
        for shown in (*partials, total):
            lo, hi = shown_range(shown.value_range, shown.floor)
            m = max(m, abs(lo), abs(hi))
        if not m > 0:
            m = 1.0
        self._shared_levels = (-m, m)
        for pane, shown in (*zip(self._partial_panes, partials), (self._sum_pane, total)):
            pane._prepare_fixed_levels(-m, m)
            pane.setMap(shown)
        self._bias_pane.setMap(biased)
        self._act_pane.setMap(activated)

    def panes(self) -> list[FeatureMapPane]:
        """In layout order: the shown partials, the sum, the +bias and the activation panes."""
        return [*self._partial_panes, self._sum_pane, self._bias_pane, self._act_pane]

    def sharedLevels(self) -> tuple[float, float]:
        """The symmetric levels shared by the partial maps and the sum in the last frame."""
        return self._shared_levels

    def moreLabel(self) -> QLabel | None:
        """The "… N more" label, or None when every partial map is shown."""
        return self._more_label

    def headerText(self) -> str:
        return self._header.text()

    def _story_pane(self, title: str) -> FeatureMapPane:
        pane = FeatureMapPane(title, self._row_host)
        # Narrower than grid panes: a 3-channel story (six panes) fits beside both docks in the
        # default 1400 px window without scrolling.
        pane.setMinimumSize(72, 80)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        pane.setSizePolicy(policy)
        return pane

    def _operator(self, text: str) -> QLabel:
        label = QLabel(text, self._row_host)
        font = QFont(label.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        label.setFont(font)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self._operators.append(label)
        return label

    def _rebuild_row(self, shown: int, hidden: int) -> None:
        while self._row.count():
            self._row.takeAt(0)
        for label in self._operators:
            label.hide()
            label.deleteLater()
        self._operators = []
        if self._more_label is not None:
            self._more_label.hide()
            self._more_label.deleteLater()
            self._more_label = None
        while len(self._partial_panes) > shown:
            pane = self._partial_panes.pop()
            pane.hide()
            pane.deleteLater()
        while len(self._partial_panes) < shown:
            pane = self._story_pane("partial")
            pane.setColorMap("diverging")
            self._partial_panes.append(pane)
        for index, pane in enumerate(self._partial_panes):
            if index:
                self._row.addWidget(self._operator("+"))
            self._row.addWidget(pane, 1)
        if hidden:
            self._row.addWidget(self._operator("+"))
            self._more_label = QLabel(f"… {hidden} more", self._row_host)
            self._more_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._row.addWidget(self._more_label)
        if shown:
            self._row.addWidget(self._operator("="))
        for op, pane in (("", self._sum_pane), ("→", self._bias_pane), ("→", self._act_pane)):
            if op:
                self._row.addWidget(self._operator(op))
            self._row.addWidget(pane, 1)
            pane.show()
