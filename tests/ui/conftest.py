"""Fixtures shared by the window's UI tests."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from playground.ui import MainWindow


@pytest.fixture
def fresh_window(qtbot, tmp_path, monkeypatch):
    """A shown 1400x900 window with its own settings and autosave folder; a modal question
    fails the test (it would block the run)."""

    def fail(*args, **kwargs):
        raise AssertionError(f"unexpected dialog: {args[1:3]}")

    monkeypatch.setattr(QMessageBox, "question", fail)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, autosave_dir=tmp_path / "autosave")
    # pytest-qt closes the window before fixture teardown: no unsaved-changes prompt then.
    qtbot.addWidget(
        w, before_close_func=lambda w: w.controller.document.mark_saved(tmp_path / "x.json")
    )
    w.resize(1400, 900)
    w.show()
    return w
