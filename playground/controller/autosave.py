"""Autosave: every bank edit is kept on disk until it is saved or discarded.

After a crash, a power cut or a kill, the next launch finds the autosave and offers to restore
it. Files go to the platform's app-data folder (QStandardPaths) and are written atomically, like
every bank save, so a kill mid-write leaves the previous autosave whole.

Each running window autosaves into a folder of its own, held by a lock file with its process
id (QLockFile). A launch offers back only the autosaves whose lock it can take: those of
instances that are no longer running. Two windows open at once never see each other's edits as
a "crash", and a window that is killed later still leaves its edits for the next launch.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QLockFile, QStandardPaths

from playground.engine.bank import Bank
from playground.engine.bankfile import load_bank, save_bank, write_atomic
from playground.engine.errors import BankError

_BANK = "bank.json"
_ORIGIN = "origin.txt"
_LOCK = "lock"
# Folder names: unique within a process too (tests and scripts open several windows).
_SESSIONS = itertools.count()


def default_directory() -> Path:
    """Where the app keeps its autosaves: the per-user app-data folder."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".filter-playground") / "autosave"


class UnreadableAutosave(BankError):
    """An orphaned autosave that cannot be read; ``folder`` is where it lies."""

    def __init__(self, message: str, folder: Path) -> None:
        super().__init__(message)
        self.folder = folder


@dataclass(frozen=True)
class Recovered:
    """An autosave found at launch: the bank, the file it came from (None if never saved),
    when it was written, and the folder it lies in (see `Autosave.discard`)."""

    bank: Bank
    origin: Path | None
    written: datetime
    folder: Path


class Autosave:
    """The unsaved bank of one window, on disk. ``store`` after each edit, ``clear`` once the
    bank is saved or its changes are discarded, ``recover`` at launch, ``close`` at a clean
    exit."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.folder = self.directory / f"session-{os.getpid()}-{next(_SESSIONS)}"
        self._lock: QLockFile | None = None

    @property
    def bank_file(self) -> Path:
        """Where this window's unsaved bank is kept."""
        return self.folder / _BANK

    def store(self, bank: Bank, origin: Path | None) -> None:
        """Keep ``bank`` (unsaved edits of ``origin``). Raises BankError if it cannot be written."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise BankError(f"cannot autosave to {self.directory}: {e.strerror or e}") from None
        if self._lock is None:
            lock = QLockFile(str(self.folder / _LOCK))
            if not lock.tryLock(0):
                raise BankError(f"cannot autosave to {self.folder}: its lock is taken")
            self._lock = lock
        # The origin first: a kill between the two writes leaves a bank with its last known
        # origin, never a bank attributed to another file's name.
        write_atomic(self.folder / _ORIGIN, ("" if origin is None else str(origin)).encode())
        save_bank(bank, self.bank_file)

    def clear(self) -> None:
        """Forget this window's autosave (the bank was saved, or its changes discarded)."""
        for name in (_BANK, _ORIGIN):
            # An unusable folder has nothing to clear; at worst the next launch offers an
            # autosave the user already dealt with, and they decline it.
            with contextlib.suppress(OSError):
                (self.folder / name).unlink(missing_ok=True)

    def close(self) -> None:
        """At a clean exit: forget the autosave and give the folder up."""
        self.clear()
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None
        with contextlib.suppress(OSError):
            shutil.rmtree(self.folder)

    def recover(self) -> Recovered | None:
        """The newest autosave left by an instance that is no longer running, if any.

        Folders of running instances (their lock is held) are left alone. Raises
        UnreadableAutosave when an orphaned autosave cannot be read; the caller says so and
        discards its folder.
        """
        found: list[Path] = []
        with contextlib.suppress(OSError):
            for folder in self.directory.iterdir():
                mine = folder == self.folder
                if not mine and (folder / _BANK).is_file() and self._orphaned(folder):
                    found.append(folder)
        if (self.directory / _BANK).is_file():
            found.append(self.directory)  # the one-folder layout of earlier versions
        if not found:
            return None
        folder = max(found, key=lambda f: (f / _BANK).stat().st_mtime)
        try:
            bank = load_bank(folder / _BANK)
        except BankError as e:
            raise UnreadableAutosave(str(e), folder) from None
        try:
            origin_text = (folder / _ORIGIN).read_text(encoding="utf-8").strip()
        except OSError:
            origin_text = ""
        written = datetime.fromtimestamp((folder / _BANK).stat().st_mtime)
        return Recovered(bank, Path(origin_text) if origin_text else None, written, folder)

    def discard(self, folder: Path) -> None:
        """Remove an orphaned autosave once the user restored or declined it."""
        for name in (_BANK, _ORIGIN):
            with contextlib.suppress(OSError):
                (folder / name).unlink(missing_ok=True)
        if folder != self.directory:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)

    @staticmethod
    def _orphaned(folder: Path) -> bool:
        """True when no running instance holds the folder's lock (QLockFile checks the pid)."""
        lock = QLockFile(str(folder / _LOCK))
        if not lock.tryLock(0):
            return False
        lock.unlock()
        return True
