"""The learn dialog: it learns off the GUI thread, stops, survives the bank changing under it,
and does not pile up when opened again and again."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QApplication

from playground.engine import editing, learn
from playground.ui import MainWindow
from playground.ui.learn_dialog import LearnDialog
from tests.ui.test_main_window import make_settings, shows_current_bank

WAIT_MS = 15_000

# The offscreen platform can neither size nor raise native windows; the app is not at fault.
pytestmark = pytest.mark.qt_log_ignore(
    "does not support propagateSizeHints", "does not support raise"
)


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(settings=make_settings(tmp_path), autosave_dir=tmp_path / "autosave")
    qtbot.addWidget(
        w, before_close_func=lambda w: w.controller.document.mark_saved(tmp_path / "x.json")
    )
    w.show()
    qtbot.waitUntil(lambda: shows_current_bank(w), timeout=WAIT_MS)
    w.controller.select(0, 0, 0)
    return w


def learner_threads():
    return [t for t in threading.enumerate() if t.name.startswith("learner")]


def wait_idle(qtbot, dialog):
    qtbot.waitUntil(lambda: not dialog.isLearning(), timeout=WAIT_MS)


def test_the_fit_runs_off_the_gui_thread_while_the_gui_keeps_turning(qtbot, window, monkeypatch):
    real = learn.fit_kernel
    turned = threading.Event()
    fitted_on = []
    gui_turned_during_fit = []

    def fit_that_waits_for_the_gui(*args, **kwargs):
        fitted_on.append(threading.current_thread())
        # On the GUI thread this would wait in vain: the timer below could not fire.
        gui_turned_during_fit.append(turned.wait(5))
        return real(*args, **kwargs)

    monkeypatch.setattr(learn, "fit_kernel", fit_that_waits_for_the_gui)
    ticks = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: (ticks.append(1), len(ticks) >= 5 and turned.set()))
    timer.start()
    dialog = window.open_learn_dialog()
    assert dialog.fit()
    assert dialog.stop_button.isEnabled() and not dialog.fit_button.isEnabled()  # busy
    wait_idle(qtbot, dialog)
    timer.stop()
    assert fitted_on and fitted_on[0] is not threading.main_thread()
    assert gui_turned_during_fit == [True]
    assert dialog.fit_button.isEnabled() and not dialog.stop_button.isEnabled()


def test_the_kernel_that_lands_in_the_bank_is_the_engines_fit(qtbot, window):
    bank = window.controller.bank
    frame = window.controller.last_result.frame
    dialog = window.open_learn_dialog()
    dialog.target_box.setCurrentIndex(0)  # the Canny edges of the source
    dialog.size_box.setValue(3)
    assert dialog.fit()
    wait_idle(qtbot, dialog)
    conv = bank.layers[0]
    expected = learn.fit_kernel(
        frame, learn.canny_target(frame), (3, 3), bank.input, conv.padding, conv.border
    )
    landed = window.controller.bank.layers[0].filters[0]
    np.testing.assert_allclose(landed.kernels, expected.kernels, rtol=1e-6, atol=1e-7)
    assert landed.bias == pytest.approx(expected.bias, abs=1e-7)
    assert landed.name == conv.filters[0].name
    assert window.controller.bank.layers[0].filters[1:] == conv.filters[1:]


def test_stop_ends_a_descent(qtbot, window):
    dialog = window.open_learn_dialog()
    assert dialog.descend()
    qtbot.waitUntil(lambda: len(dialog.losses) > 1, timeout=WAIT_MS)
    dialog.stop_button.click()
    wait_idle(qtbot, dialog)
    steps = len(dialog.losses) - 1
    assert 0 < steps < 300  # a full descent is 30 ticks of 10 steps
    assert dialog.status.text().startswith(f"Stopped at step {steps}")
    assert dialog.descend_button.isEnabled() and not dialog.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not learner_threads(), timeout=WAIT_MS)


def test_removing_its_filter_mid_descent_says_so_in_one_line(qtbot, window):
    dialog = window.open_learn_dialog()
    assert dialog.descend()
    qtbot.waitUntil(lambda: len(dialog.losses) > 1, timeout=WAIT_MS)
    assert window.controller.edit(lambda b: editing.remove_filter(b, 0, 0), "Remove filter")
    after = window.controller.bank
    assert not dialog.isLearning()
    text = dialog.status.text()
    assert "no longer in layer 1" in text and "\n" not in text
    assert not dialog.fit_button.isEnabled() and not dialog.descend_button.isEnabled()
    assert not dialog.fit() and not dialog.descend()  # a stale click does nothing
    qtbot.waitUntil(lambda: not learner_threads(), timeout=WAIT_MS)
    assert window.controller.bank is after  # nothing of the cancelled descent landed

    window.menus.undo_action.trigger()  # the filter is back: learning it is possible again
    assert dialog.fit_button.isEnabled()


def test_a_filter_removed_before_it_keeps_it_the_one_learned(qtbot, window):
    window.controller.select(0, 1, 0)
    dialog = window.open_learn_dialog()
    before = window.controller.bank.layers[0].filters
    assert window.controller.edit(lambda b: editing.remove_filter(b, 0, 0), "Remove filter")
    assert dialog.fit_button.isEnabled()
    assert dialog.fit()
    wait_idle(qtbot, dialog)
    learned, *others = window.controller.bank.layers[0].filters
    assert learned.name == before[1].name
    assert not np.array_equal(learned.kernels, before[1].kernels)  # it was learned...
    assert tuple(others) == before[2:]  # ...and no other filter was touched


def test_layer_1_becoming_a_pool_says_so_in_one_line(qtbot, window):
    dialog = window.open_learn_dialog()
    assert dialog.descend()
    assert window.controller.edit(lambda b: editing.add_pool_layer(b, 0), "Add pool")
    assert not dialog.isLearning()
    text = dialog.status.text()
    assert "pool" in text and "\n" not in text
    assert not dialog.fit_button.isEnabled() and not dialog.descend_button.isEnabled()
    assert not dialog.fit()
    qtbot.waitUntil(lambda: not learner_threads(), timeout=WAIT_MS)


def test_its_layer_moving_down_says_so_in_one_line(qtbot, window):
    dialog = window.open_learn_dialog()
    assert window.controller.edit(lambda b: editing.add_conv_layer(b, 0), "Add layer")
    text = dialog.status.text()
    assert "moved to layer 2" in text and "\n" not in text
    assert not dialog.fit_button.isEnabled()


def test_opening_and_closing_it_again_and_again_keeps_at_most_one(qtbot, window):
    for i in range(20):
        dialog = window.open_learn_dialog()
        assert window.open_learn_dialog() is dialog  # reopening raises the open one
        if i in (0, 19):
            assert dialog.descend()  # closing must end its thread too
        dialog.close()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        assert len(window.findChildren(LearnDialog)) <= 1
    assert window.findChildren(LearnDialog) == []
    qtbot.waitUntil(lambda: not learner_threads(), timeout=WAIT_MS)
    # No deleted dialog still listens to the controller.
    assert window.controller.edit(lambda b: editing.remove_filter(b, 0, 0), "Remove filter")
