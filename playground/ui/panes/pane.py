"""`FeatureMapPane`: one live map (a feature map, a partial map, or the RGB source frame) with a
title bar, a colour map, levels, a clipping badge, a hover readout in full-resolution pixel
coordinates, a context menu to change the colour map and levels, zoom and pan (wheel, drag,
double-click to fit), and each cell's value written in it once cells are large enough.

Everything runs on the GUI thread. Performance: a pane is redrawn up to 60 times a second, so
`setMap` follows pyqtgraph's fast path (one persistent `ImageItem`, C-contiguous float32
row-major data, explicit levels, a 256-entry LUT set only when the colour map changes), the
item hands Qt the 32-bit image its raster engine draws without converting (`_MapImage`), and
nothing triggers a Qt relayout. The traps are commented where they bite.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QColor,
    QContextMenuEvent,
    QGuiApplication,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QGraphicsRectItem,
    QLabel,
    QMenu,
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
    packed_colours,
    shown_range,
)
from playground.ui.panes.cells import MIN_CELL_PX, CellNumbers
from playground.ui.panes.chrome import (
    _FixedLevelsDialog,
    _InfoLine,
    _TitleBar,
)
from playground.ui.style import diverging_lut, short_number

# Row-major (H, W) arrays are what numpy, OpenCV and the engine produce. With pyqtgraph's default
# (col-major) every frame would have to be transposed, and a transposed view is not C-contiguous,
# which knocks ImageItem off its fast QImage path. Process-wide option: every pyqtgraph image in the
# app must agree on it.
pg.setConfigOptions(imageAxisOrder="row-major")


COLOR_MAPS = ("gray", "diverging")

# Clipping below this fraction is not worth a badge.
_CLIP_BADGE_THRESHOLD = 0.005

# Letterbox around the image: a dark neutral grey in every theme. Distinct from both the black of a
# grey map's minimum and the white of the diverging map's zero, so the map's edges stay visible.
_LETTERBOX = QColor(52, 54, 58)

# Zoom: one wheel notch scales by this; a full-resolution pixel is at most this many screen
# pixels wide (or the fit, for a map smaller than that).
_WHEEL_STEP = 1.25
_MAX_CELL_PX = 160.0
# Zoomed in, the visible part of the full-resolution map replaces the worker's reduced copy once
# it has at most this many pixels per screen pixel of the view: the GUI thread copies a region
# bounded by the pane's own size, never the whole map.
_CROP_BUDGET = 4


# Built once at import: uint8, 256 entries (see _MapImage). Grey uses no LUT: index v is grey v.
_LUTS: dict[str, np.ndarray | None] = {"gray": None, "diverging": diverging_lut()}


@functools.lru_cache(maxsize=8)
def _packed_lut(lut: bytes | None) -> np.ndarray:
    """A 256-entry RGB LUT (or None for grey) as 0xffRRGGBB words, Format_RGB32's pixels."""
    rgb = (
        np.repeat(np.arange(256, dtype=np.uint32)[:, None], 3, axis=1)
        if lut is None
        else np.frombuffer(lut, np.uint8).reshape(256, 3).astype(np.uint32)
    )
    return np.uint32(0xFF000000) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]


class _MapImage(pg.ImageItem):
    """pyqtgraph's ImageItem, rendered to a Format_RGB32 QImage.

    Performance trap: Qt's raster engine draws only 32-bit images without converting them.
    pyqtgraph hands it Grayscale8, Indexed8 (a map with a LUT) or RGB888 (the source frame),
    which QPainter converts to 32 bits on every paint: a 300x170 map at 1.13x took 0.16 to 0.20
    ms a paint that way and 0.03 ms as RGB32, and the panes' paints were most of the GUI
    thread's time per frame. So the map becomes RGB32 here, once per frame: levels to uint8
    indices as pyqtgraph scales them and a lookup in the packed LUT, in one compiled pass
    (`packed_colours`); the source frame by one cv2.cvtColor. Maps with NaN (drawn
    transparent) and anything else keep pyqtgraph's path.
    """

    def render(self) -> None:
        image = self.image
        if (
            image is not None
            and image.size
            and self.levels is not None
            and image.ndim == 2
            and image.dtype == np.float32
            and (self.lut is None or isinstance(self.lut, np.ndarray))
        ):
            lo, hi = (float(v) for v in np.ravel(self.levels)[:2])
            lut = None if self.lut is None else np.ascontiguousarray(self.lut, np.uint8).tobytes()
            pixels = packed_colours(image, (lo, hi), _packed_lut(lut))
            if pixels is None:  # the map has NaN, or the pass is still compiling
                super().render()
            else:
                self._show(pixels)
        elif image is not None and image.size and image.ndim == 3 and image.dtype == np.uint8:
            self._show(cv2.cvtColor(image, cv2.COLOR_RGB2BGRA).view(np.uint32)[..., 0])
        else:
            super().render()

    def _show(self, pixels: np.ndarray) -> None:
        height, width = pixels.shape
        self._rgb32 = pixels  # the QImage below only points at it
        self.qimage = QImage(pixels.data, width, height, 4 * width, QImage.Format.Format_RGB32)
        self._renderRequired = False
        self._unrenderable = False


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
        self._shown: ShownMap | None = None  # what the last setMap was given, for `shows`
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
        # Zoom and pan. None of it is read per frame unless the pane is zoomed in or shows
        # numbers: setMap then tests one attribute each.
        self._zoomed = False
        self._crop: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 shown at full res
        self._numbers: CellNumbers | None = None
        self._wheel_needs_ctrl = False
        self._press: QPoint | None = None
        self._press_rect = QRectF()
        self._dragged = False
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
        self._item = _MapImage()
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
        # Not per frame: the range moves on a zoom, a pan, a new map shape or a resize.
        self._vb.sigRangeChanged.connect(self._on_view_changed)
        self._vb.sigResized.connect(self._on_view_changed)

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
        self._shown = shown
        if self._crop is not None and full.shape[:2] != self._full_shape():
            self._crop = None  # a new map size shows whole (the view fits it below)
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
            if self._crop is None:
                self._item.setImage(display, autoLevels=False, levels=None)
            else:
                self._show_crop()
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
            if self._crop is None:
                self._item.setImage(display, autoLevels=False, levels=self._levels)
            else:
                self._show_crop()
        self._update_geometry_for(display, full)
        if self._numbers is not None and self._numbers.isVisible():
            self._update_numbers()
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

    def shows(self, shown: ShownMap) -> bool:
        """Whether the pane shows ``shown`` already: the same arrays, range and floor. A still's
        maps that an edit elsewhere left unchanged come back so; drawing them again was a third
        of the panes' repaints per edit (8 filters, 1080p: 21 an edit, 15 without)."""
        last = self._shown
        return (
            last is not None
            and not self._message
            and shown.display is last.display
            and shown.full is self._full
            and (shown.value_range, shown.floor) == (last.value_range, last.floor)
        )

    def followMap(self, full: np.ndarray) -> None:
        """While the pane is off screen (the worker did not reduce its map): hold the newest
        full map instead of the one its picture came from. A picture's map is a view of its
        whole layer's output, so a pane scrolled away kept that frame's every map alive, and
        a pane per old frame added up (found by the monkey test). The picture is redrawn once
        the pane is on screen again."""
        if self._full is not None and not self._is_rgb and full.ndim == 2:
            self._full = full
            self._shown = None  # its picture is of an older map now

    def setMessage(self, text: str) -> None:
        """Show `text` instead of the image (e.g. why a layer has no output); "" shows the image.

        `setMap` clears the message.
        """
        self._message = text
        if text:
            self._message_label.setText(text)
            self._stack.setCurrentWidget(self._message_label)
            self._item.hide()
            if self._numbers is not None:
                self._numbers.hide()
            self._hover = None
            self._title_bar.setBadges("", "")
            self._info.setText("")
        else:
            self._stack.setCurrentWidget(self._view)
            self._item.show()
            self._on_view_changed()
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

    # ----------------------------------------------------------------------------- zoom and pan

    def setWheelZoomNeedsCtrl(self, needs: bool) -> None:
        """In a scrolling grid the wheel scrolls: there Ctrl+wheel zooms a fitted pane (a
        zoomed-in pane takes the wheel itself)."""
        self._wheel_needs_ctrl = bool(needs)

    def isZoomed(self) -> bool:
        """True when zoomed in past the fit."""
        return self._zoomed

    def zoomScale(self) -> float:
        """Screen pixels per full-resolution map pixel, as shown now."""
        rect = self._vb.viewRect()
        return self._vb.width() / rect.width() if rect.width() > 0 else 0.0

    def fitView(self) -> None:
        """Show the whole map (what the pane shows before any zoom)."""
        self._zoomed = False
        height, width = self._full_shape() or (1, 1)
        self._vb.setRange(QRectF(0, 0, width, height), padding=0)

    def zoomBy(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by ``factor`` (> 1 in), keeping the map point ``anchor`` (full-resolution
        pixels; the view's centre when None) where it is on screen. Never out past the fit."""
        rect = self._vb.viewRect()
        if self._full is None or rect.width() <= 0:
            return
        if anchor is None:
            anchor = rect.center()
        scale = self.zoomScale()
        new = self._clamped_scale(scale * factor)
        if new is None:
            self.fitView()
            return
        k = scale / new
        self._set_view(
            QRectF(
                anchor.x() - (anchor.x() - rect.left()) * k,
                anchor.y() - (anchor.y() - rect.top()) * k,
                rect.width() * k,
                rect.height() * k,
            )
        )

    def zoomTo(self, scale: float, centre: QPointF) -> None:
        """Show ``scale`` screen pixels per map pixel around map point ``centre``."""
        if self._full is None or self._vb.width() <= 0:
            return
        new = self._clamped_scale(scale)
        if new is None:
            self.fitView()
            return
        width, height = self._vb.width() / new, self._vb.height() / new
        self._set_view(QRectF(centre.x() - width / 2, centre.y() - height / 2, width, height))

    def _fit_scale(self) -> float:
        height, width = self._full_shape() or (1, 1)
        return min(self._vb.width() / width, self._vb.height() / height)

    def _clamped_scale(self, scale: float) -> float | None:
        """``scale`` within the zoom's limits; None at (or below) the fit."""
        fit = self._fit_scale()
        scale = min(scale, max(fit, _MAX_CELL_PX))
        return None if scale <= fit * 1.0001 else scale

    def _set_view(self, rect: QRectF) -> None:
        """Show ``rect`` (map pixels, the view's aspect), its centre kept on the map."""
        height, width = self._full_shape() or (1, 1)
        centre = rect.center()
        dx = min(max(centre.x(), 0.0), float(width)) - centre.x()
        dy = min(max(centre.y(), 0.0), float(height)) - centre.y()
        self._zoomed = True
        self._vb.setRange(rect.translated(dx, dy), padding=0)

    def _view_point(self, pos: QPoint) -> QPointF:
        return self._vb.mapSceneToView(self._view.mapToScene(pos))

    def _on_wheel(self, event: QEvent) -> bool:
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
        if (
            self._full is None
            or self._message
            or (self._wheel_needs_ctrl and not ctrl and not self._zoomed)
        ):
            return False  # the grid scrolls
        steps = event.angleDelta().y() / 120.0  # type: ignore[attr-defined]
        if steps:
            pos = event.position().toPoint()  # type: ignore[attr-defined]
            self.zoomBy(_WHEEL_STEP**steps, self._view_point(pos))
        event.accept()
        return True

    def _drag_to(self, pos: QPoint) -> None:
        assert self._press is not None
        delta = pos - self._press
        if not self._dragged:
            if delta.manhattanLength() < QGuiApplication.styleHints().startDragDistance():
                return
            self._dragged = True
        scale = self.zoomScale()
        self._set_view(self._press_rect.translated(-delta.x() / scale, -delta.y() / scale))

    def _on_view_changed(self, *_args: object) -> None:
        """The view moved, zoomed or was resized: pick what the image item shows (the reduced
        map, or the visible part of the full map) and whether numbers fit in the cells."""
        if self._full is None or self._display is None or self._message:
            return
        crop = self._wanted_crop()
        if crop != self._crop:
            self._crop = crop
            if crop is None:
                height, width = self._full_shape()
                self._item.setImage(
                    self._display, autoLevels=False, levels=None if self._is_rgb else self._levels
                )
                self._item.setRect(0, 0, width, height)
            else:
                self._show_crop()
        shows_numbers = self.zoomScale() >= MIN_CELL_PX
        if shows_numbers:
            if self._numbers is None:
                self._numbers = CellNumbers()
                self._vb.addItem(self._numbers)
            self._numbers.show()
            self._update_numbers()
        elif self._numbers is not None:
            self._numbers.hide()

    def _wanted_crop(self) -> tuple[int, int, int, int] | None:
        """The full-resolution region to show instead of the reduced map, or None."""
        assert self._full is not None and self._display is not None
        if not self._zoomed or self._display.shape[:2] == self._full.shape[:2]:
            return None  # the reduced map is the full map: nothing sharper to show
        height, width = self._full.shape[:2]
        rect = self._vb.viewRect()
        # One pixel beyond the view on each side: the item's outline stays off screen.
        x0, y0 = max(0, math.floor(rect.left()) - 1), max(0, math.floor(rect.top()) - 1)
        x1, y1 = min(width, math.ceil(rect.right()) + 1), min(height, math.ceil(rect.bottom()) + 1)
        if x1 <= x0 or y1 <= y0:
            return None
        budget = _CROP_BUDGET * max(1.0, self._vb.width() * self._vb.height())
        return (x0, y0, x1, y1) if (x1 - x0) * (y1 - y0) <= budget else None

    def _show_crop(self) -> None:
        """Show the crop region of the full map at full resolution (a copy bounded by the
        pane's size: `_wanted_crop`)."""
        assert self._crop is not None and self._full is not None
        x0, y0, x1, y1 = self._crop
        if self._is_rgb:
            region = np.ascontiguousarray(self._full[y0:y1, x0:x1])
            self._item.setImage(region, autoLevels=False, levels=None)
        else:
            region = np.ascontiguousarray(self._full[y0:y1, x0:x1], dtype=np.float32)
            self._item.setImage(region, autoLevels=False, levels=self._levels)
        self._item.setRect(x0, y0, x1 - x0, y1 - y0)

    def _update_numbers(self) -> None:
        assert self._numbers is not None and self._full is not None
        self._numbers.setValues(
            self._full,
            self._levels,
            diverging=self._cmap == "diverging" and not self._is_rgb,
            floor=self._floor,
        )

    def numbersShown(self) -> bool:
        """True when cells are drawn large enough to carry their values."""
        return self._numbers is not None and self._numbers.isVisible()

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
                pos = event.position().toPoint()  # type: ignore[attr-defined]
                if self._press is not None and self._zoomed:
                    self._drag_to(pos)
                self._hover_at(pos)
            elif kind == QEvent.Type.Wheel:
                return self._on_wheel(event)  # type: ignore[arg-type]
            elif kind in (
                QEvent.Type.MouseButtonPress,
                QEvent.Type.MouseButtonDblClick,
                QEvent.Type.MouseButtonRelease,
            ):
                if event.button() == Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
                    pos = event.position().toPoint()  # type: ignore[attr-defined]
                    if kind == QEvent.Type.MouseButtonPress:
                        self.clicked.emit()
                        self._press, self._dragged = pos, False
                        self._press_rect = self._vb.viewRect()
                    elif kind == QEvent.Type.MouseButtonDblClick:
                        self._press = None
                        if self._zoomed:
                            self.fitView()
                        else:
                            self.zoomBy(4.0, self._view_point(pos))
                    else:
                        # A click probes where it was pressed; a drag panned instead.
                        if self._press is not None and not self._dragged:
                            pixel = self._pixel_at(self._press)
                            if pixel is not None:
                                self.pixelClicked.emit(*pixel)
                        self._press = None
                    # Consumed: the scene has nothing to do with a left click (the pane pans
                    # and zooms itself), and an unaccepted press would bubble up to this pane
                    # and emit twice.
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
        if self._numbers is not None and self._numbers.isVisible():
            self._update_numbers()
        self._update_text()

    def _full_shape(self) -> tuple[int, ...]:
        return () if self._full is None else self._full.shape[:2]

    def _update_geometry_for(self, display: np.ndarray, full: np.ndarray) -> None:
        key = (display.shape[:2], full.shape[:2])
        if key == self._shape_key:
            return
        new_size = self._shape_key is None or self._shape_key[1] != key[1]
        self._shape_key = key
        height, width = full.shape[:2]
        # After setImage: setRect scales by the size of the image the item holds now. Only when a
        # shape changes: a new transform makes the view recompute its bounds. A crop places
        # itself.
        if self._crop is None:
            self._item.setRect(0, 0, width, height)
        if new_size:
            # A map of another size starts fitted; a new display size (the window was resized)
            # keeps the zoom.
            self._zoomed = False
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
        menu.addSection("View")
        menu.addAction("Zoom in (wheel)").triggered.connect(lambda: self.zoomBy(2.0))
        menu.addAction("Zoom out").triggered.connect(lambda: self.zoomBy(0.5))
        menu.addAction("Fit to pane (double-click)").triggered.connect(self.fitView)
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
