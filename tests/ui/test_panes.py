"""Feature-map panes: levels, clipping, the fast image path, hover/click, menus, grid, story."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QContextMenuEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QMenu

from playground.controller.display import ShownMap, finite_range
from playground.ui.panes import ChannelStory, FeatureMapPane, PaneGrid

# The offscreen platform cannot pass a window's new minimum size on to a window system and says so
# whenever a shown top-level's layout changes its minimum size (adding panes, opening a dialog).
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _signed_map(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    wave = np.cos(2 * np.pi * xx / 17) * np.exp(-(((yy - h / 2) / (h / 3)) ** 2))
    return (1.7 * wave + 0.2 * rng.standard_normal((h, w))).astype(np.float32)


def _positive_map(h: int = 96, w: int = 128) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return (0.25 + xx / w + 0.5 * yy / h).astype(np.float32)


def _reduce4(full: np.ndarray) -> np.ndarray:
    """A 4x area-reduced display copy, as the controller would make."""
    h, w = full.shape[0] // 4, full.shape[1] // 4
    return np.ascontiguousarray(full[: h * 4, : w * 4].reshape(h, 4, w, 4).mean(axis=(1, 3)))


def _shown(full: np.ndarray, display: np.ndarray | None = None) -> ShownMap:
    """``full`` as the compute worker hands it to a pane (shown as it is without ``display``)."""
    value_range = (0.0, 255.0) if full.ndim == 3 else finite_range(full)
    return ShownMap(full if display is None else display, full, value_range)


@pytest.fixture
def pane(qtbot) -> FeatureMapPane:
    pane = FeatureMapPane("sobel x")
    qtbot.addWidget(pane)
    pane.resize(320, 260)
    pane.show()
    qtbot.waitExposed(pane)
    return pane


def _viewport_pos(pane: FeatureMapPane, x: int, y: int) -> QPoint:
    """Viewport position over the centre of full-resolution pixel (x, y)."""
    scene_point = pane.viewBox().mapViewToScene(QPointF(x + 0.5, y + 0.5))
    return pane.graphicsView().mapFromScene(scene_point)


def _action(menu: QMenu, text: str):
    matches = [a for a in menu.actions() if a.text().startswith(text)]
    assert len(matches) == 1, [a.text() for a in menu.actions()]
    return matches[0]


# ------------------------------------------------------------------------- levels and clipping


def test_auto_levels_are_min_max_of_full_map(pane):
    full = _positive_map()
    pane.setLevelsMode("auto")
    pane.setMap(_shown(full, _reduce4(full)))
    assert pane.levels() == pytest.approx((float(full.min()), float(full.max())))
    assert pane.clippedFraction() == 0.0
    assert pane.infoText() == f"min {full.min():.3g}  max {full.max():.3g}"


def test_symmetric_levels_are_plus_minus_max_abs(pane):
    full = _signed_map()
    pane.setLevelsMode("symmetric")
    pane.setMap(_shown(full, _reduce4(full)))
    m = float(np.abs(full).max())
    assert pane.levels() == pytest.approx((-m, m))
    assert pane.clippedFraction() == 0.0
    assert pane.badges()[0] == f"±{m:.3g}"


def test_fixed_levels_and_clipped_fraction_match_numpy(pane):
    # Counted on the display-size map, what the user sees: never a full-resolution pass per frame.
    full = _signed_map()
    display = _reduce4(full)
    pane.setLevelsMode("fixed", (-0.5, 1.0))
    pane.setMap(_shown(full, display))
    assert pane.levels() == (-0.5, 1.0)
    expected = float(np.mean((display < -0.5) | (display > 1.0)))
    assert expected > 0.05
    assert pane.clippedFraction() == pytest.approx(expected)
    assert pane.badges()[1] == f"clipped {expected * 100:.0f}%"


def test_small_clipping_shows_no_badge(pane):
    full = _positive_map()
    lo, hi = float(full.min()), float(np.quantile(full, 0.998))
    pane.setLevelsMode("fixed", (lo - 1, hi))
    pane.setMap(_shown(full))
    assert pane.clippedFraction() == pytest.approx(np.mean(full > hi))
    assert 0 < pane.clippedFraction() < 0.005
    assert pane.badges()[1] == ""


def test_fixed_levels_need_lo_below_hi(pane):
    with pytest.raises(ValueError, match="lo < hi"):
        pane.setLevelsMode("fixed", (1.0, 1.0))


def test_changing_levels_restyles_the_map_on_screen(pane):
    full = _signed_map()
    pane.setMap(_shown(full))
    pane.setLevelsMode("fixed", (-0.1, 0.1))
    assert tuple(pane.imageItem().levels) == (-0.1, 0.1)
    assert pane.clippedFraction() == pytest.approx(np.mean((full < -0.1) | (full > 0.1)))


# ------------------------------------------------------------------------------ the fast path


def test_image_item_gets_float32_c_contiguous_data_and_explicit_levels(pane, monkeypatch):
    item = pane.imageItem()

    def no_auto_levels(*args, **kwargs):
        raise AssertionError("pyqtgraph auto-levelled the image")

    monkeypatch.setattr(item, "quickMinMax", no_auto_levels)
    full = _signed_map().astype(np.float64)
    display = np.asfortranarray(_reduce4(full))  # wrong dtype and order: the pane converts
    for mode in ("auto", "symmetric"):
        pane.setLevelsMode(mode)
        pane.setMap(_shown(full, display))
        assert item.image.dtype == np.float32
        assert item.image.flags.c_contiguous
        assert item.image.shape == display.shape
        np.testing.assert_allclose(item.levels, pane.levels())
    QApplication.processEvents()  # a paint renders the QImage without auto-levelling
    assert item.qimage is not None


def _drawn(item) -> np.ndarray:
    """The (H, W, 3) colours of the image the item hands Qt to draw."""
    image = item.qimage.convertToFormat(item.qimage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()


@pytest.mark.parametrize("cmap", ["gray", "diverging"])
def test_a_map_is_drawn_in_the_colour_its_value_and_levels_give(pane, cmap):
    # Qt draws only 32-bit images without converting them on every paint, so the pane packs
    # the colours itself; they must be the colour map's entry for each value's level.
    full = _signed_map(40, 60)
    full[0, :5] = [-100.0, 100.0, np.inf, -np.inf, 0.0]  # clipped at both ends
    pane.setColorMap(cmap)
    pane.setLevelsMode("fixed", (-1.5, 2.0))
    pane.setMap(_shown(full))
    QApplication.processEvents()
    index = np.clip((full.astype(np.float64) + 1.5) * (255 / 3.5), 0, 255).astype(np.uint8)
    lut = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, 1)
    if cmap == "diverging":
        from playground.ui.style import diverging_lut

        lut = diverging_lut()
    item = pane.imageItem()
    assert item.qimage.format() == item.qimage.Format.Format_RGB32
    np.testing.assert_array_equal(_drawn(item), lut[index])


def test_nan_pixels_are_drawn_transparent_and_the_others_in_their_colour(pane):
    full = _positive_map(30, 40)
    full[3, 4] = np.nan
    pane.setColorMap("gray")
    pane.setLevelsMode("fixed", (0.0, 1.0))
    pane.setMap(_shown(full))
    QApplication.processEvents()
    image = pane.imageItem().qimage.convertToFormat(pane.imageItem().qimage.Format.Format_ARGB32)
    pixels = np.frombuffer(image.constBits(), np.uint32).reshape(30, 40)
    alpha, grey = pixels >> 24, pixels & 0xFF
    assert alpha[3, 4] == 0
    assert np.all(np.delete(alpha.ravel(), 3 * 40 + 4) == 255)
    # pyqtgraph's own path (maps with NaN) rounds a level where the packed path truncates.
    want = np.clip(np.nan_to_num(full.astype(np.float64)) * 255, 0, 255)
    got = np.delete(grey.ravel(), 3 * 40 + 4).astype(np.float64)
    np.testing.assert_allclose(got, np.delete(want, 3 * 40 + 4), atol=1.0)


def test_the_source_frame_is_drawn_in_its_own_colours(pane):
    frame = np.random.default_rng(3).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    pane.setMap(_shown(frame))
    QApplication.processEvents()
    np.testing.assert_array_equal(_drawn(pane.imageItem()), frame)


def test_image_is_placed_in_full_resolution_coordinates(pane):
    full = _signed_map(96, 128)
    pane.setMap(_shown(full, _reduce4(full)))
    rect = pane.imageItem().mapRectToParent(pane.imageItem().boundingRect())
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (0, 0, 128, 96)


def test_auto_style_follows_the_sign_until_the_user_chooses(pane):
    assert pane.autoStyle()
    pane.setMap(_shown(_positive_map()))
    assert (pane.colorMap(), pane.levelsMode()) == ("gray", "auto")
    pane.setMap(_shown(_signed_map()))
    assert (pane.colorMap(), pane.levelsMode()) == ("diverging", "symmetric")
    pane.setMap(_shown(_positive_map()))
    assert (pane.colorMap(), pane.levelsMode()) == ("gray", "auto")

    _action(pane.contextMenu(), "Diverging").trigger()
    assert not pane.autoStyle()
    pane.setMap(_shown(_positive_map()))
    assert pane.colorMap() == "diverging"
    assert pane.imageItem().lut is not None


# ------------------------------------------------------------------------------ mouse


@pytest.mark.parametrize(("x", "y"), [(0, 0), (37, 21), (127, 95), (66, 50)])
def test_hover_reports_full_resolution_pixel_and_value(pane, qtbot, x, y):
    full = _signed_map(96, 128)
    pane.setMap(_shown(full, _reduce4(full)))  # displayed at 32 x 24
    with qtbot.waitSignal(pane.hovered) as blocker:
        qtbot.mouseMove(pane.graphicsView().viewport(), _viewport_pos(pane, x, y))
    hx, hy, value = blocker.args
    assert (hx, hy) == (x, y)
    assert value == pytest.approx(float(full[y, x]))
    assert pane.infoText() == f"x {x}  y {y}  value {float(full[y, x]):.3g}"


def test_hover_readout_stays_live_and_copies(pane, qtbot):
    full = _signed_map(96, 128)
    pane.setMap(_shown(full))
    with qtbot.waitSignal(pane.hovered):
        qtbot.mouseMove(pane.graphicsView().viewport(), _viewport_pos(pane, 10, 20))
    new = full + 1.0
    pane.setMap(_shown(new))  # next frame, mouse still there
    assert pane.infoText() == f"x 10  y 20  value {float(new[20, 10]):.3g}"
    _action(pane.contextMenu(), "Copy value readout").trigger()
    assert QGuiApplication.clipboard().text() == pane.infoText()


def test_left_click_on_image_or_title_emits_clicked(pane, qtbot):
    pane.setMap(_shown(_signed_map()))
    with qtbot.waitSignal(pane.clicked):
        qtbot.mouseClick(
            pane.graphicsView().viewport(), Qt.MouseButton.LeftButton, pos=_viewport_pos(pane, 5, 5)
        )
    with qtbot.waitSignal(pane.clicked):
        qtbot.mouseClick(pane, Qt.MouseButton.LeftButton, pos=QPoint(20, 8))


def test_right_click_on_image_opens_the_pane_menu(pane, monkeypatch):
    pane.setMap(_shown(_signed_map()))
    menu = pane.contextMenu()
    popups = []
    # Recorded, not shown: an offscreen popup cannot grab the keyboard.
    monkeypatch.setattr(menu, "popup", popups.append)
    viewport = pane.graphicsView().viewport()
    pos = _viewport_pos(pane, 5, 5)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, viewport.mapToGlobal(pos))
    QApplication.sendEvent(viewport, event)
    assert popups == [viewport.mapToGlobal(pos)]


# ------------------------------------------------------------------------------ context menu


def test_menu_actions_change_colour_map_and_levels(pane):
    full = _signed_map()
    pane.setMap(_shown(full))
    menu = pane.contextMenu()
    grey, diverging = _action(menu, "Grey"), _action(menu, "Diverging")
    auto, symmetric = _action(menu, "Auto ("), _action(menu, "Symmetric around 0")
    assert diverging.isChecked() and symmetric.isChecked()  # the auto style's choice

    grey.trigger()
    assert pane.colorMap() == "gray" and grey.isChecked() and not diverging.isChecked()
    assert not pane.autoStyle()
    assert pane.imageItem().lut is None

    auto.trigger()
    assert pane.levelsMode() == "auto" and auto.isChecked()
    assert pane.levels() == pytest.approx((float(full.min()), float(full.max())))

    _action(menu, "Automatic colours").trigger()
    assert pane.autoStyle()
    assert pane.colorMap() == "diverging" and diverging.isChecked()


def test_fixed_levels_dialog(pane, qtbot):
    full = _signed_map()
    pane.setMap(_shown(full))
    fixed = _action(pane.contextMenu(), "Fixed")
    fixed.trigger()
    dialog = pane.findChild(QDialog)
    qtbot.waitUntil(dialog.isVisible)
    dialog.lo.setValue(-0.25)
    dialog.hi.setValue(0.75)
    dialog.accept()
    assert pane.levelsMode() == "fixed" and fixed.isChecked()
    assert pane.levels() == (-0.25, 0.75)
    assert pane.clippedFraction() == pytest.approx(np.mean((full < -0.25) | (full > 0.75)))
    assert not pane.autoStyle()

    pane.setLevelsMode("symmetric")
    fixed.trigger()
    dialog = next(d for d in pane.findChildren(QDialog) if d.isVisible())
    dialog.reject()
    assert pane.levelsMode() == "symmetric"
    assert _action(pane.contextMenu(), "Symmetric").isChecked()


# ------------------------------------------------------------------------------ rgb, message


def test_rgb_source_frame(pane, qtbot):
    rng = np.random.default_rng(1)
    full = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    display = np.ascontiguousarray(full[::2, ::2])
    pane.setMap(_shown(full, display))
    item = pane.imageItem()
    assert item.image.dtype == np.uint8 and item.image.shape == (60, 80, 3)
    assert item.levels is None  # bytes go to Qt as they are
    assert pane.infoText() == "160×120 RGB"
    with qtbot.waitSignal(pane.hovered) as blocker:
        qtbot.mouseMove(pane.graphicsView().viewport(), _viewport_pos(pane, 101, 33))
    r, g, b = (int(c) for c in full[33, 101])
    assert blocker.args[:2] == [101, 33]
    assert blocker.args[2] == pytest.approx((0.299 * r + 0.587 * g + 0.114 * b) / 255)
    assert pane.infoText() == f"x 101  y 33  rgb {r} {g} {b}"


def test_message_replaces_image_until_next_map(pane):
    pane.setMap(_shown(_signed_map()))
    text = "layer 3: output would be 0x0 — the stack shrinks the image to nothing"
    pane.setMessage(text)
    assert pane.message() == text
    assert not pane.imageItem().isVisible()
    assert not pane.graphicsView().isVisible()
    assert pane.infoText() == ""
    pane.setMap(_shown(_positive_map()))
    assert pane.message() == ""
    assert pane.imageItem().isVisible() and pane.graphicsView().isVisible()
    assert pane.infoText().startswith("min ")


def test_a_pane_knows_the_map_it_shows_and_no_other(pane):
    """The window skips drawing a map again only when it is the very one on screen."""
    full = _signed_map()
    shown = _shown(full)
    pane.setMap(shown)
    assert pane.shows(shown)
    assert pane.shows(ShownMap(shown.display, full, shown.value_range))  # carried over
    assert not pane.shows(_shown(full.copy()))  # another map of the same values
    assert not pane.shows(ShownMap(shown.display, full, shown.value_range, floor=1e-3))
    pane.setMessage("no map")
    assert not pane.shows(shown)
    pane.setMap(shown)
    pane.followMap(_positive_map())  # scrolled away: its picture is of an older map now
    assert not pane.shows(shown)


def test_rejects_maps_it_cannot_show(pane):
    with pytest.raises(ValueError):
        pane.setMap(_shown(np.zeros((4, 4, 2), np.uint8)))
    with pytest.raises(ValueError, match="setMessage"):
        empty = np.zeros((0, 5), np.float32)
        pane.setMap(ShownMap(empty, empty, (0.0, 0.0)))


# ------------------------------------------------------------------------------ PaneGrid


def _titles(n: int, prefix: str = "f") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


@pytest.fixture
def grid(qtbot) -> PaneGrid:
    grid = PaneGrid()
    qtbot.addWidget(grid)
    grid.resize(1000, 600)
    grid.show()
    qtbot.waitExposed(grid)
    return grid


def test_grid_sections_panes_and_reuse(grid):
    grid.setSections([("Layer 1", _titles(4)), ("Layer 2", _titles(2))])
    assert grid.sectionCount() == 2
    assert [grid.paneCount(0), grid.paneCount(1)] == [4, 2]
    assert [grid.pane(0, i).title() for i in range(4)] == _titles(4)
    ids = [id(grid.pane(layer, i)) for layer, n in ((0, 4), (1, 2)) for i in range(n)]

    grid.setSections([("Layer 1 renamed", _titles(4, "g")), ("Layer 2", _titles(2, "h"))])
    assert [id(grid.pane(layer, i)) for layer, n in ((0, 4), (1, 2)) for i in range(n)] == ids
    assert grid.pane(0, 3).title() == "g3" and grid.pane(1, 0).title() == "h0"

    grid.setSections([("Layer 1", _titles(6))])
    assert grid.sectionCount() == 1 and grid.paneCount(0) == 6
    assert [id(grid.pane(0, i)) for i in range(4)] == ids[:4]
    with pytest.raises(IndexError):
        grid.pane(1, 0)


def test_grid_click_carries_layer_and_index(grid, qtbot):
    grid.setSections([("Layer 1", _titles(3)), ("Layer 2", _titles(5))])
    target = grid.pane(1, 4)
    grid.ensureWidgetVisible(target)
    with qtbot.waitSignal(grid.paneClicked) as blocker:
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=QPoint(20, 8))
    assert blocker.args == [1, 4]


def test_grid_selection_highlights_exactly_one(grid):
    grid.setSections([("Layer 1", _titles(3)), ("Layer 2", _titles(5))])

    def selected():
        return [
            (layer, i)
            for layer in range(grid.sectionCount())
            for i in range(grid.paneCount(layer))
            if grid.pane(layer, i).isSelected()
        ]

    grid.setSelected(0, 2)
    assert selected() == [(0, 2)]
    grid.setSelected(1, 3)
    assert selected() == [(1, 3)] and grid.selected() == (1, 3)
    grid.setSections([("Layer 1", _titles(3)), ("Layer 2", _titles(2))])  # (1, 3) is gone
    assert selected() == [] and grid.selected() is None
    grid.setSelected(1, 1)
    grid.setSelected(-1, -1)
    assert selected() == []


def test_grid_reflows_columns_with_width(grid, qtbot):
    grid.setSections([("Layer 1", _titles(8))])
    qtbot.waitUntil(lambda: grid.columns() == 5)  # (1000 - 16 + 6) // (180 + 6)
    grid.resize(500, 600)
    qtbot.waitUntil(lambda: grid.columns() == 2)

    def two_per_row():
        y = [grid.pane(0, i).pos().y() for i in range(4)]
        x = [grid.pane(0, i).pos().x() for i in range(4)]
        return y[0] == y[1] < y[2] == y[3] and x[0] == x[2] < x[1] == x[3]

    qtbot.waitUntil(two_per_row)


def test_grid_visible_panes_follow_scrolling(grid, qtbot):
    grid.setSections([("Layer 1", _titles(64))])
    qtbot.waitUntil(lambda: grid.verticalScrollBar().maximum() > 0)
    first = grid.visiblePanes()
    assert (0, 0) in first and (0, 63) not in first
    assert 0 < len(first) < 64
    grid.verticalScrollBar().setValue(grid.verticalScrollBar().maximum())
    qtbot.waitUntil(lambda: (0, 63) in grid.visiblePanes())
    assert (0, 0) not in grid.visiblePanes()


def test_grid_with_64_panes_is_created_and_fed(grid):
    start = time.perf_counter()
    grid.setSections([("Layer 1 · conv 3×3 · 64 filters", _titles(64))])
    created = time.perf_counter() - start
    full = _signed_map()
    for i in range(64):
        grid.pane(0, i).setMap(_shown(full, _reduce4(full)))
    QApplication.processEvents()
    assert grid.paneCount(0) == 64
    print(f"created 64 panes in {created * 1000:.0f} ms")


# ------------------------------------------------------------------------------ ChannelStory


@pytest.fixture
def story(qtbot) -> ChannelStory:
    story = ChannelStory()
    qtbot.addWidget(story)
    story.resize(1100, 300)
    story.show()
    qtbot.waitExposed(story)
    return story


def test_story_redraws_the_kernel_icons_whose_kernel_or_scale_changed(story):
    kernels = np.stack([np.eye(3), 2 * np.eye(3), -np.eye(3)])
    story.setStory("f", ["R", "G", "B"], 0.0, "relu", kernels)
    before = [pane.titleIcon() for pane in story.panes()[:3]]
    kernels[1, 0, 2] = 1.0  # below max |w|: only G's kernel changes
    story.setStory("f", ["R", "G", "B"], 0.0, "relu", kernels)
    after = [pane.titleIcon() for pane in story.panes()[:3]]
    assert after[0] is before[0] and after[2] is before[2] and after[1] is not before[1]
    kernels[0, 0, 0] = 4.0  # the new max |w|: every icon pales
    story.setStory("f", ["R", "G", "B"], 0.0, "relu", kernels)
    assert all(a is not b for a, b in zip((pane.titleIcon() for pane in story.panes()), after))
    story.setStory("f", ["R", "G", "B"], 0.0, "relu")  # no kernels: no icons
    assert all(pane.titleIcon() is None for pane in story.panes()[:3])


def test_story_layout_and_shared_levels(story):
    story.setStory("gabor 0°", ["R", "G", "B"], -0.1, "relu")
    panes = story.panes()
    assert len(panes) == 6
    assert [p.title() for p in panes] == [
        "R · partial",
        "G · partial",
        "B · partial",
        "sum",
        "+ bias -0.1",
        "relu",
    ]
    base = _signed_map()
    partials_full = [0.6 * base, 0.3 * base + 0.2, 0.05 * base]
    total_full = partials_full[0] + partials_full[1] + partials_full[2]
    biased_full = total_full - 0.1
    activated_full = np.maximum(biased_full, 0)
    story.setMaps(
        [_shown(p, _reduce4(p)) for p in partials_full],
        _shown(total_full, _reduce4(total_full)),
        _shown(biased_full, _reduce4(biased_full)),
        _shown(activated_full, _reduce4(activated_full)),
    )
    m = max(float(np.abs(a).max()) for a in [*partials_full, total_full])
    assert story.sharedLevels() == pytest.approx((-m, m))
    for pane in panes[:4]:
        assert pane.levels() == pytest.approx((-m, m))
        assert pane.colorMap() == "diverging"
        assert pane.clippedFraction() == 0.0
    # +bias and activation keep their own automatic style
    bmax = float(np.abs(biased_full).max())
    assert panes[4].levels() == pytest.approx((-bmax, bmax))
    assert (panes[5].colorMap(), panes[5].levelsMode()) == ("gray", "auto")
    assert panes[5].levels() == pytest.approx((0.0, float(activated_full.max())))


def test_story_with_many_channels_shows_five_and_a_more_label(story):
    names = [f"ch{i}" for i in range(10)]
    story.setStory("deep filter", names, 0.0, "none")
    assert len(story.panes()) == 5 + 3
    assert story.moreLabel() is not None and story.moreLabel().text() == "… 5 more"
    maps = [_signed_map(seed=i) * (i + 1) for i in range(10)]
    total = np.sum(maps, axis=0)
    story.setMaps([_shown(m) for m in maps], _shown(total), _shown(total), _shown(total))
    m = max(float(np.abs(a).max()) for a in [*maps, total])
    assert story.panes()[0].levels() == pytest.approx((-m, m))

    sum_pane = story.panes()[5]
    story.setStory("rgb filter", ["R", "G", "B"], 0.5, "relu")
    assert len(story.panes()) == 6 and story.moreLabel() is None
    assert story.panes()[3] is sum_pane
    with pytest.raises(ValueError):
        story.setMaps([_shown(m) for m in maps], _shown(total), _shown(total), _shown(total))
