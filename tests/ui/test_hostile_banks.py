"""The window under banks that ask for absurd work: it lays out a bounded number of panes, says
why a bank cannot run on the panes, and says when a bank that runs is heavy."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from playground.controller.display import MAX_PANES, MAX_PANES_PER_LAYER
from playground.engine import budget
from playground.engine.bank import Bank
from playground.ui import MainWindow
from playground.ui.panes import FeatureMapPane
from tests.engine.test_budget import pool_bank

WAIT_MS = 15_000

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, autosave_dir=tmp_path / "autosave")
    qtbot.addWidget(w, before_close_func=lambda w: w.controller.document.mark_saved(tmp_path / "x"))
    w.resize(1400, 900)
    w.show()
    qtbot.waitUntil(lambda: w.controller.last_result is not None, timeout=WAIT_MS)
    return w


def current(window):
    r = window.controller.last_result
    return r if r is not None and r.generation == window.controller.generation else None


def test_65536_maps_lay_out_a_bounded_number_of_panes_and_say_why_they_cannot_run(qtbot, window):
    small = window.controller.bank
    window.controller.new_bank(pool_bank())  # 1024 filters, then 63 pools of all 1024 maps
    grid = window.pane_grid
    assert grid.sectionCount() == 64
    counts = [grid.paneCount(n) for n in range(64)]
    assert counts[:2] == [MAX_PANES_PER_LAYER, MAX_PANES - MAX_PANES_PER_LAYER]
    assert sum(counts) == MAX_PANES
    assert len(grid.findChildren(FeatureMapPane)) <= MAX_PANES + 1  # + a closing one at most
    assert grid.hiddenText(0) == f"… and {1024 - MAX_PANES_PER_LAYER} more maps (not shown)"
    assert grid.hiddenText(5) == "… and 1024 more maps (not shown)"
    qtbot.waitUntil(lambda: current(window) is not None, timeout=WAIT_MS)
    error = current(window).error
    assert error == (
        "layer 3 would need 2.7 GB of feature maps on this 600x400 image; the limit is 2 GB"
    )
    assert grid.pane(0, 0).message() == error
    # And the window is still usable: a small bank back, its maps back.
    window.controller.new_bank(small)
    qtbot.waitUntil(lambda: current(window) is not None and current(window).outputs is not None)
    assert grid.sectionCount() == len(small.layers) and grid.hiddenText(0) == ""


def test_a_heavy_bank_is_named_in_the_status_bar(qtbot, window, monkeypatch):
    monkeypatch.setattr(budget, "HEAVY_MULTIPLY_ADDS", 1)
    bank = window.controller.bank
    window.controller.new_bank(Bank(bank.layers, bank.input))
    message = window.statusBar().currentMessage()
    assert message.startswith("This bank is heavy: ")
    assert message.endswith("of maps per frame on this 600x400 image; the maps update slowly")
