"""Filter Playground: design and explore convolution filters live.

The scripting surface (no Qt is imported)::

    import playground
    bank = playground.load_bank("edges.json")
    maps = bank.apply(image)            # one (C_out, H', W') float32 array per layer
"""

from __future__ import annotations

from playground.engine import presets
from playground.engine.bank import Bank, ConvLayer, Filter, Layer, PoolLayer
from playground.engine.bankfile import dumps_bank, load_bank, parse_bank, save_bank
from playground.engine.errors import BankError
from playground.engine.model_import import ModelImport, import_model, read_model
from playground.engine.onnx_export import export_onnx
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
    "save_bank",
]
