"""Autosave: every bank edit is kept on disk until it is saved or discarded.

After a crash, a power cut or a kill, the next launch finds the autosave and offers to restore
it. Files go to the platform's app-data folder (QStandardPaths) and are written atomically, like
every bank save, so a kill mid-write leaves the previous autosave whole.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QStandardPaths

from playground.engine.bank import Bank
from playground.engine.bankfile import load_bank, save_bank, write_atomic
from playground.engine.errors import BankError


def default_directory() -> Path:
    """Where the app keeps its autosave: the per-user app-data folder."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".filter-playground") / "autosave"


@dataclass(frozen=True)
class Recovered:
    """An autosave found at launch: the bank, the file it came from (None if never saved) and
    when it was written."""

    bank: Bank
    origin: Path | None
    written: datetime


class Autosave:
    """The unsaved bank of one window, on disk. ``store`` after each edit, ``clear`` once the
    bank is saved or its changes are discarded, ``recover`` at launch."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._bank_file = self.directory / "bank.json"
        self._origin_file = self.directory / "origin.txt"

    def store(self, bank: Bank, origin: Path | None) -> None:
        """Keep ``bank`` (unsaved edits of ``origin``). Raises BankError if it cannot be written."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise BankError(f"cannot autosave to {self.directory}: {e.strerror or e}") from None
        # The origin first: a kill between the two writes leaves a bank with its last known
        # origin, never a bank attributed to another file's name.
        write_atomic(self._origin_file, ("" if origin is None else str(origin)).encode("utf-8"))
        save_bank(bank, self._bank_file)

    def clear(self) -> None:
        """Forget the autosave (the bank was saved, or its changes discarded)."""
        for path in (self._bank_file, self._origin_file):
            # An unusable folder has nothing to clear; at worst the next launch offers an
            # autosave the user already dealt with, and they decline it.
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    def recover(self) -> Recovered | None:
        """The autosave left by a session that did not end cleanly, if any.

        Raises BankError when there is one but it cannot be read; the caller says so and
        clears it.
        """
        if not self._bank_file.exists():
            return None
        bank = load_bank(self._bank_file)
        try:
            origin_text = self._origin_file.read_text(encoding="utf-8").strip()
        except OSError:
            origin_text = ""
        written = datetime.fromtimestamp(self._bank_file.stat().st_mtime)
        return Recovered(bank, Path(origin_text) if origin_text else None, written)
