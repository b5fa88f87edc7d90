"""File > Export selected map: the full-resolution map, written off the GUI thread, whole or
not at all."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from playground import Bank, ConvLayer, Filter
from playground.sources.still import StillSource
from tests.engine import reference

WAIT_MS = 15_000

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture
def shown(fresh_window, qtbot):
    """The window on a 2000x1200 random frame (reduced for display) through a signed filter;
    its map as the float64 reference computes it."""
    window = fresh_window
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (1200, 2000, 3), dtype=np.uint8)
    kernels = rng.normal(size=(3, 3, 3))
    bank = Bank((ConvLayer((Filter(kernels, 0.1, "signed"),), padding="same"),))
    window.controller.new_bank(bank)
    window.controller.open_source(StillSource(image, "big"))

    def ready():
        r = window.controller.last_result
        return (
            r is not None
            and r.generation == window.controller.generation
            and r.frame.shape == image.shape
            and bool(window.controller.outputs())
        )

    qtbot.waitUntil(ready, timeout=WAIT_MS)
    return window, reference.run(bank.to_dict(), image)[0][0][0]


def _export(window, qtbot, path):
    with qtbot.waitSignal(window.controller.message, timeout=WAIT_MS) as said:
        assert window.export_map_file(path)
    return said.args[0]


def test_npy_and_tiff_hold_the_full_map_exactly(shown, qtbot, tmp_path):
    window, expected = shown
    engine = window.controller.outputs()[0][0]
    assert window.pane_grid.pane(0, 0).imageItem().image.shape[1] < 2000  # the pane's is reduced
    message = _export(window, qtbot, tmp_path / "map.npy")
    assert message.startswith("Exported the 2000×1200 map")
    saved = np.load(tmp_path / "map.npy", allow_pickle=False)
    assert saved.dtype == np.float32 and saved.shape == (1200, 2000)
    np.testing.assert_array_equal(saved, engine)
    np.testing.assert_allclose(saved, expected, rtol=1e-5, atol=1e-5)
    _export(window, qtbot, tmp_path / "map.tif")
    tiff = cv2.imread(str(tmp_path / "map.tif"), cv2.IMREAD_UNCHANGED)
    assert tiff.dtype == np.float32
    np.testing.assert_array_equal(tiff, engine)


def test_a_16_bit_png_spans_the_maps_range(shown, qtbot, tmp_path):
    window, expected = shown
    message = _export(window, qtbot, tmp_path / "map.png")
    png = cv2.imread(str(tmp_path / "map.png"), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint16 and png.shape == (1200, 2000)
    lo, hi = expected.min(), expected.max()
    assert png.min() == 0 and png.max() == 65535
    np.testing.assert_allclose(png, (expected - lo) / (hi - lo) * 65535, atol=1.01)
    assert f"0 = {lo:.4g}"[:8] in message


def test_a_failed_export_leaves_the_old_file_and_says_why(shown, qtbot, tmp_path):
    window, _ = shown
    message = _export(window, qtbot, tmp_path / "map.jpg")
    assert "use one of .npy, .png, .tif, .tiff" in message
    assert not (tmp_path / "map.jpg").exists()
    old = tmp_path / "old.npy"
    old.write_bytes(b"the user's file")
    message = _export(window, qtbot, tmp_path / "missing-folder" / "map.npy")
    assert "cannot save" in message
    assert old.read_bytes() == b"the user's file"
