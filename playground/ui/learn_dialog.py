"""Learn a kernel from an example: fit the selected first-layer filter to a target map.

"Filters are learned", made visible: pick a target (edges of the source, or another filter's
map) and either solve for the kernel at once (least squares) or watch gradient descent move the
weights in the grid, step by step, with the loss plotted. The numbers come from
`playground.engine.learn`; the dialog only drives it and applies the result as one undoable edit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from playground.controller import Controller
from playground.engine.bank import ConvLayer, Filter
from playground.engine.errors import BankError
from playground.engine.learn import KernelDescent, canny_target, fit_kernel
from playground.ui.style import CURVE

STEPS_PER_TICK = 10  # descent steps between two redraws of the grid and the loss curve
TICKS = 30


class LearnDialog(QDialog):
    """Fits the selected filter of layer 1 to a target on the current frame."""

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Learn this kernel from an example")
        self.controller = controller
        self.target_box = QComboBox(self)
        self.size_box = QSpinBox(self)
        self.size_box.setRange(1, 15)
        self.fit_button = QPushButton("Fit at once (least squares)", self)
        self.descend_button = QPushButton("Watch it learn (gradient descent)", self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.loss_plot = pg.PlotWidget(self)
        self.loss_plot.setLabel("left", "loss (mean squared error)")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setLogMode(y=True)
        self.loss_plot.setMinimumHeight(160)
        self._curve = self.loss_plot.plot(pen=pg.mkPen(CURVE, width=2))
        form = QFormLayout()
        form.addRow("Target", self.target_box)
        form.addRow("Kernel size", self.size_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.fit_button)
        buttons.addWidget(self.descend_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.status)
        self.fit_button.clicked.connect(self.fit)
        self.descend_button.clicked.connect(self.descend)
        self._timer = QTimer(self)
        self._timer.setInterval(30)
        self._timer.timeout.connect(self._tick)
        self._descent: KernelDescent | None = None
        self._ticks = 0
        self._fill()

    def _fill(self) -> None:
        bank = self.controller.bank
        layer, filt, _ = self.controller.selection
        self.target_box.clear()
        self.target_box.addItem("Canny edges of the source", None)
        first = bank.layers[0]
        if isinstance(first, ConvLayer):
            for i, f in enumerate(first.filters):
                if i != filt:
                    self.target_box.addItem(f"the map of {f.name or f'filter {i + 1}'}", i)
            conv = bank.layers[layer]
            if layer == 0 and isinstance(conv, ConvLayer):
                self.size_box.setValue(conv.filters[filt].kernels.shape[1])
        ok = layer == 0 and filt >= 0
        self.fit_button.setEnabled(ok)
        self.descend_button.setEnabled(ok)
        self.status.setText(
            "Fits the selected filter so its map matches the target on the current frame."
            if ok
            else "Select a filter of layer 1: learning fits a kernel to the source image."
        )

    def _problem(self) -> tuple | None:
        """The arguments `fit_kernel` and `KernelDescent` share (image, target, size, input,
        padding, border), or None with the reason shown."""
        result = self.controller.last_result
        if result is None or result.outputs is None:
            self.status.setText("No frame to learn from yet.")
            return None
        bank = self.controller.bank
        conv = bank.layers[0]
        assert isinstance(conv, ConvLayer)
        plain = conv.stride == (1, 1) and conv.dilation == (1, 1) and not conv.flip
        if conv.padding not in ("same", "valid") or not plain:
            self.status.setText(
                "Learning fits layer 1 as stride 1, dilation 1, no flip, 'same' or 'valid' "
                "padding: change those layer settings first."
            )
            return None
        choice = self.target_box.currentData()
        if choice is None:
            target = canny_target(result.frame)
        else:
            # The chosen filter's map before its activation: a target a linear filter can match.
            linear = replace(bank, layers=(replace(conv, activation="none"),))
            target = linear.apply(result.frame)[0][choice]
        size = self.size_box.value()
        return result.frame, target, (size, size), bank.input, conv.padding, conv.border

    def _apply(self, learned: Filter, label: str) -> None:
        bank = self.controller.bank
        conv = bank.layers[0]
        assert isinstance(conv, ConvLayer)
        filt = self.controller.selection[1]
        named = Filter(learned.kernels, learned.bias, conv.filters[filt].name)
        filters = (*conv.filters[:filt], named, *conv.filters[filt + 1 :])
        self.controller.set_bank(
            bank.with_layer(0, replace(conv, filters=filters)), label, merge_key=("learn", filt)
        )

    def fit(self) -> bool:
        problem = self._problem()
        if problem is None:
            return False
        try:
            learned = fit_kernel(*problem)
        except BankError as e:
            self.status.setText(str(e))
            return False
        self._apply(learned, "Learn kernel (least squares)")
        self.status.setText("Fitted: the kernel in the grid is the least-squares answer.")
        return True

    def descend(self) -> bool:
        problem = self._problem()
        if problem is None:
            return False
        try:
            self._descent = KernelDescent(*problem)
        except BankError as e:
            self.status.setText(str(e))
            return False
        self._ticks = 0
        self._timer.start()
        return True

    def _tick(self) -> None:
        assert self._descent is not None
        loss = self._descent.step(STEPS_PER_TICK)
        self._ticks += 1
        losses = np.maximum(np.asarray(self._descent.losses), 1e-12)
        self._curve.setData(np.arange(len(losses)), losses)
        try:
            self._apply(self._descent.filter(), "Learn kernel (gradient descent)")
        except BankError as e:
            self._timer.stop()
            self.status.setText(str(e))
            return
        self.status.setText(f"step {len(losses) - 1}: loss {loss:.3g}")
        if self._ticks >= TICKS:
            self._timer.stop()

    def isLearning(self) -> bool:
        return self._timer.isActive()

    def done(self, result: int) -> None:
        self._timer.stop()
        super().done(result)
