"""Zoom and pan in a feature-map pane: the pixel under the mouse is the pixel probed and the
pixel drawn there, at any zoom; numbers appear in cells large enough to hold them."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from playground.controller.display import ShownMap, finite_range, reduce_for_display
from playground.ui.panes import FeatureMapPane

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _ramp(h: int, w: int) -> np.ndarray:
    """Every pixel a different grey step from its neighbours: (7x + 13y) mod 256, over 255."""
    yy, xx = np.mgrid[0:h, 0:w]
    return (((7 * xx + 13 * yy) % 256) / 255.0).astype(np.float32)


def _shown(full: np.ndarray, display_size: tuple[int, int] | None = None) -> ShownMap:
    display = full if display_size is None else reduce_for_display(full, display_size)
    return ShownMap(display, full, finite_range(full))


@pytest.fixture
def pane(qtbot) -> FeatureMapPane:
    pane = FeatureMapPane("zoom")
    qtbot.addWidget(pane)
    pane.resize(360, 300)
    pane.show()
    qtbot.waitExposed(pane)
    return pane


def _screen_pos(pane: FeatureMapPane, x: float, y: float) -> QPoint:
    """Viewport position of map point (x, y), worked out from the view's range alone: the
    visible rectangle spans the view box linearly."""
    rect = pane.viewBox().viewRect()
    box = pane.viewBox().sceneBoundingRect()
    sx = box.left() + (x - rect.left()) / rect.width() * box.width()
    sy = box.top() + (y - rect.top()) / rect.height() * box.height()
    return pane.graphicsView().mapFromScene(QPointF(sx, sy))


def _grey_drawn_at(pane: FeatureMapPane, pos: QPoint) -> int:
    image = pane.graphicsView().viewport().grab().toImage()
    return image.pixelColor(pos).red()


def _wheel(pane: FeatureMapPane, pos: QPoint, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """One wheel notch away from the user (zoom in) at viewport position ``pos``."""
    viewport = pane.graphicsView().viewport()
    event = QWheelEvent(
        QPointF(pos),
        QPointF(viewport.mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, event)


@pytest.mark.parametrize("scale", [24.0, 57.0, 110.0])
def test_a_click_when_zoomed_in_probes_the_pixel_drawn_under_it(pane, qtbot, scale):
    full = _ramp(480, 640)
    # The worker's reduced copy: a screen-size picture whose pixels are 4x4 blocks of means.
    pane.setMap(_shown(full, (160, 120)))
    pane.zoomTo(scale, QPointF(300.5, 200.5))
    assert pane.isZoomed()
    assert pane.zoomScale() == pytest.approx(scale, rel=1e-6)
    for x, y in [(300, 200), (301, 200), (299, 200), (300, 201)]:
        pos = _screen_pos(pane, x + 0.5, y + 0.5)
        with qtbot.waitSignal(pane.pixelClicked) as clicked:
            qtbot.mouseClick(pane.graphicsView().viewport(), Qt.MouseButton.LeftButton, pos=pos)
        assert clicked.args == [x, y]
        # What is drawn there is that full-resolution pixel, not a block mean of its neighbours
        # (read near the cell's corner: its number is written in the middle).
        corner = _screen_pos(pane, x + 0.15, y + 0.15)
        assert abs(_grey_drawn_at(pane, corner) - round(float(full[y, x]) * 255)) <= 1


def test_wheel_zooms_about_the_mouse_and_double_click_fits(pane, qtbot):
    full = _ramp(96, 128)
    pane.setMap(_shown(full))
    fit = pane.zoomScale()
    viewport = pane.graphicsView().viewport()
    pos = _screen_pos(pane, 40.5, 30.5)
    for _ in range(4):
        _wheel(pane, pos)
    assert pane.zoomScale() == pytest.approx(fit * 1.25**4, rel=1e-3)
    # The point under the mouse stayed under it.
    with qtbot.waitSignal(pane.pixelClicked) as clicked:
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pos)
    assert clicked.args == [40, 30]
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=pos)
    assert not pane.isZoomed()
    assert pane.zoomScale() == pytest.approx(fit)


def test_grid_panes_leave_the_plain_wheel_to_the_scroll_bar(pane):
    pane.setWheelZoomNeedsCtrl(True)
    pane.setMap(_shown(_ramp(96, 128)))
    fit = pane.zoomScale()
    viewport = pane.graphicsView().viewport()
    pos = viewport.rect().center()

    _wheel(pane, pos)
    assert pane.zoomScale() == pytest.approx(fit)
    _wheel(pane, pos, Qt.KeyboardModifier.ControlModifier)
    assert pane.zoomScale() == pytest.approx(fit * 1.25)


def test_drag_pans_a_zoomed_pane_without_probing(pane, qtbot):
    full = _ramp(96, 128)
    pane.setMap(_shown(full))
    pane.zoomTo(20.0, QPointF(64, 48))
    viewport = pane.graphicsView().viewport()
    start = viewport.rect().center()
    clicks = []
    pane.pixelClicked.connect(lambda x, y: clicks.append((x, y)))
    left = pane.viewBox().viewRect().left()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, start + QPoint(60, 0))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(60, 0))
    # 60 screen pixels right at 20 per map pixel: the map moved 3 pixels right under the mouse.
    assert pane.viewBox().viewRect().left() == pytest.approx(left - 3.0)
    assert clicks == []


def test_zoom_stays_on_the_map_and_a_new_size_fits_again(pane):
    pane.setMap(_shown(_ramp(96, 128)))
    pane.zoomTo(30.0, QPointF(-500, -500))
    centre = pane.viewBox().viewRect().center()
    assert (centre.x(), centre.y()) == pytest.approx((0.0, 0.0), abs=1e-9)
    pane.zoomBy(0.001)
    assert not pane.isZoomed()
    pane.zoomTo(30.0, QPointF(64, 48))
    pane.setMap(_shown(_ramp(96, 128)))  # the next frame keeps the zoom
    assert pane.isZoomed()
    pane.setMap(_shown(_ramp(40, 50)))
    assert not pane.isZoomed()


def test_a_small_map_shows_every_value_in_its_cell(pane):
    # The lessons' 1x8 bump and 6x6 line maps: cells 40 screen pixels wide carry numbers.
    bump = np.array([[0, 0, 1, 1, 0, 0]], np.float32)
    pane.setMap(_shown(bump))
    assert pane.numbersShown()
    big = _ramp(480, 640)
    pane.setMap(_shown(big, (160, 120)))
    assert not pane.numbersShown()  # 0.5 screen pixels a cell: no room for digits
    pane.zoomTo(30.0, QPointF(10, 10))
    assert pane.numbersShown()
