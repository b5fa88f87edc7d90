"""A pane's chrome: the painted title bar with its badges, the info line and the fixed-levels
dialog.

Everything runs on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPaintEvent,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QSizePolicy,
    QWidget,
)

_CLIP_RED = QColor(205, 45, 45)


def _muted(palette: QPalette, role: QPalette.ColorRole = QPalette.ColorRole.Text) -> QColor:
    """The text colour of `role` blended 40% towards the base: secondary text in any theme."""
    fg = palette.color(role)
    bg = palette.color(QPalette.ColorRole.Base)
    return QColor(
        round(fg.red() * 0.6 + bg.red() * 0.4),
        round(fg.green() * 0.6 + bg.green() * 0.4),
        round(fg.blue() * 0.6 + bg.blue() * 0.4),
    )


class _TitleBar(QWidget):
    """Title on the left (elided), badges on the right, all painted.

    Performance trap: a QLabel whose text changes calls updateGeometry(), which invalidates the
    parent layouts; with the clipping badge changing every frame in 64 panes that is 64 relayouts
    per frame. This widget has a fixed height and only repaints itself when its text changes.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = ""
        self._levels_badge = ""
        self._clip_badge = ""
        self._icon: QPixmap | None = None
        self._bold = QFont(self.font())
        self._bold.setBold(True)
        self._small = QFont(self.font())
        self._small.setPointSizeF(max(6.0, self.font().pointSizeF() * 0.85))
        self.setFixedHeight(QFontMetrics(self._bold).height() + 6)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def title(self) -> str:
        return self._title

    def badges(self) -> tuple[str, str]:
        return self._levels_badge, self._clip_badge

    def setTitle(self, title: str) -> None:
        if title != self._title:
            self._title = title
            self.setToolTip(title)
            self.update()

    def setIcon(self, icon: QPixmap | None) -> None:
        self._icon = icon
        self.update()

    def setBadges(self, levels_badge: str, clip_badge: str) -> None:
        if (levels_badge, clip_badge) != (self._levels_badge, self._clip_badge):
            self._levels_badge = levels_badge
            self._clip_badge = clip_badge
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(160, self.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        right = self.width() - 2
        small_fm = QFontMetrics(self._small)
        if self._clip_badge:
            width = small_fm.horizontalAdvance(self._clip_badge) + 10
            badge = QRectF(right - width, 3, width, self.height() - 6)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_CLIP_RED)
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor(255, 255, 255))
            painter.setFont(self._small)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, self._clip_badge)
            right -= width + 6
        if self._levels_badge:
            width = small_fm.horizontalAdvance(self._levels_badge) + 2
            painter.setPen(_muted(palette))
            painter.setFont(self._small)
            painter.drawText(
                QRectF(right - width, 0, width, self.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                self._levels_badge,
            )
            right -= width + 8
        left = 2
        if self._icon is not None:
            side = self.height() - 4
            painter.drawPixmap(QRect(left, 2, side, side), self._icon)
            left += side + 4
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.setFont(self._bold)
        available = max(0, right - left)
        text = QFontMetrics(self._bold).elidedText(
            self._title, Qt.TextElideMode.ElideRight, available
        )
        painter.drawText(
            QRect(left, 0, available, self.height()),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            text,
        )


class _InfoLine(QWidget):
    """One painted line of secondary text (same no-relayout reason as `_TitleBar`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._compact = ""
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.9))
        # Digits of equal width keep the readout from jittering while the mouse moves.
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setFamilies(["DejaVu Sans Mono", "Menlo", "Consolas", "monospace"])
        self.setFont(font)
        self.setFixedHeight(QFontMetrics(font).height() + 2)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._text

    def setText(self, text: str, compact: str = "") -> None:
        """Show `text`, or `compact` (if given) when `text` does not fit the width."""
        if (text, compact) != (self._text, self._compact):
            self._text = text
            self._compact = compact
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(160, self.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(_muted(self.palette()))
        metrics = self.fontMetrics()
        text = self._text
        if self._compact and metrics.horizontalAdvance(text) > self.width():
            text = self._compact
        text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, self.width())
        painter.drawText(
            self.rect(), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text
        )


class _FixedLevelsDialog(QDialog):
    """Two spin boxes (lo, hi) for the "Fixed..." levels; OK only while lo < hi."""

    def __init__(self, levels: tuple[float, float], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fixed levels")
        self.lo = QDoubleSpinBox(self)
        self.hi = QDoubleSpinBox(self)
        for box, value in ((self.lo, levels[0]), (self.hi, levels[1])):
            box.setDecimals(4)
            box.setRange(-1e6, 1e6)
            box.setSingleStep(0.1)
            box.setValue(value)
            box.valueChanged.connect(self._on_value_changed)
        form = QFormLayout(self)
        form.addRow("Low (black / blue)", self.lo)
        form.addRow("High (white / red)", self.hi)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self._on_value_changed()

    def levels(self) -> tuple[float, float]:
        return (self.lo.value(), self.hi.value())

    def _on_value_changed(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self.lo.value() < self.hi.value())
