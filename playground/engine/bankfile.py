"""Bank files: JSON v1 on disk, read without executing anything, written atomically."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from playground.engine.bank import Bank
from playground.engine.errors import BankError
from playground.engine.snapshot import PNG_SIGNATURE, bank_text_from_png, png_with_bank_text

# A bank of 1024 filters of 101x101 weights is a few hundred MB of JSON; nobody designs that by
# hand, and reading it whole would stall whoever asked.
MAX_FILE_BYTES = 64 * 1024 * 1024


def parse_bank(text: str | bytes) -> Bank:
    """A bank from the text of a bank file. Raises BankError on any problem."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise BankError(f"not UTF-8 text (byte {e.start})") from None
    try:
        # Python's json reads NaN and Infinity as floats; validation refuses them where they
        # stand, so the message names the layer and filter.
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except BankError:
        raise
    except json.JSONDecodeError as e:
        raise BankError(f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    except RecursionError:
        raise BankError("not a bank: JSON nested too deeply") from None
    except ValueError:
        # json reads integers with int(), which refuses more than sys.get_int_max_str_digits().
        raise BankError("not valid JSON: a number has too many digits") from None
    return Bank.from_dict(data)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of two equal keys; in a hand-edited file that silently drops whatever
    # the first one held (a whole "layers" list).
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BankError(f"not a bank: the key {json.dumps(key)} appears twice in one object")
        out[key] = value
    return out


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file (after following symlinks).

    A FIFO or a terminal would block open() or read() forever, and /dev/zero never ends; they
    are refused with OSError("not a regular file") before anything waits on them.
    """
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError("not a regular file")
    # Non-blocking, so a pipe swapped in after the stat still opens at once and fstat sees it.
    nonblock = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | nonblock | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file")
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def load_bank(path: str | os.PathLike[str]) -> Bank:
    """Read a bank file.

    Raises
    ------
    BankError
        With the file's name and the place of the problem: unreadable file, malformed JSON,
        wrong format tag or version, bad kernels, channel mismatches.
    """
    p = Path(path)
    try:
        with open_regular(p) as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise BankError(f"{_one_line(str(p))}: cannot read: {e.strerror or e}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise BankError(
            f"{_one_line(str(p))}: larger than {MAX_FILE_BYTES // 2**20} MB; not a bank file"
        )
    try:
        if raw.startswith(PNG_SIGNATURE):
            # A snapshot: the maps as a picture, the bank that made them in its metadata.
            return parse_bank(bank_text_from_png(raw))
        return parse_bank(raw)
    except BankError as e:
        raise BankError(f"{_one_line(p.name)}: {e}") from None


def _one_line(name: str) -> str:
    # A file name may hold a line break; the message stays one line.
    return name if name.isprintable() else repr(name)[1:-1]


def dumps_bank(bank: Bank) -> str:
    """The bank file's text: indented JSON with each kernel row on one line."""
    return _format(bank.to_dict(), "") + "\n"


def png_with_bank(png: bytes, bank: Bank) -> bytes:
    """``png`` (a snapshot's picture) with ``bank`` embedded, replacing a bank it already carried.

    `load_bank` reads it back; see `playground.engine.snapshot` for the chunk.
    """
    return png_with_bank_text(png, dumps_bank(bank).encode("utf-8"))


def _format(value: Any, indent: str) -> str:
    # json.dumps(indent=2) would put every weight on its own line; a row per line reads like the
    # kernel on screen.
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {_format(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(v, (list, dict)) for v in value):
        return "[\n" + ",\n".join(inner + _format(v, inner) for v in value) + "\n" + indent + "]"
    if isinstance(value, str) and not value.isprintable():
        # Escaped: a lone surrogate ("\ud800" is valid JSON) cannot be written as UTF-8.
        return json.dumps(value, allow_nan=False)
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def save_bank(bank: Bank, path: str | os.PathLike[str]) -> None:
    """Write ``bank`` to ``path`` atomically (see `write_atomic`). Raises BankError with the
    reason on failure."""
    write_atomic(path, dumps_bank(bank).encode("utf-8"))


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that it is either the old file or the new one, whole.

    The bytes go to a temporary file in the same folder, are flushed to disk, then renamed over
    ``path``: a failed save (full disk, no permission) leaves the user's old file as it was.
    A symlink is written through: its target gets the new bytes and the link stays a link.
    Raises BankError with the reason on failure.
    """
    # Renaming over the link itself would turn it into a file and leave the target stale.
    p = Path(os.path.realpath(path))
    shown = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    except OSError as e:
        raise BankError(f"cannot save {shown}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if p.exists():
            # mkstemp makes the file 0600; keep the permissions the user's file had.
            os.chmod(tmp, p.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise BankError(f"cannot save {shown}: {e.strerror or e}") from None
