"""A/B compare: a feature map pinned as A beside the live B and their difference.

Pin a filter's map, edit the filter, and see what the edit changed: B - A in blue-white-red
around zero, on one symmetric scale.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from playground.controller.pipeline import finite_range, reduce_for_display
from playground.ui.panes import FeatureMapPane


class ComparePanel(QWidget):
    """B (live), A (pinned) and B - A for one (layer, filter)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("comparePanel")
        self._caption = QLabel(self)
        self._caption.setWordWrap(True)
        self.b_pane = FeatureMapPane("B · now", self)
        self.a_pane = FeatureMapPane("A · pinned", self)
        self.diff_pane = FeatureMapPane("B − A", self)
        self.diff_pane.setColorMap("diverging")
        self.diff_pane.setLevelsMode("symmetric")
        row = QHBoxLayout()
        for pane in (self.b_pane, self.a_pane, self.diff_pane):
            pane.setMinimumSize(120, 100)
            row.addWidget(pane, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self._caption)
        layout.addLayout(row, 1)
        self._a: np.ndarray | None = None
        self._target: tuple[int, int] | None = None
        self._difference: np.ndarray | None = None
        self.clearA()

    def target(self) -> tuple[int, int] | None:
        """(layer, filter), 0-based, of the pinned map; None before a pin."""
        return self._target

    def difference(self) -> np.ndarray | None:
        """The last B - A at full resolution, or None (nothing pinned, or sizes differ)."""
        return self._difference

    def pinA(self, layer: int, filt: int, values: np.ndarray, title: str) -> None:
        """Pin ``values`` (a full-resolution map; copied) as A."""
        self._a = np.array(values, dtype=np.float32)
        self._target = (layer, filt)
        self._caption.setText(
            f"A: {title}, pinned. Edit the filter: B follows, B − A shows what changed."
        )
        self.a_pane.setMap(self._display(self._a), self._a, finite_range(self._a))
        self.setB(self._a)

    def clearA(self) -> None:
        self._a = None
        self._target = None
        self._difference = None
        self._caption.setText("Pin a filter's map as A (View ▸ Pin selected map as A), then edit.")
        for pane in (self.b_pane, self.a_pane, self.diff_pane):
            pane.setMessage("nothing pinned")

    def setB(self, values: np.ndarray) -> None:
        """The live map of the pinned (layer, filter)."""
        if self._a is None:
            return
        self.b_pane.setMap(self._display(values), values, finite_range(values))
        if values.shape != self._a.shape:
            self._difference = None
            self.diff_pane.setMessage(
                f"sizes differ: A is {self._a.shape[1]}×{self._a.shape[0]}, "
                f"B is {values.shape[1]}×{values.shape[0]}"
            )
            return
        self._difference = values - self._a
        self.diff_pane.setMap(
            self._display(self._difference), self._difference, finite_range(self._difference)
        )

    def _display(self, values: np.ndarray) -> np.ndarray:
        view = self.b_pane.graphicsView()
        ratio = self.devicePixelRatioF()
        size = (max(16, round(view.width() * ratio)), max(16, round(view.height() * ratio)))
        return reduce_for_display(values, size)
