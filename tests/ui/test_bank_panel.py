"""The bank panel, driven through its real widgets: every control makes the controller's bank
the one the engine's editing function makes, with a label for the undo history; refusals leave
the bank alone and are reported by the controller's message."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QTreeWidget,
)

from playground import Bank, BankError, ConvLayer, Filter, PoolLayer, load_bank
from playground.assets import resource_path
from playground.controller import Controller
from playground.engine import editing
from playground.ui.bank_panel import BankPanel

# The offscreen platform says this on every top-level show; it is not about the panel.
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


class Recorder:
    """What the panel made the controller do, in order: edits (the bank and its undo label),
    selections (the panel's focused row each time the selection changed), refusals."""

    def __init__(self, controller: Controller, panel: BankPanel) -> None:
        self.edits: list[tuple[Bank, str]] = []
        self.selections: list[tuple[int, int]] = []
        self.errors: list[str] = []
        controller.bankChanged.connect(
            lambda: self.edits.append((controller.bank, controller.document.undo_label()))
        )
        self._last = panel.selection()
        controller.selectionChanged.connect(lambda *_: self._selected(panel.selection()))
        controller.message.connect(self.errors.append)

    def _selected(self, row: tuple[int, int]) -> None:
        if row != self._last:
            self.selections.append(row)
            self._last = row

    def nothing(self) -> bool:
        return not (self.edits or self.selections or self.errors)

    def clear(self) -> None:
        self.edits.clear()
        self.selections.clear()
        self.errors.clear()


def line_stack() -> Bank:
    return load_bank(resource_path("banks", "line-stack.json"))


@pytest.fixture
def controller(qtbot):
    c = Controller(line_stack())
    yield c
    c.close()


def make_panel(qtbot, controller: Controller) -> BankPanel:
    p = BankPanel(controller)
    qtbot.addWidget(p)
    return p


@pytest.fixture
def panel(qtbot, controller) -> BankPanel:
    p = make_panel(qtbot, controller)
    p.resize(320, 700)
    p.setInputSize((720, 1280))
    p.show()
    qtbot.waitExposed(p)
    return p


@pytest.fixture
def rec(controller, panel) -> Recorder:
    return Recorder(controller, panel)


def tree(panel: BankPanel) -> QTreeWidget:
    return panel.findChild(QTreeWidget, "bankTree")


def child(panel: BankPanel, cls, name: str):
    widget = panel.findChild(cls, name)
    assert widget is not None, name
    return widget


def click(qtbot, panel: BankPanel, name: str) -> None:
    button = child(panel, QToolButton, name)
    assert button.isEnabled(), name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def click_row(qtbot, panel: BankPanel, layer: int, filt: int) -> None:
    t = tree(panel)
    item = t.topLevelItem(layer) if filt < 0 else t.topLevelItem(layer).child(filt)
    rect = t.visualItemRect(item)
    qtbot.mouseClick(t.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def only_edit(rec: Recorder) -> tuple[Bank, str]:
    assert not rec.errors
    assert len(rec.edits) == 1, rec.edits
    return rec.edits[0]


# --- showing a bank ----------------------------------------------------------------------------


def test_tree_shows_layers_filters_biases_and_output_shapes(panel):
    t = tree(panel)
    assert t.topLevelItemCount() == 3
    first = t.topLevelItem(0)
    assert first.text(0) == "1 · lines — conv 3×3 · 2 filters"
    assert first.text(1) == "2×720×1280"
    assert "stride 1 · same · relu → 2 × 720 × 1280" in first.toolTip(0)
    assert [first.child(i).text(0) for i in range(2)] == ["vertical line", "horizontal line"]
    assert first.child(0).text(1) == "bias -0.1"
    assert t.topLevelItem(1).text(0) == "2 · pool — max pool 2×2"
    assert t.topLevelItem(1).text(1) == "2×360×640"
    assert t.topLevelItem(2).child(0).text(1) == "bias -0.2"
    assert panel.selection() == (0, 0)
    assert t.currentItem() is first.child(0)


def test_the_panel_follows_the_controllers_bank_and_keeps_a_valid_selection(qtbot, controller):
    p = make_panel(qtbot, controller)
    assert p.selection() == (0, 0)
    p.setSelection(2, 0)
    controller.set_bank(editing.add_filter(line_stack(), 2), "elsewhere")
    p.setInputSize((100, 200))
    assert p.selection() == (2, 0)
    assert tree(p).topLevelItem(2).childCount() == 2
    controller.set_bank(editing.remove_layer(line_stack(), 2), "elsewhere")  # the layer is gone
    assert p.selection() == (1, -1)
    assert controller.selection == (1, -1, -1)
    assert tree(p).currentItem() is tree(p).topLevelItem(1)
    controller.undo()
    assert tree(p).topLevelItemCount() == 3


def test_set_selection_and_clicking_a_row_select_in_the_controller(panel, rec, qtbot, controller):
    panel.setSelection(1, 3)  # a pool layer has no filters: the layer row
    rec.clear()  # the setup's selection
    assert panel.selection() == (1, -1)
    assert controller.selection == (1, -1, -1)
    assert tree(panel).currentItem() is tree(panel).topLevelItem(1)
    rec.clear()
    click_row(qtbot, panel, 0, 1)
    assert controller.selection == (0, 1, 0)
    assert rec.selections == [(0, 1)]
    assert panel.selection() == (0, 1)
    click_row(qtbot, panel, 2, -1)
    assert rec.selections == [(0, 1), (2, -1)]
    assert rec.edits == [] and rec.errors == []


def test_output_size_label_fills_in_the_formula(panel, qtbot):
    label = child(panel, QLabel, "outputSize")
    assert "H' = ⌈720 / 1⌉ = 720" in label.text()
    assert "W' = ⌈1280 / 1⌉ = 1280" in label.text()
    panel.setSelection(1, -1)
    assert "H' = ⌊(720 − 2) / 2⌋ + 1 = 360" in label.text()
    panel.setSelection(0, 0)
    child(panel, QComboBox, "padding").setCurrentText("explicit")
    assert "H' = ⌊(720 + 2 − 1·(3−1) − 1) / 1⌋ + 1 = 720" in label.text()
    assert "W' = ⌊(1280 + 2 − 1·(3−1) − 1) / 1⌋ + 1 = 1280" in label.text()
    panel.setInputSize((360, 640))  # a new source size
    assert "H' = ⌊(360 + 2 − 1·(3−1) − 1) / 1⌋ + 1 = 360" in label.text()


def test_without_a_source_the_output_size_asks_for_one(qtbot, controller):
    panel = make_panel(qtbot, controller)
    assert "source" in child(panel, QLabel, "outputSize").text()
    assert tree(panel).topLevelItem(0).text(1) == ""


# --- structure buttons -------------------------------------------------------------------------


def test_add_filter(panel, rec, qtbot, controller):
    click(qtbot, panel, "addFilter")
    bank, label = only_edit(rec)
    assert label == "Add filter"
    assert bank == editing.add_filter(line_stack(), 0)
    assert rec.selections == [(0, 2)]
    assert controller.bank is bank
    assert tree(panel).topLevelItem(0).child(2).text(0) == "filter 3"
    assert tree(panel).topLevelItem(0).text(1) == "3×720×1280"


def test_add_filter_is_disabled_on_a_pool_layer(panel):
    panel.setSelection(1, -1)
    assert not child(panel, QToolButton, "addFilter").isEnabled()
    assert not child(panel, QToolButton, "duplicateFilter").isEnabled()


def test_duplicate_filter(panel, rec, qtbot):
    panel.setSelection(0, 1)
    rec.clear()  # the setup's selection
    click(qtbot, panel, "duplicateFilter")
    bank, label = only_edit(rec)
    assert label == "Duplicate filter"
    assert bank == editing.duplicate_filter(line_stack(), 0, 1)
    assert rec.selections == [(0, 2)]
    assert tree(panel).topLevelItem(0).child(2).text(0) == "horizontal line copy"


def test_remove_filter(panel, rec, qtbot):
    click(qtbot, panel, "remove")
    bank, label = only_edit(rec)
    assert label == "Remove filter"
    assert bank == editing.remove_filter(line_stack(), 0, 0)
    assert panel.selection() == (0, 0)
    assert tree(panel).topLevelItem(0).childCount() == 1


def test_removing_the_last_filter_is_refused(panel, rec, qtbot, controller):
    panel.setSelection(2, 0)
    rec.clear()  # the setup's selection
    click(qtbot, panel, "remove")
    assert rec.edits == [] and rec.selections == []
    assert rec.errors == ["layer 3 has only this filter; remove the layer instead"]
    assert controller.bank == line_stack()
    assert tree(panel).topLevelItem(2).childCount() == 1


def test_move_filter_down_and_up(panel, rec, qtbot):
    assert not child(panel, QToolButton, "moveUp").isEnabled()
    click(qtbot, panel, "moveDown")
    bank, label = only_edit(rec)
    assert label == "Move filter down"
    assert bank == editing.move_filter(line_stack(), 0, 0, 1)
    assert rec.selections == [(0, 1)]
    assert not child(panel, QToolButton, "moveDown").isEnabled()
    click(qtbot, panel, "moveUp")
    assert rec.edits[1][1] == "Move filter up"
    assert rec.edits[1][0] == line_stack()
    assert rec.selections == [(0, 1), (0, 0)]


def test_move_layer_when_a_layer_row_is_selected(panel, rec, qtbot):
    panel.setSelection(1, -1)
    rec.clear()  # the setup's selection
    assert child(panel, QToolButton, "moveUp").toolTip() == "Move the selected layer up"
    click(qtbot, panel, "moveUp")
    bank, label = only_edit(rec)
    assert label == "Move layer up"
    assert bank == editing.move_layer(line_stack(), 1, 0)
    assert rec.selections == [(0, -1)]
    assert isinstance(bank.layers[0], PoolLayer)


def test_add_conv_and_pool_layers_after_the_selected_layer(panel, rec, qtbot):
    panel.setSelection(1, -1)
    rec.clear()  # the setup's selection
    click(qtbot, panel, "addConvLayer")
    bank, label = only_edit(rec)
    assert label == "Add conv layer"
    assert bank == editing.add_conv_layer(line_stack(), 2)
    assert rec.selections == [(2, 0)]
    click(qtbot, panel, "addPoolLayer")
    assert rec.edits[1] == (editing.add_pool_layer(bank, 3), "Add pool layer")
    assert rec.selections[-1] == (3, -1)
    assert tree(panel).topLevelItemCount() == 5


def test_remove_layer_and_its_refusal(qtbot, controller):
    bank = Bank((ConvLayer((Filter.repeated([[1.0]], 3, name="one"),)), PoolLayer()))
    controller.new_bank(bank)
    p = make_panel(qtbot, controller)
    rec = Recorder(controller, p)
    click(qtbot, p, "removeLayer")
    new, label = only_edit(rec)
    assert label == "Remove layer"
    assert new == editing.remove_layer(bank, 0)
    assert rec.selections == [(0, -1)]
    rec.clear()
    click(qtbot, p, "remove")  # on a layer row, Remove removes the layer: refused here
    assert rec.edits == [] and rec.selections == []
    assert rec.errors == ["a bank needs at least one layer; this is its only one"]
    assert controller.bank == new


# --- in-place names ----------------------------------------------------------------------------


def test_rename_filter_in_place_with_f2(panel, rec, qtbot):
    t = tree(panel)
    t.setFocus()
    qtbot.keyClick(t, Qt.Key.Key_F2)
    editor = t.viewport().findChild(QLineEdit)
    assert editor is not None, "F2 opens the item editor"
    editor.selectAll()
    qtbot.keyClicks(editor, "thin lines")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(rec.edits))  # the delegate commits through a queued call
    bank, label = only_edit(rec)
    assert label == "Rename filter"
    assert bank == editing.rename_filter(line_stack(), 0, 0, "thin lines")
    assert t.topLevelItem(0).child(0).text(0) == "thin lines"


def test_rename_filter_by_item_text_and_refusal(panel, rec):
    item = tree(panel).topLevelItem(2).child(0)
    item.setText(0, "x" * 201)
    assert rec.edits == []
    assert len(rec.errors) == 1 and "200" in rec.errors[0]
    assert item.text(0) == "crossing"  # reverted
    item.setText(0, "  cross  ")
    assert rec.edits == [(editing.rename_filter(line_stack(), 2, 0, "cross"), "Rename filter")]


def test_rename_layer(panel, rec, qtbot):
    name = child(panel, QLineEdit, "layerName")
    assert name.text() == "lines"
    name.setFocus()
    name.selectAll()
    qtbot.keyClicks(name, "bars")
    qtbot.keyClick(name, Qt.Key.Key_Return)
    bank, label = only_edit(rec)
    assert label == "Rename layer"
    assert bank == editing.rename_layer(line_stack(), 0, "bars")
    assert tree(panel).topLevelItem(0).text(0).startswith("1 · bars — conv")


# --- input mode and layer settings -------------------------------------------------------------


def test_input_mode(panel, rec):
    combo = child(panel, QComboBox, "inputMode")
    assert combo.currentText() == "Gray"
    combo.setCurrentIndex(combo.findText("RGB"))
    bank, label = only_edit(rec)
    assert label == "Input: RGB"
    assert bank == editing.set_input_mode(line_stack(), "rgb")
    assert bank.layers[0].in_channels == 3


def test_conv_settings_each_emit_a_labelled_edit(panel, rec, qtbot, controller):
    box = child(panel, QGroupBox, "layerSettings")
    assert box.title().startswith("Layer settings")
    expected = line_stack()

    def check(label: str, **settings) -> None:
        nonlocal expected
        expected = editing.set_layer_settings(expected, 0, **settings)
        assert rec.edits[-1] == (expected, label)
        assert not rec.errors

    child(panel, QSpinBox, "strideY").setValue(2)
    check("Layer 1: stride 2×1", stride=(2, 1))
    child(panel, QSpinBox, "strideX").setValue(2)
    check("Layer 1: stride 2", stride=2)
    pad_top = child(panel, QSpinBox, "padTop")
    assert not pad_top.isEnabled()
    child(panel, QComboBox, "padding").setCurrentText("valid")
    check("Layer 1: padding valid", padding="valid")
    child(panel, QComboBox, "padding").setCurrentText("explicit")
    check("Layer 1: padding 0", padding=0)
    assert pad_top.isEnabled()
    pad_top.setValue(3)
    check("Layer 1: padding 3 0 0 0", padding=(3, 0, 0, 0))
    child(panel, QSpinBox, "padBottom").setValue(3)
    check("Layer 1: padding 3×0", padding=(3, 0))
    child(panel, QSpinBox, "padRight").setValue(2)
    check("Layer 1: padding 3 3 0 2", padding=(3, 3, 0, 2))
    child(panel, QComboBox, "border").setCurrentText("wrap")
    check("Layer 1: border wrap", border="wrap")
    child(panel, QSpinBox, "dilationX").setValue(4)
    check("Layer 1: dilation 1×4", dilation=(1, 4))
    qtbot.mouseClick(child(panel, QCheckBox, "flip"), Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    check("Layer 1: flip on", flip=True)
    child(panel, QComboBox, "activation").setCurrentText("tanh")
    check("Layer 1: activation tanh", activation="tanh")
    slope = child(panel, QDoubleSpinBox, "slope")
    assert not slope.isEnabled()  # only leaky-relu has a slope
    child(panel, QComboBox, "activation").setCurrentText("leaky-relu")
    check("Layer 1: activation leaky-relu", activation="leaky-relu")
    assert slope.isEnabled() and slope.value() == 0.01
    slope.setValue(0.25)
    check("Layer 1: leaky-relu slope 0.25", slope=0.25)
    assert len(rec.edits) == 13
    assert rec.selections == []
    assert controller.bank == expected


def test_switching_to_explicit_padding_starts_from_the_same_output(panel, rec):
    child(panel, QComboBox, "padding").setCurrentText("explicit")
    bank, label = only_edit(rec)
    assert label == "Layer 1: padding 1"
    assert bank.output_shapes(720, 1280) == line_stack().output_shapes(720, 1280)


def test_bias_of_the_selected_filter(panel, rec):
    panel.setSelection(0, 1)
    rec.clear()  # the setup's selection
    bias = child(panel, QDoubleSpinBox, "bias")
    assert bias.value() == pytest.approx(-0.1)
    bias.setValue(0.25)
    bank, label = only_edit(rec)
    assert label == "Layer 1, 'horizontal line': bias 0.25"
    assert bank == editing.set_bias(line_stack(), 0, 1, 0.25)
    assert tree(panel).topLevelItem(0).child(1).text(1) == "bias 0.25"
    panel.setSelection(0, -1)
    assert not bias.isEnabled()


def test_pool_settings(panel, rec):
    panel.setSelection(1, -1)
    rec.clear()  # the setup's selection
    assert not child(panel, QSpinBox, "strideY").isVisible()
    assert child(panel, QSpinBox, "poolSizeY").isVisible()
    child(panel, QComboBox, "poolOp").setCurrentText("avg")
    expected = editing.set_layer_settings(line_stack(), 1, op="avg")
    assert rec.edits[-1] == (expected, "Layer 2: pool op avg")
    child(panel, QSpinBox, "poolSizeY").setValue(3)
    expected = editing.set_layer_settings(expected, 1, size=(3, 2))
    assert rec.edits[-1] == (expected, "Layer 2: pool size 3×2")
    assert expected.layers[1].stride == (3, 2)  # a stride equal to the size follows it
    assert child(panel, QSpinBox, "poolStrideY").value() == 3
    child(panel, QSpinBox, "poolStrideX").setValue(1)
    expected = editing.set_layer_settings(expected, 1, stride=(3, 1))
    assert rec.edits[-1] == (expected, "Layer 2: pool stride 3×1")
    assert not rec.errors
    assert "H' = ⌊(720 − 3) / 3⌋ + 1 = 240" in child(panel, QLabel, "outputSize").text()


def test_a_refused_setting_is_reverted(panel, rec, monkeypatch, controller):
    def refuse(bank, layer, **settings):
        raise BankError("layer 1: stride refused for the test")

    monkeypatch.setattr(editing, "set_layer_settings", refuse)
    stride = child(panel, QSpinBox, "strideY")
    stride.setValue(5)
    assert rec.errors == ["layer 1: stride refused for the test"]
    assert rec.edits == []
    assert stride.value() == 1
    assert controller.bank == line_stack()


class Paints(QObject):
    """Counts the paint events each of some widgets gets."""

    def __init__(self, widgets) -> None:
        super().__init__()
        self.counts = dict.fromkeys(widgets, 0)
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint and watched in self.counts:
            self.counts[watched] += 1
        return False

    def painted(self) -> list[str]:
        """The object names of the widgets painted since the last call."""
        QApplication.processEvents()  # delivers the pending update requests: their paints
        names = [w.objectName() or w.parent().objectName() for w, n in self.counts.items() if n]
        self.counts = dict.fromkeys(self.counts, 0)
        return names


def test_a_weight_edit_repaints_none_of_the_layer_settings(panel, controller):
    """Every weight edit refreshes the form from the bank; a box whose value stays is left
    alone (each repainted box took the GUI thread's time while the edit's maps computed)."""
    boxes = [box for box in panel.findChildren(QAbstractSpinBox) if box.isVisible()]
    assert len(boxes) >= 8  # stride, padding, dilation, slope, groups, bias
    paints = Paints([*boxes, *(box.findChild(QLineEdit) for box in boxes)])
    paints.painted()
    assert controller.set_kernel(np.full((3, 3), 0.25))
    assert paints.painted() == []
    # A setting that does change still shows, and repaints its box.
    assert controller.edit(lambda b: editing.set_layer_settings(b, 0, stride=(2, 1)), "stride")
    assert child(panel, QSpinBox, "strideY").value() == 2
    assert "strideY" in paints.painted()


def test_screenshot_of_the_line_stack(panel, tmp_path):
    image = panel.grab()
    assert image.width() >= 300 and image.height() >= 600
    assert image.save(str(tmp_path / "bank_panel.png"))


def test_the_groups_setting_regroups_the_layer_and_a_bad_one_is_refused(qtbot):
    bank = Bank((ConvLayer(tuple(Filter.repeated([[1.0]], 3, name=f"f{o}") for o in range(3))),))
    controller = Controller(bank)
    try:
        panel = make_panel(qtbot, controller)
        rec = Recorder(controller, panel)
        groups = child(panel, QSpinBox, "groups")
        assert groups.value() == 1
        groups.setValue(3)
        edited, label = only_edit(rec)
        assert label == "Layer 1: groups 3"
        assert edited == editing.set_layer_settings(bank, 0, groups=3)
        assert edited.layers[0].groups == 3 and edited.layers[0].filters[0].in_channels == 1
        # Each filter's row says which input channels it reads.
        row = tree(panel).topLevelItem(0).child(1)
        assert "1 kernel of 1×1, reading G," in row.toolTip(0)
        rec.clear()
        groups.setValue(2)  # 3 filters do not split in 2
        assert rec.edits == [] and len(rec.errors) == 1
        assert "3 filters do not split into 2 groups" in rec.errors[0]
        assert groups.value() == 3  # the widget goes back to what the bank says
    finally:
        controller.close()


def test_explicit_padding_from_same_keeps_an_even_kernels_output_with_the_extra_pixel_after(qtbot):
    bank = Bank((ConvLayer((Filter.repeated(np.ones((4, 4)), 3),), padding="same"),))
    controller = Controller(bank)
    try:
        panel = make_panel(qtbot, controller)
        rec = Recorder(controller, panel)
        child(panel, QComboBox, "padding").setCurrentText("explicit")
        edited, label = only_edit(rec)
        assert edited.layers[0].padding == (1, 2, 1, 2) and label == "Layer 1: padding 1 2 1 2"
        image = np.random.default_rng(5).integers(0, 256, (12, 17, 3), dtype=np.uint8)
        np.testing.assert_allclose(edited.apply(image)[0], bank.apply(image)[0], atol=1e-5)
    finally:
        controller.close()
