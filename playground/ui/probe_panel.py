"""The probe: the arithmetic behind the feature-map pixel the user clicked.

One block per input channel (the patch under the kernel, the kernel as applied, their
element-wise products and the partial sum), then the sum over channels, + bias, the activation
and the value, which is the value the pane shows. The numbers come from
`playground.engine.probe`; this widget only lays them out.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from playground.engine.probe import Probe
from playground.ui.style import NEGATIVE, NEUTRAL, POSITIVE, cell_number, sum_number

# Tables wider than this many cells are cropped around their centre, with a note: a 31x31 kernel
# as three 961-cell tables would bury the sums the probe is for.
MAX_CELLS_SIDE = 9


def _tint(v: float, scale: float) -> str:
    """Blue for negative, red for positive, white for zero, like the kernel grid."""
    t = 0.0 if scale == 0 else max(-1.0, min(1.0, v / scale))
    end = POSITIVE if t > 0 else NEGATIVE
    rgb = [round(n + (e - n) * abs(t) * 0.6) for n, e in zip(NEUTRAL, end)]
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"


def _table(values: np.ndarray, scale: float, mark: tuple[int, int] | None = None) -> str:
    rows = []
    for i, row in enumerate(values):
        cells = []
        for j, v in enumerate(row):
            border = "border:2px solid #e6a800;" if mark == (i, j) else ""
            cells.append(
                f'<td nowrap style="background:{_tint(float(v), scale)};{border}" '
                f'align="right">{cell_number(float(v))}</td>'
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return '<table cellspacing="1" cellpadding="3">' + "".join(rows) + "</table>"


def _crop(a: np.ndarray) -> tuple[np.ndarray, bool]:
    h, w = a.shape
    if h <= MAX_CELLS_SIDE and w <= MAX_CELLS_SIDE:
        return a, False
    top = max(0, (h - MAX_CELLS_SIDE) // 2)
    left = max(0, (w - MAX_CELLS_SIDE) // 2)
    return a[top : top + MAX_CELLS_SIDE, left : left + MAX_CELLS_SIDE], True


class ProbePanel(QWidget):
    """Shows one `Probe`; `clear` shows a hint instead."""

    HINT = "Click a pixel of any feature map to see the arithmetic that made it."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("probePanel")
        self._header = QLabel(self)
        self._header.setWordWrap(True)
        font = self._header.font()
        font.setBold(True)
        self._header.setFont(font)
        self._body = QTextBrowser(self)
        self._body.setOpenLinks(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self._header)
        layout.addWidget(self._body, 1)
        self._probe: Probe | None = None
        self.clear(self.HINT)

    def sizeHint(self) -> QSize:
        return QSize(360, 320)

    def probe(self) -> Probe | None:
        """The probe shown, or None."""
        return self._probe

    def headerText(self) -> str:
        return self._header.text()

    def bodyText(self) -> str:
        return self._body.toPlainText()

    def clear(self, text: str) -> None:
        self._probe = None
        self._header.setText("Probe")
        self._body.setHtml(f"<p>{html.escape(text)}</p>")

    def setProbe(self, probe: Probe, title: str, channel_names: Sequence[str]) -> None:
        """Show ``probe`` of the map called ``title``; ``channel_names`` name its input channels."""
        self._probe = probe
        self._header.setText(f"{title} at x {probe.x}, y {probe.y} = {sum_number(probe.value)}")
        parts = []
        scale = max([float(np.abs(t.products).max()) for t in probe.channels] + [1e-12])
        for term in probe.channels:
            name = (
                channel_names[term.channel]
                if term.channel < len(channel_names)
                else (f"ch {term.channel + 1}")
            )
            patch, cropped = _crop(term.patch)
            kernel, _ = _crop(term.kernel)
            products, _ = _crop(term.products)
            mark = None
            if probe.kind == "pool" and probe.winner is not None and not cropped:
                r = int(np.flatnonzero(probe.rows == probe.winner[0])[0])
                c = int(np.flatnonzero(probe.cols == probe.winner[1])[0])
                mark = (r, c)
            patch_scale = max(float(np.abs(term.patch).max()), 1e-12)
            kernel_scale = max(float(np.abs(term.kernel).max()), 1e-12)
            what = "window" if probe.kind == "pool" else "input patch"
            op = "max of the window" if probe.kind == "pool" and probe.winner else "Σ products"
            parts.append(
                f"<h4>{html.escape(name)}</h4>"
                '<table cellspacing="6"><tr>'
                f"<td valign='top'>{what}<br>{_table(patch, patch_scale, mark)}</td>"
                + (
                    ""
                    if probe.kind == "pool"
                    else f"<td valign='top'>× kernel<br>{_table(kernel, kernel_scale)}</td>"
                    f"<td valign='top'>= products<br>{_table(products, scale)}</td>"
                )
                + "</tr></table>"
                + ("<p><i>(the central 9×9 of a larger footprint)</i></p>" if cropped else "")
                + f"<p>{op} = <b>{sum_number(term.partial)}</b></p>"
            )
        if probe.kind == "conv":
            partials = " + ".join(sum_number(t.partial) for t in probe.channels)
            activation = "" if probe.activation == "none" else f"{probe.activation}"
            if probe.activation == "leaky-relu":
                activation = f"leaky-relu<sub>slope {probe.slope:g}</sub>"
            parts.append(
                "<hr><p>"
                f"Σ over channels = {partials} = <b>{sum_number(probe.total)}</b><br>"
                f"+ bias {sum_number(probe.bias)} = <b>{sum_number(probe.biased)}</b><br>"
                + (f"{activation}({sum_number(probe.biased)}) = " if activation else "")
                + f"<b>{sum_number(probe.value)}</b> (the value in the pane)</p>"
            )
        elif probe.winner is not None:
            parts.append(
                f"<hr><p>the input at x {probe.winner[1]}, y {probe.winner[0]} won: "
                f"<b>{sum_number(probe.value)}</b></p>"
            )
        else:
            parts.append(f"<hr><p>mean of the window = <b>{sum_number(probe.value)}</b></p>")
        self._body.setHtml("".join(parts))
