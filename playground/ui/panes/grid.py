"""`PaneGrid`: one titled section of panes per layer, flowing into columns, which tells the
controller which panes are on screen (maps nobody sees need not be reduced).

Everything runs on the GUI thread.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPoint, QRect, Qt, Signal
from PySide6.QtGui import (
    QFont,
)
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from playground.controller.display import shown_counts
from playground.ui.panes.pane import FeatureMapPane


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
        # Past the pane budget (controller.display.shown_counts) a layer's other maps get this
        # line instead of panes.
        self.more = QLabel(self)
        self.more.hide()
        layout.addWidget(self.more)
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

        Only the first panes of a layer are laid out (`shown_counts`); the section then says how
        many maps it leaves out. Existing panes are reused (only their titles change); panes are
        created or deleted only where a section's count changes, since creating one costs a few
        milliseconds.
        """
        while len(self._sections) > len(sections):
            section = self._sections.pop()
            self._vbox.removeWidget(section)
            section.hide()
            section.deleteLater()
        counts = shown_counts([len(titles) for _, titles in sections])
        for layer, ((title, all_titles), shown) in enumerate(zip(sections, counts)):
            pane_titles = all_titles[:shown]
            if layer < len(self._sections):
                section = self._sections[layer]
            else:
                section = _Section(self._host)
                self._vbox.insertWidget(layer, section)
                self._sections.append(section)
            section.header.setText(title)
            hidden = len(all_titles) - shown
            section.more.setText(f"… and {hidden} more map{'s' * (hidden != 1)} (not shown)")
            section.more.setVisible(hidden > 0)
            count_changed = len(section.panes) != len(pane_titles)
            while len(section.panes) > len(pane_titles):
                pane = section.panes.pop()
                section.grid.removeWidget(pane)
                pane.hide()
                pane.deleteLater()
            while len(section.panes) < len(pane_titles):
                index = len(section.panes)
                pane = FeatureMapPane(parent=section.grid_host)
                pane.setWheelZoomNeedsCtrl(True)  # the wheel scrolls the grid
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
        """The panes laid out for layer ``layer``: its first maps, up to the pane budget."""
        return len(self._sections[layer].panes)

    def hiddenText(self, layer: int) -> str:
        """The line under layer ``layer``'s panes naming the maps left out; "" if none are."""
        more = self._sections[layer].more
        return more.text() if not more.isHidden() else ""

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
