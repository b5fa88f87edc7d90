"""The main window driven as a user would: grid edits, menus, undo, files, sources, panes."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, QRectF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QMessageBox, QTreeWidget

import playground
from playground import Bank, ConvLayer, Filter
from playground.assets import resource_path
from playground.sources.image import read_image
from playground.sources.still import StillSource
from playground.ui import MainWindow
from tests.engine import reference

WAIT_MS = 15_000

# The offscreen platform cannot size native windows; that warning says nothing about the app.
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


def make_settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def shows_current_bank(window):
    c = window.controller
    r = c.last_result
    return r is not None and r.generation == c.generation and r.outputs is not None


@pytest.fixture(autouse=True)
def no_unexpected_dialogs(monkeypatch):
    """A modal question would block the test run; any test that expects one replaces this."""

    def fail(*args, **kwargs):
        raise AssertionError(f"unexpected dialog: {args[1:3]}")

    monkeypatch.setattr(QMessageBox, "question", fail)


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(settings=make_settings(tmp_path), autosave_dir=tmp_path / "autosave")
    # pytest-qt closes the window before fixture teardown: no unsaved-changes prompt then.
    qtbot.addWidget(
        w, before_close_func=lambda w: w.controller.document.mark_saved(tmp_path / "x.json")
    )
    w.resize(1400, 900)
    w.show()
    qtbot.waitUntil(lambda: shows_current_bank(w), timeout=WAIT_MS)
    return w


def wait_for_outputs(qtbot, window, bank, image):
    expected = reference.run(bank.to_dict(), image)[0]

    def matches():
        if not shows_current_bank(window) or window.controller.bank != bank:
            return False
        outputs = window.controller.outputs()
        return all(
            o.shape == e.shape and np.allclose(o, e, rtol=1e-4, atol=1e-4)
            for o, e in zip(outputs, expected)
        )

    qtbot.waitUntil(matches, timeout=WAIT_MS)


def sample():
    return read_image(resource_path("images", "coffee.jpg"))


def test_window_starts_on_the_sample_image_with_the_bundled_bank(qtbot, window):
    bank = playground.load_bank(resource_path("banks", "edges-rgb.json"))
    assert window.controller.bank == bank
    wait_for_outputs(qtbot, window, bank, sample())
    assert "coffee.jpg" in window.controller.source_description
    assert not window.menus.undo_action.isEnabled() and not window.menus.redo_action.isEnabled()
    assert not window.isWindowModified()


def test_typing_a_weight_in_the_kernel_grid_updates_the_maps(qtbot, window):
    grid = window.findChild(QAbstractItemView, "kernelGrid")
    assert grid is not None
    model = grid.model()
    before = window.controller.bank
    assert model.setData(model.index(0, 0), 0.5, Qt.ItemDataRole.EditRole)
    bank = window.controller.bank
    assert bank.layers[0].filters[0].kernels[0, 0, 0] == 0.5
    expected = before.layers[0].filters[0].kernels.copy()
    expected[0, 0, 0] = 0.5
    np.testing.assert_array_equal(bank.layers[0].filters[0].kernels, expected)
    wait_for_outputs(qtbot, window, bank, sample())
    assert window.isWindowModified() and window.windowTitle().startswith("untitled[*]")


def test_undo_and_redo_actions_carry_the_platform_shortcuts_and_work(qtbot, window):
    assert window.menus.undo_action.shortcuts() == QKeySequence.keyBindings(
        QKeySequence.StandardKey.Undo
    )
    assert window.menus.redo_action.shortcuts() == QKeySequence.keyBindings(
        QKeySequence.StandardKey.Redo
    )
    original = window.controller.bank
    model = window.findChild(QAbstractItemView, "kernelGrid").model()
    model.setData(model.index(1, 1), 7.0, Qt.ItemDataRole.EditRole)
    edited = window.controller.bank
    window.menus.undo_action.trigger()
    assert window.controller.bank == original
    wait_for_outputs(qtbot, window, original, sample())
    window.menus.redo_action.trigger()
    assert window.controller.bank == edited


def test_open_and_save_banks_and_remember_them(qtbot, window, tmp_path):
    path = tmp_path / "line stack ümlaut.json"
    path.write_text(resource_path("banks", "line-stack.json").read_text(encoding="utf-8"), "utf-8")
    assert window.open_bank(path)
    bank = playground.load_bank(path)
    wait_for_outputs(qtbot, window, bank, sample())
    assert window.windowTitle().startswith(path.name)
    model = window.findChild(QAbstractItemView, "kernelGrid").model()
    model.setData(model.index(0, 0), 0.25, Qt.ItemDataRole.EditRole)
    assert window.isWindowModified()
    saved = tmp_path / "saved.json"
    assert window.controller.save_bank(saved)
    assert playground.load_bank(saved) == window.controller.bank
    assert not window.isWindowModified()
    assert [a.text() for a in window.menus.recent_menu.actions()] == [path.name]

    # the last bank comes back
    again = MainWindow(settings=make_settings(tmp_path), autosave_dir=tmp_path / "autosave")
    qtbot.addWidget(again)
    assert again.controller.bank == window.controller.bank
    assert not again.controller.document.dirty


def test_a_malformed_bank_file_leaves_the_bank_and_says_why(qtbot, window, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "filter-playground.bank", "version": 9, "layers": []}))
    before = window.controller.bank
    assert not window.open_bank(bad)
    assert window.controller.bank == before
    assert "bad.json" in window.statusBar().currentMessage()


def test_dropping_an_image_shows_it(qtbot, window, tmp_path):
    path = tmp_path / "bild ümlaut.png"
    image = np.zeros((60, 80, 3), np.uint8)
    image[:, 40:] = (0, 0, 255)  # BGR red on the right
    cv2.imencode(".png", image)[1].tofile(str(path))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(
        QPointF(100, 100),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.controller.sourceChanged, timeout=WAIT_MS):
        window.dropEvent(drop)
    rgb = read_image(path)
    assert rgb[0, 79].tolist() == [255, 0, 0]
    wait_for_outputs(qtbot, window, window.controller.bank, rgb)


def test_a_missing_image_is_reported_in_the_status_bar(qtbot, window, tmp_path):
    qtbot.waitUntil(lambda: "coffee.jpg" in window.controller.source_description, timeout=WAIT_MS)
    # Opened on the capture thread: the failure is reported when it comes, in one line.
    with qtbot.waitSignal(window.controller.sourceFailed, timeout=WAIT_MS):
        window.controller.open_image(tmp_path / "nope.png")
    assert "nope.png" in window.statusBar().currentMessage()
    assert "coffee.jpg" in window.controller.source_description


def test_pattern_menu_and_freeze(qtbot, window):
    action = next(a for a in window.menus.pattern_menu.actions() if a.text() == "Checkerboard")
    with qtbot.waitSignal(window.controller.sourceChanged, timeout=WAIT_MS) as changed:
        action.trigger()
    assert "Checkerboard" in changed.args[0] or "checkerboard" in changed.args[0]
    window.menus.pause_action.trigger()
    assert window.controller.paused
    window.menus.pause_action.trigger()
    assert not window.controller.paused


def test_feature_map_panes_one_per_filter_and_click_selects(qtbot, window):
    bank = window.controller.bank
    for i, f in enumerate(bank.layers[0].filters):
        assert f.name in window.pane_grid.pane(0, i).title()
    with qtbot.waitSignal(window.controller.selectionChanged, timeout=WAIT_MS):
        window.pane_grid.paneClicked.emit(0, 2)
    assert window.controller.selection == (0, 2, 0)
    shown = window.kernel_editor.grid.model().kernel()
    np.testing.assert_array_equal(shown, bank.layers[0].filters[2].kernels[0])


def test_story_panes_show_partial_maps_that_sum_to_the_filter(qtbot, window):
    window.controller.select(0, 3, 0)  # 'red sobel-x': kernels on R only
    qtbot.waitUntil(
        lambda: (
            shows_current_bank(window)
            and window.controller.last_result.story is not None
            and window.controller.last_result.story.filter == 3
        ),
        timeout=WAIT_MS,
    )
    story = window.controller.last_result.story
    _, partials = reference.run(window.controller.bank.to_dict(), sample())
    full = np.stack([p.full for p in story.partials])
    np.testing.assert_allclose(full, partials[0][3], rtol=1e-4, atol=1e-4)
    assert np.abs(full[1]).max() == 0 and np.abs(full[2]).max() == 0
    assert len(window.story.panes()) == 6  # R + G + B = sum -> + bias -> activation
    # each partial map carries its kernel: the kernel times the channel is that map
    icons = [pane.titleIcon() for pane in window.story.panes()[:3]]
    assert all(icon is not None and not icon.isNull() for icon in icons)
    red = icons[0].toImage()
    assert red.pixelColor(2, 16) != red.pixelColor(29, 16)  # sobel-x: blue left, red right


def test_export_panes_as_png_with_the_bank_inside(qtbot, window, tmp_path):
    path = tmp_path / "maps.png"
    assert window.export_png(path)
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 400
    # the snapshot reopens as the bank that made it
    assert playground.load_bank(path) == window.controller.bank
    assert window.open_bank(path)
    assert window.controller.bank == playground.load_bank(resource_path("banks", "edges-rgb.json"))


def test_quit_with_unsaved_changes_asks_first(qtbot, window, monkeypatch):
    model = window.findChild(QAbstractItemView, "kernelGrid").model()
    model.setData(model.index(0, 0), 3.0, Qt.ItemDataRole.EditRole)
    answers = []

    def ask(*args, **kwargs):
        answers.append(args[1])
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", ask)
    window.close()
    assert answers == ["Unsaved changes"] and window.isVisible()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    window.close()
    assert not window.isVisible()


def test_bank_panel_add_filter_adds_a_pane_and_a_map(qtbot, window):
    from PySide6.QtWidgets import QToolButton

    before = window.controller.bank.layers[0].out_channels
    window.bank_panel.findChild(QToolButton, "addFilter").click()
    bank = window.controller.bank
    assert window.controller.document.undo_label() == "Add filter"
    assert window.controller.selection[:2] == (0, before)  # the new filter is selected
    assert bank.layers[0].out_channels == before + 1
    wait_for_outputs(qtbot, window, bank, sample())
    assert window.controller.outputs()[0].shape[0] == before + 1
    assert window.pane_grid.pane(0, before).isVisibleTo(window)


def test_the_self_test_opens_the_real_window_and_checks_its_feature_map(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "playground", "--self-test"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("self-test passed: Pattern: vertical line")
    assert "[0.0, 0.0, 3.0, 3.0, 0.0, 0.0]" in done.stdout
    assert not list(tmp_path.rglob("*.ini"))  # it leaves the user's settings alone


def test_clicking_layer_rows_in_the_bank_tree(qtbot, window):
    assert window.open_bank(resource_path("banks", "line-stack.json"))
    tree = window.bank_panel.findChild(QTreeWidget)
    layers = [tree.topLevelItem(n) for n in range(tree.topLevelItemCount())]
    assert len(layers) == 3

    tree.setCurrentItem(layers[2])  # a conv layer row: its first filter is edited
    assert window.controller.selection == (2, 0, 0)
    assert tree.currentItem() is layers[2]  # the layer row (and its settings) stay in view
    assert window.kernel_dock.isEnabled()
    np.testing.assert_array_equal(
        window.kernel_editor.grid.model().kernel(),
        window.controller.bank.layers[2].filters[0].kernels[0],
    )

    tree.setCurrentItem(layers[1])  # the pool layer has no kernel to edit
    assert window.controller.selection == (1, -1, -1)
    assert tree.currentItem() is layers[1]
    assert not window.kernel_dock.isEnabled()

    window.pane_grid.paneClicked.emit(0, 1)  # a pane click moves the tree to that filter
    assert tree.currentItem() is layers[0].child(1)
    assert window.kernel_dock.isEnabled()


def test_layer_titles_follow_the_source_size(qtbot, window):
    assert window.pane_grid.pane(0, 0).isVisible()
    wait_for_outputs(qtbot, window, window.controller.bank, sample())
    h, w = sample().shape[:2]
    assert f"{h} × {w}" in window.pane_grid.sectionTitle(0)
    with qtbot.waitSignal(window.controller.sourceChanged, timeout=WAIT_MS):
        window.controller.open_pattern("checkerboard")  # 640 x 480
    qtbot.waitUntil(lambda: "480 × 640" in window.pane_grid.sectionTitle(0), timeout=WAIT_MS)


def test_a_camera_unplugged_mid_stream_can_be_retried(qtbot, window, monkeypatch):
    import playground.sources.camera as camera

    plugged = [True]
    frame = np.full((48, 64, 3), 90, np.uint8)

    class FlakyCamera:
        """Gives a few frames, then fails as an unplugged camera does, until plugged back."""

        live, fps = True, 100.0

        def __init__(self, index, size=None):
            if not plugged[0]:
                raise camera.SourceError(f"camera {index} could not be opened")
            self.description = f"Camera {index}"
            self.reads = 0

        def read(self):
            self.reads += 1
            if self.reads > 3:
                plugged[0] = False
                raise camera.SourceError("camera 0 stopped sending frames (unplugged?)")
            return frame

        def close(self):
            pass

    monkeypatch.setattr(camera, "CameraSource", FlakyCamera)
    with qtbot.waitSignal(window.controller.sourceFailed, timeout=WAIT_MS):
        window.controller.open_camera(0)
    assert "unplugged" in window.statusBar().currentMessage()
    assert "Retry source" in window.statusBar().currentMessage()
    wait_for_outputs(qtbot, window, window.controller.bank, frame)  # the last frame stays

    with qtbot.waitSignal(window.controller.sourceFailed, timeout=WAIT_MS) as failed:
        window.menus.retry_action.trigger()  # still unplugged
    assert "could not be opened" in failed.args[0]

    plugged[0] = True
    with qtbot.waitSignal(window.controller.sourceChanged, timeout=WAIT_MS) as changed:
        window.menus.retry_action.trigger()
    assert changed.args == ["Camera 0"]


def test_a_bank_that_shrinks_the_source_to_nothing_says_so_on_its_panes(qtbot, window):
    from playground.engine import editing

    with qtbot.waitSignal(window.controller.sourceChanged, timeout=WAIT_MS):
        window.controller.open_pattern("vertical-line")  # the 8x8 image
    huge = editing.resize_filter(window.controller.bank, 0, 0, 15, 15)
    huge = editing.set_layer_settings(huge, 0, padding="valid")
    window.controller.set_bank(huge, "too big for 8x8")
    pane = window.pane_grid.pane(0, 0)
    qtbot.waitUntil(lambda: "nothing" in pane.message(), timeout=WAIT_MS)
    assert "layer 1" in pane.message()
    assert window.controller.outputs() == []
    window.menus.undo_action.trigger()  # and the window is still usable
    qtbot.waitUntil(lambda: pane.message() == "", timeout=WAIT_MS)


def test_clicking_a_feature_map_pixel_probes_it(qtbot, window):
    bank = window.controller.bank
    wait_for_outputs(qtbot, window, bank, sample())
    pane = window.pane_grid.pane(0, 1)
    view = pane.graphicsView()
    qtbot.waitUntil(lambda: view.width() > 50, timeout=WAIT_MS)
    with qtbot.waitSignal(window.pane_grid.pixelClicked, timeout=WAIT_MS) as clicked:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.rect().center())
    layer, index, x, y = clicked.args
    assert (layer, index) == (0, 1)
    h, w = sample().shape[:2]
    assert abs(x - w / 2) < w * 0.1 and abs(y - h / 2) < h * 0.1  # the middle of the map
    probe = window.probe_panel.probe()
    assert probe is not None and (probe.x, probe.y) == (x, y)
    assert probe.value == pytest.approx(float(window.controller.outputs()[0][1][y, x]), abs=1e-5)
    assert "sobel-y" in window.probe_panel.headerText()
    text = window.probe_panel.bodyText()
    assert "R" in text and "bias" in text and "the value in the pane" in text
    # the footprint (3x3 around the pixel) is outlined on the source, the pixel on its pane
    assert window.source_pane.marker() == QRectF(x - 1, y - 1, 3, 3)
    assert pane.marker() == QRectF(x, y, 1, 1)


def test_probing_layer_two_reads_layer_ones_maps_and_outlines_them(qtbot, window):
    assert window.open_bank(resource_path("banks", "line-stack.json"))
    bank = window.controller.bank
    wait_for_outputs(qtbot, window, bank, sample())
    window.probe_at(2, 0, 40, 30)  # layer 3 reads the max pool's two maps
    probe = window.probe_panel.probe()
    assert len(probe.channels) == 2
    assert probe.value == pytest.approx(float(window.controller.outputs()[2][0][30, 40]), abs=1e-5)
    assert window.pane_grid.pane(1, 0).marker() == QRectF(39, 29, 3, 3)
    assert window.source_pane.marker() is None
    window.probe_at(1, 1, 10, 5)  # a max pool names the input that won
    pool = window.probe_panel.probe()
    assert pool.kind == "pool" and "won" in window.probe_panel.bodyText()
    maps = window.controller.outputs()[0][1]
    assert pool.value == pytest.approx(float(maps[pool.winner]), abs=1e-6)


def test_pin_a_map_edit_the_filter_and_compare(qtbot, window):
    bank = window.controller.bank
    wait_for_outputs(qtbot, window, bank, sample())
    window.controller.select(0, 1, 0)
    before = window.controller.outputs()[0][1].copy()
    window.menus.pin_action.trigger()
    assert window.compare_dock.isVisible() and window.compare_panel.target() == (0, 1)
    assert np.abs(window.compare_panel.difference()).max() == 0

    model = window.findChild(QAbstractItemView, "kernelGrid").model()
    model.setData(model.index(0, 0), 2.0, Qt.ItemDataRole.EditRole)
    edited = window.controller.bank
    wait_for_outputs(qtbot, window, edited, sample())
    after = window.controller.outputs()[0][1]
    np.testing.assert_allclose(window.compare_panel.difference(), after - before, atol=1e-6)
    assert np.abs(window.compare_panel.difference()).max() > 0

    from playground.engine import editing

    window.controller.set_bank(editing.set_layer_settings(edited, 0, stride=2), "stride 2")
    qtbot.waitUntil(lambda: window.compare_panel.difference() is None, timeout=WAIT_MS)
    assert "sizes differ" in window.compare_panel.diff_pane.message()
    window.menus.unpin_action.trigger()
    assert window.compare_panel.target() is None


def test_with_the_frame_frozen_the_probe_follows_the_mouse(qtbot, window):
    wait_for_outputs(qtbot, window, window.controller.bank, sample())
    window.pane_grid.pixelHovered.emit(0, 2, 11, 7)
    assert window.probe_panel.probe() is None  # live: hovering does not probe
    window.menus.pause_action.trigger()
    window.pane_grid.pixelHovered.emit(0, 2, 11, 7)
    probe = window.probe_panel.probe()
    assert (probe.x, probe.y) == (11, 7)
    assert probe.value == pytest.approx(float(window.controller.outputs()[0][2][7, 11]), abs=1e-5)


@pytest.mark.parametrize(
    ("name", "row"),
    [("vertical-line", [0, 0, 3, 3, 0, 0]), ("bump-1d", [0, 0, 1, 1, 0, 0])],
)
def test_a_lesson_loads_its_source_bank_and_caption(qtbot, window, name, row):
    from playground import lessons

    lesson = lessons.get(name)
    action = next(a for a in window.menus.lessons_menu.actions() if a.text() == lesson.title)
    action.trigger()
    assert window.controller.bank == lesson.load_bank()
    qtbot.waitUntil(
        lambda: shows_current_bank(window) and window.controller.outputs()[0].shape[2] == len(row),
        timeout=WAIT_MS,
    )
    maps = window.controller.outputs()[0][0]
    assert all(r.tolist() == row for r in maps)
    assert window.lesson_banner.isVisible()
    assert lesson.caption.splitlines()[1][:30] in window.lesson_banner.text()
    window.open_bank(resource_path("banks", "edges-rgb.json"))
    assert not window.lesson_banner.isVisible()


def test_the_kernel_analysis_follows_the_selected_kernel(qtbot, window):
    panel = window.analysis_panel
    assert window.analysis_dock.isVisible()
    assert panel.separabilityText().startswith("separable")  # sobel-x, R
    assert panel.symmetryText().startswith("odd")
    model = window.findChild(QAbstractItemView, "kernelGrid").model()
    model.setData(model.index(0, 0), 5.0, Qt.ItemDataRole.EditRole)  # breaks rank 1
    assert panel.separabilityText().startswith(("not separable", "near-separable"))
    assert window.open_bank(resource_path("banks", "line-stack.json"))
    window.controller.select(1, 0, 0)  # the pool layer
    assert "pool layer has no kernel" in panel.messageText()


def test_recording_the_panes_writes_a_video(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.controller.sourceChanged, timeout=WAIT_MS):
        window.controller.open_pattern("moving-bars")
    path = tmp_path / "maps ümlaut.avi"
    assert window.start_recording(path)
    assert window.menus.record_action.isChecked()
    recorder = window._recorder
    qtbot.waitUntil(lambda: recorder.pictures >= 5, timeout=WAIT_MS)
    frames = window.stop_recording()
    # The video's length follows the clock, not the pictures (tests/controller/test_recorder.py
    # checks it on a fake clock): pictures above 30 a second share a frame slot.
    assert frames >= 1 and not window.menus.record_action.isChecked()
    assert window.statusBar().currentMessage().startswith("Recorded ")
    video = cv2.VideoCapture(str(path))
    count = 0
    while True:
        ok, frame = video.read()
        if not ok:
            break
        count += 1
        height, width = frame.shape[:2]
    video.release()
    assert count == frames
    size = window._splitter.size() * window.devicePixelRatioF()
    assert (width, height) == (size.width() // 2 * 2, size.height() // 2 * 2)


def test_learning_a_kernel_recovers_another_filters_kernel(qtbot, window):
    from playground.engine import editing

    linear = editing.set_layer_settings(window.controller.bank, 0, activation="none")
    window.controller.set_bank(linear, "linear")
    wait_for_outputs(qtbot, window, linear, sample())
    window.controller.select(0, 0, 0)
    dialog = window.open_learn_dialog()
    qtbot.addWidget(dialog)
    index = dialog.target_box.findText("the map of sobel-y")
    assert index > 0
    dialog.target_box.setCurrentIndex(index)
    assert dialog.fit()
    qtbot.waitUntil(lambda: not dialog.isLearning(), timeout=WAIT_MS)  # it fits on a thread
    learned = window.controller.bank.layers[0].filters[0]
    target = linear.layers[0].filters[1]
    np.testing.assert_allclose(learned.kernels, target.kernels, atol=1e-3)
    assert learned.name == "sobel-x"  # the filter keeps its name; undo brings the old one back
    window.menus.undo_action.trigger()
    assert window.controller.bank == linear

    assert dialog.descend()
    qtbot.waitUntil(lambda: not dialog.isLearning(), timeout=WAIT_MS)
    losses = dialog.losses
    assert all(b < a for a, b in itertools.pairwise(losses))  # it learns at every step
    assert losses[-1] < losses[0] / 2
    assert window.controller.document.can_undo()
    window.menus.undo_action.trigger()  # the whole descent is one undo step
    assert window.controller.bank == linear


def test_importing_trained_weights_asks_what_the_file_cannot_tell(
    qtbot, window, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QInputDialog

    rng = np.random.default_rng(4)
    keras = rng.standard_normal((3, 3, 3, 3)).astype(np.float32)  # (kh, kw, C_in, C_out)
    other = rng.standard_normal((8, 3, 5, 5)).astype(np.float32)
    np.savez(tmp_path / "model.npz", first=keras, second=other)
    asked = []

    def get_item(parent, title, label, items, current, editable):
        asked.append(title)
        wanted = "first" if title == "Which weights" else "keras"
        return next(i for i in items if i.startswith(wanted)), True

    monkeypatch.setattr(QInputDialog, "getItem", get_item)
    assert window.import_weights_file(tmp_path / "model.npz")
    assert asked == ["Which weights", "Weight layout"]
    bank = window.controller.bank
    assert bank.input == "rgb" and bank.layers[0].out_channels == 3
    for o, f in enumerate(bank.layers[0].filters):
        np.testing.assert_array_equal(f.kernels, keras[:, :, :, o].transpose(2, 0, 1))
    assert window.controller.document.dirty  # an import is a new, unsaved bank
    wait_for_outputs(qtbot, window, bank, sample())


def test_exporting_weights_and_code(qtbot, window, tmp_path):
    bank = window.controller.bank
    assert window.export_weights_file(tmp_path / "w.npz", "torch")
    with np.load(tmp_path / "w.npz", allow_pickle=False) as saved:
        weight = saved["weight"]
    assert weight.shape == (4, 3, 3, 3)
    np.testing.assert_allclose(weight[2], bank.layers[0].filters[2].kernels, atol=1e-6)
    assert window.copy_snippet("numpy")
    from PySide6.QtWidgets import QApplication

    assert "def conv_layer" in QApplication.clipboard().text()


def test_a_pane_scrolled_off_screen_holds_no_older_frame_s_maps(qtbot, window):
    """Every pane's map is a view of its layer's output, so a pane that kept an old frame's
    map kept that frame's whole layer alive; off screen, a pane follows the newest result."""
    c = window.controller
    grid = window.pane_grid
    rng = np.random.default_rng(3)
    filters = tuple(Filter(rng.standard_normal((3, 3, 3)), 0.0, f"f{i}") for i in range(24))
    c.new_bank(Bank((ConvLayer(filters, padding="same"),)))
    for seed in (1, 2):
        frame = np.random.default_rng(seed).integers(0, 256, (90, 120, 3), dtype=np.uint8)
        c.open_source(StillSource(frame, f"frame {seed}"))
        qtbot.waitUntil(
            lambda f=frame: (
                c.last_result is not None
                and np.array_equal(c.last_result.frame, f)
                and c.last_result.generation == c.generation
            ),
            timeout=WAIT_MS,
        )
        if seed == 1:  # the first panes had frame 1's maps; now they go off screen
            assert grid.pane(0, 1)._full is not None
            bar = grid.verticalScrollBar()

            def scrolled_away(bar=bar) -> bool:
                # To the bottom, again while the grid's layout may still be growing it.
                bar.setValue(bar.maximum())
                return c.last_result.maps[0][1].display is None

            # The worker hears of it: the next result leaves filter 2's map unreduced.
            qtbot.waitUntil(scrolled_away, timeout=WAIT_MS)
    result = c.last_result
    # Filter 2's pane is off screen for frame 2 (filter 1's is the story's: always reduced).
    assert result.maps[0][1].display is None
    for i in range(24):
        full = grid.pane(0, i)._full
        assert full is None or np.shares_memory(full, result.outputs[0]), i
