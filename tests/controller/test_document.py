"""The undo history holds a bounded amount of weights, however large the kernels edited."""

from __future__ import annotations

import numpy as np

from playground import Bank, ConvLayer, Filter
from playground.controller import document
from playground.controller.document import Document
from playground.engine import editing


def test_the_history_of_large_kernel_edits_stays_within_its_byte_budget(monkeypatch):
    # The finding (a 5-minute monkey run): RSS grew 94 MB, the undo history holding 500 banks of
    # edited 31x31 kernels. Each step costs the filters it changed; the oldest steps go first.
    # A 2 MB budget here makes 400 edits of 23 KB each pass it.
    monkeypatch.setattr(document, "MAX_HISTORY_BYTES", 2 * 2**20)
    rng = np.random.default_rng(0)
    filters = tuple(Filter(rng.standard_normal((3, 31, 31))) for _ in range(8))
    doc = Document(Bank((ConvLayer(filters, padding="same"),)))
    for i in range(400):
        f = i % 8
        kernels = np.array(doc.bank.layers[0].filters[f].kernels)
        kernels[:, 15, 15] += 1.0
        doc.push(editing.set_kernels(doc.bank, 0, f, kernels), f"edit {i}")
    held = sum(e.weight_bytes for e in doc._entries[1:])
    assert held <= document.MAX_HISTORY_BYTES
    per_step = 3 * 31 * 31 * 8  # one filter's float64 kernels
    assert len(doc._entries) - 1 == document.MAX_HISTORY_BYTES // per_step
    # Undo still goes back as far as the budget allows, and the current bank is the last edit.
    assert (
        doc.bank.layers[0].filters[399 % 8].kernels[0, 15, 15]
        == filters[399 % 8].kernels[0, 15, 15] + 50
    )
    steps = 0
    while doc.undo():
        steps += 1
    assert steps == len(doc._entries) - 1


def test_small_edits_keep_the_whole_500_step_history():
    doc = Document(Bank((ConvLayer((Filter.repeated(np.eye(3), 3),), padding="same"),)))
    for i in range(600):
        doc.push(editing.set_bias(doc.bank, 0, 0, float(i + 1)), f"bias {i}")
    assert len(doc._entries) == document.MAX_HISTORY
