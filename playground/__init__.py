"""Filter Playground: design and explore convolution filters live.

The scripting surface (no Qt is imported)::

    import playground
    bank = playground.load_bank("edges.json")
    maps = bank.apply(image)            # one (C_out, H', W') float32 array per layer
    playground.apply_many(bank, ["scans/", "clip.mp4"], "out", workers=2)   # files, on Dask
    lazy = playground.apply_dask(bank, dask_image)   # a dask array per layer (map_overlap)
"""

from __future__ import annotations

from playground.batch import apply_many
from playground.engine import presets
from playground.engine.bank import Bank, ConvLayer, Filter, Layer, PoolLayer
from playground.engine.bankfile import dumps_bank, load_bank, parse_bank, save_bank
from playground.engine.errors import BankError
from playground.engine.model_import import ModelImport, import_model, read_model
from playground.engine.onnx_export import export_onnx
from playground.engine.tiles import apply_dask, receptive_field
from playground.engine.weights import export_npy, export_snippet, import_weights

__version__ = "0.1.0"

__all__ = [
    "Bank",
    "BankError",
    "ConvLayer",
    "Filter",
    "Layer",
    "ModelImport",
    "PoolLayer",
    "apply_dask",
    "apply_many",
    "dumps_bank",
    "export_npy",
    "export_onnx",
    "export_snippet",
    "import_model",
    "import_weights",
    "load_bank",
    "parse_bank",
    "presets",
    "read_model",
    "receptive_field",
    "save_bank",
]
