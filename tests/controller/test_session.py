"""The session: settings read back with their types checked, recent banks, the autosave timer."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from playground.controller.controller import Controller
from playground.controller.session import MAX_RECENT, Session
from playground.engine import editing
from tests.controller.test_controller import two_filter_bank


def make(tmp_path, text=""):
    ini = tmp_path / "settings.ini"
    ini.write_text(text)
    return Session(QSettings(str(ini), QSettings.Format.IniFormat), tmp_path / "autosave")


def test_a_hand_edited_ini_gives_defaults_not_exceptions(tmp_path):
    session = make(
        tmp_path,
        "[bank]\nlast=@Invalid()\nrecent=@ByteArray(ab)\n[paths]\nlast_dir=1, 2\n[window]\ngeometry=7\n",
    )
    assert session.last_bank() is None
    assert session.recent() == []
    assert session.dialog_dir() == str(Path.home())
    assert session.layout("geometry") is None


def test_recent_banks_are_newest_first_unique_and_bounded(tmp_path):
    session = make(tmp_path)
    for n in range(MAX_RECENT + 3):
        session.add_recent(tmp_path / f"b{n}.json")
    session.add_recent(tmp_path / "b5.json")
    recent = session.recent()
    assert recent[0] == tmp_path / "b5.json"
    assert len(recent) == MAX_RECENT and len(set(recent)) == MAX_RECENT


def test_layouts_round_trip(tmp_path):
    session = make(tmp_path)
    session.save_layout("state", QByteArray(b"\x00\x01state"))
    assert bytes(session.layout("state")) == b"\x00\x01state"


def test_edits_reach_the_autosave_and_a_save_clears_it(qtbot, tmp_path):
    session = make(tmp_path)
    controller = Controller(two_filter_bank())
    try:
        session.start(controller)
        controller.edit(lambda b: editing.set_bias(b, 0, 0, 0.5), "Bias")
        qtbot.waitUntil(session.autosave.bank_file.exists, timeout=5000)
        assert controller.save_bank(tmp_path / "mine.json")
        qtbot.waitUntil(lambda: not session.autosave.bank_file.exists(), timeout=5000)
        assert session.last_bank() == tmp_path / "mine.json"
    finally:
        controller.close()
        session.close()
