"""Presets and Σ = 1 / Σ = 0 act on the whole filter; the DC gain is the filter's too.

The finding: choosing gaussian on an RGB sobel-x filter blurred R and left G and B as Sobel, and
the identity RGB filter (1/3 identity per channel) read "darkens flat areas".
"""

from __future__ import annotations

import numpy as np
import pytest

from playground import Bank, ConvLayer, Filter, presets
from playground.engine import editing
from playground.ui.analysis_panel import KernelAnalysisPanel
from tests.ui.test_main_window import WAIT_MS, shows_current_bank, window  # noqa: F401

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")

SOBEL_X = presets.kernel("sobel-x").astype(np.float64)


def rgb_filter_bank(kernels):
    return Bank((ConvLayer((Filter(np.asarray(kernels), name="f"),), padding="same"),))


def editor_on(window, qtbot, bank):  # noqa: F811
    window.controller.new_bank(bank)
    window.controller.select(0, 0, 0)
    qtbot.waitUntil(lambda: shows_current_bank(window), timeout=WAIT_MS)
    return window.kernel_editor


def preset_action(editor, name):
    (action,) = [a for a in editor.presetMenu.actions() if a.data() == name]
    return action


def kernels_of(window):  # noqa: F811
    return window.controller.bank.layers[0].filters[0].kernels


def test_a_preset_replaces_every_kernel_of_the_filter(window, qtbot):  # noqa: F811
    editor = editor_on(window, qtbot, rgb_filter_bank([SOBEL_X] * 3))
    preset_action(editor, "sobel-y").trigger()
    want = presets.kernel("sobel-y").astype(np.float64)
    for k in kernels_of(window):
        np.testing.assert_array_equal(k, want)
    window.controller.undo()
    np.testing.assert_array_equal(kernels_of(window), [SOBEL_X] * 3)


def test_this_channel_only_keeps_the_other_kernels(window, qtbot):  # noqa: F811
    editor = editor_on(window, qtbot, rgb_filter_bank([SOBEL_X] * 3))
    editor.buttons["channel-only"].setChecked(True)
    window.controller.select(0, 0, 1)
    preset_action(editor, "sobel-y").trigger()
    k = kernels_of(window)
    np.testing.assert_array_equal(k[1], presets.kernel("sobel-y"))
    np.testing.assert_array_equal(k[0], SOBEL_X)
    np.testing.assert_array_equal(k[2], SOBEL_X)


def test_normalise_scales_the_whole_filter_to_sum_one(window, qtbot):  # noqa: F811
    kernels = np.stack([np.full((3, 3), v) for v in (1.0, 2.0, 5.0)])
    editor = editor_on(window, qtbot, rgb_filter_bank(kernels))
    editor.buttons["normalise"].click()
    got = kernels_of(window)
    assert got.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(got, kernels / kernels.sum())  # one factor for all kernels
    assert editor.dcGainLabel.text() == "sum (DC gain): 0.125 · filter 1.000"


def test_zero_sum_makes_every_kernel_zero_sum(window, qtbot):  # noqa: F811
    rng = np.random.default_rng(2)
    kernels = rng.standard_normal((3, 3, 3))
    editor = editor_on(window, qtbot, rgb_filter_bank(kernels))
    editor.buttons["zero-sum"].click()
    got = kernels_of(window)
    for before, after in zip(kernels, got):
        np.testing.assert_allclose(after, before - before.mean())
        assert abs(after.sum()) < 1e-12


def test_rotating_a_filter_rotates_every_kernel_and_resizes_the_layer(window, qtbot):  # noqa: F811
    kernels = np.arange(3 * 3 * 5, dtype=float).reshape(3, 3, 5)
    editor = editor_on(window, qtbot, rgb_filter_bank(kernels))
    editor.buttons["rotate90"].click()
    got = kernels_of(window)
    assert got.shape == (3, 5, 3)
    for before, after in zip(kernels, got):
        np.testing.assert_array_equal(after, np.rot90(before))


def test_the_identity_rgb_filter_reads_as_keeping_flat_areas(qtbot):
    identity = np.zeros((3, 3, 3))
    identity[:, 1, 1] = 1 / 3
    panel = KernelAnalysisPanel()
    qtbot.addWidget(panel)
    panel.setKernel(identity[0], identity)
    text = panel.dcGainLabel.text()
    assert "darkens" not in text
    assert text == "filter DC gain 1.000 (keeps flat areas); this kernel 0.333"


def test_the_whole_filter_operations_refuse_what_the_bank_would():
    from playground import BankError
    from playground.engine import kernel_ops

    with pytest.raises(BankError, match="sum to 0"):
        kernel_ops.normalize_filter_sum(np.stack([SOBEL_X] * 3))
    bank = rgb_filter_bank([SOBEL_X] * 3)
    with pytest.raises(BankError, match=r"takes \(3, kh, kw\) kernels"):
        editing.set_kernels(bank, 0, 0, np.zeros((2, 3, 3)))
