"""Snapshots: a PNG of the feature maps that carries the bank that made them.

The bank's JSON goes into an iTXt chunk (keyword ``filter-playground.bank``), which every image
viewer ignores and `load_bank` reads back: a picture shared in a chat reopens as the bank.
Plain chunk surgery on the PNG bytes; no image library is involved.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from playground.engine.errors import BankError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = b"filter-playground.bank"
# The largest bank text a snapshot may carry, as for a bank file.
MAX_BANK_TEXT = 64 * 2**20


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _chunks(png: bytes):
    """(kind, data, start offset) of each chunk; BankError on a truncated or foreign file."""
    if not png.startswith(PNG_SIGNATURE):
        raise BankError("not a PNG file")
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        end = offset + 12 + length
        if end > len(png):
            raise BankError("the PNG file is truncated")
        yield kind, png[offset + 8 : offset + 8 + length], offset
        if kind == b"IEND":
            return
        offset = end
    raise BankError("the PNG file is truncated")


def png_with_bank_text(png: bytes, text: bytes) -> bytes:
    """``png`` carrying ``text``, a bank file's UTF-8 JSON (replacing a bank it already carried).

    Bytes in, bytes out: writing the bank's JSON is `playground.engine.bankfile`'s job, which
    imports this module to read snapshots back.
    """
    # iTXt: keyword, NUL, compression flag 1 + method 0 (zlib), empty language and translated
    # keyword (each NUL-terminated), then the compressed UTF-8 text.
    itxt = _chunk(b"iTXt", KEYWORD + b"\x00\x01\x00\x00\x00" + zlib.compress(text, 9))
    out = [PNG_SIGNATURE]
    for kind, data, _ in _chunks(png):
        if kind == b"iTXt" and data.startswith(KEYWORD + b"\x00"):
            continue
        if kind == b"IEND":
            out.append(itxt)
        out.append(_chunk(kind, data))
    return b"".join(out)


def bank_text_from_png(png: bytes) -> bytes:
    """The bank JSON a snapshot carries; BankError when it carries none."""
    for kind, data, _ in _chunks(png):
        if kind == b"iTXt" and data.startswith(KEYWORD + b"\x00"):
            rest = data[len(KEYWORD) + 1 :]
            if len(rest) < 2:
                break
            compressed, method = rest[0], rest[1]
            # Skip the language tag and translated keyword (both NUL-terminated).
            parts = rest[2:].split(b"\x00", 2)
            if len(parts) < 3:
                break
            body = parts[2]
            if not compressed:
                return body
            if method != 0:
                break
            # Bounded: a few KB of compressed text must not inflate to gigabytes (a zlib bomb).
            inflater = zlib.decompressobj()
            try:
                text = inflater.decompress(body, MAX_BANK_TEXT + 1)
            except zlib.error:
                break
            if len(text) > MAX_BANK_TEXT or inflater.unconsumed_tail:
                raise BankError(
                    f"the snapshot's bank is larger than {MAX_BANK_TEXT // 2**20} MB; not a bank"
                )
            return text
    raise BankError("this PNG carries no filter bank (not a Filter Playground snapshot)")


def is_snapshot(path: Path) -> bool:
    """True when ``path`` is a regular file holding a PNG with a bank chunk.

    Walks the chunk headers and seeks past the image data, so a huge PNG costs a few reads.
    """
    if not path.is_file():
        return False
    try:
        with path.open("rb") as f:
            if f.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
                return False
            while True:
                header = f.read(8)
                if len(header) < 8:
                    return False
                (length,) = struct.unpack(">I", header[:4])
                kind = header[4:]
                if kind == b"iTXt":
                    if f.read(len(KEYWORD) + 1) == KEYWORD + b"\x00":
                        return True
                    f.seek(length - len(KEYWORD) - 1 + 4, 1)
                elif kind == b"IEND":
                    return False
                else:
                    f.seek(length + 4, 1)
    except OSError:
        return False
