"""StillSource and ImageSource: one read-only frame, the same on every read."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from playground.sources import ImageSource, Source, SourceError, StillSource
from tests.isolated import run_python


@pytest.fixture
def rgb() -> np.ndarray:
    frame = np.random.default_rng(3).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    frame[0, 0] = (255, 0, 0)
    return frame


def write_png(path: Path, rgb: np.ndarray) -> Path:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    buf.tofile(path)
    return path


def test_image_with_non_ascii_path_reads_as_rgb(tmp_path: Path, rgb: np.ndarray) -> None:
    folder = tmp_path / "café ☕"
    folder.mkdir()
    source = ImageSource(write_png(folder / "naïve.png", rgb))
    assert isinstance(source, Source)
    assert source.description == "naïve.png"
    assert source.live is False
    assert source.fps is None
    frame = source.read()
    np.testing.assert_array_equal(frame, rgb)
    assert frame.flags.c_contiguous


def test_every_read_is_the_same_read_only_frame(tmp_path: Path, rgb: np.ndarray) -> None:
    source = ImageSource(write_png(tmp_path / "a.png", rgb))
    first = source.read()
    assert source.read() is first
    with pytest.raises(ValueError, match="read-only"):
        first[0, 0] = 0


def test_missing_or_corrupt_image_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="gone.png"):
        ImageSource(tmp_path / "gone.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(SourceError, match="bad.png"):
        ImageSource(bad)


def test_still_source_leaves_the_callers_array_writable(rgb: np.ndarray) -> None:
    source = StillSource(rgb, "pasted")
    assert source.description == "pasted"
    assert rgb.flags.writeable
    frame = source.read()
    assert not frame.flags.writeable
    np.testing.assert_array_equal(frame, rgb)


def test_still_source_makes_frames_contiguous(rgb: np.ndarray) -> None:
    frame = StillSource(rgb[:, ::2], "every other column").read()
    assert frame.flags.c_contiguous
    np.testing.assert_array_equal(frame, rgb[:, ::2])


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((4, 4, 3), np.float32),
        np.zeros((4, 4), np.uint8),
        np.zeros((4, 4, 4), np.uint8),
        np.zeros((0, 4, 3), np.uint8),
    ],
    ids=["float", "grey", "rgba", "empty"],
)
def test_still_source_refuses_what_is_not_an_rgb_frame(frame: np.ndarray) -> None:
    with pytest.raises(SourceError, match=r"^pasted: expected an RGB uint8 HxWx3 frame"):
        StillSource(frame, "pasted")


def test_close_is_idempotent_and_read_after_close_fails(rgb: np.ndarray) -> None:
    source = StillSource(rgb, "pasted")
    source.close()
    source.close()
    with pytest.raises(SourceError, match=r"^pasted is closed$"):
        source.read()


def test_an_image_above_8k_is_downscaled_for_live_use_and_says_so(tmp_path):
    from playground.sources.still import LIVE_MAX_PIXELS

    height, width = 4800, 9600  # 46 MP, 2:1
    image = np.zeros((height, width, 3), np.uint8)
    image[:, width // 2 :] = (0, 0, 255)  # BGR red on the right half
    path = tmp_path / "huge.png"
    cv2.imencode(".png", image)[1].tofile(str(path))
    source = ImageSource(path)
    frame = source.read()
    assert frame.shape[0] * frame.shape[1] <= LIVE_MAX_PIXELS
    assert abs(frame.shape[1] / frame.shape[0] - 2.0) < 0.01
    assert frame[10, -10].tolist() == [255, 0, 0] and frame[10, 10].tolist() == [0, 0, 0]
    assert "huge.png" in source.description and "downscaled from 9600×4800" in source.description


def test_an_8k_image_is_shown_as_it_is(tmp_path):
    path = tmp_path / "8k.png"
    cv2.imencode(".png", np.zeros((4320, 7680, 3), np.uint8))[1].tofile(str(path))
    source = ImageSource(path)
    assert source.read().shape == (4320, 7680, 3)
    assert source.description == "8k.png"


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height RGB pixels and whose data is a few rows."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(bytes((width * 3 + 1) * 4))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) is rewritten to declare width x height."""
    import struct

    raw = bytearray(cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))[1].tobytes())
    sof = raw.find(b"\xff\xc0")
    raw[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(raw)


@pytest.mark.parametrize(
    "name, data, size",
    [
        ("bomb.png", png_declaring(30000, 30000), "30000x30000"),
        ("bomb.jpg", jpeg_declaring(16000, 16000), "16000x16000"),
    ],
)
def test_an_image_declaring_too_many_pixels_is_refused_before_decoding(
    tmp_path: Path, name: str, data: bytes, size: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    out = run_python(f"""
        from playground.sources import ImageSource, SourceError
        try:
            ImageSource({str(path)!r})
        except SourceError as e:
            print(e)
    """)
    assert out == f"image {path} is {size}; too large\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_instead_of_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    out = run_python(f"""
        from playground.sources import SourceError, read_image
        try:
            read_image({str(fifo)!r})
        except SourceError as e:
            print(e)
    """)
    assert out == f"cannot read image {fifo}: not a regular file\n"
