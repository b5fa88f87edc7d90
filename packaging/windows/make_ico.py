"""Wrap a PNG in a Windows .ico, standard library only.

    python make_ico.py in.png out.ico

Windows Vista and later read PNG-compressed icon images, so one 256x256 PNG entry is a complete
icon: the shell scales it down for small views. No Pillow needed on the build machine.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# ICONDIR: reserved, type (1 = icon), image count.
ICONDIR = struct.Struct("<HHH")
# ICONDIRENTRY: width, height, palette colours, reserved, planes, bits per pixel, data size,
# data offset from the start of the file.
ICONDIRENTRY = struct.Struct("<BBBBHHII")
# Samples per pixel for each PNG colour type.
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def png_size(png_bytes: bytes) -> tuple[int, int, int]:
    """Width, height and bits per pixel from the PNG's IHDR chunk."""
    if not png_bytes.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file (bad signature)")
    if len(png_bytes) < 33 or png_bytes[12:16] != b"IHDR":
        raise ValueError("not a PNG file (no IHDR chunk first)")
    width, height, depth, colour_type = struct.unpack(">IIBB", png_bytes[16:26])
    if colour_type not in PNG_CHANNELS:
        raise ValueError(f"PNG colour type {colour_type} is not valid")
    return width, height, depth * PNG_CHANNELS[colour_type]


def png_to_ico(png_bytes: bytes) -> bytes:
    """An .ico holding png_bytes as its only image."""
    width, height, bits = png_size(png_bytes)
    if not (1 <= width <= 256 and 1 <= height <= 256):
        # The directory stores sizes in one byte, 0 meaning 256: larger cannot be expressed.
        raise ValueError(f"an icon image is at most 256x256, this PNG is {width}x{height}")
    header = ICONDIR.pack(0, 1, 1)
    entry = ICONDIRENTRY.pack(
        width % 256,
        height % 256,
        0,
        0,
        1,
        bits,
        len(png_bytes),
        ICONDIR.size + ICONDIRENTRY.size,
    )
    return header + entry + png_bytes


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python make_ico.py in.png out.ico", file=sys.stderr)
        return 2
    source, target = (Path(a) for a in argv)
    try:
        ico = png_to_ico(source.read_bytes())
    except (OSError, ValueError) as error:
        print(f"make_ico: {source}: {error}", file=sys.stderr)
        return 1
    target.write_bytes(ico)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
