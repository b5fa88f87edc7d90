"""A bank file too large to read on the GUI thread is read on a thread of its own: the window
stays live meanwhile, and what arrives never overwrites edits made in the meantime."""

from __future__ import annotations

import numpy as np

from playground import Bank, ConvLayer, Filter, load_bank, save_bank
from playground.controller import Controller
from playground.controller.controller import OPEN_ON_THREAD_BYTES
from tests.controller.test_controller import two_filter_bank

WAIT_MS = 15_000


def _large_bank_file(tmp_path):
    rng = np.random.default_rng(11)
    filters = tuple(Filter(rng.standard_normal((3, 11, 11)), 0.5, f"f{i}") for i in range(80))
    bank = Bank((ConvLayer(filters, padding="same"),))
    path = tmp_path / "large.json"
    save_bank(bank, path)
    assert path.stat().st_size > OPEN_ON_THREAD_BYTES
    return path


def test_a_large_bank_opens_on_a_thread_and_becomes_the_document(qtbot, tmp_path):
    path = _large_bank_file(tmp_path)
    controller = Controller(two_filter_bank())
    try:
        with qtbot.waitSignal(controller.bankOpened, timeout=WAIT_MS) as opened:
            assert controller.open_bank(path)
        assert opened.args == [str(path)]
        assert controller.bank == load_bank(path)
        assert controller.document.path == path and not controller.document.dirty
        assert controller.busy == ""
    finally:
        controller.close()


def test_edits_made_while_a_large_bank_is_read_are_kept(qtbot, tmp_path):
    path = _large_bank_file(tmp_path)
    controller = Controller(two_filter_bank())
    messages: list[str] = []
    controller.message.connect(messages.append)
    try:
        assert controller.open_bank(path)
        controller.set_kernel(np.eye(3))  # before the read is done: the GUI thread is here
        edited = controller.bank
        qtbot.waitUntil(lambda: any("was not opened" in m for m in messages), timeout=WAIT_MS)
        assert controller.bank is edited and controller.document.dirty
        assert messages[-1] == "large.json was not opened: the bank was edited meanwhile"
    finally:
        controller.close()


def test_a_large_malformed_bank_gives_one_line_and_changes_nothing(qtbot, tmp_path):
    path = tmp_path / "big-bad.json"
    path.write_text('{"layers": [' + " " * (OPEN_ON_THREAD_BYTES + 10) + "}")
    controller = Controller(two_filter_bank())
    before = controller.bank
    messages: list[str] = []
    controller.message.connect(messages.append)
    try:
        assert controller.open_bank(path)
        qtbot.waitUntil(lambda: bool(messages), timeout=WAIT_MS)
        assert "big-bad.json" in messages[0] and "\n" not in messages[0]
        assert controller.bank is before and controller.document.path is None
    finally:
        controller.close()
