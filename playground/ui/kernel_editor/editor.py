"""`KernelEditor`: the grid of one kernel with the channel tabs, the strip of all the filter's
kernels, the DC gain, the kernel operations and the presets. It never changes the bank: it
emits what the user asked for, and the window hands it to the controller.

Everything runs on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
from PySide6.QtCore import (
    QEvent,
    QObject,
    QSignalBlocker,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QGuiApplication,
    QKeyEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QSpinBox,
    QTabBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from playground.engine import kernel_ops, presets
from playground.engine.errors import BankError
from playground.ui.kernel_editor.cells import (
    _ERROR_COLOUR,
    default_channel_names,
)
from playground.ui.kernel_editor.grid import (
    KernelGrid,
)
from playground.ui.kernel_editor.preset_dialog import (
    PresetDialog,
    preset_kernel,
)
from playground.ui.kernel_editor.strip import (
    ChannelStrip,
)
from playground.ui.kernel_editor.text import kernel_text, parse_kernel_text

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

    The editor never changes the bank and never adopts its own edits. It shows what `setFilter`
    gives it and emits requests; the window hands them to the controller, the bank's only
    writer, whose new bank comes back through `setFilter`.

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
        copy_text = self._tool_button(
            "copy-text",
            "Copy",
            "Copy this kernel as text: one row per line, weights separated by tabs",
        )
        copy_text.clicked.connect(self.copyKernelText)
        paste_text = self._tool_button(
            "paste-text",
            "Paste",
            "Paste a kernel copied as text (rows on lines, weights separated by spaces or "
            "commas, fractions such as 1/9 allowed) into this channel; its size may differ",
        )
        paste_text.clicked.connect(self.pasteKernelText)
        fit = self._tool_button(
            "fit",
            "Fit",
            "Fit the whole kernel in the grid: large kernels become a heat map, each value on "
            "hover, double-click to type one. Off: readable cells that scroll (zoomed in)",
        )
        fit.setCheckable(True)
        fit.setChecked(True)
        fit.toggled.connect(self._on_fit_toggled)
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
        bottom.addSpacing(6)
        bottom.addWidget(self.buttons["fit"])
        bottom.addWidget(self.buttons["copy-text"])
        bottom.addWidget(self.buttons["paste-text"])

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
        if (
            self._size_shown
            and channel == self._channel
            and names == self._names
            and k.shape == self._kernels.shape
            and np.array_equal(k, self._kernels)
        ):
            return  # the filter shown already (an edit elsewhere in the bank): nothing to redo
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
        """A copy of the (C_in, kh, kw) kernels shown (the filter's, as last given)."""
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
        # No local echo: the editor never adopts its own edit. The controller makes the new
        # bank at once and hands the kernels back through setFilter, which finds the grid
        # already showing them and leaves it alone.
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

    def _on_fit_toggled(self, fit: bool) -> None:
        self.grid.setFitAll(fit)
        self._holder.updateGeometry()
        self._holder._place()

    def copyKernelText(self) -> None:
        """Put the kernel shown on the clipboard as text (`kernel_text`)."""
        QGuiApplication.clipboard().setText(kernel_text(self.grid.kernelModel().kernel()))

    def pasteKernelText(self) -> bool:
        """Replace the kernel shown with the clipboard's text kernel (`parse_kernel_text`);
        a refusal is shown with its reason and nothing changes."""
        try:
            kernel = parse_kernel_text(QGuiApplication.clipboard().text(), self.MAX_UI_SIZE)
        except BankError as e:
            self._show_error(f"Paste: {e}")
            return False
        self._clear_status()
        self.kernelReplaced.emit(kernel)
        return True

    def _show_error(self, reason: str) -> None:
        self.statusLabel.setText(reason)
        self.statusLabel.setToolTip(reason)
        self.errorRaised.emit(reason)

    def _clear_status(self) -> None:
        self.statusLabel.clear()
        self.statusLabel.setToolTip("")
