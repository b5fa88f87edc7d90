"""One feature map written to a file at full resolution: .npy (float32, exact), a 16-bit PNG
(the map's min to max over 0 to 65535) or a float32 TIFF (exact). The window's map export runs
`write_map` on a thread of its own (`Controller.export_map`): a 4K map encodes in tens of
milliseconds, which the GUI thread must not spend.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np

from playground.controller.display import finite_range
from playground.engine.bankfile import write_atomic
from playground.engine.errors import BankError

MAP_SUFFIXES = (".npy", ".png", ".tif", ".tiff")


def encode_map(values: np.ndarray, suffix: str) -> tuple[bytes, str]:
    """The bytes of a 2-D map in the format ``suffix`` names, and a note on what was written.

    Runs on the export thread. Raises BankError for another suffix or a map OpenCV cannot
    encode.
    """
    suffix = suffix.lower()
    values = np.ascontiguousarray(values, dtype=np.float32)
    if values.ndim != 2 or values.size == 0:
        raise BankError(f"a feature map is 2-D and not empty, got shape {values.shape}")
    if suffix == ".npy":
        buffer = io.BytesIO()
        np.save(buffer, values, allow_pickle=False)
        return buffer.getvalue(), "float32, exact"
    if suffix == ".png":
        lo, hi = finite_range(values)
        scale = 65535.0 / (hi - lo) if hi > lo else 0.0
        scaled = np.nan_to_num((values.astype(np.float64) - lo) * scale, nan=0.0)
        pixels = np.clip(np.rint(scaled), 0, 65535).astype(np.uint16)
        ok, data = cv2.imencode(".png", pixels)
        note = f"16-bit, 0 = {lo:.6g} and 65535 = {hi:.6g}"
    elif suffix in (".tif", ".tiff"):
        ok, data = cv2.imencode(".tiff", values)
        note = "float32, exact"
    else:
        raise BankError(
            f"cannot export a map as {suffix or 'a file without a suffix'}; "
            f"use one of {', '.join(MAP_SUFFIXES)}"
        )
    if not ok:
        raise BankError(f"OpenCV could not encode the map as {suffix}")
    return data.tobytes(), note


def write_map(values: np.ndarray, path: Path) -> str:
    """Encode ``values`` for ``path``'s suffix and write it whole or not at all (a temporary
    file, then a rename: a failed write leaves a file already there as it was). Returns the
    one-line message the window shows. Runs on the export thread; raises BankError."""
    data, note = encode_map(values, path.suffix)
    write_atomic(path, data)
    height, width = values.shape
    return f"Exported the {width}×{height} map to {path} ({note})"
