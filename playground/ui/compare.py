"""A/B compare: a feature map pinned as A beside the live B and their difference.

Pin a filter's map, edit the filter, and see what the edit changed: B - A in blue-white-red
around zero, on one symmetric scale. The difference is computed on the compute worker
(`Controller.pin`); this panel only shows the maps it is handed.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from playground.controller.display import ShownMap
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
        self._a: ShownMap | None = None
        self._target: tuple[int, int] | None = None
        self._difference: np.ndarray | None = None
        self.clearA()

    def target(self) -> tuple[int, int] | None:
        """(layer, filter), 0-based, of the pinned map; None before a pin."""
        return self._target

    def difference(self) -> np.ndarray | None:
        """The last B - A at full resolution, or None (nothing pinned, or sizes differ)."""
        return self._difference

    def pinA(self, layer: int, filt: int, a: ShownMap, title: str) -> None:
        """Pin ``a`` as A; until the worker's first difference, B is A and B - A is zero."""
        self._a = a
        self._target = (layer, filt)
        self._caption.setText(
            f"A: {title}, pinned. Edit the filter: B follows, B − A shows what changed."
        )
        self.a_pane.setMap(a)
        # Zeros cost no pass over A: the pages are mapped lazily and only the hovered one is read.
        zero = ShownMap(np.zeros_like(a.display), np.zeros(a.full.shape, np.float32), (0.0, 0.0))
        self.setB(a, zero)

    def clearA(self) -> None:
        self._a = None
        self._target = None
        self._difference = None
        self._caption.setText("Pin a filter's map as A (View ▸ Pin selected map as A), then edit.")
        for pane in (self.b_pane, self.a_pane, self.diff_pane):
            pane.setMessage("nothing pinned")

    def setB(self, b: ShownMap, difference: ShownMap | None) -> None:
        """The live map of the pinned (layer, filter), and B - A (None when the sizes differ)."""
        if self._a is None:
            return
        self.b_pane.setMap(b)
        if difference is None:
            self._difference = None
            a, live = self._a.full.shape, b.full.shape
            self.diff_pane.setMessage(f"sizes differ: A is {a[1]}×{a[0]}, B is {live[1]}×{live[0]}")
            return
        self._difference = difference.full
        self.diff_pane.setMap(difference)
