"""Nothing lost: every edit is autosaved, and a session killed mid-edit is offered back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QAbstractItemView, QMessageBox

import playground
from playground.assets import resource_path
from playground.ui import MainWindow

WAIT_MS = 15_000

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")

# A real app process: opens a bank, types a weight into the grid, waits until the autosave has
# it, says so, and keeps running until it is killed.
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from PySide6.QtCore import QSettings, Qt, QTimer
    from PySide6.QtWidgets import QAbstractItemView, QApplication
    from playground.ui import MainWindow

    settings_path, autosave_dir, bank_path = sys.argv[1:4]
    app = QApplication([])
    settings = QSettings(settings_path, QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, autosave_dir=Path(autosave_dir))
    window.show()
    assert window.open_bank(bank_path)
    model = window.findChild(QAbstractItemView, "kernelGrid").model()
    model.setData(model.index(0, 1), 0.75, Qt.ItemDataRole.EditRole)

    started = time.monotonic()

    def report_when_autosaved():
        if window.session.autosave.bank_file.exists():
            print("EDITED", flush=True)
        elif time.monotonic() - started > 30:
            print("NO AUTOSAVE", flush=True)  # the test fails at once instead of hanging
            app.exit(1)
        else:
            QTimer.singleShot(20, report_when_autosaved)

    QTimer.singleShot(0, report_when_autosaved)
    app.exec()
    """
)


def kill_after_an_edit(settings_path, autosave_dir, bank_path):
    """Run the app in a process of its own, edit a weight of ``bank_path``, wait until it is
    autosaved, then kill the process: no closeEvent, no cleanup, as in a crash."""
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(settings_path), str(autosave_dir), str(bank_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    ) as child:
        try:
            assert child.stdout.readline().strip() == "EDITED"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def settings_for(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def open_window(qtbot, tmp_path):
    w = MainWindow(settings=settings_for(tmp_path), autosave_dir=tmp_path / "autosave")
    qtbot.addWidget(w, before_close_func=lambda w: w.controller.document.mark_saved(tmp_path / "x"))
    return w


def answer(monkeypatch, button):
    asked = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return button

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_an_edit_is_autosaved_and_a_save_clears_it(qtbot, tmp_path, monkeypatch):
    answer(monkeypatch, QMessageBox.StandardButton.No)
    window = open_window(qtbot, tmp_path)
    autosaved = window.session.autosave.bank_file
    assert autosaved.parent.parent == tmp_path / "autosave"
    model = window.findChild(QAbstractItemView, "kernelGrid").model()
    model.setData(model.index(2, 2), -4.0, Qt.ItemDataRole.EditRole)
    qtbot.waitUntil(autosaved.exists, timeout=WAIT_MS)
    assert playground.load_bank(autosaved) == window.controller.bank
    assert window.controller.save_bank(tmp_path / "mine.json")
    qtbot.waitUntil(lambda: not autosaved.exists(), timeout=WAIT_MS)


def test_a_killed_session_is_offered_back_on_the_next_launch(qtbot, tmp_path, monkeypatch):
    bank_path = tmp_path / "edges.json"
    bank_path.write_bytes(resource_path("banks", "edges-rgb.json").read_bytes())
    kill_after_an_edit(tmp_path / "settings.ini", tmp_path / "autosave", bank_path)

    asked = answer(monkeypatch, QMessageBox.StandardButton.Yes)
    window = open_window(qtbot, tmp_path)
    assert len(asked) == 1 and "edges.json" in asked[0]
    expected = np.array(playground.load_bank(bank_path).layers[0].filters[0].kernels)
    expected[0, 0, 1] = 0.75
    np.testing.assert_array_equal(window.controller.bank.layers[0].filters[0].kernels, expected)
    assert window.controller.document.path == bank_path  # saving goes back to the user's file
    assert window.controller.document.dirty and window.isWindowModified()
    assert window.controller.document.can_undo()  # and the restore itself can be undone


def test_declining_the_restore_discards_the_autosave(qtbot, tmp_path, monkeypatch):
    folder = tmp_path / "autosave"
    folder.mkdir()
    playground.save_bank(
        playground.load_bank(resource_path("banks", "blur-sharpen.json")), folder / "bank.json"
    )
    asked = answer(monkeypatch, QMessageBox.StandardButton.No)
    window = open_window(qtbot, tmp_path)
    assert len(asked) == 1 and "untitled" in asked[0]
    assert not (folder / "bank.json").exists()
    assert window.controller.bank == playground.load_bank(resource_path("banks", "edges-rgb.json"))


def test_an_untitled_restore_is_unsaved(qtbot, tmp_path, monkeypatch):
    folder = tmp_path / "autosave"
    folder.mkdir()
    bank = playground.load_bank(resource_path("banks", "line-stack.json"))
    playground.save_bank(bank, folder / "bank.json")
    answer(monkeypatch, QMessageBox.StandardButton.Yes)
    window = open_window(qtbot, tmp_path)
    assert window.controller.bank == bank
    assert window.controller.document.path is None and window.controller.document.dirty


def test_a_corrupt_autosave_is_reported_not_offered(qtbot, tmp_path, monkeypatch):
    folder = tmp_path / "autosave"
    folder.mkdir()
    (folder / "bank.json").write_text(json.dumps({"format": "something else"}))
    asked = answer(monkeypatch, QMessageBox.StandardButton.Yes)
    window = open_window(qtbot, tmp_path)
    assert asked == []
    assert "autosaved bank could not be read" in window.statusBar().currentMessage()
    assert not (folder / "bank.json").exists()


def test_an_unwritable_autosave_folder_is_a_message_not_a_crash(qtbot, tmp_path, monkeypatch):
    blocker = tmp_path / "autosave"
    blocker.write_text("a file where the folder should be")
    answer(monkeypatch, QMessageBox.StandardButton.No)
    window = open_window(qtbot, tmp_path)
    model = window.findChild(QAbstractItemView, "kernelGrid").model()
    model.setData(model.index(0, 0), 2.0, Qt.ItemDataRole.EditRole)
    qtbot.waitUntil(
        lambda: "cannot autosave" in window.statusBar().currentMessage(), timeout=WAIT_MS
    )
    assert window.controller.bank.layers[0].filters[0].kernels[0, 0, 0] == 2.0


def edit_a_weight(window, value):
    model = window.findChild(QAbstractItemView, "kernelGrid").model()
    model.setData(model.index(0, 0), value, Qt.ItemDataRole.EditRole)


def test_a_second_window_does_not_offer_the_first_windows_live_edits(qtbot, tmp_path, monkeypatch):
    # The finding: window B offered window A's live edits as a crash restore, and answering No
    # deleted them; after A was killed nothing was offered and 50 edits were lost.
    asked = answer(monkeypatch, QMessageBox.StandardButton.No)
    a = open_window(qtbot, tmp_path)
    edit_a_weight(a, 0.5)
    qtbot.waitUntil(a.session.autosave.bank_file.exists, timeout=WAIT_MS)
    b = open_window(qtbot, tmp_path)
    assert asked == []  # A is running: its autosave is not B's to offer
    assert a.session.autosave.bank_file.exists()
    assert b.session.autosave.folder != a.session.autosave.folder
    assert b.session.autosave.recover() is None


def test_a_killed_instance_is_offered_back_while_another_runs(qtbot, tmp_path, monkeypatch):
    bank_path = tmp_path / "edges.json"
    bank_path.write_bytes(resource_path("banks", "edges-rgb.json").read_bytes())
    answer(monkeypatch, QMessageBox.StandardButton.No)
    running = open_window(qtbot, tmp_path)  # another window, open throughout
    edit_a_weight(running, 0.25)
    qtbot.waitUntil(running.session.autosave.bank_file.exists, timeout=WAIT_MS)
    kill_after_an_edit(tmp_path / "child.ini", tmp_path / "autosave", bank_path)
    asked = answer(monkeypatch, QMessageBox.StandardButton.Yes)
    window = open_window(qtbot, tmp_path)
    assert len(asked) == 1 and "edges.json" in asked[0]  # the killed one, not the running one
    assert window.controller.bank.layers[0].filters[0].kernels[0, 0, 1] == 0.75
    assert running.session.autosave.bank_file.exists()  # the running window's edits are untouched


def test_a_clean_close_leaves_no_autosave_folder(qtbot, tmp_path, monkeypatch):
    answer(monkeypatch, QMessageBox.StandardButton.No)
    window = open_window(qtbot, tmp_path)
    edit_a_weight(window, 0.5)
    qtbot.waitUntil(window.session.autosave.bank_file.exists, timeout=WAIT_MS)
    folder = window.session.autosave.folder
    window.controller.document.mark_saved(tmp_path / "x.json")
    window.close()
    assert not folder.exists()
