"""Small things a newcomer hits: Enter in the size box, the View menu's panel toggles."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from playground.ui.kernel_editor import KernelEditor
from tests.ui.test_main_window import window  # noqa: F401

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Enter])
def test_enter_in_the_kernel_size_box_resizes(qtbot, key):
    editor = KernelEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.setFilter(np.ones((1, 3, 3)), 0)
    editor.heightSpin.selectAll()
    qtbot.keyClicks(editor.heightSpin, "7")
    with qtbot.waitSignal(editor.kernelResizeRequested) as blocker:
        qtbot.keyClick(editor.heightSpin, key)
    assert blocker.args == [7, 3]


def test_enter_with_the_size_unchanged_asks_for_nothing(qtbot):
    editor = KernelEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.setFilter(np.ones((1, 3, 3)), 0)
    with qtbot.assertNotEmitted(editor.kernelResizeRequested):
        qtbot.keyClick(editor.widthSpin, Qt.Key.Key_Return)


def test_the_view_menu_hides_and_shows_every_panel(qtbot, window):  # noqa: F811
    docks = [window.bank_dock, window.kernel_dock, window.probe_dock, window.analysis_dock]
    for dock in docks:
        action = dock.toggleViewAction()
        assert action.isEnabled(), dock.windowTitle()
        assert action in window.menus.view_menu.actions()
        visible = not dock.isHidden()
        action.trigger()
        assert dock.isHidden() == visible
        action.trigger()
        assert dock.isHidden() != visible


def test_the_source_shows_a_photo_at_a_readable_size_without_grey_bars(qtbot, window):  # noqa: F811
    # The finding: a fixed ~150 px column showed a 600x400 photo at 150x100, 80% of it grey.
    from tests.ui.test_main_window import sample, wait_for_outputs

    wait_for_outputs(qtbot, window, window.controller.bank, sample())
    view = window.source_pane.graphicsView()
    qtbot.waitUntil(lambda: view.width() >= 200, timeout=5000)
    h, w = sample().shape[:2]
    shown_height = view.width() * h / w  # the picture fits the view's width
    assert shown_height <= view.height() + 1
    assert view.width() * view.height() * 0.85 <= view.width() * shown_height  # no grey bars
    assert window.pane_grid.columns() == 2  # and the maps still sit in two columns beside it


def test_a_typed_weight_reaches_the_bank_and_comes_back_to_the_editor_at_once(qtbot, window):  # noqa: F811
    # One writer: the grid's edit goes to the controller, whose bank the editor then shows
    # (the strip and the DC gain follow in the same turn of the event loop, before any frame).
    editor = window.kernel_editor
    model = editor.grid.kernelModel()
    model.setData(model.index(1, 1), 0.5, Qt.ItemDataRole.EditRole)
    layer, filt, channel = window.controller.selection
    bank_kernel = window.controller.bank.layers[layer].filters[filt].kernels[channel]
    assert bank_kernel[1, 1] == 0.5
    np.testing.assert_array_equal(editor.kernels()[channel], bank_kernel)
    window.controller.undo()
    assert editor.kernels()[channel][1, 1] != 0.5


def test_preview_resolution_says_so_and_a_frozen_frame_gets_its_exact_maps(
    qtbot,
    window,  # noqa: F811
    monkeypatch,
):
    from playground.controller import pipeline
    from tests.engine import reference

    monkeypatch.setattr(pipeline, "PREVIEW_TARGET_MS", 1e-3)  # every bank is too heavy
    c = window.controller
    window.menus.preview_action.trigger()
    assert c.preview and window.session.preview()  # and the next window starts with it
    c.open_pattern("moving-bars")
    label = window._size_label
    qtbot.waitUntil(lambda: "preview 1/4" in label.text(), timeout=15_000)
    result = c.last_result
    height, width = result.frame.shape[:2]
    assert c.outputs()[0].shape[1:] == (height // 4, width // 4)  # 'same' padding
    window.menus.pause_action.trigger()  # freeze: the exact maps follow
    qtbot.waitUntil(
        lambda: c.last_result.preview_factor == 1 and "preview" not in label.text(),
        timeout=15_000,
    )
    frame = c.last_result.frame
    expected = reference.run(c.bank.to_dict(), frame)[0]
    np.testing.assert_allclose(c.outputs()[0], expected[0], rtol=1e-4, atol=1e-4)
