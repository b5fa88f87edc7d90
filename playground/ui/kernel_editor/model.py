"""`KernelModel`: a Qt table model over one float64 kernel, with parsing, colours and nudges.

Everything runs on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
)

from playground.engine import kernel_ops
from playground.engine.errors import BankError
from playground.ui.kernel_editor.cells import (
    WeightRole,
    _as_kernel,
    _clean,
    _edit_text,
    _exact_text,
    _text_colour,
    _weight_from,
    diverging_rgb,
    format_weight,
)


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
            self._show(k)
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
        self._show(new)
        self.kernelEdited.emit(self.kernel())
        return True

    def _refresh_colours(self) -> None:
        # Colours are computed once per change, not per data() call: a paint asks for every cell.
        self._rgb = diverging_rgb(self._kernel)

    def _show(self, kernel: np.ndarray) -> None:
        """Take ``kernel`` (same shape) and repaint the cells whose value or colour changed.

        Every colour depends on max |w|, so any cell may change; usually one does, and
        repainting all of them took a fifth of the window's time per weight edit (3x3).
        """
        old_kernel, old_rgb = self._kernel, self._rgb
        self._kernel = kernel
        self._refresh_colours()
        changed = (old_kernel != kernel) | np.any(old_rgb != self._rgb, axis=-1)
        rows, cols = np.nonzero(changed)
        if rows.size:
            top_left = self.index(int(rows.min()), int(cols.min()))
            self.dataChanged.emit(top_left, self.index(int(rows.max()), int(cols.max())), [])

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
