"""The session: what the app remembers between launches, and the autosave of unsaved edits.

Settings (QSettings, INI per user) hold the last and recent banks, the last folder of a file
dialog and the window's layout, each read back with its type checked (a hand-edited or older
INI gives the default, not an exception). The autosave keeps the document's unsaved bank on
disk within `AUTOSAVE_MS` of each edit. QtCore only: the window asks, the session remembers.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QObject, QSettings, QTimer, Signal

from playground.controller.autosave import Autosave, Recovered, UnreadableAutosave
from playground.controller.controller import Controller
from playground.engine.errors import BankError

MAX_RECENT = 8
# Edits reach the autosave within this long; a drag writes at most once per interval.
AUTOSAVE_MS = 300


def app_settings() -> QSettings:
    """The app's settings store (INI, per user): window layout, last bank, recent banks."""
    return QSettings(
        QSettings.Format.IniFormat,
        QSettings.Scope.UserScope,
        "FilterPlayground",
        "Filter Playground",
    )


class Session(QObject):
    """The settings and the autosave of one window's controller (see `start`).

    ``message`` carries one line for the status bar (an autosave that cannot be written);
    ``recentChanged`` fires when the recent banks change.
    """

    message = Signal(str)
    recentChanged = Signal()

    def __init__(
        self, settings: QSettings, autosave_dir: Path, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._controller: Controller | None = None
        self._settings = settings
        self.autosave = Autosave(autosave_dir)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(AUTOSAVE_MS)
        self._timer.timeout.connect(self._autosave_now)

    def start(self, controller: Controller) -> None:
        """Follow ``controller``'s document: remember its file, autosave its edits."""
        self._controller = controller
        controller.documentChanged.connect(self._on_document_changed)

    # --- banks -----------------------------------------------------------------------------

    def last_bank(self) -> Path | None:
        """The bank file open when the app last ran, if the settings name one."""
        value = self._settings.value("bank/last", "")
        return Path(value) if isinstance(value, str) and value else None

    def recent(self) -> list[Path]:
        """Recently opened banks, newest first."""
        value = self._settings.value("bank/recent", [])
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [Path(p) for p in items if isinstance(p, str) and p]

    def add_recent(self, path: Path) -> None:
        recent = [str(path)] + [str(p) for p in self.recent() if p != path]
        self._settings.setValue("bank/recent", recent[:MAX_RECENT])
        self.recentChanged.emit()

    # --- dialogs and layout --------------------------------------------------------------------

    def dialog_dir(self) -> str:
        """The folder the last file dialog was in (the home folder at first)."""
        value = self._settings.value("paths/last_dir", "")
        return value if isinstance(value, str) and value else str(Path.home())

    def remember_dir(self, path: str) -> None:
        self._settings.setValue("paths/last_dir", str(Path(path).parent))

    def layout(self, key: str) -> QByteArray | None:
        """A saved window geometry, dock state or splitter state (``window/<key>``)."""
        value = self._settings.value(f"window/{key}")
        return value if isinstance(value, QByteArray) else None

    def save_layout(self, key: str, state: QByteArray) -> None:
        self._settings.setValue(f"window/{key}", state)

    def preview(self) -> bool:
        """Whether the user asked for preview resolution (off until asked)."""
        return str(self._settings.value("view/preview", "false")).lower() == "true"

    def set_preview(self, enabled: bool) -> None:
        self._settings.setValue("view/preview", "true" if enabled else "false")

    # --- autosave ------------------------------------------------------------------------------

    def recover(self) -> Recovered | None:
        """An autosave left by an instance that is no longer running; an unreadable one is
        discarded and reported through ``message``."""
        try:
            return self.autosave.recover()
        except UnreadableAutosave as e:
            self.message.emit(f"the autosaved bank could not be read and was discarded: {e}")
            self.autosave.discard(e.folder)
            return None

    def close(self) -> None:
        """At a clean exit (the bank saved or its changes discarded): nothing to restore."""
        self._timer.stop()
        self.autosave.close()

    def _on_document_changed(self) -> None:
        assert self._controller is not None
        doc = self._controller.document
        if doc.path is not None:
            self._settings.setValue("bank/last", str(doc.path))
        # During a drag the timer is already running: at most one write per interval, and the
        # last state always lands.
        if not self._timer.isActive():
            self._timer.start()

    def _autosave_now(self) -> None:
        assert self._controller is not None
        doc = self._controller.document
        try:
            if doc.dirty:
                self.autosave.store(doc.bank, doc.path)
            else:
                self.autosave.clear()
        except (BankError, OSError) as e:
            self.message.emit(str(e))
