"""The bank panel: the stack of layers and their filters, and the selected layer's settings.

The panel shows the controller's bank and turns every click into ``controller.edit(fn, label)``
with a pure function from :mod:`playground.engine.editing`; it holds no bank of its own.
Refused edits are reported by the controller with the engine's one-line reason and leave the
bank alone.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from PySide6.QtCore import QSignalBlocker, QSize, Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from playground.controller import Controller
from playground.engine import editing
from playground.engine.bank import (
    ACTIVATIONS,
    BORDERS,
    MAX_FILTERS,
    MAX_NAME,
    MAX_WEIGHT,
    POOL_OPS,
    Bank,
    ConvLayer,
)
from playground.ui.kernel_editor import filter_channel_names

# The item data role holding (layer, filter) of a tree row; filter is -1 on a layer row.
_ROLE = Qt.ItemDataRole.UserRole
PADDING_MODES = ("valid", "same", "explicit")
STEP_RANGE = (1, 8)  # stride, dilation and pool spin boxes (extended to show a loaded value)
PAD_RANGE = (0, 50)
INPUT_LABELS = {"rgb": "RGB", "gray": "Gray"}


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


def _filter_label(bank: Bank, layer: int, index: int) -> str:
    conv = bank.layers[layer]
    assert isinstance(conv, ConvLayer)
    name = conv.filters[index].name
    return f"'{name}'" if name else f"filter {index + 1}"


def _show_value(spin: QSpinBox | QDoubleSpinBox, value: float) -> None:
    """Show ``value`` in a spin box, leaving an unchanged one alone: setValue repaints the box
    even then, and every weight edit refreshes the whole form (a dozen repaints an edit)."""
    if isinstance(spin, QDoubleSpinBox):
        value = round(value, spin.decimals())  # what the box would show
    if spin.value() != value:
        spin.setValue(value)  # type: ignore[arg-type]


class _Spins(QWidget):
    """Spin boxes side by side for a setting of several integers, one per ``parts`` entry:
    (object name suffix, prefix shown in the box, what it counts for the tooltip)."""

    def __init__(
        self,
        name: str,
        low: int,
        high: int,
        tip: str,
        parts: tuple[tuple[str, str, str], ...],
        columns: int = 0,
    ) -> None:
        super().__init__()
        # ``columns``: boxes per row (all in one row by default). Four sides of padding go in
        # two rows: in one they widened the bank dock and squeezed the source pane.
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        columns = columns or len(parts)
        self.spins: list[QSpinBox] = []
        for i, (suffix, prefix, counts) in enumerate(parts):
            spin = QSpinBox()
            spin.setObjectName(f"{name}{suffix}")
            spin.setRange(low, high)
            spin.setPrefix(prefix)
            spin.setToolTip(f"{tip} ({counts})")
            # Typing "12" must land as one edit, not as 1 then 12.
            spin.setKeyboardTracking(False)
            spin.setAlignment(Qt.AlignmentFlag.AlignRight)
            layout.addWidget(spin, i // columns, i % columns)
            self.spins.append(spin)
        self._range = (low, high)

    def value(self) -> tuple[int, ...]:
        return tuple(spin.value() for spin in self.spins)

    def setValue(self, values: tuple[int, ...]) -> None:
        for spin, v in zip(self.spins, values):
            if spin.value() != v:  # setValue repaints even an unchanged box (`_show_value`)
                # A loaded bank may hold more than the usual range; show it as it is.
                spin.setRange(min(self._range[0], v), max(self._range[1], v))
                spin.setValue(v)


class _PairSpins(_Spins):
    """Two spin boxes side by side for a (y, x) setting."""

    def __init__(self, name: str, low: int, high: int, tip: str) -> None:
        super().__init__(name, low, high, tip, (("Y", "y ", "rows"), ("X", "x ", "columns")))
        # Not .y / .x: those would hide QWidget.y() and QWidget.x().
        self.spin_y, self.spin_x = self.spins

    def value(self) -> tuple[int, int]:
        return self.spin_y.value(), self.spin_x.value()


# The four sides of explicit padding, in the bank's order.
PAD_SIDES = (
    ("Top", "t ", "rows above"),
    ("Bottom", "b ", "rows below"),
    ("Left", "l ", "columns left"),
    ("Right", "r ", "columns right"),
)


class BankPanel(QWidget):
    """The stack of layers and their filters, with the tools to edit its structure.

    A view of the controller's bank and selection: it holds neither. It re-renders on the
    controller's ``bankChanged`` and ``selectionChanged``, and every edit is
    ``controller.edit(fn, label)`` with a pure function from `playground.engine.editing` (a
    refused edit is reported by the controller's ``message``; the widgets go back to the bank).

    The one thing of its own is which row has the focus: clicking a conv layer's row selects the
    layer's first filter (for the kernel grid and the story) while the tree keeps the layer row,
    so the layer's settings stay in view.
    """

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self._input_size: tuple[int, int] | None = None
        self._selection = (-1, -1)  # the focused row: (layer, filter), filter -1 on a layer row
        self._structure: tuple = ()
        self._build()
        controller.bankChanged.connect(self._on_bank_changed)
        controller.selectionChanged.connect(self._on_selection_changed)
        self._on_selection_changed(*controller.selection)
        self._refresh()

    @property
    def _bank(self) -> Bank:
        return self._controller.bank

    # --- public API --------------------------------------------------------------------------

    def setInputSize(self, input_size: tuple[int, int] | None) -> None:
        """The (H, W) of the source for the output sizes; None when there is no source."""
        size = None if input_size is None else (int(input_size[0]), int(input_size[1]))
        if size != self._input_size:
            self._input_size = size
            self._refresh()

    def selection(self) -> tuple[int, int]:
        """The focused row (layer, filter), 0-based; filter -1 on a layer row."""
        return self._selection

    def setSelection(self, layer: int, filter_index: int) -> None:
        """Focus a row as a click on it does (clamped); the controller selects its filter."""
        self._focus((layer, filter_index))

    def _on_bank_changed(self) -> None:
        layer, filt = self._selection
        self._selection = self._clamped(layer, filt)
        self._refresh()

    def _on_selection_changed(self, layer: int, filt: int, _channel: int) -> None:
        # A layer row stays focused while its first filter is the one selected.
        if self._selection == (layer, -1) and filt in (0, -1):
            return
        selection = self._clamped(layer, filt)
        if selection != self._selection:
            self._selection = selection
            self._select_current_row()
            self._refresh_tools()
            self._refresh_form()

    def _focus(self, selection: tuple[int, int]) -> None:
        """Focus a row and make its filter (a layer row: the layer's first) the selection."""
        self._selection = self._clamped(*selection)
        layer, filt = self._selection
        self._select_current_row()
        self._refresh_tools()
        self._refresh_form()
        self._controller.select(layer, max(filt, 0), 0)

    def sizeHint(self) -> QSize:
        return QSize(300, 640)

    # --- building ----------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)

        input_row = QHBoxLayout()
        input_label = QLabel("Input:")
        self._input_mode = QComboBox()
        self._input_mode.setObjectName("inputMode")
        for mode, text in INPUT_LABELS.items():
            self._input_mode.addItem(text, mode)
        self._input_mode.setToolTip(
            "What the first conv layer sees: 3 channels (R, G, B) or 1 (BT.601 luma).\n"
            "Switching keeps the maps of grey images: kernels are summed or split in three."
        )
        input_label.setBuddy(self._input_mode)
        self._input_mode.currentIndexChanged.connect(self._on_input_mode_changed)
        input_row.addWidget(input_label)
        input_row.addWidget(self._input_mode, 1)
        layout.addLayout(input_row)

        style = self.style()
        sp = QStyle.StandardPixmap
        self._buttons: dict[str, QToolButton] = {}

        def button(name: str, text: str, tip: str, slot: Callable[[], None], icon=None):
            b = QToolButton()
            b.setObjectName(name)
            b.setText(text)
            b.setToolTip(tip)
            b.setAutoRaise(True)
            if icon is not None:
                b.setIcon(style.standardIcon(icon))
                b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            else:
                b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.clicked.connect(slot)
            self._buttons[name] = b
            return b

        filter_row = QHBoxLayout()
        filter_row.setSpacing(0)
        for b in (
            button("addFilter", "+ Filter", "Add a filter to the selected layer", self._add_filter),
            button(
                "duplicateFilter",
                "Duplicate",
                "Duplicate the selected filter",
                self._duplicate_filter,
            ),
            button("remove", "Remove", "Remove the selected filter", self._remove),
            button("moveUp", "Up", "Move the selected filter up", self._move_up, sp.SP_ArrowUp),
            button(
                "moveDown",
                "Down",
                "Move the selected filter down",
                self._move_down,
                sp.SP_ArrowDown,
            ),
        ):
            filter_row.addWidget(b)
        filter_row.addStretch(1)
        layout.addLayout(filter_row)

        layer_row = QHBoxLayout()
        layer_row.setSpacing(0)
        for b in (
            button(
                "addConvLayer",
                "+ Conv",
                "Add a conv layer after the selected layer (one filter: the channel mean)",
                self._add_conv_layer,
            ),
            button(
                "addPoolLayer",
                "+ Pool",
                "Add a 2×2 max pool layer after the selected layer",
                self._add_pool_layer,
            ),
            button("removeLayer", "− Layer", "Remove the selected layer", self._remove_layer),
        ):
            layer_row.addWidget(b)
        layer_row.addStretch(1)
        layout.addLayout(layer_row)

        tree = QTreeWidget()
        tree.setObjectName("bankTree")
        tree.setColumnCount(2)
        tree.setHeaderHidden(True)
        tree.setIndentation(14)
        tree.setUniformRowHeights(True)
        tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        tree.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        tree.setToolTip("Layers and their filters; double-click or F2 renames a filter")
        tree.currentItemChanged.connect(self._on_tree_current_changed)
        tree.itemChanged.connect(self._on_tree_item_changed)
        tree.setMinimumHeight(120)
        self._tree = tree
        layout.addWidget(tree, 1)

        layout.addWidget(self._build_settings())

    def _build_settings(self) -> QGroupBox:
        box = QGroupBox("Layer settings")
        box.setObjectName("layerSettings")
        outer = QVBoxLayout(box)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(4)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(6)
        form.setVerticalSpacing(3)
        self._form = form

        self._name = QLineEdit()
        self._name.setObjectName("layerName")
        self._name.setPlaceholderText("unnamed")
        self._name.setMaxLength(MAX_NAME)
        self._name.setToolTip("The layer's name")
        self._name.editingFinished.connect(self._on_name_edited)
        form.addRow("Name", self._name)

        # Conv rows.
        self._stride = _PairSpins("stride", *STEP_RANGE, "Step between output pixels")
        self._stride.spin_y.valueChanged.connect(lambda _v: self._on_setting("stride"))
        self._stride.spin_x.valueChanged.connect(lambda _v: self._on_setting("stride"))

        self._padding = QComboBox()
        self._padding.setObjectName("padding")
        self._padding.addItems(PADDING_MODES)
        self._padding.setToolTip(
            "valid: no padding (the map shrinks); same: pad so H' = ⌈H / stride⌉;\n"
            "explicit: pad the given rows above and below, columns left and right"
        )
        self._padding.currentIndexChanged.connect(lambda _i: self._on_setting("padding"))
        self._pad = _Spins("pad", *PAD_RANGE, "Pixels of padding", PAD_SIDES, columns=2)
        for spin in self._pad.spins:
            spin.valueChanged.connect(lambda _v: self._on_setting("padding"))
        # The mode, and under it the four sides (too wide for one row in a narrow dock).
        padding_row = QWidget()
        padding_layout = QVBoxLayout(padding_row)
        padding_layout.setContentsMargins(0, 0, 0, 0)
        padding_layout.setSpacing(2)
        padding_layout.addWidget(self._padding)
        padding_layout.addWidget(self._pad)

        self._border = QComboBox()
        self._border.setObjectName("border")
        self._border.addItems(BORDERS)
        self._border.setToolTip("What the kernel reads beyond the image edge")
        self._border.currentIndexChanged.connect(lambda _i: self._on_setting("border"))

        self._dilation = _PairSpins("dilation", *STEP_RANGE, "Spacing between kernel taps")
        self._dilation.spin_y.valueChanged.connect(lambda _v: self._on_setting("dilation"))
        self._dilation.spin_x.valueChanged.connect(lambda _v: self._on_setting("dilation"))

        self._flip = QCheckBox("true convolution (flip kernel)")
        self._flip.setObjectName("flip")
        self._flip.setToolTip(
            "Off: cross-correlation, what CNN libraries compute.\n"
            "On: the kernel is flipped both ways first (convolution in the textbook sense)."
        )
        self._flip.toggled.connect(lambda _b: self._on_setting("flip"))

        self._activation = QComboBox()
        self._activation.setObjectName("activation")
        self._activation.addItems(ACTIVATIONS)
        self._activation.setToolTip("Applied to each feature map after the bias")
        self._activation.currentIndexChanged.connect(lambda _i: self._on_setting("activation"))

        self._slope = QDoubleSpinBox()
        self._slope.setObjectName("slope")
        self._slope.setRange(0.0, 1.0)
        self._slope.setDecimals(3)
        self._slope.setSingleStep(0.01)
        self._slope.setKeyboardTracking(False)
        self._slope.setAlignment(Qt.AlignmentFlag.AlignRight)
        self._slope.setToolTip("leaky-relu: negative values are multiplied by this")
        self._slope.valueChanged.connect(lambda _v: self._on_setting("slope"))

        self._groups = QSpinBox()
        self._groups.setObjectName("groups")
        self._groups.setRange(1, MAX_FILTERS)
        self._groups.setKeyboardTracking(False)
        self._groups.setAlignment(Qt.AlignmentFlag.AlignRight)
        self._groups.setToolTip(
            "Split the input channels and the filters into this many groups: each filter reads\n"
            "only its group's channels (C_in / groups kernels). groups = C_in: depthwise."
        )
        self._groups.valueChanged.connect(lambda _v: self._on_setting("groups"))

        self._bias = QDoubleSpinBox()
        self._bias.setObjectName("bias")
        self._bias.setRange(-MAX_WEIGHT, MAX_WEIGHT)
        self._bias.setDecimals(3)
        self._bias.setSingleStep(0.1)
        self._bias.setKeyboardTracking(False)
        self._bias.setAlignment(Qt.AlignmentFlag.AlignRight)
        self._bias.setToolTip("Added to the selected filter's summed partial maps")
        self._bias.valueChanged.connect(self._on_bias_changed)

        # Pool rows.
        self._pool_op = QComboBox()
        self._pool_op.setObjectName("poolOp")
        self._pool_op.addItems(POOL_OPS)
        self._pool_op.setToolTip("Maximum or mean of each window")
        self._pool_op.currentIndexChanged.connect(lambda _i: self._on_setting("op"))
        self._pool_size = _PairSpins("poolSize", *STEP_RANGE, "Window size")
        self._pool_size.spin_y.valueChanged.connect(lambda _v: self._on_setting("size"))
        self._pool_size.spin_x.valueChanged.connect(lambda _v: self._on_setting("size"))
        self._pool_stride = _PairSpins("poolStride", *STEP_RANGE, "Step between windows")
        self._pool_stride.spin_y.valueChanged.connect(lambda _v: self._on_setting("pool stride"))
        self._pool_stride.spin_x.valueChanged.connect(lambda _v: self._on_setting("pool stride"))

        self._conv_rows: list[QWidget] = [
            self._stride,
            padding_row,
            self._border,
            self._dilation,
            self._flip,
            self._activation,
            self._slope,
            self._groups,
            self._bias,
        ]
        for label, widget in zip(
            (
                "Stride",
                "Padding",
                "Border",
                "Dilation",
                "",
                "Activation",
                "Leaky slope",
                "Groups",
                "Filter bias",
            ),
            self._conv_rows,
        ):
            form.addRow(label, widget)
        self._pool_rows: list[QWidget] = [self._pool_op, self._pool_size, self._pool_stride]
        for label, widget in zip(("Op", "Size", "Stride"), self._pool_rows):
            form.addRow(label, widget)
        for field in self.findChildren(QAbstractSpinBox):
            field.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            field.setMinimumWidth(40)
        outer.addLayout(form)

        self._output_size = QLabel()
        self._output_size.setObjectName("outputSize")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(7.0, self.font().pointSizeF() * 0.9))
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self._output_size.setFont(mono)
        self._output_size.setWordWrap(True)
        self._output_size.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._output_size.setToolTip(
            "Output size of the selected layer on its input:\n"
            "H' = ⌊(H + pad_total − dilation·(k−1) − 1) / stride⌋ + 1\n"
            "same padding: H' = ⌈H / stride⌉; pooling: H' = ⌊(H − size) / stride⌋ + 1"
        )
        outer.addWidget(self._output_size)
        self._settings_box = box
        return box

    # --- showing the bank --------------------------------------------------------------------

    def _clamped(self, layer: int, filt: int) -> tuple[int, int]:
        bank = self._bank
        layer = min(max(layer, 0), len(bank.layers) - 1)
        la = bank.layers[layer]
        if not isinstance(la, ConvLayer) or filt < 0:
            return layer, -1
        return layer, min(filt, len(la.filters) - 1)

    def _refresh(self) -> None:
        self._refresh_tree()
        self._refresh_input_mode()
        self._refresh_tools()
        self._refresh_form()

    def _refresh_input_mode(self) -> None:
        with QSignalBlocker(self._input_mode):
            self._input_mode.setCurrentIndex(self._input_mode.findData(self._bank.input))

    def _layer_texts(self, n: int) -> tuple[str, str, str]:
        """(title, output shape, tooltip) of layer ``n``'s row."""
        bank = self._bank
        assert bank is not None
        title = editing.layer_title(bank, n)
        if self._input_size is None:
            return title, "", f"Layer {n + 1}: {editing.describe_layer(bank, n, None, None)}"
        shape = editing.layer_output_shape(bank, n, *self._input_size)
        out = "nothing left" if shape is None else "×".join(str(v) for v in shape)
        tip = editing.describe_layer(bank, n, *self._input_size)
        return title, out, f"Layer {n + 1}: {tip}"

    def _refresh_tree(self) -> None:
        tree, bank = self._tree, self._bank
        with QSignalBlocker(tree):
            structure = tuple(
                len(la.filters) if isinstance(la, ConvLayer) else -1 for la in bank.layers
            )
            if structure != self._structure:
                collapsed = {
                    i for i in range(tree.topLevelItemCount()) if not self._top(i).isExpanded()
                }
                tree.clear()
                for n, la in enumerate(bank.layers):
                    item = QTreeWidgetItem(["", ""])
                    item.setData(0, _ROLE, (n, -1))
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                    item.setTextAlignment(
                        1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                    if isinstance(la, ConvLayer):
                        for i in range(len(la.filters)):
                            child = QTreeWidgetItem(item, ["", ""])
                            child.setData(0, _ROLE, (n, i))
                            child.setFlags(
                                Qt.ItemFlag.ItemIsEnabled
                                | Qt.ItemFlag.ItemIsSelectable
                                | Qt.ItemFlag.ItemIsEditable
                            )
                            child.setTextAlignment(
                                1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                            )
                    tree.addTopLevelItem(item)
                    item.setExpanded(n not in collapsed)
                self._structure = structure
            for n, la in enumerate(bank.layers):
                item = self._top(n)
                title, shape, tip = self._layer_texts(n)
                item.setText(0, title)
                item.setText(1, shape)
                item.setToolTip(0, tip)
                item.setToolTip(1, f"Output: channels × height × width\n{tip}")
                if isinstance(la, ConvLayer):
                    for i, f in enumerate(la.filters):
                        row = item.child(i)
                        assert row is not None
                        row.setText(0, f.name)
                        row.setText(1, f"bias {f.bias:g}")
                        kh, kw = f.size
                        reads = (
                            f", reading {', '.join(filter_channel_names(la, i))}"
                            if la.groups > 1
                            else ""
                        )
                        tip = (
                            f"Filter {i + 1} of layer {n + 1}: {f.in_channels} kernel"
                            f"{'s' if f.in_channels != 1 else ''} of {kh}×{kw}{reads}, "
                            f"bias {f.bias:g}\nDouble-click or F2 to rename"
                        )
                        row.setToolTip(0, tip)
                        row.setToolTip(1, tip)
            self._select_current_row()

    def _top(self, layer: int) -> QTreeWidgetItem:
        item = self._tree.topLevelItem(layer)
        assert item is not None
        return item

    def _item_for(self, layer: int, filt: int) -> QTreeWidgetItem | None:
        if not 0 <= layer < self._tree.topLevelItemCount():
            return None
        item = self._top(layer)
        return item.child(filt) if filt >= 0 else item

    def _select_current_row(self) -> None:
        item = self._item_for(*self._selection)
        with QSignalBlocker(self._tree):
            if item is None:
                self._tree.clearSelection()
            else:
                self._tree.setCurrentItem(item)
                self._tree.scrollToItem(item)

    def _refresh_tools(self) -> None:
        bank = self._bank
        b = self._buttons
        layer, filt = self._selection
        la = bank.layers[layer]
        is_conv = isinstance(la, ConvLayer)
        on_filter = filt >= 0
        b["addFilter"].setEnabled(is_conv)
        b["duplicateFilter"].setEnabled(on_filter)
        b["remove"].setEnabled(True)
        b["addConvLayer"].setEnabled(True)
        b["addPoolLayer"].setEnabled(True)
        b["removeLayer"].setEnabled(True)
        if on_filter:
            count = len(la.filters)  # type: ignore[union-attr]
            b["moveUp"].setEnabled(filt > 0)
            b["moveDown"].setEnabled(filt < count - 1)
            what = "filter"
        else:
            b["moveUp"].setEnabled(layer > 0)
            b["moveDown"].setEnabled(layer < len(bank.layers) - 1)
            what = "layer"
        b["remove"].setToolTip(f"Remove the selected {what}")
        b["moveUp"].setToolTip(f"Move the selected {what} up")
        b["moveDown"].setToolTip(f"Move the selected {what} down")

    def _refresh_form(self) -> None:
        bank = self._bank
        with ExitStack() as stack:
            for w in self._form_widgets():
                stack.enter_context(QSignalBlocker(w))
            layer, filt = self._selection
            la = bank.layers[layer]
            is_conv = isinstance(la, ConvLayer)
            kind = "conv" if is_conv else "pool"
            self._settings_box.setTitle(f"Layer settings · layer {layer + 1} ({kind})")
            for w in self._conv_rows:
                self._form.setRowVisible(w, is_conv)
            for w in self._pool_rows:
                self._form.setRowVisible(w, not is_conv)
            if self._name.text() != la.name:
                self._name.setText(la.name)
            if isinstance(la, ConvLayer):
                self._stride.setValue(la.stride)
                if isinstance(la.padding, str):
                    self._padding.setCurrentText(la.padding)
                    # What "explicit" would start from: the output "same" gives at stride 1,
                    # the extra pixel of an even kernel after, as "same" puts it.
                    kh, kw = la.filters[0].size
                    dy, dx = la.dilation
                    ty, tx = (dy * (kh - 1), dx * (kw - 1)) if la.padding == "same" else (0, 0)
                    self._pad.setValue((ty // 2, ty - ty // 2, tx // 2, tx - tx // 2))
                else:
                    self._padding.setCurrentText("explicit")
                    self._pad.setValue(la.padding)
                self._pad.setEnabled(not isinstance(la.padding, str))
                self._border.setCurrentText(la.border)
                self._dilation.setValue(la.dilation)
                self._flip.setChecked(la.flip)
                self._activation.setCurrentText(la.activation)
                _show_value(self._slope, la.slope)
                self._slope.setEnabled(la.activation == "leaky-relu")
                _show_value(self._groups, la.groups)
                self._bias.setEnabled(filt >= 0)
                special = "" if filt >= 0 else "select a filter"
                if self._bias.specialValueText() != special:
                    # It resets the box's size hint: the dock and the window lay out again.
                    self._bias.setSpecialValueText(special)
                bias = la.filters[filt].bias if filt >= 0 else self._bias.minimum()
                _show_value(self._bias, bias)
            else:
                self._pool_op.setCurrentText(la.op)
                self._pool_size.setValue(la.size)
                assert la.stride is not None  # PoolLayer makes None its size
                self._pool_stride.setValue(la.stride)
            self._refresh_output_size()

    def _refresh_output_size(self) -> None:
        bank = self._bank
        if self._input_size is None:
            self._output_size.setText("Output sizes appear once a source is open.")
            return
        layer = self._selection[0]
        text = editing.output_size_text(bank, layer, *self._input_size)
        self._output_size.setText(f"Output size of layer {layer + 1}:\n{text}")

    def _form_widgets(self) -> list[QWidget]:
        return [
            self._name,
            self._stride.spin_y,
            self._stride.spin_x,
            self._padding,
            *self._pad.spins,
            self._border,
            self._dilation.spin_y,
            self._dilation.spin_x,
            self._flip,
            self._activation,
            self._slope,
            self._groups,
            self._bias,
            self._pool_op,
            self._pool_size.spin_y,
            self._pool_size.spin_x,
            self._pool_stride.spin_y,
            self._pool_stride.spin_x,
        ]

    # --- edits -------------------------------------------------------------------------------

    def _edit(
        self,
        make: Callable[[Bank], Bank],
        label: str,
        selection: tuple[int, int] | Callable[[Bank], tuple[int, int]] | None = None,
    ) -> bool:
        """Apply ``make`` through the controller, the bank's only writer, as one undo step.

        ``selection`` is where the focus goes afterwards (default: stays). A refused edit is
        reported by the controller; every widget goes back to what the bank says.
        """
        previous = self._selection
        if not self._controller.edit(make, label):
            self._refresh()
            return False
        if callable(selection):
            selection = selection(self._bank)
        if selection is not None and self._clamped(*selection) != previous:
            self._focus(selection)
        return True

    def _on_input_mode_changed(self, _index: int) -> None:
        mode = self._input_mode.currentData()
        self._edit(lambda b: editing.set_input_mode(b, mode), f"Input: {INPUT_LABELS[mode]}")

    def _add_filter(self) -> None:
        layer = self._selection[0]

        def where(b: Bank) -> tuple[int, int]:
            return layer, len(b.layers[layer].filters) - 1  # type: ignore[union-attr]

        self._edit(lambda b: editing.add_filter(b, layer), "Add filter", where)

    def _duplicate_filter(self) -> None:
        layer, filt = self._selection
        self._edit(
            lambda b: editing.duplicate_filter(b, layer, filt),
            "Duplicate filter",
            (layer, filt + 1),
        )

    def _remove(self) -> None:
        layer, filt = self._selection
        if filt < 0:
            self._remove_layer()
            return
        self._edit(lambda b: editing.remove_filter(b, layer, filt), "Remove filter", (layer, filt))

    def _move(self, step: int) -> None:
        layer, filt = self._selection
        direction = "up" if step < 0 else "down"
        if filt >= 0:
            self._edit(
                lambda b: editing.move_filter(b, layer, filt, filt + step),
                f"Move filter {direction}",
                (layer, filt + step),
            )
        else:
            self._edit(
                lambda b: editing.move_layer(b, layer, layer + step),
                f"Move layer {direction}",
                (layer + step, -1),
            )

    def _move_up(self) -> None:
        self._move(-1)

    def _move_down(self) -> None:
        self._move(1)

    def _insert_at(self) -> int:
        return self._selection[0] + 1

    def _add_conv_layer(self) -> None:
        at = self._insert_at()
        self._edit(lambda b: editing.add_conv_layer(b, at), "Add conv layer", (at, 0))

    def _add_pool_layer(self) -> None:
        at = self._insert_at()
        self._edit(lambda b: editing.add_pool_layer(b, at), "Add pool layer", (at, -1))

    def _remove_layer(self) -> None:
        layer = self._selection[0]
        self._edit(lambda b: editing.remove_layer(b, layer), "Remove layer", (layer, -1))

    def _on_name_edited(self) -> None:
        layer = self._selection[0]
        name = self._name.text().strip()
        if self._bank.layers[layer].name == name:
            return
        self._edit(lambda b: editing.rename_layer(b, layer, name), "Rename layer")

    def _on_tree_current_changed(
        self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None
    ) -> None:
        if current is None:
            return
        selection = tuple(current.data(0, _ROLE))
        if selection != self._selection:
            self._focus(selection)

    def _on_tree_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        bank = self._bank
        layer, filt = item.data(0, _ROLE)
        if column != 0 or filt < 0:
            return
        name = item.text(0).strip()
        if bank.layers[layer].filters[filt].name == name:  # type: ignore[union-attr]
            if item.text(0) != name:
                self._refresh_tree()
            return
        self._edit(lambda b: editing.rename_filter(b, layer, filt, name), "Rename filter")

    def _setting_value(self, key: str) -> tuple[str, Any, str]:
        """(setting name for the engine, value from the widgets, text for the undo label)."""
        if key == "stride":
            pair = self._stride.value()
            return "stride", pair, f"stride {_pair_text(pair)}"
        if key == "padding":
            mode = self._padding.currentText()
            if mode == "explicit":
                top, bottom, left, right = self._pad.value()
                pad = (top, bottom, left, right)
                return "padding", pad, f"padding {editing.padding_text(pad)}"
            return "padding", mode, f"padding {mode}"
        if key == "border":
            border = self._border.currentText()
            return "border", border, f"border {border}"
        if key == "dilation":
            pair = self._dilation.value()
            return "dilation", pair, f"dilation {_pair_text(pair)}"
        if key == "flip":
            on = self._flip.isChecked()
            return "flip", on, f"flip {'on' if on else 'off'}"
        if key == "activation":
            activation = self._activation.currentText()
            return "activation", activation, f"activation {activation}"
        if key == "slope":
            slope = self._slope.value()
            return "slope", slope, f"leaky-relu slope {slope:g}"
        if key == "groups":
            groups = self._groups.value()
            return "groups", groups, f"groups {groups}"
        if key == "op":
            op = self._pool_op.currentText()
            return "op", op, f"pool op {op}"
        if key == "size":
            pair = self._pool_size.value()
            return "size", pair, f"pool size {_pair_text(pair)}"
        pair = self._pool_stride.value()
        return "stride", pair, f"pool stride {_pair_text(pair)}"

    def _on_setting(self, key: str) -> None:
        layer = self._selection[0]
        name, value, text = self._setting_value(key)
        self._edit(
            lambda b: editing.set_layer_settings(b, layer, **{name: value}),
            f"Layer {layer + 1}: {text}",
        )

    def _on_bias_changed(self, value: float) -> None:
        layer, filt = self._selection
        if filt < 0:
            return
        label = f"Layer {layer + 1}, {_filter_label(self._bank, layer, filt)}: bias {value:g}"
        self._edit(lambda b: editing.set_bias(b, layer, filt, value), label)
