"""The window under random use: a seeded monkey of menu actions (with canned dialog answers),
typed cells (NaN, 1e309, 5000-digit numbers), kernel resizes, undo/redo bursts, pattern and
source switches, and the bank panel's add/remove buttons.

It must end with no exception anywhere (pytest-qt fails on one in a Qt handler; sys.excepthook
and threading.excepthook are captured too), no compute-thread restart and bounded memory.
CI runs 300 actions; for a longer run set FILTER_PLAYGROUND_MONKEY_ACTIONS=5000 (and
FILTER_PLAYGROUND_MONKEY_SEED to replay one). The seed and every action are printed before a
failure, so a failing run can be replayed action by action.
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import sys
import threading
import traceback
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QMessageBox

from playground.assets import resource_path
from playground.engine.heap import release_free_heap
from playground.ui import MainWindow

ACTIONS = int(os.environ.get("FILTER_PLAYGROUND_MONKEY_ACTIONS", "300"))
SEED = int(os.environ.get("FILTER_PLAYGROUND_MONKEY_SEED", "20240611"))
MAX_GROWTH_MB = 50
WAIT_MS = 15_000
EDIT = Qt.ItemDataRole.EditRole

# Typed into kernel cells: numbers, fractions, and what a parser must refuse.
CELL_TEXTS = [
    "1",
    "-2",
    "0.25",
    "1/9",
    "nan",
    "NaN",
    "inf",
    "-1e309",
    "1e309",
    "9" * 5000,
    "-" + "1" * 5000,
    "1/0",
    "",
    "abc",
    "1e6",
    "0",
]
# Actions that quit, ask for a camera, or open a second top-level dialog are left out.
SKIPPED_ACTIONS = {"&Quit", "&Learn this kernel from an example…", "&Record…", "&Record"}

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


def settled_rss(qtbot, window: MainWindow, bank) -> int:
    """RSS with the window back on the bank and sample image it started with, and their maps
    shown: what is measured is what the actions left behind, not the size of the bank and
    the source the random walk ended on (a bank of 60 filters holds its maps, legitimately)."""
    c = window.controller
    c.set_paused(False)
    c.new_bank(bank)
    c.open_image(resource_path("images", "coffee.jpg"))
    qtbot.waitUntil(
        lambda: (
            c.source_description == "coffee.jpg"
            and c.last_result is not None
            and c.last_result.generation == c.generation
            and c.last_result.error is None
        ),
        timeout=WAIT_MS,
    )
    return rss_bytes()


def rss_bytes() -> int:
    gc.collect()
    release_free_heap()  # freed arenas and kept frame blocks go back before measuring
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Monkey:
    def __init__(self, qtbot, window: MainWindow, rng: random.Random, tmp: Path) -> None:
        self.qtbot = qtbot
        self.window = window
        self.rng = rng
        self.tmp = tmp
        self.log: list[str] = []
        menus = window.menuBar().actions()
        self.actions = [
            a
            for top in menus
            if top.menu() is not None and top.text() != "&Camera"
            for a in _leaf_actions(top.menu())
            if a.text() not in SKIPPED_ACTIONS and not a.isSeparator()
        ]

    # canned dialog answers -------------------------------------------------------------------

    def open_file(self, *args, **kwargs):
        choices = [
            "",
            str(resource_path("images", "cat.jpg")),
            str(resource_path("banks", "blur-sharpen.json")),
            str(resource_path("banks", "edges-gray.json")),
            str(self.tmp / "missing.png"),
            str(self.tmp / "saved.json"),
        ]
        path = self.rng.choice(choices)
        self.log.append(f"  open dialog -> {path!r}")
        return path, ""

    def save_file(self, *args, **kwargs):
        path = self.rng.choice(["", str(self.tmp / "saved.json"), str(self.tmp / "export.png")])
        self.log.append(f"  save dialog -> {path!r}")
        return path, ""

    def question(self, *args, **kwargs):
        b = QMessageBox.StandardButton
        answer = self.rng.choice([b.Yes, b.No, b.Save, b.Discard, b.Cancel])
        self.log.append(f"  question -> {answer}")
        return answer

    def get_item(self, parent, title, label, items, *args, **kwargs):
        return items[0], self.rng.random() < 0.5

    # actions ------------------------------------------------------------------------------------

    def step(self) -> None:
        kind = self.rng.choices(
            ["menu", "cell", "resize", "undo", "bank", "select", "spin"],
            weights=[3, 6, 2, 2, 3, 2, 1],
        )[0]
        getattr(self, kind)()

    def menu(self) -> None:
        action = self.rng.choice(self.actions)
        if not action.isEnabled():
            return
        self.log.append(f"menu {action.text()!r}")
        action.trigger()

    def cell(self) -> None:
        model = self.window.kernel_editor.grid.kernelModel()
        if not self.window.kernel_dock.isEnabled() or model.rowCount() == 0:
            return
        r, c = self.rng.randrange(model.rowCount()), self.rng.randrange(model.columnCount())
        text = self.rng.choice(CELL_TEXTS)
        self.log.append(f"cell ({r}, {c}) <- {text[:20]!r}{'…' if len(text) > 20 else ''}")
        model.setData(model.index(r, c), text, EDIT)

    def resize(self) -> None:
        editor = self.window.kernel_editor
        kh, kw = self.rng.randint(1, 9), self.rng.randint(1, 9)
        self.log.append(f"resize {kh}x{kw}")
        editor.heightSpin.setValue(kh)
        editor.widthSpin.setValue(kw)
        editor.buttons["resize"].click()

    def undo(self) -> None:
        menus = self.window.menus
        n = self.rng.randint(1, 12)
        action = self.rng.choice([menus.undo_action, menus.redo_action])
        self.log.append(f"{action.iconText().lower()} x{n}")
        for _ in range(n):
            action.trigger()

    def bank(self) -> None:
        buttons = self.window.bank_panel._buttons
        name = self.rng.choice(sorted(buttons))
        if not buttons[name].isEnabled():
            return
        self.log.append(f"bank button {name}")
        buttons[name].click()

    def select(self) -> None:
        c = self.window.controller
        layer = self.rng.randrange(len(c.bank.layers))
        filt, channel = self.rng.randrange(4), self.rng.randrange(3)
        self.log.append(f"select {layer}, {filt}, {channel}")
        c.select(layer, filt, channel)

    def spin(self) -> None:
        # Let the pipeline catch up now and then: a result for the current bank, or 2 s.
        self.log.append("settle")
        c = self.window.controller
        with contextlib.suppress(self.qtbot.TimeoutError):
            self.qtbot.waitUntil(
                lambda: c.last_result is not None and c.last_result.generation == c.generation,
                timeout=2000,
            )


def _leaf_actions(menu):
    for a in menu.actions():
        if a.menu() is not None:
            yield from _leaf_actions(a.menu())
        else:
            yield a


def test_random_use_raises_nothing_restarts_nothing_and_keeps_memory_bounded(
    qtbot, tmp_path, monkeypatch
):
    errors: list[str] = []
    monkeypatch.setattr(
        sys,
        "excepthook",
        # Where it was raised, so a failure can be found without replaying the run.
        lambda t, v, tb: errors.append(f"{t.__name__}: {v}\n{''.join(traceback.format_tb(tb))}"),
    )
    monkeypatch.setattr(
        threading,
        "excepthook",
        lambda a: errors.append(f"{a.exc_type.__name__} in {a.thread}: {a.exc_value}"),
    )
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, autosave_dir=tmp_path / "autosave")
    qtbot.addWidget(
        window,
        before_close_func=lambda w: w.controller.document.mark_saved(tmp_path / "x.json"),
    )
    window.resize(1200, 800)
    window.show()
    qtbot.waitUntil(lambda: window.controller.last_result is not None, timeout=WAIT_MS)

    rng = random.Random(SEED)
    monkey = Monkey(qtbot, window, rng, tmp_path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", monkey.open_file)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", monkey.save_file)
    monkeypatch.setattr(QMessageBox, "question", monkey.question)
    monkeypatch.setattr(QInputDialog, "getItem", monkey.get_item)
    for name in ("warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, lambda *a, **k: QMessageBox.StandardButton.Ok)

    start_bank = window.controller.bank
    # The app's own files (ready banks, samples) are opened by the monkey; none may change.
    bundled = {f: f.read_bytes() for f in resource_path("banks").rglob("*.json")}
    try:
        # Every menu action once first: the libraries some of them load on first use (onnx,
        # onnxruntime, the video writer) and the caches they fill are the app's, once, not
        # growth from use. The baseline is taken after them.
        for action in monkey.actions:
            if action.isEnabled():
                monkey.log.append(f"menu {action.text()!r}")
                action.trigger()
                QApplication.processEvents()
                assert not errors, errors
        baseline = settled_rss(qtbot, window, start_bank)
        for _ in range(ACTIONS):
            monkey.step()
            QApplication.processEvents()
            assert not errors, errors
        monkey.spin()
        qtbot.waitUntil(
            lambda: (
                window.controller.last_result is not None
                and window.controller.last_result.generation == window.controller.generation
            ),
            timeout=WAIT_MS,
        )
        assert window.controller.worker.restarts == 0, window.controller.worker.last_failure
        assert window.controller.worker.is_alive()
        growth = (settled_rss(qtbot, window, start_bank) - baseline) / 2**20
        assert growth < MAX_GROWTH_MB, f"RSS grew {growth:.0f} MB over {ACTIONS} actions"
        assert [f for f, data in bundled.items() if f.read_bytes() != data] == []
    except BaseException:
        print(f"monkey seed {SEED}, {len(monkey.log)} actions:")
        print("\n".join(monkey.log))
        raise
