"""The kernel grid and editor, driven like a user would: typing, wheel, drags, buttons, menus.

Expected kernels are computed here independently with numpy (np.rot90, k / k.sum(), the
Gaussian's closed form), never with playground.engine.kernel_ops.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLineEdit

from playground.engine import presets
from playground.ui.kernel_editor import (
    ChannelStrip,
    KernelEditor,
    KernelGrid,
    KernelModel,
    PresetDialog,
    default_channel_names,
    format_weight,
)

# The offscreen platform plugin warns whenever a top-level window's minimum size changes (a
# layout sets it); real platforms implement propagateSizeHints and say nothing.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

EDIT = Qt.ItemDataRole.EditRole
SCREENSHOT = Path("/tmp/kernel_editor.png")


def gaussian(size: int, sigma: float) -> np.ndarray:
    """Closed form, written independently of playground.engine.presets."""
    half = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size] - half
    g = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    return g / g.sum()


SOBEL_X = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
# Not square, not symmetric, positive sum: every operation gives a different answer.
ODD = np.array([[1.0, 2.0, 0.0, -1.0, 3.0], [0.5, 4.0, -2.0, 1.0, 0.0], [2.0, 0.0, 1.0, 1.0, 5.0]])


@pytest.fixture
def grid(qtbot):
    widget = KernelGrid()
    qtbot.addWidget(widget)
    widget.kernelModel().setKernel(np.arange(9.0).reshape(3, 3) - 4)
    widget.resize(widget.sizeHint())
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def editor(qtbot):
    widget = KernelEditor()
    qtbot.addWidget(widget)
    widget.resize(420, 480)
    widget.setFilter(np.stack([ODD, 2 * ODD, -ODD]), 0, ["R", "G", "B"])
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def cell_centre(grid: KernelGrid, row: int, col: int) -> QPoint:
    return grid.visualRect(grid.model().index(row, col)).center()


def send_wheel(grid: KernelGrid, row: int, col: int, notches: float, modifiers=None) -> None:
    pos = QPointF(cell_centre(grid, row, col))
    event = QWheelEvent(
        pos,
        QPointF(grid.viewport().mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, round(120 * notches)),
        Qt.MouseButton.NoButton,
        modifiers or Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(grid.viewport(), event)


def send_mouse(grid, kind, pos: QPoint, button, buttons, modifiers=None) -> None:
    local = QPointF(pos)
    event = QMouseEvent(
        kind,
        local,
        QPointF(grid.viewport().mapToGlobal(local)),
        button,
        buttons,
        modifiers or Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(grid.viewport(), event)


# -- KernelModel ------------------------------------------------------------------------------


def test_typed_fraction_is_exact_and_emits_the_whole_kernel(qtbot):
    model = KernelModel(np.zeros((3, 3)))
    index = model.index(1, 2)
    with qtbot.waitSignal(model.kernelEdited) as blocker:
        assert model.setData(index, "1/9", EDIT)
    expected = np.zeros((3, 3))
    expected[1, 2] = 1 / 9
    assert np.array_equal(model.kernel(), expected)
    emitted = blocker.args[0]
    assert isinstance(emitted, np.ndarray) and emitted.dtype == np.float64
    assert np.array_equal(emitted, expected)
    assert model.kernel()[1, 2] == 1 / 9  # exactly, not 0.111
    assert model.data(index, Qt.ItemDataRole.DisplayRole) == "0.111"
    assert float(model.data(index, EDIT)) == 1 / 9
    assert "1/9" in model.data(index, Qt.ItemDataRole.ToolTipRole)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("abc", "'abc' is not a number"),
        ("nan", "'nan' is not a finite number"),
        ("1e9", "1e9 is too large (at most ±1e6)"),
        ("1/0", "division by zero in '1/0'"),
    ],
)
def test_refused_text_keeps_the_kernel(qtbot, typed, reason):
    start = np.arange(9.0).reshape(3, 3)
    model = KernelModel(start)
    with (
        qtbot.assertNotEmitted(model.kernelEdited),
        qtbot.waitSignal(model.editRefused) as blocker,
    ):
        assert model.setData(model.index(0, 0), typed, EDIT) is False
    assert blocker.args == [reason]
    assert np.array_equal(model.kernel(), start)


@pytest.mark.parametrize("value", [math.nan, math.inf, -1e7, True, None])
def test_refused_numbers_keep_the_kernel(qtbot, value):
    model = KernelModel(np.ones((2, 2)))
    with qtbot.assertNotEmitted(model.kernelEdited), qtbot.waitSignal(model.editRefused):
        assert model.setData(model.index(0, 1), value, EDIT) is False
    assert np.array_equal(model.kernel(), np.ones((2, 2)))


def test_set_data_float_emits_new_kernel(qtbot):
    model = KernelModel(np.zeros((2, 3)))
    with qtbot.waitSignal(model.kernelEdited) as blocker:
        assert model.setData(model.index(1, 0), 0.5, EDIT)
    assert np.array_equal(blocker.args[0], [[0, 0, 0], [0.5, 0, 0]])
    with qtbot.assertNotEmitted(model.kernelEdited):  # same value: nothing to record
        assert model.setData(model.index(1, 0), 0.5, EDIT)


def test_display_text_is_compact():
    assert [format_weight(v) for v in (1.0, -2.0, 1 / 9, 0.25, 1.5e-5, -0.0, 250000.0)] == [
        "1",
        "-2",
        "0.111",
        "0.25",
        "1.5e-05",
        "0",
        "250000",
    ]


def test_colours_diverge_and_scale_with_the_kernel():
    k = np.array([[-2.0, 0.0, 2.0], [-0.5, 0.0, 0.5]])

    def colours(model):
        return [
            [model.data(model.index(r, c), Qt.ItemDataRole.BackgroundRole) for c in range(3)]
            for r in range(2)
        ]

    model = KernelModel(k)
    (neg, zero, pos), (small_neg, _, small_pos) = colours(model)
    assert isinstance(neg, QColor)
    assert neg.blue() > neg.red() + 80  # blue for negative
    assert pos.red() > pos.blue() + 80  # red for positive
    assert min(zero.red(), zero.green(), zero.blue()) >= 240  # near-white for 0
    assert small_pos.lightness() > pos.lightness()  # weaker weight, paler colour
    assert small_neg.lightness() > neg.lightness()
    # Scaled by max |w|: a kernel a thousand times smaller looks the same.
    tiny = KernelModel(k * 1e-3)
    assert [[c.name() for c in row] for row in colours(tiny)] == [
        [c.name() for c in row] for row in colours(model)
    ]
    # Text contrasts with its cell.
    fg = model.data(model.index(0, 0), Qt.ItemDataRole.ForegroundRole)
    assert fg == QColor(255, 255, 255)
    fg_zero = model.data(model.index(0, 1), Qt.ItemDataRole.ForegroundRole)
    assert fg_zero.lightness() < 60
    assert model.data(model.index(0, 0), Qt.ItemDataRole.TextAlignmentRole) == (
        Qt.AlignmentFlag.AlignCenter
    )
    assert model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsEditable


def test_an_edit_repaints_the_cells_whose_colour_or_value_changed():
    """Colours scale with max |w|: an edit below it changes one cell, one above it all."""
    model = KernelModel(np.array([[-2.0, 0.0, 2.0], [-0.5, 0.0, 0.5]]))
    changed = []
    model.dataChanged.connect(
        lambda a, b, roles: changed.append((a.row(), a.column(), b.row(), b.column()))
    )

    def background(r, c):
        return model.data(model.index(r, c), Qt.ItemDataRole.BackgroundRole).name()

    before = background(0, 0)
    assert model.setData(model.index(1, 1), 1.0, EDIT)
    assert changed == [(1, 1, 1, 1)]
    assert background(0, 0) == before
    changed.clear()
    assert model.setData(model.index(1, 1), 4.0, EDIT)  # the new max |w|: every colour pales
    assert changed == [(0, 0, 1, 2)]
    assert background(0, 0) != before


def test_set_kernel_is_not_an_edit(qtbot):
    model = KernelModel(np.zeros((3, 3)))
    with (
        qtbot.assertNotEmitted(model.kernelEdited),
        qtbot.waitSignal(model.dataChanged),
    ):
        model.setKernel(np.ones((3, 3)))
    with qtbot.assertNotEmitted(model.kernelEdited), qtbot.waitSignal(model.modelReset):
        model.setKernel(np.ones((5, 7)))
    assert (model.rowCount(), model.columnCount()) == (5, 7)
    copy = model.kernel()
    copy[0, 0] = 99
    assert model.kernel()[0, 0] == 1  # kernel() is a copy


def test_nudge_adds_and_emits(qtbot):
    model = KernelModel(np.zeros((3, 3)))
    for _ in range(3):
        model.nudge(0, 0, 0.1)
    with qtbot.waitSignal(model.kernelEdited) as blocker:
        model.nudge(0, 0, 0.1)
    assert model.kernel()[0, 0] == 0.4  # binary noise of 0.1 + 0.1 + ... is cleaned
    assert blocker.args[0][0, 0] == 0.4
    model.nudge(1, 1, 1e9)
    assert model.kernel()[1, 1] == 1e6  # clamped to the bank's bound


# -- KernelGrid -------------------------------------------------------------------------------


def test_grid_names_model_and_tooltip(grid):
    assert grid.objectName() == "kernelGrid"
    assert isinstance(grid.model(), KernelModel)
    assert grid.model() is grid.kernelModel()
    tip = grid.toolTip().lower()
    for word in ("wheel", "drag", "middle", "alt", "delete", "1/9"):
        assert word in tip


def test_typing_into_the_real_editor(qtbot, grid):
    model = grid.kernelModel()
    index = model.index(2, 1)
    grid.setCurrentIndex(index)
    grid.edit(index)
    line = grid.findChild(QLineEdit, "weightEditor")
    assert line is not None
    qtbot.keyClicks(line, "1/9")
    with qtbot.waitSignal(model.kernelEdited) as blocker:
        qtbot.keyClick(line, Qt.Key.Key_Return)
    assert model.kernel()[2, 1] == 1 / 9
    assert blocker.args[0][2, 1] == 1 / 9


def test_enter_on_bad_text_keeps_the_editor_open(qtbot, grid):
    model = grid.kernelModel()
    before = model.kernel()
    index = model.index(0, 0)
    grid.setCurrentIndex(index)
    grid.edit(index)
    line = grid.findChild(QLineEdit, "weightEditor")
    qtbot.keyClicks(line, "abc")
    with qtbot.waitSignal(model.editRefused) as blocker:
        qtbot.keyClick(line, Qt.Key.Key_Return)
    assert blocker.args == ["'abc' is not a number"]
    assert np.array_equal(model.kernel(), before)
    assert grid.state() == grid.State.EditingState
    assert line.selectedText() == "abc"  # ready to be typed over


def test_typing_a_digit_starts_editing(qtbot, grid):
    model = grid.kernelModel()
    grid.setFocus()
    grid.setCurrentIndex(model.index(1, 1))
    qtbot.keyClicks(grid, "7")
    line = grid.findChild(QLineEdit, "weightEditor")
    assert line is not None and line.text() == "7"
    with qtbot.waitSignal(model.kernelEdited):
        qtbot.keyClick(line, Qt.Key.Key_Return)
    assert model.kernel()[1, 1] == 7


@pytest.mark.parametrize(
    ("notches", "modifiers", "delta"),
    [
        (1, None, 0.1),
        (-1, None, -0.1),
        (2, None, 0.2),
        (1, Qt.KeyboardModifier.ShiftModifier, 1.0),
        (1, Qt.KeyboardModifier.ControlModifier, 0.01),
    ],
)
def test_wheel_nudges_the_cell_under_the_mouse(qtbot, grid, notches, modifiers, delta):
    model = grid.kernelModel()
    before = model.kernel()
    with qtbot.waitSignal(model.kernelEdited) as blocker:
        send_wheel(grid, 0, 2, notches, modifiers)
    expected = before.copy()
    expected[0, 2] += delta
    assert np.allclose(model.kernel(), expected, rtol=0, atol=1e-12)
    assert np.array_equal(blocker.args[0], model.kernel())


def test_wheel_does_not_scroll(qtbot, grid):
    grid.setFitAll(False)  # zoomed in: readable cells, so the 31x31 grid scrolls
    grid.kernelModel().setKernel(np.zeros((31, 31)))
    grid.resize(200, 200)
    qtbot.waitUntil(lambda: grid.verticalScrollBar().maximum() > 0)
    bar = grid.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    before = bar.value()
    send_wheel(grid, 3, 3, -3)
    assert bar.value() == before
    assert grid.kernelModel().kernel().min() == pytest.approx(-0.3)


@pytest.mark.parametrize("alt_left", [False, True])
def test_vertical_drag_nudges_and_the_last_value_lands(qtbot, grid, alt_left):
    model = grid.kernelModel()
    start = model.kernel()[1, 1]
    if alt_left:
        button, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier
    else:
        button, modifiers = Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier
    centre = cell_centre(grid, 1, 1)
    emitted = []
    model.kernelEdited.connect(emitted.append)
    with qtbot.waitSignal(grid.dragStarted):
        send_mouse(grid, QEvent.Type.MouseButtonPress, centre, button, button, modifiers)
    for dy in (-5, -12, -30, -25):  # up 30 pixels, then back down 5
        point = centre + QPoint(0, dy)
        send_mouse(grid, QEvent.Type.MouseMove, point, Qt.MouseButton.NoButton, button, modifiers)
    with qtbot.waitSignal(grid.dragFinished):
        send_mouse(
            grid,
            QEvent.Type.MouseButtonRelease,
            centre + QPoint(0, -25),
            button,
            Qt.MouseButton.NoButton,
            modifiers,
        )
    assert model.kernel()[1, 1] == pytest.approx(start + 0.25, abs=1e-9)
    assert len(emitted) == 4
    assert np.array_equal(emitted[-1], model.kernel())  # the last value of the drag landed
    assert model.kernel()[0, 0] == -4  # nothing else moved


def test_delete_zeroes_the_selection(qtbot, grid):
    model = grid.kernelModel()
    before = model.kernel()
    selection = grid.selectionModel()
    flag = selection.SelectionFlag.Select
    selection.select(model.index(0, 0), flag)
    selection.select(model.index(2, 1), flag)
    grid.setFocus()
    with qtbot.waitSignal(model.kernelEdited) as blocker:
        qtbot.keyClick(grid, Qt.Key.Key_Delete)
    expected = before.copy()
    expected[0, 0] = expected[2, 1] = 0
    assert np.array_equal(model.kernel(), expected)
    assert np.array_equal(blocker.args[0], expected)


def test_cells_are_square_and_fit_without_scroll_bars_up_to_15(qtbot, grid):
    for n in (1, 3, 5, 9, 15):
        grid.kernelModel().setKernel(np.zeros((n, n)))
        grid.resize(grid.sizeHint())
        qtbot.waitUntil(
            lambda: (
                not grid.horizontalScrollBar().isVisible()
                and not grid.verticalScrollBar().isVisible()
            )
        )
        assert grid.cellSize() * n <= grid.viewport().width()
        assert KernelGrid.MIN_CELL <= grid.cellSize() <= KernelGrid.MAX_CELL
        rect = grid.visualRect(grid.model().index(n - 1, n - 1))
        assert rect.width() == rect.height() == grid.cellSize()


# -- KernelEditor -----------------------------------------------------------------------------


def test_dc_gain_label_shows_and_follows_the_sum(qtbot, editor):
    # The shown kernel's sum, and the whole filter's (ODD + 2 ODD - ODD).
    assert (
        editor.dcGainLabel.text() == f"sum (DC gain): {ODD.sum():.3f} · filter {2 * ODD.sum():.3f}"
    )
    editor.setFilter(gaussian(5, 1.0)[None], 0, ["gray"])
    assert editor.dcGainLabel.text() == "sum (DC gain): 1.000"
    model = editor.grid.kernelModel()
    model.setData(model.index(0, 0), 0.5, EDIT)
    assert (
        editor.dcGainLabel.text()
        == f"sum (DC gain): {gaussian(5, 1.0).sum() + 0.5 - gaussian(5, 1.0)[0, 0]:.3f}"
    )
    editor.setFilter(SOBEL_X[None], 0, None)
    assert editor.dcGainLabel.text() == "sum (DC gain): 0.000"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("normalise", lambda k: k / k.sum()),
        ("zero-sum", lambda k: k - k.mean()),
        ("flip-horizontal", lambda k: k[:, ::-1]),
        ("flip-vertical", lambda k: k[::-1, :]),
        ("rotate90", np.rot90),
        ("transpose", lambda k: k.T),
    ],
)
def test_operation_buttons_emit_the_replaced_kernel(qtbot, editor, name, expected):
    editor.buttons["channel-only"].setChecked(True)
    button = editor.buttons[name]
    assert button.toolTip()
    with qtbot.waitSignal(editor.kernelReplaced) as blocker:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    assert result.dtype == np.float64
    want = expected(ODD)
    assert result.shape == want.shape
    assert np.allclose(result, want, rtol=0, atol=1e-12)
    # The editor does not apply it itself: the window owns the bank.
    assert np.array_equal(editor.grid.kernelModel().kernel(), ODD)


def test_button_tooltips_name_the_operations(editor):
    tips = {name: editor.buttons[name].toolTip() for name in editor.buttons}
    assert tips["normalise"].startswith("Normalise (sum 1)")
    assert tips["zero-sum"].startswith("Zero-sum")
    assert tips["flip-horizontal"].startswith("Flip ↔")
    assert tips["flip-vertical"].startswith("Flip ↕")
    assert tips["rotate90"].startswith("Rotate 90°")
    assert tips["transpose"].startswith("Transpose")
    assert tips["copy-to-all"].startswith("Copy to all channels")


def test_normalising_a_zero_sum_kernel_shows_the_error(qtbot, editor):
    editor.setFilter(SOBEL_X[None], 0, None)
    reason = "the kernel sums to 0; it cannot be normalised to 1"
    with (
        qtbot.assertNotEmitted(editor.kernelReplaced),
        qtbot.waitSignal(editor.errorRaised) as blocker,
    ):
        qtbot.mouseClick(editor.buttons["normalise"], Qt.MouseButton.LeftButton)
    assert blocker.args == [reason]
    assert editor.statusText() == reason
    # The next successful operation clears it.
    with qtbot.waitSignal(editor.kernelReplaced):
        qtbot.mouseClick(editor.buttons["transpose"], Qt.MouseButton.LeftButton)
    assert editor.statusText() == ""


def test_refused_typing_is_shown_in_the_editor(qtbot, editor):
    model = editor.grid.kernelModel()
    with qtbot.waitSignal(editor.errorRaised) as blocker:
        model.setData(model.index(0, 0), "1/0", EDIT)
    assert blocker.args == ["division by zero in '1/0'"]
    assert editor.statusText() == "division by zero in '1/0'"


def preset_action(editor, name):
    actions = [a for a in editor.presetMenu.actions() if a.data() == name]
    assert len(actions) == 1
    return actions[0]


def test_preset_menu_lists_every_preset_with_its_description(editor):
    listed = [a.data() for a in editor.presetMenu.actions() if a.data()]
    assert listed == presets.names()
    for action in editor.presetMenu.actions():
        assert action.toolTip() == presets.get(action.data()).description
        assert action.statusTip() == presets.get(action.data()).description
    assert editor.buttons["presets"].menu() is editor.presetMenu


def test_fixed_preset_emits_its_kernel(qtbot, editor):
    editor.buttons["channel-only"].setChecked(True)
    with qtbot.waitSignal(editor.kernelReplaced) as blocker:
        preset_action(editor, "sobel-x").trigger()
    assert np.array_equal(blocker.args[0], SOBEL_X)
    assert blocker.args[0].dtype == np.float64


def test_preset_box_keeps_one_ninth_exact(qtbot, editor):
    editor.buttons["channel-only"].setChecked(True)
    with qtbot.assertNotEmitted(editor.kernelReplaced):
        preset_action(editor, "box").trigger()  # box has a size: the dialog opens first
    dialog = editor.findChild(PresetDialog)
    with qtbot.waitSignal(editor.kernelReplaced) as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert np.array_equal(blocker.args[0], np.full((3, 3), 1 / 9))


def test_preset_with_parameters_goes_through_the_dialog(qtbot, editor):
    editor.buttons["channel-only"].setChecked(True)
    preset_action(editor, "gaussian").trigger()
    dialog = editor.findChild(PresetDialog)
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert set(dialog.spinBoxes) == {"size", "sigma"}
    size, sigma = dialog.spinBoxes["size"], dialog.spinBoxes["sigma"]
    assert (size.value(), size.singleStep()) == (5, 2)  # default, odd sizes step by 2
    assert (size.minimum(), size.maximum()) == (1, 31)
    assert sigma.value() == 1.0
    size.setValue(7)
    sigma.setValue(1.5)
    with qtbot.waitSignal(editor.kernelReplaced) as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    result = blocker.args[0]
    assert result.shape == (7, 7)
    assert np.allclose(result, gaussian(7, 1.5), rtol=0, atol=1e-15)
    # The same kernel as the presets module gives (it computes in float32).
    assert np.allclose(result, presets.kernel("gaussian", size=7, sigma=1.5), rtol=1e-6)


def test_preset_dialog_cancel_emits_nothing(qtbot, editor):
    preset_action(editor, "log").trigger()
    dialog = editor.findChild(PresetDialog)
    with qtbot.assertNotEmitted(editor.kernelReplaced):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert not dialog.isVisible()


def test_preset_dialog_makes_sizes_odd(qtbot):
    dialog = PresetDialog(presets.get("gaussian"))
    qtbot.addWidget(dialog)
    size = dialog.spinBoxes["size"]
    size.setValue(6)
    assert dialog.values()["size"] == 7
    size.editingFinished.emit()
    assert size.value() == 7
    assert dialog.kernel().shape == (7, 7)
    assert dialog.preview.pixmap() is not None and not dialog.preview.pixmap().isNull()


def test_channel_tabs_select_a_channel(qtbot, editor):
    tabs = editor.channelTabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["R", "G", "B"]
    with qtbot.waitSignal(editor.channelSelected) as blocker:
        qtbot.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(2).center())
    assert blocker.args == [2]
    assert editor.currentChannel() == 2
    assert np.array_equal(editor.grid.kernelModel().kernel(), -ODD)
    assert editor.strip.current() == 2


def test_strip_selects_a_channel(qtbot, editor):
    strip = editor.strip
    assert isinstance(strip, ChannelStrip) and strip.count() == 3
    with qtbot.waitSignal(editor.channelSelected) as blocker:
        qtbot.mouseClick(strip.thumbnail(1), Qt.MouseButton.LeftButton)
    assert blocker.args == [1]
    assert editor.channelTabs.currentIndex() == 1
    assert np.array_equal(editor.grid.kernelModel().kernel(), 2 * ODD)


def test_the_strip_redraws_the_thumbnails_whose_kernel_or_shared_scale_changed(qtbot):
    """An edit changes one channel's kernel: its thumbnail is drawn again, the others only
    when the shared colour scale (max |w|) moves; the current one stays the bold one."""
    strip = ChannelStrip()
    qtbot.addWidget(strip)
    kernels = np.stack([ODD, 2 * ODD, -ODD]).astype(np.float64)
    strip.setKernels(kernels, ["R", "G", "B"])
    strip.setCurrent(1)

    def pictures():
        return [strip.thumbnail(c).image.pixmap().cacheKey() for c in range(3)]

    before = pictures()
    kernels[0, 1, 1] = 0.5  # below max |w|
    strip.setKernels(kernels, ["R", "G", "B"])
    after = pictures()
    assert after[0] != before[0] and after[1:] == before[1:]
    kernels[2, 0, 0] = 20.0  # the new max |w|: every colour pales
    strip.setKernels(kernels, ["R", "G", "B"])
    assert all(a != b for a, b in zip(pictures(), after))
    bold = [strip.thumbnail(c).label.font().bold() for c in range(3)]
    assert bold == [False, True, False]


def test_editor_reemits_cell_edits_of_the_current_channel(qtbot, editor):
    editor.strip.thumbnail(2).clicked.emit(2)
    model = editor.grid.kernelModel()
    with qtbot.waitSignal(editor.kernelEdited) as blocker:
        model.setData(model.index(0, 0), "1/8", EDIT)
    expected = -ODD.copy()
    expected[0, 0] = 0.125
    assert np.array_equal(blocker.args[0], expected)
    # The editor does not adopt its own edit: it shows what its owner hands back.
    assert np.array_equal(editor.kernels()[2], -ODD)
    answered = editor.kernels()
    answered[2] = expected
    editor.setFilter(answered, 2, ["R", "G", "B"])
    assert np.array_equal(editor.kernels()[2], expected)


def test_set_filter_emits_nothing(qtbot, editor):
    signals = [
        editor.kernelEdited,
        editor.kernelReplaced,
        editor.channelSelected,
        editor.kernelResizeRequested,
        editor.copyToAllChannelsRequested,
        editor.errorRaised,
        editor.strip.channelSelected,
        editor.grid.kernelModel().kernelEdited,
        editor.grid.kernelModel().editRefused,
    ]
    emitted = []
    for signal in signals:
        signal.connect(lambda *args, s=signal: emitted.append((s, args)))
    editor.setFilter(np.zeros((3, 7, 7)), 2, ["R", "G", "B"])
    editor.setFilter(np.ones((1, 3, 3)), 0, ["gray"])
    editor.setFilter(np.zeros((64, 5, 5)), 10, None)
    editor.setFilter(np.stack([ODD] * 3), 2, None)
    assert emitted == []
    assert editor.currentChannel() == 2
    assert editor.channelTabs.currentIndex() == 2 and editor.strip.current() == 2
    assert np.array_equal(editor.grid.kernelModel().kernel(), ODD)


def test_channel_names_and_the_strip_for_many_channels(qtbot, editor):
    assert default_channel_names(1) == ["gray"]
    assert default_channel_names(3) == ["R", "G", "B"]
    assert default_channel_names(4) == ["ch 1", "ch 2", "ch 3", "ch 4"]
    editor.setFilter(np.ones((1, 3, 3)), 0, None)
    assert editor.channelTabs.tabText(0) == "gray"
    assert not editor.strip.isVisible()
    assert not editor.buttons["copy-to-all"].isEnabled()
    kernels = np.random.default_rng(1).normal(size=(64, 3, 3))
    editor.setFilter(kernels, 63, None)
    assert editor.channelTabs.tabText(63) == "ch 64"
    assert editor.strip.isVisible() and editor.strip.count() == 64
    bar = editor.strip.findChild(type(editor.grid.horizontalScrollBar()))
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    qtbot.waitUntil(lambda: bar.value() > 0)  # scrolled to show the selected channel
    with qtbot.waitSignal(editor.channelSelected) as blocker:
        editor.strip.thumbnail(63).clicked.emit(5)
    assert blocker.args == [5]


def test_resize_request_emits_the_size(qtbot, editor):
    assert (editor.heightSpin.value(), editor.widthSpin.value()) == ODD.shape
    assert not editor.buttons["resize"].isEnabled()  # nothing to change yet
    editor.heightSpin.setValue(7)
    editor.widthSpin.setValue(5)
    assert editor.buttons["resize"].isEnabled()
    with qtbot.waitSignal(editor.kernelResizeRequested) as blocker:
        qtbot.mouseClick(editor.buttons["resize"], Qt.MouseButton.LeftButton)
    assert blocker.args == [7, 5]
    assert (editor.heightSpin.maximum(), editor.heightSpin.minimum()) == (31, 1)


def test_copy_to_all_channels_request(qtbot, editor):
    with qtbot.waitSignal(editor.copyToAllChannelsRequested):
        qtbot.mouseClick(editor.buttons["copy-to-all"], Qt.MouseButton.LeftButton)


def test_screenshot_of_a_gaussian(qtbot, editor):
    g = gaussian(5, 1.0)
    editor.setFilter(np.stack([g, g, g]), 0, ["R", "G", "B"])
    editor.resize(420, 480)
    qtbot.waitUntil(lambda: editor.grid.cellSize() * 5 <= editor.grid.viewport().width())
    assert editor.grid.cellSize() >= 40  # a 5x5 kernel gets generous cells here
    assert editor.grab().save(str(SCREENSHOT))
    image = QImage(str(SCREENSHOT))
    assert (image.width(), image.height()) == (420, 480)
    # The centre cell is the darkest red of the grid.
    grid_origin = editor.grid.mapTo(editor, editor.grid.viewport().pos())
    centre = grid_origin + editor.grid.visualRect(editor.grid.model().index(2, 2)).topLeft()
    pixel = image.pixelColor(centre + QPoint(editor.grid.cellSize() - 6, 6))
    assert pixel.red() > 150 and pixel.green() < 60 and pixel.blue() < 80


def test_the_size_boxes_show_the_first_filters_size(qtbot):
    # A fresh editor's first filter has the placeholder's 3x3 size: the boxes must say so too.
    fresh = KernelEditor()
    qtbot.addWidget(fresh)
    fresh.setFilter(np.ones((3, 3, 3)), 0, ["R", "G", "B"])
    assert (fresh.heightSpin.value(), fresh.widthSpin.value()) == (3, 3)
    assert not fresh.buttons["resize"].isEnabled()
