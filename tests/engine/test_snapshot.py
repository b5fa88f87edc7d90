"""Snapshots: a PNG that carries its bank, and what a PNG without one says."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

import playground
from playground import BankError
from playground.assets import resource_path
from playground.engine.bankfile import png_with_bank


def png_bytes(h=20, w=30):
    image = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return cv2.imencode(".png", image)[1].tobytes(), image


def chunk_kinds(png):
    kinds, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF  # every chunk stays valid
        kinds.append(kind)
        offset += 12 + length
    return kinds


def test_a_snapshot_keeps_its_picture_and_reopens_as_its_bank(tmp_path):
    bank = playground.load_bank(resource_path("banks", "line-stack.json"))
    original, image = png_bytes()
    snapshot = png_with_bank(original, bank)
    kinds = chunk_kinds(snapshot)
    assert kinds[-1] == b"IEND" and kinds[-2] == b"iTXt"
    decoded = cv2.imdecode(np.frombuffer(snapshot, np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(decoded, image)  # viewers see the same picture
    path = tmp_path / "maps ümlaut.png"
    path.write_bytes(snapshot)
    assert playground.load_bank(path) == bank


def test_embedding_again_replaces_the_bank():
    first = playground.load_bank(resource_path("banks", "line-stack.json"))
    second = playground.load_bank(resource_path("banks", "edges-gray.json"))
    twice = png_with_bank(png_with_bank(png_bytes()[0], first), second)
    assert chunk_kinds(twice).count(b"iTXt") == 1
    path_bank = playground.engine.bankfile.parse_bank(
        playground.engine.snapshot.bank_text_from_png(twice)
    )
    assert path_bank == second


def test_a_png_without_a_bank_says_so(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(png_bytes()[0])
    with pytest.raises(BankError, match="photo.png: this PNG carries no filter bank"):
        playground.load_bank(path)


def test_a_truncated_png_is_a_bank_error(tmp_path):
    path = tmp_path / "cut.png"
    path.write_bytes(png_bytes()[0][:40])
    with pytest.raises(BankError, match="truncated"):
        playground.load_bank(path)


def test_a_snapshot_whose_bank_is_a_zlib_bomb_is_refused_within_bounded_memory(tmp_path):
    # The finding: a 1 MB iTXt chunk inflating to 1 GiB bypassed the 64 MB cap. 65 MB of
    # spaces compress to about 64 KB; the reader stops inflating at the cap.
    import tracemalloc

    from playground.engine.snapshot import KEYWORD, _chunk

    png, _ = png_bytes()
    body = zlib.compress(b" " * (65 * 2**20), 9)
    itxt = _chunk(b"iTXt", KEYWORD + b"\x00\x01\x00\x00\x00" + body)
    path = tmp_path / "bomb.png"
    path.write_bytes(png[:-12] + itxt + png[-12:])
    tracemalloc.start()
    try:
        with pytest.raises(BankError, match="larger than 64 MB") as caught:
            playground.load_bank(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "\n" not in str(caught.value)
    assert peak < 200 * 2**20


def test_is_snapshot_reads_chunk_headers_only_and_refuses_special_files(tmp_path):
    import os

    from playground.engine.snapshot import is_snapshot

    png, _ = png_bytes()
    plain, snap = tmp_path / "plain.png", tmp_path / "snap.png"
    plain.write_bytes(png)
    snap.write_bytes(
        png_with_bank(png, playground.load_bank(resource_path("banks", "edges-rgb.json")))
    )
    assert is_snapshot(snap) and not is_snapshot(plain)
    assert not is_snapshot(tmp_path / "missing.png")
    assert not is_snapshot(tmp_path)
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    assert not is_snapshot(fifo)  # a FIFO would block a read forever
