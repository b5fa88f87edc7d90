"""The kernel grid: where people type, scroll and drag the weights of one kernel.

A **kernel** is one 2-D weight grid applied to one input channel; a **filter** holds C_in of them.
The widgets here edit one kernel at a time and never touch the bank: they emit the new kernel and
the window (through the controller's document) builds the new bank and calls `setFilter` back.
That keeps the document the single source of truth; external updates (`setKernel`, `setFilter`)
never emit edit signals, so the round trip cannot loop.

- `KernelModel`: a Qt table model over one float64 kernel, with parsing, colours and nudges.
- `KernelGrid`: the table view: square cells, wheel and drag nudges, typing, Delete.
- `ChannelStrip`: every channel's kernel of the filter as a small heat map, click to select.
- `PresetDialog`: the parameters of a preset, with a live preview.
- `KernelEditor`: the grid plus channel selector, strip, DC gain, kernel operations, presets.

Everything runs on the GUI thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from functools import partial

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSignalBlocker,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QFontMetrics,
    QHelpEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTabBar,
    QTableView,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from playground.engine import kernel_ops, presets
from playground.engine.bank import MAX_WEIGHT
from playground.engine.errors import BankError
from playground.ui.style import DIVERGING_STOPS

__all__ = [
    "ChannelStrip",
    "KernelEditor",
    "KernelGrid",
    "KernelModel",
    "PresetDialog",
    "default_channel_names",
    "diverging_rgb",
    "format_weight",
    "kernel_pixmap",
]

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


class KernelModel(QAbstractTableModel):
    """One 2-D float64 kernel as an editable table.

    Signals
    -------
    kernelEdited(object)
        The whole new kernel (float64 (kh, kw) array) after each user edit: `setData`, `nudge`,
        `fillCells`. Not emitted by `setKernel`, nor when an edit leaves the kernel unchanged.
    editRefused(str)
        The one-line reason a typed value was refused; the kernel is unchanged.
    """

    kernelEdited = Signal(object)
    editRefused = Signal(str)

    def __init__(self, kernel: np.ndarray | None = None, parent=None) -> None:
        super().__init__(parent)
        self._kernel = np.zeros((3, 3)) if kernel is None else _as_kernel(kernel)
        self._refresh_colours()

    # -- the kernel ---------------------------------------------------------------------------

    def kernel(self) -> np.ndarray:
        """A float64 copy of the kernel."""
        return self._kernel.copy()

    def shape(self) -> tuple[int, int]:
        """(kh, kw)."""
        return self._kernel.shape[0], self._kernel.shape[1]

    def setKernel(self, kernel: np.ndarray) -> None:
        """Show a kernel from outside (the document, undo); never emits `kernelEdited`."""
        k = _as_kernel(kernel)
        if k.shape == self._kernel.shape:
            if np.array_equal(k, self._kernel):
                return
            self._kernel = k
            self._refresh_colours()
            self._all_changed()
        else:
            self.beginResetModel()
            self._kernel = k
            self._refresh_colours()
            self.endResetModel()

    def nudge(self, row: int, col: int, delta: float) -> None:
        """Add ``delta`` to one weight (clamped to ±MAX_WEIGHT); emits `kernelEdited`."""
        value = _clean(float(self._kernel[row, col]) + float(delta))
        self._set_cells([(row, col)], value)

    def fillCells(self, cells: Iterable[tuple[int, int]], value: float = 0.0) -> None:
        """Set the given (row, col) cells to ``value``; one `kernelEdited` if anything changed."""
        self._set_cells(list(cells), kernel_ops.check_weight(value))

    def _set_cells(self, cells: list[tuple[int, int]], value: float) -> bool:
        if not cells:
            return False
        new = self._kernel.copy()
        for row, col in cells:
            new[row, col] = value
        if np.array_equal(new, self._kernel):
            return False
        self._kernel = new
        self._refresh_colours()
        self._all_changed()  # every colour depends on max |w|, so every cell may repaint
        self.kernelEdited.emit(self.kernel())
        return True

    def _refresh_colours(self) -> None:
        # Colours are computed once per change, not per data() call: a paint asks for every cell.
        self._rgb = diverging_rgb(self._kernel)

    def _all_changed(self) -> None:
        kh, kw = self.shape()
        self.dataChanged.emit(self.index(0, 0), self.index(kh - 1, kw - 1), [])

    # -- QAbstractTableModel ------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._kernel.shape[0]

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._kernel.shape[1]

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        value = float(self._kernel[row, col])
        if role == Qt.ItemDataRole.DisplayRole:
            return format_weight(value)
        if role == Qt.ItemDataRole.EditRole:
            return _edit_text(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            return _exact_text(value)
        if role == Qt.ItemDataRole.BackgroundRole:
            return QColor(*(int(c) for c in self._rgb[row, col]))
        if role == Qt.ItemDataRole.ForegroundRole:
            return _text_colour(self._rgb[row, col])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        if role == WeightRole:
            return value
        return None

    def setData(
        self,
        index: QModelIndex | QPersistentModelIndex,
        value: object,
        role: int = Qt.ItemDataRole.EditRole,
    ) -> bool:
        """Set one weight from a number or typed text (parsed by `parse_weight`).

        Returns False, emitting `editRefused` with the reason, when the value is refused.
        """
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        try:
            weight = _weight_from(value)
        except BankError as error:
            self.editRefused.emit(str(error))
            return False
        self._set_cells([(index.row(), index.column())], weight)
        return True

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> object:
        # Offsets from the centre (the engine's anchor), should a view show the headers.
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        kh, kw = self.shape()
        size = kh if orientation == Qt.Orientation.Vertical else kw
        return f"{section - (size - 1) // 2:+d}".replace("+0", "0")


class _WeightEditor(QLineEdit):
    """The in-cell editor; remembers its cell so a refused Enter can report and stay open."""

    def __init__(self, parent: QWidget, index: QModelIndex) -> None:
        super().__init__(parent)
        self.cell = QPersistentModelIndex(index)
        self.setObjectName("weightEditor")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFrame(False)
        self.setToolTip("A number or a fraction: 2, -0.25, 1/9, 1e-3. Enter applies, Esc cancels.")


class _WeightDelegate(QStyledItemDelegate):
    """Paints a cell as a coloured tile with centred, size-fitted numbers; edits with a line."""

    def __init__(self, grid: KernelGrid) -> None:
        super().__init__(grid)
        self._grid = grid
        self._font = _fixed_font()
        # The grid's texts at one precision, for the kernel and room they were spelled for.
        self._spelled: tuple[bytes, tuple[int, int], int, list[str], QFont] | None = None
        self.setCellSize(40)

    def setCellSize(self, cell: int) -> None:
        # One font size for the whole grid, chosen so a typical "-0.111" fits; longer texts
        # (1.5e-05) shrink on their own rather than making every number jump while dragging.
        font = QFont(self._font)
        font.setPixelSize(100)
        reference = QFontMetrics(font).horizontalAdvance("-0.111")
        pixels = int(100 * (cell - 8) / max(reference, 1))
        font.setPixelSize(max(8, min(pixels, 16, int(cell * 0.42))))
        self._font = font
        self._spelled = None

    def font(self) -> QFont:
        return QFont(self._font)

    def cellText(self, row: int, col: int, room: int) -> tuple[str, QFont]:
        """The text a cell shows with ``room`` pixels, and its font: every cell of the grid at
        the same precision (see `spell_grid`); the tooltip and the editor give the exact value."""
        kernel = self._grid.kernelModel().kernel()
        key = (kernel.tobytes(), kernel.shape, room)
        if self._spelled is None or self._spelled[:3] != key:
            metrics = QFontMetrics(self._font)
            texts, _ = spell_grid(kernel, lambda t: metrics.horizontalAdvance(t) <= room)
            font = self._font
            widest = max(metrics.horizontalAdvance(t) for t in texts)
            if widest > room:
                # Not even one digit fits: a smaller font for the whole grid, not a few cells.
                font = QFont(self._font)
                font.setPixelSize(max(7, int(font.pixelSize() * room / max(widest, 1))))
            self._spelled = (*key, texts, font)
        texts, font = self._spelled[3], self._spelled[4]
        text = texts[row * kernel.shape[1] + col]
        return QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideRight, room), font

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        painter.save()
        tile = QRect(option.rect).adjusted(1, 1, -1, -1)
        painter.fillRect(tile, index.data(Qt.ItemDataRole.BackgroundRole))
        text, font = self.cellText(index.row(), index.column(), tile.width() - 4)
        painter.setFont(font)
        colour = QColor(index.data(Qt.ItemDataRole.ForegroundRole))
        if text == "0":
            colour.setAlphaF(0.45)  # zeros recede so the pattern of real weights stands out
        painter.setPen(colour)
        painter.drawText(tile, Qt.AlignmentFlag.AlignCenter, text)
        model = index.model()
        kh, kw = model.rowCount(), model.columnCount()
        if index.row() == (kh - 1) // 2 and index.column() == (kw - 1) // 2:
            # The centre (the engine's anchor): a small notch in the top-left corner.
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            notch = QColor(colour)
            notch.setAlphaF(0.55)
            painter.setBrush(notch)
            size = max(4, tile.width() // 7)
            x, y = tile.left(), tile.top()
            painter.drawPolygon([QPoint(x, y), QPoint(x + size, y), QPoint(x, y + size)])
        if option.state & QStyle.StateFlag.State_Selected:
            pen = QPen(option.palette.color(QPalette.ColorRole.Highlight), 2)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.drawRect(tile.adjusted(1, 1, -1, -1))
        painter.restore()

    def createEditor(
        self,
        parent: QWidget,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> QWidget:
        editor = _WeightEditor(parent, self._grid.model().index(index.row(), index.column()))
        editor.setFont(self._font)
        return editor

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, QLineEdit)
        editor.setText(index.data(Qt.ItemDataRole.EditRole))
        editor.selectAll()

    def setModelData(
        self, editor: QWidget, model, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        assert isinstance(editor, QLineEdit)
        model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(
        self,
        editor: QWidget,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        editor.setGeometry(option.rect.adjusted(1, 1, -1, -1))

    def eventFilter(self, editor, event: QEvent) -> bool:
        # Enter on text that is not a weight keeps the editor open (text selected, reason shown)
        # instead of closing it and losing what was typed.
        if (
            isinstance(editor, _WeightEditor)
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            try:
                kernel_ops.parse_weight(editor.text())
            except BankError:
                model = editor.cell.model()
                if model is not None and editor.cell.isValid():
                    model.setData(
                        model.index(editor.cell.row(), editor.cell.column()), editor.text()
                    )
                editor.setStyleSheet(f"border: 2px solid {_ERROR_COLOUR};")
                editor.selectAll()
                return True
        return super().eventFilter(editor, event)


class KernelGrid(QTableView):
    """The weights of one kernel as coloured square cells.

    Gestures: type or double-click to edit (text goes through `parse_weight`); the mouse wheel over
    a cell nudges it by 0.1 (Shift 1.0, Ctrl 0.01) and never scrolls; a vertical drag with the
    middle button or Alt+left button nudges continuously, 0.01 per pixel, up = increase (Shift x10,
    Ctrl x0.1); Delete sets the selected cells to 0. Every change is emitted by the model's
    `kernelEdited`, so the last value of a drag always lands.

    Signals
    -------
    dragStarted()
        A nudge drag began (the window may merge the drag's edits into one undo step).
    dragFinished()
        The nudge drag ended; its last value has already been emitted.
    """

    dragStarted = Signal()
    dragFinished = Signal()

    WHEEL_STEP = 0.1
    DRAG_STEP = 0.01
    MIN_CELL = 28
    MAX_CELL = 88
    # A 15x15 kernel at MIN_CELL fits this, so the default size needs no scroll bars up to 15x15.
    PREFERRED_SIDE = 420
    PREFERRED_CELL = 52

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kernelGrid")
        self._model = KernelModel(parent=self)
        self.setModel(self._model)
        self._delegate = _WeightDelegate(self)
        self.setItemDelegate(self._delegate)
        self._cell = 0
        self._drag: tuple[int, int, float] | None = None  # row, col, last y
        self._drag_button = Qt.MouseButton.NoButton

        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.hide()
            header.setMinimumSectionSize(1)
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.setShowGrid(False)
        self.setCornerButtonEnabled(False)
        self.setWordWrap(False)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip(GESTURES)
        # The gap between tiles: a light neutral that separates near-white zeros.
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Base, QColor(214, 216, 220))
        self.setPalette(palette)
        self._model.modelReset.connect(self._fit_cells)
        self._fit_cells()

    # -- public -------------------------------------------------------------------------------

    def cellText(self, row: int, col: int) -> str:
        """The text painted in a cell at its current size (the tooltip has the exact weight)."""
        tile = self.visualRect(self.model().index(row, col)).adjusted(1, 1, -1, -1)
        return self._delegate.cellText(row, col, tile.width() - 4)[0]

    def kernelModel(self) -> KernelModel:
        """The grid's `KernelModel` (also ``model()``)."""
        return self._model

    def cellSize(self) -> int:
        """Current side of a cell in pixels."""
        return self._cell

    def sizeForAvailable(self, available: QSize) -> QSize:
        """The size that shows the kernel with the largest square cells fitting ``available``.

        When even MIN_CELL cells do not fit, the answer is ``available`` (the grid scrolls).
        """
        kh, kw = self._model.shape()
        frame = 2 * self.frameWidth()
        cell = min((available.width() - frame) // kw, (available.height() - frame) // kh)
        cell = max(self.MIN_CELL, min(self.MAX_CELL, cell))
        wanted = QSize(kw * cell + frame, kh * cell + frame)
        return wanted.boundedTo(available)

    def sizeHint(self) -> QSize:
        kh, kw = self._model.shape()
        cell = self.PREFERRED_SIDE // max(kh, kw, 1)
        cell = max(self.MIN_CELL, min(self.PREFERRED_CELL, cell))
        frame = 2 * self.frameWidth()
        return QSize(kw * cell + frame, kh * cell + frame)

    def minimumSizeHint(self) -> QSize:
        frame = 2 * self.frameWidth()
        return QSize(3 * self.MIN_CELL + frame, 3 * self.MIN_CELL + frame)

    # -- layout -------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_cells()

    def _fit_cells(self) -> None:
        kh, kw = self._model.shape()
        inner = self.contentsRect()
        cell = min(inner.width() // kw, inner.height() // kh)
        cell = max(self.MIN_CELL, min(self.MAX_CELL, cell))
        self._cell = cell
        self._delegate.setCellSize(cell)
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.setDefaultSectionSize(cell)
            for section in range(header.count()):
                header.resizeSection(section, cell)
        self.viewport().update()

    # -- gestures -----------------------------------------------------------------------------

    @staticmethod
    def _step(modifiers: Qt.KeyboardModifier, base: float) -> float:
        if modifiers & Qt.KeyboardModifier.ShiftModifier:
            return base * 10
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            return base / 10
        return base

    def wheelEvent(self, event: QWheelEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if not index.isValid():
            event.ignore()
            return
        # Some platforms turn Shift+wheel into a horizontal wheel; either direction nudges.
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            step = self._step(event.modifiers(), self.WHEEL_STEP)
            self._model.nudge(index.row(), index.column(), step * delta / 120)
        event.accept()

    def _is_drag_press(self, event: QMouseEvent) -> bool:
        if event.button() == Qt.MouseButton.MiddleButton:
            return True
        return bool(
            event.button() == Qt.MouseButton.LeftButton
            and event.modifiers() & Qt.KeyboardModifier.AltModifier
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if self._is_drag_press(event) and index.isValid():
            if self.state() == QAbstractItemView.State.EditingState:
                self.setFocus()  # commits the open editor before its cell moves under it
            self.selectionModel().setCurrentIndex(
                index, self.selectionModel().SelectionFlag.NoUpdate
            )
            self._drag = (index.row(), index.column(), event.position().y())
            self._drag_button = event.button()
            self.viewport().setCursor(Qt.CursorShape.SizeVerCursor)
            self.dragStarted.emit()
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is None:
            super().mouseMoveEvent(event)
            return
        row, col, last_y = self._drag
        y = event.position().y()
        if y != last_y:
            # Each move emits kernelEdited right away, so whatever the window throttles, the
            # value under the mouse when the button is released is the last one emitted.
            step = self._step(event.modifiers(), self.DRAG_STEP)
            self._model.nudge(row, col, (last_y - y) * step)
            self._drag = (row, col, y)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None and event.button() == self._drag_button:
            self._drag = None
            self._drag_button = Qt.MouseButton.NoButton
            self.viewport().unsetCursor()
            self.dragFinished.emit()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if (
            event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
            and self.state() != QAbstractItemView.State.EditingState
        ):
            cells = {(i.row(), i.column()) for i in self.selectionModel().selectedIndexes()}
            current = self.currentIndex()
            if not cells and current.isValid():
                cells = {(current.row(), current.column())}
            self._model.fillCells(sorted(cells), 0.0)
            event.accept()
            return
        super().keyPressEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:
        if isinstance(event, QHelpEvent) and event.type() == QEvent.Type.ToolTip:
            index = self.indexAt(event.pos())
            if index.isValid():
                QToolTip.showText(
                    event.globalPos(),
                    self.cellToolTip(index),
                    self.viewport(),
                    self.visualRect(index),
                )
                return True
        return super().viewportEvent(event)

    def cellToolTip(self, index: QModelIndex) -> str:
        """Rich-text tooltip of a cell: where it is, its exact weight, the gestures."""
        kh, kw = self._model.shape()
        where = _offset_text(index.row() - (kh - 1) // 2, index.column() - (kw - 1) // 2)
        exact = index.data(Qt.ItemDataRole.ToolTipRole)
        hint = "wheel ±0.1 · middle/Alt-drag ↕ · type to edit · Delete → 0"
        return (
            f"<b>{exact}</b><br>row {index.row()}, column {index.column()} ({where})"
            f"<br><span style='color:#777'>{hint}</span>"
        )


class _ChannelThumb(QWidget):
    """One channel of the strip: a heat map over its name; paints its own highlight."""

    clicked = Signal(int)

    def __init__(self, channel: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.channel = channel
        self.selected = False
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

    def setSelected(self, selected: bool) -> None:
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
            thumb.image.setPixmap(kernel_pixmap(k[channel], self.THUMB, scale))
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


class _OddSpinBox(QSpinBox):
    """Steps by 2 and rounds a typed even value up to the next odd one (down at the top)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSingleStep(2)
        self.editingFinished.connect(self._make_odd)

    def _make_odd(self) -> None:
        value = self.value()
        if value % 2 == 0:
            self.setValue(value + 1 if value + 1 <= self.maximum() else value - 1)


def _step_for(param: presets.Param) -> float:
    span = param.maximum - param.minimum
    return 10 ** math.floor(math.log10(span / 100)) if span > 0 else 0.1


class PresetDialog(QDialog):
    """Choose the parameters of a preset, with a live preview of the kernel.

    Accepting with invalid values shows the reason and stays open.
    """

    PREVIEW = 112

    def __init__(self, preset: presets.Preset, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preset = preset
        self.setObjectName("presetDialog")
        self.setWindowTitle(f"Preset: {preset.name}")
        self.spinBoxes: dict[str, QSpinBox | QDoubleSpinBox] = {}
        self._kernel: np.ndarray | None = None

        description = QLabel(preset.description, self)
        description.setWordWrap(True)
        form = QFormLayout()
        for param in preset.params:
            if param.integer:
                spin: QSpinBox | QDoubleSpinBox = _OddSpinBox(self) if param.odd else QSpinBox(self)
                spin.setRange(int(param.minimum), int(param.maximum))
                spin.setValue(int(param.default))
            else:
                spin = QDoubleSpinBox(self)
                spin.setDecimals(2)
                spin.setRange(param.minimum, param.maximum)
                spin.setSingleStep(_step_for(param))
                spin.setValue(param.default)
            spin.setObjectName(f"param_{param.name}")
            spin.setToolTip(param.description)
            spin.valueChanged.connect(self._update_preview)
            self.spinBoxes[param.name] = spin
            label = QLabel(param.name, self)
            label.setToolTip(param.description)
            form.addRow(label, spin)

        self.preview = QLabel(self)
        self.preview.setObjectName("presetPreview")
        self.preview.setFixedSize(self.PREVIEW, self.PREVIEW)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.previewCaption = QLabel(self)
        self.previewCaption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.errorLabel = QLabel(self)
        self.errorLabel.setObjectName("presetError")
        self.errorLabel.setStyleSheet(f"color: {_ERROR_COLOUR};")
        self.errorLabel.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        preview_column = QVBoxLayout()
        preview_column.addWidget(self.preview)
        preview_column.addWidget(self.previewCaption)
        preview_column.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(form, 1)
        body.addSpacing(12)
        body.addLayout(preview_column)
        layout = QVBoxLayout(self)
        layout.addWidget(description)
        layout.addLayout(body)
        layout.addWidget(self.errorLabel)
        layout.addWidget(self.buttons)
        self._update_preview()

    def values(self) -> dict[str, float]:
        """Parameter values as the spin boxes show them (ints for integer params)."""
        values: dict[str, float] = {}
        for param in self.preset.params:
            value = self.spinBoxes[param.name].value()
            if param.integer and param.odd and int(value) % 2 == 0:
                value = int(value) + 1 if value + 1 <= param.maximum else int(value) - 1
            values[param.name] = value
        return values

    def kernel(self) -> np.ndarray:
        """The preset's float64 kernel for the current values; BankError if they are invalid."""
        return preset_kernel(self.preset.name, **self.values())

    def acceptedKernel(self) -> np.ndarray | None:
        """The kernel computed when the dialog was accepted."""
        return self._kernel

    def accept(self) -> None:
        try:
            self._kernel = self.kernel()
        except BankError as error:
            self.errorLabel.setText(str(error))
            return
        super().accept()

    def _update_preview(self) -> None:
        try:
            k = self.kernel()
        except BankError as error:
            self.errorLabel.setText(str(error))
            self.preview.clear()
            self.previewCaption.clear()
            return
        self.errorLabel.clear()
        self.preview.setPixmap(kernel_pixmap(k, self.PREVIEW))
        self.previewCaption.setText(f"{k.shape[0]}×{k.shape[1]}, sum {k.sum():.3g}")


def preset_kernel(name: str, **params: float) -> np.ndarray:
    """A preset's kernel in float64, with its params validated like `presets.kernel`.

    `presets.kernel` returns float32, which would store 1/9 as 0.1111111119; the bank keeps
    float64 so hand-made and preset weights stay exact.
    """
    preset = presets.get(name)
    known = {p.name for p in preset.params}
    unknown = sorted(set(params) - known)
    if unknown:
        raise BankError(f"preset '{name}': unknown parameter '{unknown[0]}'")
    values = {p.name: p.validate(name, params.get(p.name, p.default)) for p in preset.params}
    return np.array(preset.build(**values), dtype=np.float64)


# name, button text, tooltip, operation on one kernel. Tooltips start with the words of the spec.
_OPERATIONS: tuple[tuple[str, str, str, Callable[[np.ndarray], np.ndarray]], ...] = (
    (
        "normalise",
        "Σ = 1",
        "Normalise (sum 1): scale the filter's weights so they sum to 1 and keep the image's "
        "brightness",
        kernel_ops.normalize_sum,
    ),
    (
        "zero-sum",
        "Σ = 0",
        "Zero-sum: subtract each kernel's mean weight so flat areas give 0",
        kernel_ops.make_zero_sum,
    ),
    ("flip-horizontal", "↔", "Flip ↔: mirror left-right", kernel_ops.flip_horizontal),
    ("flip-vertical", "↕", "Flip ↕: mirror top-bottom", kernel_ops.flip_vertical),
    (
        "rotate90",
        "⟲ 90°",
        "Rotate 90°: turn counter-clockwise (kh × kw becomes kw × kh)",
        kernel_ops.rotate90,
    ),
    (
        "transpose",
        "Tᵀ",
        "Transpose: swap rows and columns (mirror about the main diagonal)",
        kernel_ops.transpose,
    ),
)

# The same operations on a whole filter, (C_in, kh, kw) -> (C_in, kh', kw'). Normalising a
# filter scales all its kernels by one factor: its summed map, not each partial map, keeps a flat
# grey area's brightness.
_FILTER_OPERATIONS: dict[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]] = {
    kernel_ops.normalize_sum: kernel_ops.normalize_filter_sum,
    kernel_ops.make_zero_sum: kernel_ops.make_filter_zero_sum,
}


def _on_filter(operation: Callable[[np.ndarray], np.ndarray], kernels: np.ndarray) -> np.ndarray:
    whole = _FILTER_OPERATIONS.get(operation)
    return whole(kernels) if whole is not None else kernel_ops.each_kernel(operation, kernels)


def dc_gain_text(gain: float) -> str:
    """A DC gain for the readouts: 3 decimals, exponent for tiny non-zero sums."""
    if abs(gain) < 1e-9:
        return "0.000"
    if abs(gain) < 5e-4:
        return f"{gain:.1e}"
    return f"{gain:.3f}"


class _GridHolder(QWidget):
    """Places the grid at the size that gives it the largest square cells that fit."""

    def __init__(self, grid: KernelGrid, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._grid = grid
        grid.setParent(self)
        grid.kernelModel().modelReset.connect(self._on_grid_model_reset)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return self._grid.sizeHint()

    def minimumSizeHint(self) -> QSize:
        return self._grid.minimumSizeHint()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place()

    def _on_grid_model_reset(self) -> None:
        self.updateGeometry()
        self._place()

    def _place(self) -> None:
        size = self._grid.sizeForAvailable(self.size())
        # Centred across, at the top: the size and DC gain line sits right under small kernels.
        x = (self.width() - size.width()) // 2
        self._grid.setGeometry(x, 0, size.width(), size.height())


class KernelEditor(QWidget):
    """One filter's kernels: pick a channel, edit its kernel, reshape or replace it.

    The editor never changes the bank. It shows what `setFilter` gives it and emits requests;
    the window applies them to the document and calls `setFilter` back.

    Signals
    -------
    kernelEdited(object)
        The current channel's edited 2-D float64 kernel, after each cell edit, nudge or Delete
        (re-emitted from the model).
    kernelReplaced(object)
        A whole new 2-D float64 kernel for the current channel from a preset or an operation
        (normalise, zero-sum, flips, rotate, transpose), with "This channel only" checked; its
        size may differ from the current one.
    kernelsReplaced(object)
        New (C_in, kh, kw) float64 kernels for the whole filter: a preset or an operation
        applied to every kernel (the default).
    kernelResizeRequested(int, int)
        The user asked for kh x kw kernels (crop or zero-pad, see `kernel_ops.resize`).
    copyToAllChannelsRequested()
        Copy the current channel's kernel to every channel of the filter.
    channelSelected(int)
        The user picked a channel (0-based) in the tab bar or the strip.
    errorRaised(str)
        A one-line reason an operation or a typed weight was refused (also shown in the editor).
    """

    kernelEdited = Signal(object)
    kernelReplaced = Signal(object)
    kernelsReplaced = Signal(object)
    kernelResizeRequested = Signal(int, int)
    copyToAllChannelsRequested = Signal()
    channelSelected = Signal(int)
    errorRaised = Signal(str)

    MAX_UI_SIZE = 31

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kernelEditor")
        self._kernels = np.zeros((1, 3, 3))
        self._names = default_channel_names(1)
        self._channel = 0
        self._size_shown = False
        self.buttons: dict[str, QToolButton] = {}

        self.channelTabs = QTabBar(self)
        self.channelTabs.setObjectName("channelTabs")
        self.channelTabs.setExpanding(False)
        self.channelTabs.setDocumentMode(True)
        self.channelTabs.setDrawBase(False)
        self.channelTabs.setUsesScrollButtons(True)
        self.channelTabs.setToolTip("Input channel whose kernel the grid shows")
        self.channelTabs.currentChanged.connect(self._on_channel_tabs_changed)

        self.strip = ChannelStrip(self)
        self.strip.channelSelected.connect(self._on_strip_channel_selected)

        self.grid = KernelGrid()
        self._holder = _GridHolder(self.grid, self)
        model = self.grid.kernelModel()
        model.kernelEdited.connect(self._on_model_kernel_edited)
        model.editRefused.connect(self._show_error)
        model.dataChanged.connect(self._update_dc_gain)
        model.modelReset.connect(self._update_dc_gain)

        self.presetMenu = QMenu("Presets", self)
        self.presetMenu.setObjectName("presetMenu")
        self.presetMenu.setToolTipsVisible(True)
        for name in presets.names():
            preset = presets.get(name)
            action = self.presetMenu.addAction(name + ("…" if preset.params else ""))
            action.setData(name)
            action.setToolTip(preset.description)
            action.setStatusTip(preset.description)
            action.triggered.connect(partial(self._on_preset_chosen, name))
        presets_button = self._tool_button(
            "presets", "Presets", "Presets: replace this kernel with a ready-made one"
        )
        presets_button.setMenu(self.presetMenu)
        presets_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        # The text carries the arrow; the style's indicator would overlap it in a small button.
        presets_button.setText("Presets ▾")
        presets_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0; }")

        for name, text, tip, operation in _OPERATIONS:
            button = self._tool_button(name, text, tip)
            button.clicked.connect(partial(self._on_operation, operation))
        copy = self._tool_button(
            "copy-to-all",
            "Copy to all",
            "Copy to all channels: give every input channel this kernel",
        )
        copy.clicked.connect(self.copyToAllChannelsRequested)
        only = self._tool_button(
            "channel-only",
            "This channel only",
            "This channel only: presets and Σ, flip and rotate operations change only the "
            "kernel shown; otherwise they change every kernel of the filter",
        )
        only.setCheckable(True)

        self.dcGainLabel = QLabel(self)
        self.dcGainLabel.setObjectName("dcGainLabel")
        self.dcGainLabel.setToolTip(
            "Sum of the weights: how the kernel scales a flat area.\n"
            "1 keeps the brightness (blurs); 0 gives black on flat areas (edge detectors).\n"
            "filter: the sum over all the filter's kernels, what its summed map does to a flat "
            "grey area."
        )
        self.dcGainLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A filter's gain follows the kernel's: in a narrow dock the line wraps rather than
        # widening the editor.
        self.dcGainLabel.setWordWrap(True)

        self.heightSpin = QSpinBox(self)
        self.widthSpin = QSpinBox(self)
        for spin, what in ((self.heightSpin, "height (rows)"), (self.widthSpin, "width (columns)")):
            spin.setRange(1, self.MAX_UI_SIZE)
            spin.setToolTip(f"Kernel {what}")
            spin.setAlignment(Qt.AlignmentFlag.AlignRight)
            spin.valueChanged.connect(self._update_resize_button)
        for spin in (self.heightSpin, self.widthSpin):
            # Enter in a size box resizes, as the Resize button does.
            spin.installEventFilter(self)
        self.heightSpin.setObjectName("kernelHeight")
        self.widthSpin.setObjectName("kernelWidth")
        resize = self._tool_button(
            "resize",
            "Resize",
            "Resize every kernel of the filter to kh × kw: crop or zero-pad around the centre",
        )
        resize.clicked.connect(self._on_resize_clicked)

        self.statusLabel = QLabel(self)
        self.statusLabel.setObjectName("kernelStatus")
        self.statusLabel.setStyleSheet(f"color: {_ERROR_COLOUR};")
        self.statusLabel.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        tools = QHBoxLayout()
        tools.setSpacing(2)
        tools.addWidget(self.buttons["presets"])
        tools.addSpacing(6)
        for name, *_ in _OPERATIONS:
            tools.addWidget(self.buttons[name])
        tools.addStretch(1)
        tools.addWidget(self.buttons["copy-to-all"])

        bottom = QHBoxLayout()
        bottom.addWidget(self.dcGainLabel)
        bottom.addStretch(1)
        bottom.addWidget(QLabel("size", self))
        bottom.addWidget(self.heightSpin)
        times = QLabel("×", self)
        bottom.addWidget(times)
        bottom.addWidget(self.widthSpin)
        bottom.addWidget(self.buttons["resize"])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        channels = QHBoxLayout()
        channels.addWidget(self.channelTabs, 1)
        # Beside the channel tabs: it says which of them an operation changes.
        channels.addWidget(self.buttons["channel-only"])
        layout.addLayout(channels)
        layout.addWidget(self.strip)
        layout.addLayout(tools)
        # The sum and size line above the grid: it stays beside the kernel whatever its size,
        # and the grid takes the rest of the height.
        layout.addLayout(bottom)
        layout.addWidget(self.statusLabel)
        layout.addWidget(self._holder, 1)

        self.setFilter(self._kernels, 0, self._names)

    def _tool_button(self, name: str, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(f"{name}Button")
        button.setText(text)
        button.setToolTip(tip)
        button.setStatusTip(tip)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.buttons[name] = button
        return button

    # -- public -------------------------------------------------------------------------------

    def setFilter(
        self,
        kernels: np.ndarray,
        channel: int = 0,
        channel_names: Sequence[str] | None = None,
    ) -> None:
        """Show a filter's (C_in, kh, kw) kernels, the grid on ``channel``; emits nothing.

        ``channel_names`` defaults to R, G, B / gray / ch 1..N (see `default_channel_names`).
        """
        k = np.array(kernels, dtype=np.float64)
        if k.ndim != 3 or min(k.shape) < 1:
            raise BankError(f"kernels must have shape (channels, kh, kw), got {k.shape}")
        count = k.shape[0]
        if not 0 <= channel < count:
            raise BankError(f"channel {channel} does not exist; the filter has {count}")
        names = list(channel_names) if channel_names else []
        if len(names) != count:
            names = default_channel_names(count)
        resized = k.shape[1:] != self._kernels.shape[1:]
        self._kernels = k
        self._names = names
        self._channel = channel

        with QSignalBlocker(self.channelTabs):
            if [self.channelTabs.tabText(i) for i in range(self.channelTabs.count())] != names:
                while self.channelTabs.count():
                    self.channelTabs.removeTab(0)
                for name in names:
                    self.channelTabs.addTab(name)
            self.channelTabs.setCurrentIndex(channel)
        self.strip.setKernels(k, names)
        self.strip.setCurrent(channel)
        self.strip.setVisible(count > 1)
        self.buttons["copy-to-all"].setEnabled(count > 1)
        self.buttons["channel-only"].setVisible(count > 1)
        self.grid.kernelModel().setKernel(k[channel])
        # Only a new kernel size resets the spin boxes: a size typed there waits for Resize.
        if resized or not self._size_shown:
            self._size_shown = True
            with QSignalBlocker(self.heightSpin), QSignalBlocker(self.widthSpin):
                self.heightSpin.setValue(k.shape[1])
                self.widthSpin.setValue(k.shape[2])
        self._update_resize_button()
        self._update_dc_gain()
        self._clear_status()

    def currentChannel(self) -> int:
        """The channel (0-based) whose kernel the grid shows."""
        return self._channel

    def kernels(self) -> np.ndarray:
        """A copy of the (C_in, kh, kw) kernels shown, with local edits."""
        return self._kernels.copy()

    def statusText(self) -> str:
        """The error line shown under the grid (empty when there is none)."""
        return self.statusLabel.text()

    # -- handlers -----------------------------------------------------------------------------

    def _select_channel(self, channel: int) -> None:
        if channel == self._channel or not 0 <= channel < len(self._kernels):
            return
        self._channel = channel
        with QSignalBlocker(self.channelTabs):
            self.channelTabs.setCurrentIndex(channel)
        self.strip.setCurrent(channel)
        self.grid.kernelModel().setKernel(self._kernels[channel])
        self.channelSelected.emit(channel)

    def _on_channel_tabs_changed(self, channel: int) -> None:
        self._select_channel(channel)

    def _on_strip_channel_selected(self, channel: int) -> None:
        self._select_channel(channel)

    def _on_model_kernel_edited(self, kernel: np.ndarray) -> None:
        # Local echo, so the strip follows a drag before the document answers with setFilter.
        if kernel.shape == self._kernels.shape[1:]:
            self._kernels[self._channel] = kernel
            self.strip.setKernels(self._kernels, self._names)
        self._clear_status()
        self.kernelEdited.emit(kernel)

    def channelOnly(self) -> bool:
        """True when presets and operations change only the kernel shown: "This channel only"
        is checked, or the filter has one kernel."""
        return self.buttons["channel-only"].isChecked() or len(self._kernels) == 1

    def _on_operation(self, operation: Callable[[np.ndarray], np.ndarray], *_: object) -> None:
        if self.channelOnly():
            self._replace(lambda: operation(self.grid.kernelModel().kernel()))
        else:
            self._replace_all(lambda: _on_filter(operation, self._kernels))

    def _on_preset_chosen(self, name: str, *_: object) -> None:
        preset = presets.get(name)
        if not preset.params:
            self._use_preset(lambda: preset_kernel(name))
            return
        dialog = PresetDialog(preset, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(partial(self._on_preset_dialog_accepted, dialog))
        self.presetDialog = dialog
        dialog.open()  # window-modal and non-blocking: no nested event loop

    def _on_preset_dialog_accepted(self, dialog: PresetDialog) -> None:
        kernel = dialog.acceptedKernel()
        if kernel is not None:
            self._use_preset(lambda: kernel)

    def _use_preset(self, make: Callable[[], np.ndarray]) -> None:
        if self.channelOnly():
            self._replace(make)
        else:
            self._replace_all(lambda: np.repeat(make()[None], len(self._kernels), axis=0))

    def _replace(self, make: Callable[[], np.ndarray]) -> None:
        try:
            kernel = np.array(make(), dtype=np.float64)
        except BankError as error:
            self._show_error(str(error))
            return
        self._clear_status()
        self.kernelReplaced.emit(kernel)

    def _replace_all(self, make: Callable[[], np.ndarray]) -> None:
        try:
            kernels = np.array(make(), dtype=np.float64)
        except BankError as error:
            self._show_error(str(error))
            return
        self._clear_status()
        self.kernelsReplaced.emit(kernels)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            isinstance(watched, QSpinBox)
            and watched in (self.heightSpin, self.widthSpin)
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            watched.interpretText()  # the typed digits, not the value before them
            if self.buttons["resize"].isEnabled():
                self._on_resize_clicked()
            return True
        return super().eventFilter(watched, event)

    def _on_resize_clicked(self) -> None:
        self.kernelResizeRequested.emit(self.heightSpin.value(), self.widthSpin.value())

    def _update_resize_button(self, *_: object) -> None:
        wanted = (self.heightSpin.value(), self.widthSpin.value())
        self.buttons["resize"].setEnabled(wanted != self.grid.kernelModel().shape())

    def _update_dc_gain(self, *_: object) -> None:
        gain = kernel_ops.dc_gain(self.grid.kernelModel().kernel())
        text = f"sum (DC gain): {dc_gain_text(gain)}"
        if len(self._kernels) > 1:
            # The filter's gain is what its summed map does to a flat grey area.
            others = np.delete(self._kernels, self._channel, axis=0).sum()
            text += f" · filter {dc_gain_text(float(others) + gain)}"
        self.dcGainLabel.setText(text)

    def _show_error(self, reason: str) -> None:
        self.statusLabel.setText(reason)
        self.statusLabel.setToolTip(reason)
        self.errorRaised.emit(reason)

    def _clear_status(self) -> None:
        self.statusLabel.clear()
        self.statusLabel.setToolTip("")
