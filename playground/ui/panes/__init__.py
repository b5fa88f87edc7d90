"""Feature-map panes: one live 2-D map per pane, a scrollable grid of them, and the channel story.

- `FeatureMapPane` shows one map (a feature map, a partial map, or the RGB source frame) with a
  title bar, a colour map, levels, a clipping badge, a hover readout in full-resolution pixel
  coordinates, and a context menu to change the colour map and levels.
- `PaneGrid` lays out one titled section of panes per layer and tells the controller which panes
  are on screen, so maps nobody sees need not be reduced.
- `ChannelStory` shows how one filter is built: its partial maps (one per input channel) summed,
  plus the bias, through the activation.

Everything here runs on the GUI thread. The panes never compute feature maps: the controller hands
them `ShownMap`s: arrays already reduced to about the pane's on-screen size, with the full map's
value range measured on the compute thread (the full-resolution map is read only under the mouse).

Performance: a pane is redrawn up to 60 times a second, so `FeatureMapPane.setMap` follows
pyqtgraph's fast path (one persistent `ImageItem`, C-contiguous float32 row-major data, explicit
levels, a 256-entry LUT set only when the colour map changes) and never triggers a Qt relayout (the
title bar and info line are painted text whose changes only schedule a repaint). The traps are
commented where they bite.
"""

from __future__ import annotations

from playground.ui.panes.grid import PaneGrid
from playground.ui.panes.pane import COLOR_MAPS, LEVELS_MODES, FeatureMapPane
from playground.ui.panes.story import ChannelStory

__all__ = ["COLOR_MAPS", "LEVELS_MODES", "ChannelStory", "FeatureMapPane", "PaneGrid"]
