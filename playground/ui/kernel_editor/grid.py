"""`KernelGrid`: the table view of one kernel: square cells, wheel and drag nudges, typing,
Delete, and every cell spelled at one precision.

Everything runs on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPalette,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolTip,
    QWidget,
)

from playground.engine import kernel_ops
from playground.engine.errors import BankError
from playground.ui.kernel_editor.cells import (
    _ERROR_COLOUR,
    GESTURES,
    _fixed_font,
    _offset_text,
    spell_grid,
)
from playground.ui.kernel_editor.model import (
    KernelModel,
)


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
        colour = QColor(index.data(Qt.ItemDataRole.ForegroundRole))
        if option.rect.width() >= KernelGrid.TEXT_CELL:
            text, font = self.cellText(index.row(), index.column(), tile.width() - 4)
            painter.setFont(font)
            if text == "0":
                colour.setAlphaF(0.45)  # zeros recede so the pattern of real weights stands out
            painter.setPen(colour)
            painter.drawText(tile, Qt.AlignmentFlag.AlignCenter, text)
        # Smaller cells are a heat map: the colour alone, the value in the tooltip.
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
        rect = option.rect.adjusted(1, 1, -1, -1)
        # A heat map's cell is too small to type in: the line editor is wider than it, centred.
        width = max(rect.width(), 72)
        height = max(rect.height(), QFontMetrics(editor.font()).height() + 6)
        rect.setRect(rect.center().x() - width // 2, rect.center().y() - height // 2, width, height)
        editor.setGeometry(rect)

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
    # Fitting the whole kernel (the default), cells shrink to this; below TEXT_CELL they show
    # colour only, a heat map with each value on hover: a 31x31 kernel fits 130 pixels.
    FIT_MIN_CELL = 4
    TEXT_CELL = MIN_CELL
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
        self._fit_all = True
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
        """The text painted in a cell at its current size (the tooltip has the exact weight);
        "" in a heat map (cells under TEXT_CELL)."""
        if self._cell < self.TEXT_CELL:
            return ""
        tile = self.visualRect(self.model().index(row, col)).adjusted(1, 1, -1, -1)
        return self._delegate.cellText(row, col, tile.width() - 4)[0]

    def kernelModel(self) -> KernelModel:
        """The grid's `KernelModel` (also ``model()``)."""
        return self._model

    def cellSize(self) -> int:
        """Current side of a cell in pixels."""
        return self._cell

    def setFitAll(self, fit: bool) -> None:
        """True (the default): the whole kernel fits the grid, as a heat map when its cells
        get too small for numbers. False: cells stay readable (MIN_CELL) and a large kernel
        scrolls: the grid zoomed in."""
        self._fit_all = bool(fit)
        self.updateGeometry()
        self._fit_cells()

    def fitsAll(self) -> bool:
        return self._fit_all

    def _cell_for(self, width: int, height: int) -> int:
        """The cell side for a grid of ``width`` x ``height`` pixels inside its frame: the
        largest square cells that fit; fitting all, when those are too small for numbers,
        the width's fit if numbers fit it (the grid then scrolls down only), else a heat map
        of the whole kernel."""
        kh, kw = self._model.shape()
        across, down = width // kw, height // kh
        cell = min(across, down)
        if self._fit_all and cell < self.TEXT_CELL:
            # Scrolling down, the vertical scroll bar takes its width from the cells.
            bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
            across = (width - bar) // kw
            cell = across if across >= self.TEXT_CELL else max(self.FIT_MIN_CELL, cell)
        return max(self.FIT_MIN_CELL if self._fit_all else self.MIN_CELL, min(self.MAX_CELL, cell))

    def sizeForAvailable(self, available: QSize) -> QSize:
        """The size that shows the kernel with the largest square cells fitting ``available``.

        When even the smallest cells do not fit, the answer is ``available`` (the grid
        scrolls).
        """
        kh, kw = self._model.shape()
        frame = 2 * self.frameWidth()
        cell = self._cell_for(available.width() - frame, available.height() - frame)
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
        inner = self.contentsRect()
        cell = self._cell_for(inner.width(), inner.height())
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
