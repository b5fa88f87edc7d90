"""`ChannelStory`: how one filter is built: its partial maps (one per input channel) summed, plus
the bias, through the activation; and, for a filter on the RGB image, its partial maps kept
apart as the three colours of one picture: what an image editor shows for the same kernels
(a depthwise conv), beside the CNN's one grey map.

Everything runs on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QFont,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from playground.controller.display import ShownMap, colour_picture, shown_range
from playground.ui.kernel_editor import kernel_pixmap
from playground.ui.panes.pane import FeatureMapPane
from playground.ui.style import short_number

# ChannelStory shows every partial map up to this many channels, else the first _STORY_SHOWN ones.
_STORY_MAX_CHANNELS = 6
_STORY_SHOWN = 5
# A partial pane's title icon before it was first drawn: equal to no kernel, nor to none.
_NOT_DRAWN: tuple[object, ...] = ("not drawn",)


_COLOUR_TIP = (
    "Each kernel applied to its own colour and the three results kept as one colour picture "
    "(a depthwise conv), as an image editor filters; the CNN filter adds them into one grey "
    "map instead. Its coordinates are the picture's own (display-size) pixels."
)


def depthwise_colour(partials: Sequence[ShownMap]) -> tuple[np.ndarray, tuple[float, float]]:
    """Three partial maps' display copies as the red, green and blue of one uint8 picture,
    and the levels used: 0 … the largest value when none is negative (an image editor's
    picture, brightened to full scale), else -m … m around mid-grey. Works on display-size
    arrays only (GUI thread)."""
    lo = min(p.value_range[0] for p in partials)
    hi = max(p.value_range[1] for p in partials)
    if lo >= 0.0:
        levels = (0.0, hi if hi > 0 else 1.0)
        offset, scale = 0.0, 255.0 / levels[1]
    else:
        m = max(-lo, hi)
        levels = (-m, m)
        offset, scale = 127.5, 127.5 / m
    return colour_picture([np.asarray(p.display) for p in partials], offset, scale), levels


class ChannelStory(QWidget):
    """How one filter makes its feature map, for learners.

    Lays out ``[partial ch1] + [partial ch2] + ... = [sum] → [+ bias] → [activation]``. The partial
    maps and the sum share one symmetric scale, so a channel that contributes little looks faint.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._header = QLabel(self)
        font = QFont(self._header.font())
        font.setBold(True)
        self._header.setFont(font)
        self._header.setTextFormat(Qt.TextFormat.PlainText)
        self._header.setWordWrap(True)

        self._row_host = QWidget()
        # The row is as tall as its panes' maps need (height for width); spare height stays
        # below it rather than turning into letterbox bars above and below every image.
        host_layout = QVBoxLayout(self._row_host)
        host_layout.setContentsMargins(0, 0, 0, 0)
        self._row = QHBoxLayout()
        self._row.setSpacing(4)
        host_layout.addLayout(self._row)
        host_layout.addStretch(1)
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setWidget(self._row_host)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self._header)
        layout.addWidget(self._scroll, 1)

        self._partial_panes: list[FeatureMapPane] = []
        self._operators: list[QLabel] = []
        self._more_label: QLabel | None = None
        self._channel_count = 0
        self._shared_levels = (-1.0, 1.0)
        self._sum_pane = self._story_pane("sum")
        self._bias_pane = self._story_pane("+ bias")
        self._act_pane = self._story_pane("activation")
        self._colour_pane = self._story_pane("image editor")
        self._colour_pane.setAutoStyle(False)
        self._colour_pane.setToolTip(_COLOUR_TIP)
        self._colour = False
        # Sum and partials: fixed shared levels (set per frame), diverging colours.
        self._sum_pane.setColorMap("diverging")
        self._rebuild_row(0, 0)

    def setStory(
        self,
        filter_name: str,
        channel_names: Sequence[str],
        bias: float,
        activation: str,
        kernels: np.ndarray | None = None,
        colour: bool = False,
    ) -> None:
        """Describe the filter: its name, the input channel names, its bias and activation, and
        optionally its (C_in, kh, kw) kernels, drawn before each partial map's title on one
        shared colour scale (the kernel times the channel is that partial map). ``colour``:
        the filter reads the RGB image, so its three partial maps are also shown as one
        colour picture (`depthwise_colour`).

        Panes are created only when the number of shown channels changes. Over 6 channels, the
        first 5 partial maps are shown, followed by "… N more".
        """
        count = len(channel_names)
        shown = count if count <= _STORY_MAX_CHANNELS else _STORY_SHOWN
        if shown != len(self._partial_panes) or count != self._channel_count:
            self._rebuild_row(shown, count - shown)
        self._channel_count = count
        self._colour = colour and count == 3
        self._colour_pane.setVisible(self._colour)
        self._colour_operator.setVisible(self._colour)
        scale = float(np.abs(kernels).max()) if kernels is not None else 0.0
        for c, (pane, name) in enumerate(zip(self._partial_panes, channel_names)):
            # With its kernel drawn in front, the channel's name is title enough in a narrow pane.
            pane.setTitle(name if kernels is not None else f"{name} · partial")
            # A weight edit changes one kernel: the others' icons stay unless the scale moved.
            icon = None if kernels is None else (kernels[c].tobytes(), kernels[c].shape, scale)
            if icon != self._icons[c]:
                self._icons[c] = icon
                pane.setTitleIcon(
                    None if kernels is None else kernel_pixmap(kernels[c], 32, scale or None)
                )
        self._sum_pane.setTitle("sum")
        self._bias_pane.setTitle(f"+ bias {short_number(bias)}")
        act = activation.strip() or "none"
        self._act_pane.setTitle(
            act if act.lower() not in ("none", "identity", "linear") else f"{act} (identity)"
        )
        self._header.setText(
            f"{filter_name}: Σ of {count} partial map{'s' if count != 1 else ''} "
            f"(one per input channel) + bias {short_number(bias)} → {act}"
        )

    def setMaps(
        self,
        partials: Sequence[ShownMap],
        total: ShownMap,
        biased: ShownMap,
        activated: ShownMap,
    ) -> None:
        """Show one frame of the story, in the order of `setStory`.

        Parameters
        ----------
        partials : sequence of ShownMap
            One partial map per input channel (all of them, also those not shown).
        total, biased, activated : ShownMap
            The sum of the partials, the sum plus the bias, and the activation of that.
        """
        if len(partials) != self._channel_count:
            raise ValueError(
                f"{len(partials)} partial maps for a story of {self._channel_count} channels"
            )
        m = 0.0
        for shown in (*partials, total):
            lo, hi = shown_range(shown.value_range, shown.floor)
            m = max(m, abs(lo), abs(hi))
        if not m > 0:
            m = 1.0
        self._shared_levels = (-m, m)
        for pane, shown in (*zip(self._partial_panes, partials), (self._sum_pane, total)):
            pane._prepare_fixed_levels(-m, m)
            pane.setMap(shown)
        self._bias_pane.setMap(biased)
        self._act_pane.setMap(activated)
        if self._colour and all(p.display is not None for p in partials):
            # Display-size arrays only: the worker reduced the partials already.
            rgb, (lo, hi) = depthwise_colour(partials)
            self._colour_pane.setMap(ShownMap(rgb, rgb, (0.0, 255.0)))
            self._colour_pane.setTitle("image editor")
            self._colour_pane.setToolTip(
                f"{_COLOUR_TIP} Levels {short_number(lo)} … {short_number(hi)}."
            )

    def colourPane(self) -> FeatureMapPane:
        """The partial maps as one colour picture (shown for a filter on the RGB image)."""
        return self._colour_pane

    def panes(self) -> list[FeatureMapPane]:
        """In layout order: the shown partials, the sum, the +bias and the activation panes."""
        return [*self._partial_panes, self._sum_pane, self._bias_pane, self._act_pane]

    def sharedLevels(self) -> tuple[float, float]:
        """The symmetric levels shared by the partial maps and the sum in the last frame."""
        return self._shared_levels

    def moreLabel(self) -> QLabel | None:
        """The "… N more" label, or None when every partial map is shown."""
        return self._more_label

    def headerText(self) -> str:
        return self._header.text()

    def _story_pane(self, title: str) -> FeatureMapPane:
        pane = FeatureMapPane(title, self._row_host)
        # Narrower than grid panes: a 3-channel story (six panes) fits beside both docks in the
        # default 1400 px window without scrolling.
        pane.setMinimumSize(72, 80)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        pane.setSizePolicy(policy)
        return pane

    def _operator(self, text: str) -> QLabel:
        label = QLabel(text, self._row_host)
        font = QFont(label.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        label.setFont(font)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self._operators.append(label)
        return label

    def _rebuild_row(self, shown: int, hidden: int) -> None:
        while self._row.count():
            self._row.takeAt(0)
        for label in self._operators:
            label.hide()
            label.deleteLater()
        self._operators = []
        if self._more_label is not None:
            self._more_label.hide()
            self._more_label.deleteLater()
            self._more_label = None
        while len(self._partial_panes) > shown:
            pane = self._partial_panes.pop()
            pane.hide()
            pane.deleteLater()
        while len(self._partial_panes) < shown:
            pane = self._story_pane("partial")
            pane.setColorMap("diverging")
            self._partial_panes.append(pane)
        # What each partial pane's title icon shows: (kernel bytes, shape, scale), or None.
        self._icons: list[tuple[object, ...] | None] = [_NOT_DRAWN] * shown
        for index, pane in enumerate(self._partial_panes):
            if index:
                self._row.addWidget(self._operator("+"))
            self._row.addWidget(pane, 1)
        if hidden:
            self._row.addWidget(self._operator("+"))
            self._more_label = QLabel(f"… {hidden} more", self._row_host)
            self._more_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._row.addWidget(self._more_label)
        if shown:
            self._row.addWidget(self._operator("="))
        for op, pane in (("", self._sum_pane), ("→", self._bias_pane), ("→", self._act_pane)):
            if op:
                self._row.addWidget(self._operator(op))
            self._row.addWidget(pane, 1)
            pane.show()
        self._colour_operator = self._operator("vs")
        self._row.addWidget(self._colour_operator)
        self._row.addWidget(self._colour_pane, 1)
        self._colour_operator.setVisible(self._colour)
        self._colour_pane.setVisible(self._colour)
