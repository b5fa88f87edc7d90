"""Learn a kernel from an example: fit a filter of layer 1 to a target map.

"Filters are learned", made visible: pick a target (edges of the source, or another filter's
map) and either solve for the kernel at once (least squares) or watch gradient descent move the
weights in the grid, step by step, with the loss plotted. The numbers come from
`playground.engine.learn`, computed by the controller's `Learner` on its own thread; the dialog
only starts and stops it and applies each result with `controller.edit`, one undo step per run.

The dialog is non-modal, so the bank can change under it. It learns one filter (the one selected
when it opened, or a filter of layer 1 selected since) and follows it through edits; when that
filter is removed, layer 1 becomes a pool or moves, it says so in one line and disables learning.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from playground.controller import Controller
from playground.controller.learner import STEPS_PER_TICK, TICKS, Learned, Learner, LearnJob
from playground.engine import editing
from playground.engine.bank import Bank, ConvLayer, Filter
from playground.ui.style import CURVE

READY = "Fits the filter so its map matches the target on the current frame."
UNBOUND = "Select a filter of layer 1: learning fits a kernel to the source image."


def _filter_label(f: Filter, index: int) -> str:
    return f"'{f.name}'" if f.name else f"filter {index + 1}"


class LearnDialog(QDialog):
    """Fits a filter of layer 1 to a target on the current frame, off the GUI thread."""

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Each use would otherwise keep a dialog, its plot and its last frames alive.
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Learn this kernel from an example")
        self.controller = controller
        self.learner = Learner(self)
        self.subject = QLabel(self)
        self.target_box = QComboBox(self)
        self.size_box = QSpinBox(self)
        self.size_box.setRange(1, 15)
        self.fit_button = QPushButton("Fit at once (least squares)", self)
        self.descend_button = QPushButton("Watch it learn (gradient descent)", self)
        self.stop_button = QPushButton("Stop", self)
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(False)
        self.status = QLabel(self)
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
        buttons.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.subject)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.status)

        self.losses: tuple[float, ...] = ()  # of the latest descent
        self._bound = False  # a filter of layer 1 was chosen to learn
        self._filter: int | None = None  # its index in layer 1, while it is there
        self._filter_name = ""
        self._layer_name = ""
        self._reason = UNBOUND  # why learning is off; "" when it is possible
        self._bank: Bank = controller.bank  # the bank the dialog last looked at
        self._written: Bank | None = None  # the bank the dialog's last edit made

        self.fit_button.clicked.connect(self.fit)
        self.descend_button.clicked.connect(self.descend)
        self.stop_button.clicked.connect(self.stop)
        self.target_box.currentIndexChanged.connect(self._on_problem_changed)
        self.size_box.valueChanged.connect(self._on_problem_changed)
        self.learner.learned.connect(self._on_learner_learned)
        controller.bankChanged.connect(self._on_controller_bankChanged)
        controller.selectionChanged.connect(self._on_controller_selectionChanged)
        self._bind_selection()
        self.status.setText(self._reason or READY)

    # --- which filter ---------------------------------------------------------------------

    def _bind_selection(self) -> None:
        """Learn the selected filter if it is one of layer 1; otherwise keep the current one."""
        bank = self.controller.bank
        layer, filt, _ = self.controller.selection
        conv = bank.layers[0]
        if layer == 0 and filt >= 0 and isinstance(conv, ConvLayer):
            self._filter_name = conv.filters[filt].name
            self._layer_name = conv.name
            self._filter = filt
            self._bound = True
            self.subject.setText(f"Learns {_filter_label(conv.filters[filt], filt)} of layer 1")
            with QSignalBlocker(self.size_box):
                self.size_box.setValue(conv.filters[filt].kernels.shape[1])
        self._sync()

    def _locate(self, bank: Bank) -> tuple[int | None, str]:
        """Where the learned filter is in ``bank`` now, or the one-line reason it is not there."""
        if not self._bound:
            return None, UNBOUND
        first = bank.layers[0]
        if not isinstance(first, ConvLayer):
            return None, "Layer 1 is now a pool layer: it has no filter to learn."
        if first.name != self._layer_name:
            for k, layer in enumerate(bank.layers):
                if k > 0 and layer.name == self._layer_name:
                    return None, (
                        f"The filter's layer moved to layer {k + 1}: learning fits layer 1 only."
                    )
        previous = self._filter if self._filter is not None else -1
        if 0 <= previous < len(first.filters) and first.filters[previous].name == self._filter_name:
            return previous, ""
        same = [i for i, f in enumerate(first.filters) if f.name == self._filter_name]
        if len(same) == 1:
            return same[0], ""  # filters before it were added, removed or moved
        name = f"'{self._filter_name}'" if self._filter_name else "The filter"
        return None, f"{name} is no longer in layer 1: select a filter of layer 1 to learn."

    def _sync(self) -> None:
        """Look at the current bank: where the filter is, which targets there are."""
        bank = self.controller.bank
        self._bank = bank
        self._filter, self._reason = self._locate(bank)
        self._fill_targets(bank)
        self._update_controls()

    def _fill_targets(self, bank: Bank) -> None:
        items: list[tuple[str, int | None]] = [("Canny edges of the source", None)]
        first = bank.layers[0]
        if isinstance(first, ConvLayer) and self._filter is not None:
            items += [
                (f"the map of {f.name or f'filter {i + 1}'}", i)
                for i, f in enumerate(first.filters)
                if i != self._filter
            ]
        current = [
            (self.target_box.itemText(i), self.target_box.itemData(i))
            for i in range(self.target_box.count())
        ]
        if items == current:
            return  # rebuilding at every descent tick would reset a combo the user has open
        chosen = self.target_box.currentText()
        with QSignalBlocker(self.target_box):
            self.target_box.clear()
            for text, data in items:
                self.target_box.addItem(text, data)
            self.target_box.setCurrentIndex(max(self.target_box.findText(chosen), 0))

    def _update_controls(self) -> None:
        busy = self.learner.busy
        ready = self._filter is not None and not busy
        self.fit_button.setEnabled(ready)
        self.descend_button.setEnabled(ready)
        self.stop_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if self._reason:
            self.status.setText(self._reason)

    def _on_controller_bankChanged(self) -> None:
        if self.controller.bank is not self._written and self.learner.busy:
            # Someone else changed the bank: the running job learns from a stale snapshot.
            self.learner.cancel()
            self.status.setText("Stopped: the bank changed while learning.")
        self._sync()

    def _on_controller_selectionChanged(self, layer: int, filt: int, channel: int) -> None:
        if self.controller.bank is not self._bank:
            return  # the selection followed a bank edit; bankChanged comes next and tells
        if not self.learner.busy:
            self._bind_selection()
            self.status.setText(self._reason or READY)

    def _on_problem_changed(self) -> None:
        if self.learner.busy:
            self.learner.cancel()
            self.status.setText("Stopped: the target or the kernel size changed.")
            self._update_controls()

    # --- learning ---------------------------------------------------------------------------

    def _job(self) -> LearnJob | None:
        """The job to learn now, or None with the reason shown."""
        if self._filter is None:
            self.status.setText(self._reason)
            return None
        result = self.controller.last_result
        if result is None or result.outputs is None:
            self.status.setText("No frame to learn from yet.")
            return None
        size = self.size_box.value()
        target = self.target_box.currentData()
        return LearnJob(self.controller.bank, result.frame, self._filter, target, (size, size))

    def fit(self) -> bool:
        """Start a least-squares fit; False (with the reason shown) when none can start."""
        job = self._job()
        if job is None:
            return False
        self.learner.fit(job)
        self.progress.setRange(0, 0)  # a fit has no steps to count
        self.status.setText("Fitting…")
        self._update_controls()
        return True

    def descend(self) -> bool:
        """Start gradient descent; False (with the reason shown) when none can start."""
        job = self._job()
        if job is None:
            return False
        self.learner.descend(job)
        self.losses = ()
        self._curve.setData([], [])
        self.progress.setRange(0, TICKS * STEPS_PER_TICK)
        self.progress.setValue(0)
        self.status.setText("Preparing the descent…")
        self._update_controls()
        return True

    def stop(self) -> None:
        """Stop the running fit or descent; a descent keeps the weights it reached."""
        self.learner.stop()
        if not self.learner.busy:  # a fit is dropped at once; a descent still hands its last
            self.status.setText("Stopped: the fit was dropped.")
        self._update_controls()

    def _on_learner_learned(self, result: Learned) -> None:
        if result.error is not None:
            self.status.setText(result.error)
        else:
            if result.kind == "descent":
                self.losses = result.losses
                losses = np.maximum(np.asarray(self.losses), 1e-12)
                self._curve.setData(np.arange(len(losses)), losses)
                self.progress.setValue(len(losses) - 1)
            if result.filter is not None:
                self._apply(result)
            self.status.setText(self._describe(result))
        self._update_controls()

    def _describe(self, result: Learned) -> str:
        if result.kind == "fit":
            return "Fitted: the kernel in the grid is the least-squares answer."
        steps = f"step {len(result.losses) - 1}: loss {result.losses[-1]:.3g}"
        return f"Stopped at {steps}." if result.stopped else steps

    def _apply(self, result: Learned) -> None:
        index, learned = self._filter, result.filter
        if index is None or learned is None:
            return  # (a job whose filter went away is cancelled in _on_controller_bankChanged)

        def change(bank: Bank) -> Bank:
            with_kernels = editing.set_kernels(bank, 0, index, learned.kernels)
            self._written = editing.set_bias(with_kernels, 0, index, learned.bias)
            return self._written

        label = "least squares" if result.kind == "fit" else "gradient descent"
        # One undo step per run: a descent's ticks merge, a new run starts a new step.
        self.controller.edit(change, f"Learn kernel ({label})", ("learn", result.generation))

    def isLearning(self) -> bool:
        return self.learner.busy

    def done(self, result: int) -> None:
        self.learner.cancel()
        super().done(result)
