"""The kernel editor: where people type, scroll and drag the weights of one kernel.

A **kernel** is one 2-D weight grid applied to one input channel; a **filter** holds C_in of them.
The widgets here edit one kernel at a time and never touch the bank: they emit what the user
asked for and the window hands it to the controller, the bank's only writer, whose
``bankChanged`` brings the new kernels back through `KernelEditor.setFilter`. External updates
never emit edit signals, so the round trip cannot loop.

- `cells`: weights as text and colour; `model`: `KernelModel`; `grid`: `KernelGrid`;
- `strip`: `ChannelStrip`; `preset_dialog`: `PresetDialog`; `editor`: `KernelEditor`.
"""

from __future__ import annotations

from playground.ui.kernel_editor.cells import (
    default_channel_names,
    diverging_rgb,
    filter_channel_names,
    format_weight,
    kernel_pixmap,
    spell_grid,
    spell_weight,
)
from playground.ui.kernel_editor.editor import KernelEditor
from playground.ui.kernel_editor.grid import KernelGrid
from playground.ui.kernel_editor.model import KernelModel
from playground.ui.kernel_editor.preset_dialog import PresetDialog
from playground.ui.kernel_editor.strip import ChannelStrip

__all__ = [
    "ChannelStrip",
    "KernelEditor",
    "KernelGrid",
    "KernelModel",
    "PresetDialog",
    "default_channel_names",
    "diverging_rgb",
    "filter_channel_names",
    "format_weight",
    "kernel_pixmap",
    "spell_grid",
    "spell_weight",
]
