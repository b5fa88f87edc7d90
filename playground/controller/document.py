"""The document: the current bank, where it lives on disk, and its undo history."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from playground.engine.bank import Bank

# Enough for a long session of edits; each entry is an immutable bank sharing unchanged layers.
MAX_HISTORY = 500
# The weights the history may hold that the current bank does not. Entries share the filters an
# edit left alone, so an entry costs what it changed; 500 edits of large kernels (31x31 on many
# channels) otherwise held 90 MB and more, growing all session long.
MAX_HISTORY_BYTES = 32 * 2**20
# Edits to the same target closer together than this become one undo step (a weight dragged
# with the mouse, a spin box held down), so undo goes back to before the gesture.
MERGE_SECONDS = 1.0


@dataclass(frozen=True)
class _Entry:
    bank: Bank
    label: str
    merge_key: object
    time: float
    weight_bytes: int = 0  # of the filters this entry has that the entry before it had not


def _new_weight_bytes(bank: Bank, before: Bank) -> int:
    """Bytes of the kernels in ``bank`` that ``before`` does not share (by identity)."""
    shared = {id(f.kernels) for layer in before.layers for f in getattr(layer, "filters", ())}
    return sum(
        f.kernels.nbytes
        for layer in bank.layers
        for f in getattr(layer, "filters", ())
        if id(f.kernels) not in shared
    )


class Document:
    """Current bank + linear undo history of immutable bank snapshots. No Qt, no threads."""

    def __init__(self, bank: Bank, path: Path | None = None) -> None:
        self._entries = [_Entry(bank, "Open", None, 0.0)]
        self._index = 0
        self.path = path
        # A bank just opened, or started fresh, has nothing in it to lose yet.
        self._saved: Bank | None = bank

    @property
    def bank(self) -> Bank:
        return self._entries[self._index].bank

    @property
    def dirty(self) -> bool:
        """True when the bank differs from what was last opened, started or saved."""
        return self._saved is None or self.bank != self._saved

    def push(self, bank: Bank, label: str, merge_key: object = None) -> None:
        """Make ``bank`` current; drops the redo tail. Same ``merge_key`` within a second merges."""
        if bank == self.bank:
            return
        now = time.monotonic()
        del self._entries[self._index + 1 :]
        top = self._entries[-1]
        if merge_key is not None and top.merge_key == merge_key and now - top.time < MERGE_SECONDS:
            base = self._entries[-2].bank if len(self._entries) > 1 else top.bank
            self._entries[-1] = _Entry(bank, label, merge_key, now, _new_weight_bytes(bank, base))
        else:
            cost = _new_weight_bytes(bank, top.bank)
            self._entries.append(_Entry(bank, label, merge_key, now, cost))
        # The oldest steps go first; the current bank always stays.
        held = sum(e.weight_bytes for e in self._entries[1:])
        while len(self._entries) > 1 and (
            len(self._entries) > MAX_HISTORY or held > MAX_HISTORY_BYTES
        ):
            held -= self._entries[1].weight_bytes
            del self._entries[0]
        self._index = len(self._entries) - 1

    def can_undo(self) -> bool:
        return self._index > 0

    def can_redo(self) -> bool:
        return self._index < len(self._entries) - 1

    def undo_label(self) -> str:
        return self._entries[self._index].label if self.can_undo() else ""

    def redo_label(self) -> str:
        return self._entries[self._index + 1].label if self.can_redo() else ""

    def undo(self) -> bool:
        if not self.can_undo():
            return False
        self._index -= 1
        return True

    def redo(self) -> bool:
        if not self.can_redo():
            return False
        self._index += 1
        return True

    def forget_saved(self) -> None:
        """Count the current bank as unsaved (a restored autosave, for one)."""
        self._saved = None

    def mark_saved(self, path: Path) -> None:
        self.path = path
        self._saved = self.bank
